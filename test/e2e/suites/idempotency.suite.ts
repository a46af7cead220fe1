import { randomUUID } from 'node:crypto';
import type { Clock } from '../../../src/app/clock';
import { idempotencyStreamId } from '../../../src/domain/idempotency';
import { findSecrets } from '../../helpers/byte-scan';
import { issueToken, ROOT_SECRET, settledHeadPosition, type TestGateway } from '../../helpers/gateway';
import { errorCode, graphql, type GraphQLResponse } from '../../helpers/graphql-client';
import { TestClock } from '../../helpers/test-clock';
import { uniqueTenant } from './token-operations';

export type IdempotencyGatewayFactory = (options: { clock?: Clock; env?: Record<string, string> }) => Promise<TestGateway>;

const TOKEN = 'id tenantId name roles status display rotatedAt revokedAt';
const ISSUE = `mutation Issue($input: IssueTokenInput!, $key: String) {
  issueToken(input: $input, idempotencyKey: $key) { secret replayed token { ${TOKEN} } }
}`;
const IMPORT = `mutation Import($input: ImportTokenInput!, $key: String) { importToken(input: $input, idempotencyKey: $key) { ${TOKEN} } }`;
const UPDATE = `mutation Update($input: UpdateTokenInput!, $key: String) { updateToken(input: $input, idempotencyKey: $key) { ${TOKEN} } }`;
const ROTATE = `mutation Rotate($input: RotateTokenInput!, $key: String) {
  rotateToken(input: $input, idempotencyKey: $key) { secret replayed token { ${TOKEN} } }
}`;
const REVOKE = `mutation Revoke($input: RevokeTokenInput!, $key: String) { revokeToken(input: $input, idempotencyKey: $key) { ${TOKEN} } }`;
const TOKENS = `query Tokens($filter: TokenFilter) { tokens(filter: $filter, first: 100) { totalCount edges { node { id } } } }`;
const VERIFY = `query Verify($token: String!) { verifyToken(token: $token) { valid code token { id } } }`;

const CONNECTION = 'name integration tenantId headerName apiKey allowedDomain updatedAt';
const CREATE_CONNECTION = `mutation Create($input: CreateApiKeyConnectionInput!, $key: String) {
  createApiKeyConnection(input: $input, idempotencyKey: $key) { ${CONNECTION} }
}`;
const UPDATE_CONNECTION = `mutation Update($input: UpdateApiKeyConnectionInput!, $key: String) {
  updateApiKeyConnection(input: $input, idempotencyKey: $key) { ${CONNECTION} }
}`;
const DELETE_CONNECTION = `mutation Delete($integration: String!, $name: String!, $key: String) {
  deleteApiKeyConnection(integration: $integration, name: $name, idempotencyKey: $key)
}`;
const USE_CONNECTION = `mutation Use($integration: String!, $name: String!, $url: String!, $key: String) {
  useApiKeyConnection(integration: $integration, name: $name, url: $url, idempotencyKey: $key) { headerName apiKey }
}`;

const CREATE_PARTNER = `mutation Create($input: CreatePartnerCredentialInput!, $key: String) {
  createPartnerCredential(input: $input, idempotencyKey: $key) { apiKey apiSecret replayed credential { id apiKey secretDisplay status } }
}`;
const REVOKE_PARTNER = `mutation Revoke($input: RevokePartnerCredentialInput!, $key: String) {
  revokePartnerCredential(input: $input, idempotencyKey: $key) { id status revokedAt }
}`;
const EXCHANGE = `mutation Exchange($apiKey: String!, $apiSecret: String!, $tenantId: ID!, $subTenantId: ID!, $key: String) {
  exchangePartnerCredential(apiKey: $apiKey, apiSecret: $apiSecret, tenantId: $tenantId, subTenantId: $subTenantId, idempotencyKey: $key) { accessToken }
}`;
const SIGN_HEAD = `mutation Sign($key: String, $tenantId: ID) { signAuditHead(idempotencyKey: $key, tenantId: $tenantId) { tenantId position hash entries signedAt jws kid } }`;

let keys = 0;
const RUN = Math.random().toString(36).slice(2, 8);
/** A key unique to the test run, so the suite also passes against a long-lived store. */
const newKey = (label: string) => `${label}-${RUN}-${++keys}`;

