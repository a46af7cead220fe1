import { Role, type KeyledgerRole } from '../../src/domain/access/roles';
import { issueToken, ROOT_SECRET } from '../helpers/gateway';
import { graphql, REVOKE_TOKEN, type GraphQLResponse } from '../helpers/graphql-client';
import { SubscriberClient, TOKEN_REVOKED, waitForSubscriptions } from '../helpers/subscriptions';
import { appendedBy, expectNoSecretsWritten, codes, startSecurityGateway, STORES, TENANT_A, TENANT_B, TENANT_NOBODY, UNAUTHENTICATED_KINDS, type SecurityGateway } from './fixtures';
import { GRAPHQL_OPERATIONS, MUTATING, withIdempotencyKey, type Call, type OperationSecurity } from './graphql-operations';

/**
 * Answers must never carry a stack trace or tenant B's identifiers, except those the caller
 * sent itself (a NOT_FOUND names the id it was asked for).
 */
function expectClean(response: GraphQLResponse, s: SecurityGateway, call?: Call): void {
  expect(response.raw).not.toMatch(/stacktrace|\bat [A-Za-z.<>]+ \(|\.ts:\d+|node_modules/);
  const sent = JSON.stringify(call?.variables ?? {});
  for (const value of [s.b.token.id, s.b.token.name, s.b.token.secret, s.b.partner.id, s.b.partner.apiKey, 'tenant-b-third-party-key', `"${TENANT_B}"`]) {
    if (!sent.includes(value)) expect(response.raw).not.toContain(value);
  }
}

let keys = 0;

/** Sends the call; mutations carry a fresh idempotency key, which a refusal must not claim either. */
async function run(s: SecurityGateway, call: Call, bearer?: string) {
  const sent = withIdempotencyKey(call, `security-suite-${++keys}`);
  return appendedBy(s.gw, () => graphql(s.gw.url, sent.query, sent.variables, bearer));
}

/** The hashes of a tenant's newest audit entries, whose last is its chain's head. */
const CHAIN_HASHES = 'query($t: ID) { auditLog(first: 100, tenantId: $t) { edges { node { hash } } } }';

const KEY_BOOKKEEPING = ['IdempotencyKeyClaimed', 'IdempotencyKeyReleased'];

/**
 * A refusal of a caller who holds the operation's role changes nothing: the idempotency key
 * it sent may be claimed and released again (the refusal comes from the command itself), and
 * nothing else is appended.
 */
function expectNothingChanged(appended: string[], allowed: string[] = []): void {
  const bookkeeping = appended.filter((type) => KEY_BOOKKEEPING.includes(type));
  expect(bookkeeping).toEqual(bookkeeping.length === 0 ? [] : KEY_BOOKKEEPING);
  expect(appended.filter((type) => !KEY_BOOKKEEPING.includes(type) && !allowed.includes(type))).toEqual([]);
}

function at(data: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((value, key) => (value === null || value === undefined ? value : (value as Record<string, unknown>)[key]), data);
}

const httpOperations = Object.entries(GRAPHQL_OPERATIONS).filter(([field]) => !field.startsWith('Subscription.'));

describe.each(STORES)('security of every GraphQL operation on %s', (store) => {
  let s: SecurityGateway;

  beforeAll(async () => {
    s = await startSecurityGateway(store);
  }, 120_000);
  afterAll(async () => s.gw.stop());

  describe.each(httpOperations)('%s', (field, op: OperationSecurity) => {
    const gated = op.role !== 'any' && op.role !== 'none';

    if (op.public) {
      it(`is public: ${op.public}`, async () => {
        const { result } = await run(s, await op.own(s));
        expect(codes(result)).toEqual([]);
      });
    } else {
      it('without a bearer: UNAUTHENTICATED, nothing appended', async () => {
        const { result, appended } = await run(s, await op.own(s));
        expect(codes(result)).toEqual(['UNAUTHENTICATED']);
        expect(appended).toEqual([]);
        expectClean(result, s);
      });

      it.each(UNAUTHENTICATED_KINDS)('with a %s credential: UNAUTHENTICATED, only the failure recorded', async (kind) => {
        const { result, appended } = await run(s, await op.own(s), s.principals.unauthenticated[kind]);
        expect(codes(result)).toEqual(['UNAUTHENTICATED']);
        expect(appended.filter((type) => type !== 'AuthenticationFailed')).toEqual([]);
        expectClean(result, s);
      });
    }

    if (gated) {
      const role = op.role as KeyledgerRole;
      it(`a token holding exactly ${role} may`, async () => {
        const { result } = await run(s, await op.own(s), s.principals.exact[role]);
        expect(result.errors).toBeUndefined();
      });

      it.each([
        [`every keyledger role short of ${role}`, (x: SecurityGateway) => x.principals.lacking[role]],
        ['tenant roles named like keyledger roles', (x: SecurityGateway) => x.principals.invented],
        ["a partner access token of the caller's tenant", (x: SecurityGateway) => x.principals.partnerJwtA],
      ])('with %s: FORBIDDEN, nothing appended', async (_name, bearer) => {
        const { result, appended } = await run(s, await op.own(s), bearer(s));
        expect(codes(result)).toEqual(['FORBIDDEN']);
        expect(appended).toEqual([]);
        expectClean(result, s);
      });
    }

    if (op.role === 'any') {
      it('any valid credential may, and keyledger-like tenant roles read back as plain tenant roles', async () => {
        for (const bearer of [s.principals.invented, s.principals.partnerJwtA, s.principals.exact[Role.auditRead]]) {
          const { result } = await run(s, await op.own(s), bearer);
          expect(result.errors).toBeUndefined();
        }
      });
    }

    if (op.foreign) {
      const foreign = op.foreign;
      it(`tenant B's resource, by tenant A's admin: reads as missing, never FORBIDDEN; nothing changed`, async () => {
        const call = await foreign(s);
        const { result, appended } = await run(s, call, s.principals.adminA);
        if (call.expect === 'NOT_FOUND') {
          expect(codes(result)).toEqual(['NOT_FOUND']);
        } else if (call.expect === 'own chain') {
          expect(result.errors).toBeUndefined();
          const answer = at(result.data, call.path) as { hash?: string; head?: string };
          const hashes = async (t: string) =>
            ((await graphql(s.gw.url, CHAIN_HASHES, { t }, ROOT_SECRET)).data!.auditLog.edges as Array<{ node: { hash: string } }>).map((edge) => edge.node.hash);
          const head = answer.hash ?? answer.head;
          expect({ ownChain: (await hashes(TENANT_A)).includes(head!), theirs: (await hashes(TENANT_B)).includes(head!) }).toEqual({ ownChain: true, theirs: false });
        } else if (call.expect === 'nothing') {
          expect(result.errors).toBeUndefined();
          expect({ path: call.path, value: at(result.data, call.path) }).toEqual({ path: call.path, value: null });
        } else {
          expect(result.errors).toBeUndefined();
          const nodes = (at(result.data, call.path) as { edges: Array<{ node: Record<string, unknown> }> }).edges.map((edge) => edge.node);
          expect(nodes.filter((node) => node.tenantId !== TENANT_A)).toEqual([]);
        }
        if (call.expect === 'own chain') {
          // The call succeeds on A's own chain, so a mutation records its idempotency key and result; nothing else is written.
          expect(appended.filter((type) => !type.startsWith('Idempoten'))).toEqual([]);
        } else {
          expectNothingChanged(appended);
        }
        expectClean(result, s, call);
      });
    }

    for (const escalation of op.escalations ?? []) {
      it(`escalation: ${escalation.name}: ${escalation.code}, nothing changed`, async () => {
        const call = await escalation.call(s);
        const { result, appended } = await run(s, call, escalation.bearer(s));
        expect(codes(result)).toEqual([escalation.code]);
        expectNothingChanged(appended, escalation.code === 'UNAUTHENTICATED' ? ['AuthenticationFailed'] : []);
        expectClean(result, s, call);
      });
    }

    if (MUTATING(field) && gated) {
      it('the same call by the admin of tenant A succeeds and appends (the refusals above are real)', async () => {
        const { result, appended } = await run(s, await op.own(s), s.principals.adminA);
        expect(result.errors).toBeUndefined();
        expect(appended.length).toBeGreaterThan(0);
      });
    }
  });

  describe('Subscription.tokenRevoked', () => {
    const clients: SubscriberClient[] = [];
    const client = (bearer: string | null) => {
      const subscriber = new SubscriberClient(s.gw.url, bearer);
      clients.push(subscriber);
      return subscriber;
    };
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((c) => c.dispose()));
    });

    it.each(['none', ...UNAUTHENTICATED_KINDS] as const)('with %s credential: the socket closes with 4401', async (kind) => {
      const subscriber = client(kind === 'none' ? null : s.principals.unauthenticated[kind]);
      subscriber.subscribe();
      expect((await subscriber.closed()).code).toBe(4401);
    });

    it.each([
      ['every keyledger role short of tokens:read', (x: SecurityGateway) => x.principals.lacking[Role.tokensRead]],
      ['tenant roles named like keyledger roles', (x: SecurityGateway) => x.principals.invented],
    ])('with %s: the socket closes with 4403', async (_name, bearer) => {
      const subscriber = client(bearer(s));
      subscriber.subscribe();
      expect((await subscriber.closed()).code).toBe(4403);
    });

    it('with a partner access token: the socket closes with 4401, since only keyledger tokens open a connection', async () => {
      const subscriber = client(s.principals.partnerJwtA);
      subscriber.subscribe();
      expect((await subscriber.closed()).code).toBe(4401);
    });

    it.each([TENANT_B, TENANT_NOBODY])('a non-root caller naming tenant %s: FORBIDDEN, as documented', async (tenantId) => {
      const subscriber = client(s.principals.exact[Role.tokensRead]);
      const record = subscriber.subscribe({ tenantId });
      await subscriber.until(() => record.ended);
      expect(record.errors.map((error) => error.extensions?.code)).toEqual(['FORBIDDEN']);
      expect(record.notices).toEqual([]);
    });

    it("a tokens:read holder hears its own tenant's revocations and never tenant B's", async () => {
      const subscriber = client(s.principals.exact[Role.tokensRead]);
      const record = subscriber.subscribe({}, TOKEN_REVOKED);
      await waitForSubscriptions(s.gw.url, 1);
      const theirs = await issueToken(s.gw.url, ROOT_SECRET, { name: 'b revoked', tenantId: TENANT_B });
      const ours = await issueToken(s.gw.url, ROOT_SECRET, { name: 'a revoked', tenantId: TENANT_A });
      await graphql(s.gw.url, REVOKE_TOKEN, { input: { id: theirs.id } }, ROOT_SECRET);
      await graphql(s.gw.url, REVOKE_TOKEN, { input: { id: ours.id } }, ROOT_SECRET);
      await subscriber.until(() => record.notices.some((notice) => notice.tokenId === ours.id));
      // Notices arrive in log order, so B's would have come first.
      expect(record.notices.map((notice) => [notice.tokenId, notice.tenantId])).toEqual([[ours.id, TENANT_A]]);
    });
  });

  it('after all of the above, no presented credential is in the logs or the data files', () => {
    expectNoSecretsWritten(s);
  });
});