function ok(response: GraphQLResponse): Record<string, any> {
  if (response.errors) throw new Error(`unexpected errors: ${JSON.stringify(response.errors)}`);
  return response.data!;
}

/** What `extensions.idempotency` said about the one mutation of a response. */
function idempotencyOf(response: GraphQLResponse, field: string): { key: string; replayed: boolean; originalAt: string } | undefined {
  return JSON.parse(response.raw).extensions?.idempotency?.[field];
}

/** Idempotency keys on every mutation, over GraphQL on a real gateway, on any gateway factory. */
export function describeIdempotency(adapter: string, start: IdempotencyGatewayFactory): void {
  describe(`idempotency keys (${adapter})`, () => {
    let gw: TestGateway;
    const clock = new TestClock();
    const A = uniqueTenant('idem-a');
    let admin: string;
    let otherAdmin: string;
    let user: string;

    const head = () => settledHeadPosition(gw.gateway);
    const call = (query: string, variables: Record<string, unknown>, bearer = admin) => graphql(gw.url, query, variables, bearer);
    /** The raw events of the caller's stream for `key`. */
    const idempotencyStreamText = async (key: string, bearer = admin) => {
      const { id } = ok(await call('{ viewer { id } }', {}, bearer)).viewer;
      const events = await gw.gateway.store.readStream(idempotencyStreamId(gw.gateway.idempotency.keyIdOf(id, key)));
      return JSON.stringify(events, (_key, value) => (typeof value === 'bigint' ? value.toString() : value));
    };
    const tokensNamed = async (name: string) => ok(await call(TOKENS, { filter: { search: name } })).tokens.totalCount as number;

    /** Sends the request twice and checks the second is a replay that appends nothing; returns both payloads. */
    async function twice(query: string, variables: Record<string, unknown>, field: string, bearer = admin) {
      const first = await call(query, variables, bearer);
      ok(first);
      const before = await head();
      const second = await call(query, variables, bearer);
      ok(second);
      expect(await head()).toBe(before);
      expect(idempotencyOf(first, field)).toMatchObject({ key: variables.key, replayed: false });
      expect(idempotencyOf(second, field)).toEqual({ ...idempotencyOf(first, field), replayed: true });
      return [first.data![field], second.data![field]] as const;
    }

    beforeAll(async () => {
      gw = await start({ clock });
      ({ secret: admin } = await issueToken(gw.url, ROOT_SECRET, { name: 'admin', tenantId: A, roles: ['keyledger:admin'] }));
      ({ secret: otherAdmin } = await issueToken(gw.url, ROOT_SECRET, { name: 'other admin', tenantId: A, roles: ['keyledger:admin'] }));
      ({ secret: user } = await issueToken(gw.url, admin, { name: 'user', roles: ['keyledger:connections:use'] }));
    });
    afterAll(async () => gw.stop());

    it('without a key a mutation behaves as before: every call executes, and the response has no idempotency extension', async () => {
      const input = { name: `plain ${RUN}` };
      const [a, b] = [await call(ISSUE, { input }), await call(ISSUE, { input })];
      expect(ok(a).issueToken).toMatchObject({ replayed: false, secret: expect.stringMatching(/^klt_/) });
      expect(ok(b).issueToken.token.id).not.toBe(a.data!.issueToken.token.id);
      expect(JSON.parse(a.raw).extensions?.idempotency).toBeUndefined();
      expect(await tokensNamed(input.name)).toBe(2);
    });

    describe('tokens', () => {
      it('issueToken: a retry returns the same token without its secret, says it was replayed, and appends nothing', async () => {
        const input = { name: `issued once ${RUN}`, roles: ['deploy'] };
        const key = newKey('issue');
        const [first, retry] = await twice(ISSUE, { input, key }, 'issueToken');
        expect(first).toMatchObject({ replayed: false, secret: expect.stringMatching(/^klt_/) });
        expect(retry).toEqual({ token: first.token, secret: null, replayed: true });
        expect(await tokensNamed(input.name)).toBe(1);
        // The first secret is the token's, and it still verifies.
        expect(ok(await call(VERIFY, { token: first.secret })).verifyToken).toMatchObject({ valid: true, token: { id: first.token.id } });
      });

      it('a replay reads the token as it is now: revoked since, it says so', async () => {
        const key = newKey('issue-then-revoke');
        const input = { name: `revoked later ${RUN}` };
        const first = ok(await call(ISSUE, { input, key })).issueToken;
        ok(await call(REVOKE, { input: { id: first.token.id } }));
        const retry = ok(await call(ISSUE, { input, key })).issueToken;
        expect(retry).toMatchObject({ replayed: true, secret: null, token: { id: first.token.id, status: 'REVOKED' } });
      });

      it('importToken: a retry returns the imported token, and its secret appears nowhere on disk or in the logs', async () => {
        const secret = `imported-${RUN}-Vq7Lm2Xc9Rt4Hs8K`;
        const key = newKey('import');
        const [first, retry] = await twice(IMPORT, { input: { name: `imported ${RUN}`, secret }, key }, 'importToken');
        expect(retry).toEqual(first);
        expect(await tokensNamed(`imported ${RUN}`)).toBe(1);
        const conflicting = await call(IMPORT, { input: { name: `imported ${RUN}`, secret: `${secret}-other` }, key });
        expect(errorCode(conflicting)).toBe('CONFLICT');
        expect(findSecrets(gw.dataDir, [secret, `${secret}-other`])).toEqual([]);
        expect(gw.logs()).not.toContain(secret);
        expect(await idempotencyStreamText(key)).not.toContain(secret);
      });

      it('updateToken and revokeToken: retries replay the first outcome', async () => {
        const { id } = await issueToken(gw.url, admin, { name: `changed ${RUN}` });
        const [updated, updateRetry] = await twice(UPDATE, { input: { id, roles: ['a', 'b'] }, key: newKey('update') }, 'updateToken');
        expect(updateRetry).toEqual(updated);
        expect(updated.roles).toEqual(['a', 'b']);
        const [revoked, revokeRetry] = await twice(REVOKE, { input: { id, reason: 'done' }, key: newKey('revoke') }, 'revokeToken');
        expect(revokeRetry).toEqual(revoked);
        expect(revoked.status).toBe('REVOKED');
      });

      it('rotateToken: a retry does not rotate again; the secret of the one rotation keeps verifying', async () => {
        const { id } = await issueToken(gw.url, admin, { name: `rotated ${RUN}` });
        const [rotated, retry] = await twice(ROTATE, { input: { id, gracePeriodSeconds: 0 }, key: newKey('rotate') }, 'rotateToken');
        expect(retry).toEqual({ token: rotated.token, secret: null, replayed: true });
        expect(ok(await call(VERIFY, { token: rotated.secret })).verifyToken.valid).toBe(true);
      });
    });

    describe('connections', () => {
      const apiKey = `sk_live_idem_${RUN}_Pz4Wq8Nd2Lk6`;
      const replacement = `sk_live_idem_${RUN}_replacement_Hy3Tb7`;

      it('create, update and delete replay their first outcome; the API keys appear nowhere on disk or in the logs', async () => {
        const name = `conn_${RUN}`;
        const input = { integration: 'crm', name, headerName: 'x-api-key', apiKey, allowedDomain: 'api.example.com' };
        const [created, createRetry] = await twice(CREATE_CONNECTION, { input, key: newKey('create-conn') }, 'createApiKeyConnection');
        expect(createRetry).toEqual(created);
        expect(created.apiKey).toBe('*****');
        const [updated, updateRetry] = await twice(
          UPDATE_CONNECTION,
          { input: { integration: 'crm', name, apiKey: replacement }, key: newKey('update-conn') },
          'updateApiKeyConnection',
        );
        expect(updateRetry).toEqual(updated);
        const used = ok(await call(USE_CONNECTION, { integration: 'crm', name, url: 'https://api.example.com/x' }, user));
        expect(used.useApiKeyConnection.apiKey).toBe(replacement);
        const [deleted, deleteRetry] = await twice(DELETE_CONNECTION, { integration: 'crm', name, key: newKey('delete-conn') }, 'deleteApiKeyConnection');
        expect([deleted, deleteRetry]).toEqual([true, true]);
        expect(findSecrets(gw.dataDir, [apiKey, replacement])).toEqual([]);
        for (const key of [apiKey, replacement]) expect(gw.logs()).not.toContain(key);
      });

      it('a replay of a create whose connection was deleted since is NOT_FOUND, even when the name was taken again', async () => {
        const name = `gone_${RUN}`;
        const input = { integration: 'crm', name, headerName: 'x-api-key', apiKey, allowedDomain: 'api.example.com' };
        const key = newKey('create-gone');
        ok(await call(CREATE_CONNECTION, { input, key }));
        ok(await call(DELETE_CONNECTION, { integration: 'crm', name }));
        ok(await call(CREATE_CONNECTION, { input }));
        const before = await head();
        expect(errorCode(await call(CREATE_CONNECTION, { input, key }))).toBe('NOT_FOUND');
        expect(await head()).toBe(before);
      });

      it('useApiKeyConnection executes again under the same key: each use returns the key and is recorded', async () => {
        const name = `used_${RUN}`;
        ok(await call(CREATE_CONNECTION, { input: { integration: 'crm', name, headerName: 'x-api-key', apiKey, allowedDomain: 'api.example.com' } }));
        const variables = { integration: 'crm', name, url: 'https://api.example.com/v1', key: newKey('use') };
        const first = await call(USE_CONNECTION, variables, user);
        const before = await head();
        const second = await call(USE_CONNECTION, variables, user);
        expect([ok(first).useApiKeyConnection.apiKey, ok(second).useApiKeyConnection.apiKey]).toEqual([apiKey, apiKey]);
        expect(idempotencyOf(second, 'useApiKeyConnection')).toMatchObject({ key: variables.key, replayed: false });
        expect(await head()).toBeGreaterThan(before!);
      });
    });

    describe('partner credentials', () => {
      it('createPartnerCredential: a retry returns the credential and its public API key, never the secret', async () => {
        const input = { name: `partner ${RUN}`, subTenantIds: [] };
        const [first, retry] = await twice(CREATE_PARTNER, { input, key: newKey('partner') }, 'createPartnerCredential');
        expect(first.apiSecret).toMatch(/^klps_/);
        expect(retry).toEqual({ credential: first.credential, apiKey: first.apiKey, apiSecret: null, replayed: true });
        expect(JSON.stringify(retry)).not.toContain(first.apiSecret);

        const [revoked, revokeRetry] = await twice(REVOKE_PARTNER, { input: { id: first.credential.id }, key: newKey('revoke-partner') }, 'revokePartnerCredential');
        expect(revokeRetry).toEqual(revoked);
        expect(revoked.status).toBe('REVOKED');
      });

      it('exchangePartnerCredential executes again under the same key: the answer is a fresh access token', async () => {
        const created = ok(await call(CREATE_PARTNER, { input: { name: `exchanging ${RUN}`, subTenantIds: [] } })).createPartnerCredential;
        const variables = { apiKey: created.apiKey, apiSecret: created.apiSecret, tenantId: A, subTenantId: 'team', key: newKey('exchange') };
        const first = await graphql(gw.url, EXCHANGE, variables);
        const second = await graphql(gw.url, EXCHANGE, variables);
        expect(ok(second).exchangePartnerCredential.accessToken).not.toBe(ok(first).exchangePartnerCredential.accessToken);
        expect(idempotencyOf(second, 'exchangePartnerCredential')).toMatchObject({ key: variables.key, replayed: false });
      });
    });

    it('signAuditHead: a retry returns the same signed head', async () => {
      const [first, retry] = await twice(SIGN_HEAD, { key: newKey('sign') }, 'signAuditHead');
      expect(retry).toEqual(first);
      expect(first.jws).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    });

    it('the same key with other arguments, or on another mutation, is CONFLICT and appends nothing', async () => {
      const key = newKey('reused');
      const first = ok(await call(ISSUE, { input: { name: `reused ${RUN}` }, key })).issueToken;
      const before = await head();
      const other = await call(ISSUE, { input: { name: `reused ${RUN}`, roles: ['more'] }, key });
      expect(errorCode(other)).toBe('CONFLICT');
      expect(other.errors![0].extensions).toMatchObject({ reason: 'IDEMPOTENCY_KEY_REUSED' });
      expect(errorCode(await call(REVOKE, { input: { id: first.token.id }, key }))).toBe('CONFLICT');
      expect(await head()).toBe(before);
      expect(ok(await call(VERIFY, { token: first.secret })).verifyToken.valid).toBe(true);
    });

    it('in every mutation family, the same key with other arguments is CONFLICT and appends nothing', async () => {
      const { id: tokenId } = await issueToken(gw.url, admin, { name: `family ${RUN}` });
      const partner = ok(await call(CREATE_PARTNER, { input: { name: `family ${RUN}`, subTenantIds: [] } })).createPartnerCredential;
      const connection = (name: string, key: string) => ({ integration: 'crm', name, headerName: 'x-api-key', apiKey: key, allowedDomain: 'api.example.com' });
      const pairs: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
        [UPDATE, { input: { id: tokenId, name: 'renamed' } }, { input: { id: tokenId, name: 'renamed again' } }],
        [ROTATE, { input: { id: tokenId, gracePeriodSeconds: 60 } }, { input: { id: tokenId, gracePeriodSeconds: 0 } }],
        [CREATE_CONNECTION, { input: connection(`family_${RUN}`, 'sk_first_key_Aq2') }, { input: connection(`family_${RUN}`, 'sk_other_key_Bw3') }],
        [DELETE_CONNECTION, { integration: 'crm', name: `family_${RUN}` }, { integration: 'crm', name: `other_${RUN}` }],
        [CREATE_PARTNER, { input: { name: `family two ${RUN}`, subTenantIds: [] } }, { input: { name: `family two ${RUN}`, subTenantIds: ['t'] } }],
        [REVOKE_PARTNER, { input: { id: partner.credential.id } }, { input: { id: partner.credential.id, reason: 'other' } }],
        [SIGN_HEAD, {}, { tenantId: A }],
      ];
      for (const [query, first, other] of pairs) {
        const key = newKey('family');
        ok(await call(query, { ...first, key }));
        const before = await head();
        const response = await call(query, { ...other, key });
        expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', reason: 'IDEMPOTENCY_KEY_REUSED' });
        expect(await head()).toBe(before);
      }
    });

    it('keys belong to the credential that sent them: another caller with the same key executes on its own', async () => {
      const key = newKey('shared');
      const input = { name: `two callers ${RUN}` };
      const mine = ok(await call(ISSUE, { input, key })).issueToken;
      const theirs = ok(await call(ISSUE, { input, key }, otherAdmin)).issueToken;
      expect(theirs).toMatchObject({ replayed: false, secret: expect.stringMatching(/^klt_/) });
      expect(theirs.token.id).not.toBe(mine.token.id);
      expect(await tokensNamed(input.name)).toBe(2);
    });

    it('ten identical requests at once execute once; the others replay or are told it is in progress', async () => {
      // An import hashes its secret with argon2 off the event loop, so the other requests arrive while it runs.
      const key = newKey('burst');
      const input = { name: `burst ${RUN}`, secret: `burst-${RUN}-Gh4Ks9Pw2Xm7Qa5T` };
      const responses = await Promise.all(Array.from({ length: 10 }, () => call(IMPORT, { input, key })));
      const succeeded = responses.filter((response) => !response.errors);
      const executed = succeeded.filter((response) => !idempotencyOf(response, 'importToken')!.replayed);
      const inProgress = responses.filter((response) => response.errors?.[0]?.extensions?.reason === 'IDEMPOTENCY_KEY_IN_PROGRESS');
      expect(executed).toHaveLength(1);
      expect(succeeded.length + inProgress.length).toBe(10);
      for (const response of inProgress) expect(response.errors![0].extensions).toMatchObject({ code: 'CONFLICT', retryAfter: expect.any(Number) });
      for (const response of succeeded) expect(response.data!.importToken.id).toBe(executed[0].data!.importToken.id);
      expect(await tokensNamed(input.name)).toBe(1);
    });

    it('a replay reveals no more than a read: a credential that lost its roles since is FORBIDDEN', async () => {
      const writer = await issueToken(gw.url, admin, { name: `writer ${RUN}`, roles: ['keyledger:tokens:write'] });
      const key = newKey('demoted');
      const input = { name: `by a demoted writer ${RUN}` };
      ok(await call(ISSUE, { input, key }, writer.secret));
      ok(await call(UPDATE, { input: { id: writer.id, roles: [] } }));
      expect(errorCode(await call(ISSUE, { input, key }, writer.secret))).toBe('FORBIDDEN');
      expect(await tokensNamed(input.name)).toBe(1);
    });

    it('with several mutations in one document, extensions.idempotency has one entry per response key', async () => {
      const key = newKey('aliased');
      const document = `mutation Two($key: String, $other: String) {
        first: issueToken(input: { name: "aliased ${RUN}" }, idempotencyKey: $key) { replayed }
        second: issueToken(input: { name: "aliased ${RUN}" }, idempotencyKey: $other) { replayed }
        third: issueToken(input: { name: "aliased ${RUN}" }) { replayed }
      }`;
      const response = await call(document, { key, other: newKey('aliased') });
      ok(response);
      const notes = JSON.parse(response.raw).extensions.idempotency;
      expect(Object.keys(notes).sort()).toEqual(['first', 'second']);
      const retry = await call(document, { key, other: `${key}-new` });
      expect(ok(retry)).toEqual({ first: { replayed: true }, second: { replayed: false }, third: { replayed: false } });
      expect(await tokensNamed(`aliased ${RUN}`)).toBe(5);
    });

    it('without a credential a keyed mutation is UNAUTHENTICATED and appends nothing', async () => {
      const before = await head();
      const response = await graphql(gw.url, ISSUE, { input: { name: `anonymous ${RUN}` }, key: newKey('anonymous') });
      expect(errorCode(response)).toBe('UNAUTHENTICATED');
      expect(await head()).toBe(before);
    });

    it('a failed request releases its key, so a corrected retry under the same key runs', async () => {
      const key = newKey('corrected');
      const refused = await call(ISSUE, { input: { name: `corrected ${RUN}`, roles: ['keyledger:nonsense'] }, key });
      expect(errorCode(refused)).toBe('BAD_USER_INPUT');
      const corrected = ok(await call(ISSUE, { input: { name: `corrected ${RUN}` }, key })).issueToken;
      expect(corrected).toMatchObject({ replayed: false, secret: expect.stringMatching(/^klt_/) });
    });

    it('a claim left by a gateway that crashed blocks the key as in progress for a minute, then the key runs', async () => {
      const key = newKey('crashed');
      const input = { name: `after a crash ${RUN}`, kind: 'API_TOKEN' };
      const principal = ok(await call('{ viewer { id tenantId } }', {})).viewer;
      const keyId = gw.gateway.idempotency.keyIdOf(principal.id, key);
      await gw.gateway.store.append(
        idempotencyStreamId(keyId),
        [
          {
            id: randomUUID(),
            type: 'IdempotencyKeyClaimed',
            data: {
              keyId,
              tenantId: principal.tenantId,
              operation: 'issueToken',
              requestFingerprint: gw.gateway.idempotency.requestFingerprint('issueToken', { input }),
              claimedAt: clock.now().toISOString(),
            },
            metadata: { actor: { type: 'token', id: principal.id, tenantId: principal.tenantId }, requestId: 'crashed', occurredAt: clock.now().toISOString() },
          },
        ],
        'no_stream',
      );
      const blocked = await call(ISSUE, { input, key });
      expect(blocked.errors![0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'IDEMPOTENCY_KEY_IN_PROGRESS', retryAfter: expect.any(Number) });
      expect(await tokensNamed(input.name)).toBe(0);
      clock.advance(61_000);
      const issued = ok(await call(ISSUE, { input, key })).issueToken;
      expect(issued.replayed).toBe(false);
      expect(await tokensNamed(input.name)).toBe(1);
    });

    it('keys expire after 24 hours: then the same key executes again', async () => {
      const key = newKey('expiring');
      const input = { name: `expiring ${RUN}` };
      const first = ok(await call(ISSUE, { input, key })).issueToken;
      clock.advance(23 * 3600_000);
      expect(ok(await call(ISSUE, { input, key })).issueToken).toMatchObject({ replayed: true, token: { id: first.token.id } });
      clock.advance(3600_000);
      const again = ok(await call(ISSUE, { input, key })).issueToken;
      expect(again).toMatchObject({ replayed: false, secret: expect.stringMatching(/^klt_/) });
      expect(again.token.id).not.toBe(first.token.id);
      expect(await tokensNamed(input.name)).toBe(2);
    });

    it.each([
      ['empty', ''],
      ['256 characters', 'k'.repeat(256)],
      ['not ASCII', 'clé-de-requête'],
      ['a control character', 'line\nbreak'],
    ])('an idempotency key that is %s is BAD_USER_INPUT, names the field, and appends nothing', async (_label, key) => {
      const before = await head();
      for (const response of [
        await call(ISSUE, { input: { name: `bad key ${RUN}` }, key }),
        await call(DELETE_CONNECTION, { integration: 'crm', name: 'whatever', key }),
        await call(USE_CONNECTION, { integration: 'crm', name: 'whatever', url: 'https://api.example.com', key }, user),
      ]) {
        expect(response.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'idempotencyKey' });
        if (key.length > 0) expect(response.errors![0].message).not.toContain(key);
      }
      expect(await head()).toBe(before);
      expect(await tokensNamed(`bad key ${RUN}`)).toBe(0);
    });

    it('a key of 255 printable characters is accepted', async () => {
      const key = `${newKey('long')}-`.padEnd(255, '~');
      expect(ok(await call(ISSUE, { input: { name: `long key ${RUN}` }, key })).issueToken.replayed).toBe(false);
      expect(ok(await call(ISSUE, { input: { name: `long key ${RUN}` }, key })).issueToken.replayed).toBe(true);
    });

    it('the log keeps neither the key nor the request, only HMACs of them', async () => {
      const key = newKey('readable');
      const secret = `chosen-${RUN}-Jd8Kw2Qn5Vx7Bz3M`;
      ok(await call(IMPORT, { input: { name: `hidden request ${RUN}`, secret }, key }));
      const text = await idempotencyStreamText(key);
      expect(text).toContain('IdempotentRequestCompleted');
      expect(text).toMatch(/"requestFingerprint":"[0-9a-f]{64}"/);
      for (const readable of [key, secret, `hidden request ${RUN}`]) expect(text).not.toContain(readable);
    });

    describe('secret arguments', () => {
      /** The fingerprint the claim under `key` recorded. */
      const recordedFingerprint = async (key: string) => /"requestFingerprint":"([0-9a-f]{64})"/.exec(await idempotencyStreamText(key))![1];
      /** An HMAC over every argument, secret included, under the deployment's idempotency key: cheap to test guesses against. */
      const fingerprintOverSecret = (operation: string, args: Record<string, unknown>) => gw.gateway.idempotency.requestFingerprint(operation, args);

      it('stay out of the recorded fingerprint: requests that differ only in a secret record the same one, and no HMAC over a secret is stored', async () => {
        const name = `fingerprinted ${RUN}`;
        const secrets = [`guessable-${RUN}-Password1`, `guessable-${RUN}-Password2`];
        const importKeys = [newKey('fp-import'), newKey('fp-import')];
        for (const [i, secret] of secrets.entries()) ok(await call(IMPORT, { input: { name, secret }, key: importKeys[i] }));

        const connectionName = `fingerprinted_${RUN}`;
        const apiKeys = [`sk_live_${RUN}_first`, `sk_live_${RUN}_second`];
        const connectionKeys = [newKey('fp-conn'), newKey('fp-conn')];
        const connection = (key: string) => ({ integration: 'crm', name: connectionName, headerName: 'x-api-key', apiKey: key, allowedDomain: 'api.example.com' });
        for (const [i, key] of apiKeys.entries()) {
          ok(await call(CREATE_CONNECTION, { input: connection(key), key: connectionKeys[i] }));
          ok(await call(DELETE_CONNECTION, { integration: 'crm', name: connectionName }));
        }

        const testable = [
          ...secrets.map((secret) => fingerprintOverSecret('importToken', { input: { name, kind: 'API_TOKEN', secret } })),
          ...apiKeys.map((key) => fingerprintOverSecret('createApiKeyConnection', { input: connection(key) })),
        ];
        const recorded = await Promise.all([...importKeys, ...connectionKeys].map((key) => idempotencyStreamText(key)));
        for (const fingerprint of testable) {
          for (const text of recorded) expect(text).not.toContain(fingerprint);
        }
        expect(findSecrets(gw.dataDir, testable)).toEqual([]);
        expect(await recordedFingerprint(importKeys[0])).toBe(await recordedFingerprint(importKeys[1]));
        expect(await recordedFingerprint(connectionKeys[0])).toBe(await recordedFingerprint(connectionKeys[1]));
      });

      it('importToken: a retry with another secret is CONFLICT, checked against the argon2 hash, also after a rotation', async () => {
        const secret = `imported-${RUN}-Zx8Cv2Bn6Mq4Lp9W`;
        const input = { name: `secret replay ${RUN}`, secret };
        const key = newKey('import-secret');
        const first = ok(await call(IMPORT, { input, key })).importToken;
        ok(await call(ROTATE, { input: { id: first.id, gracePeriodSeconds: 0 } }));
        const before = await head();
        const other = await call(IMPORT, { input: { ...input, secret: `${secret}-other` }, key });
        expect(other.errors![0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'IDEMPOTENCY_KEY_REUSED' });
        const retry = await call(IMPORT, { input, key });
        expect(ok(retry).importToken.id).toBe(first.id);
        expect(idempotencyOf(retry, 'importToken')!.replayed).toBe(true);
        expect(await head()).toBe(before);
      });

      it('API keys: a retry with another key is CONFLICT while the key is stored; once its data key is destroyed it cannot be told, and the retry replays', async () => {
        const name = `secret_replay_${RUN}`;
        const input = { integration: 'crm', name, headerName: 'x-api-key', apiKey: `sk_live_${RUN}_original`, allowedDomain: 'api.example.com' };
        const key = newKey('create-secret');
        ok(await call(CREATE_CONNECTION, { input, key }));
        const before = await head();
        const other = await call(CREATE_CONNECTION, { input: { ...input, apiKey: `sk_live_${RUN}_other` }, key });
        expect(other.errors![0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'IDEMPOTENCY_KEY_REUSED' });
        expect(idempotencyOf(await call(CREATE_CONNECTION, { input, key }), 'createApiKeyConnection')!.replayed).toBe(true);
        expect(await head()).toBe(before);

        // Replacing the key destroys the data key it was sealed under: nothing can check a guess against it any more.
        ok(await call(UPDATE_CONNECTION, { input: { integration: 'crm', name, apiKey: `sk_live_${RUN}_replacement` } }));
        for (const apiKey of [input.apiKey, `sk_live_${RUN}_other`]) {
          const retry = await call(CREATE_CONNECTION, { input: { ...input, apiKey }, key });
          expect(ok(retry).createApiKeyConnection).toMatchObject({ name, apiKey: '*****' });
          expect(idempotencyOf(retry, 'createApiKeyConnection')!.replayed).toBe(true);
        }
      });
    });

    it('the claim and the outcome are in the audit history as an idempotency-key resource, redacted', async () => {
      const key = newKey('audited');
      const issued = ok(await call(ISSUE, { input: { name: `audited ${RUN}` }, key })).issueToken;
      const response = await call(
        `query($filter: AuditLogFilter) { auditLog(first: 10, filter: $filter) { edges { node { eventType resource { type id } changes } } } }`,
        { filter: { eventTypes: ['IdempotencyKeyClaimed', 'IdempotentRequestCompleted'] } },
      );
      const entries = ok(response).auditLog.edges.map((edge: { node: Record<string, any> }) => edge.node);
      const keyId = entries[0].resource.id;
      const ofKey = entries.filter((entry: Record<string, any>) => entry.resource.id === keyId);
      expect(ofKey.map((entry: Record<string, any>) => entry.eventType)).toEqual(['IdempotentRequestCompleted', 'IdempotencyKeyClaimed']);
      expect(ofKey[0]).toMatchObject({
        resource: { type: 'idempotency-key' },
        changes: { operation: 'issueToken', outcome: { type: 'token', id: issued.token.id }, tenantId: A },
      });
      expect(ofKey[1].changes.requestFingerprint).toMatch(/^[0-9a-f]{64}$/);
      expect(response.raw).not.toContain(key);
      expect(response.raw).not.toContain(issued.secret);
    });
  });
}
