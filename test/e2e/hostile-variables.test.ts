import fc from 'fast-check';
import { CREATE_CONNECTION, LIST_CONNECTIONS, USE_CONNECTION } from '../helpers/connections-client';
import { issueToken } from '../helpers/gateway';
import { ISSUE_TOKEN, REVOKE_TOKEN } from '../helpers/graphql-client';
import {
  anyText,
  expectSafeGraphQLAnswer,
  expectStillHealthy,
  fuzzParameters,
  fuzzTimeout,
  nearMiss,
  send,
  startFuzzTarget,
  type FuzzTarget,
} from '../helpers/hostile-input';
import { EXCHANGE, PARTNER_CREDENTIALS, REVOKE_PARTNER_CREDENTIAL } from '../helpers/partner-client';

const TOKENS = `query Tokens($first: Int, $after: String, $filter: TokenFilter) {
  tokens(first: $first, after: $after, filter: $filter) { totalCount pageInfo { endCursor } edges { cursor node { id name display } } }
}`;
const AUDIT_LOG = `query Audit($first: Int, $after: String, $filter: AuditLogFilter, $tenantId: ID) {
  auditLog(first: $first, after: $after, filter: $filter, tenantId: $tenantId) { edges { node { id eventType changes } } }
}`;
const ISSUE_TOKEN_ONCE = `mutation Issue($input: IssueTokenInput!, $idempotencyKey: String) {
  issueToken(input: $input, idempotencyKey: $idempotencyKey) { token { id name } }
}`;
const REVOKE_TOKEN_ONCE = `mutation Revoke($input: RevokeTokenInput!, $idempotencyKey: String) { revokeToken(input: $input, idempotencyKey: $idempotencyKey) { id status } }`;
const UPDATE_TOKEN = `mutation Update($input: UpdateTokenInput!) { updateToken(input: $input) { id name roles } }`;
const ROTATE_TOKEN = `mutation Rotate($input: RotateTokenInput!) { rotateToken(input: $input) { token { id } } }`;

/** Values of every wrong shape: any JSON, odd numbers, long and deep structures, prototype keys. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  anyText(),
  fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 2, 1e308, -0, 0.5, true, null, [], {}, [null]),
  fc.integer({ min: 100, max: 3000 }).map((depth) => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`)),
  fc.integer({ min: 100, max: 3000 }).map((depth) => JSON.parse(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`)),
  fc.integer({ min: 1_000, max: 20_000 }).map((length) => Array.from({ length }, (_, i) => `r${i}`)),
  fc.constant(JSON.parse('{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}}')),
);

/** Mostly a value of the right shape, so that many requests get past coercion to the resolvers; sometimes anything. */
const field = <T>(plausible: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 10, arbitrary: plausible }, { weight: 1, arbitrary: hostileValue });

/**
 * An input object of plausible and hostile fields, optional ones sometimes missing; now and
 * then with unknown fields, without a required one, or not an object at all.
 */
const input = (fields: Record<string, fc.Arbitrary<unknown>>, required: readonly string[] = []): fc.Arbitrary<unknown> => {
  const record = fc.record(fields, { requiredKeys: required as string[] });
  return fc.oneof(
    { weight: 12, arbitrary: record },
    { weight: 1, arbitrary: fc.tuple(record, fc.dictionary(anyText(12), hostileValue, { maxKeys: 3 })).map(([known, extra]) => ({ ...extra, ...known })) },
    { weight: 1, arbitrary: fc.record(fields, { requiredKeys: [] }) },
    { weight: 1, arbitrary: hostileValue },
  );
};

const isoDate = fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T00:00:00Z'), noInvalidDate: true }).map((date) => date.toISOString());
const first = field(fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 0, max: 100 }) }, { weight: 1, arbitrary: fc.integer() }));
/** A cursor of the list's own kind (for a row that may not exist), another kind's, or text. */
const cursor = (kind: string) =>
  field(
    fc.oneof(
      { weight: 4, arbitrary: fc.nat({ max: 1_000_000 }).map((seq) => Buffer.from(`${kind}:${seq}`).toString('base64url')) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom('token', 'audit', 'connection', 'partner', 'x'), fc.integer()).map(([other, seq]) => Buffer.from(`${other}:${seq}`).toString('base64url')) },
      { weight: 1, arbitrary: anyText(80) },
    ),
  );
const roles = fc.array(fc.oneof(fc.constantFrom('keyledger:admin', 'keyledger:root', 'keyledger:tokens:read', 'billing:read', ''), anyText(30)), { maxLength: 4 });
const text = (maxLength: number) => field(anyText(maxLength));

interface Operation {
  query: string;
  variables: fc.Arbitrary<Record<string, unknown>>;
}

function operations(target: FuzzTarget, victims: readonly string[]): Operation[] {
  const tokenId = field(fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...victims) }, { weight: 1, arbitrary: fc.constantFrom('tok_missing') }, { weight: 1, arbitrary: anyText(60) }));
  const tenantId = field(fc.oneof({ weight: 4, arbitrary: fc.constant(target.tenant) }, { weight: 1, arbitrary: fc.constant('other-tenant') }, { weight: 1, arbitrary: anyText(40) }));
  const integration = field(fc.oneof(fc.constant(target.connection.integration), fc.stringMatching(/^[a-z0-9-]{1,70}$/), anyText(40)));
  const optional = { requiredKeys: [] as never[] };
  // A few shared keys, so that retries with other arguments (CONFLICT) and replays happen too.
  const idempotencyKey = field(fc.oneof(fc.constantFrom('retry-1', 'retry-2'), fc.stringMatching(/^[\x21-\x7e]{1,255}$/), anyText(300)));
  return [
    {
      query: ISSUE_TOKEN,
      variables: fc.record({
        input: input(
          {
            name: text(60),
            kind: field(fc.constantFrom('API_TOKEN', 'INTEGRATION_KEY', 'WEBHOOK_TOKEN', 'ROOT')),
            roles: field(roles),
            expiresAt: field(isoDate),
            tenantId,
            code: text(30),
            botName: text(30),
            avatarUrl: field(fc.oneof(fc.webUrl(), anyText(60))),
            ownerId: text(30),
            integrationId: text(30),
          },
          ['name'],
        ),
      }),
    },
    {
      query: TOKENS,
      variables: fc.record(
        {
          first,
          after: cursor('token'),
          filter: input({
            status: field(fc.constantFrom('ACTIVE', 'REVOKED', 'EXPIRED', 'DELETED')),
            kind: field(fc.constantFrom('API_TOKEN', 'INTEGRATION_KEY', 'WEBHOOK_TOKEN')),
            role: text(30),
            search: text(100),
            tenantId,
            code: text(30),
            ownerId: text(30),
            integrationId: text(30),
          }),
        },
        optional,
      ),
    },
    {
      query: UPDATE_TOKEN,
      variables: fc.record({
        input: input({ id: tokenId, name: text(60), roles: field(roles), expiresAt: field(isoDate), botName: text(30), avatarUrl: field(fc.oneof(fc.webUrl(), anyText(60))) }, ['id']),
      }),
    },
    { query: ROTATE_TOKEN, variables: fc.record({ input: input({ id: tokenId, gracePeriodSeconds: field(fc.integer({ min: -10, max: 10_000_000 })) }, ['id', 'gracePeriodSeconds']) }) },
    { query: REVOKE_TOKEN, variables: fc.record({ input: input({ id: tokenId, reason: text(300) }, ['id']) }) },
    {
      query: REVOKE_TOKEN_ONCE,
      variables: fc.record({ input: input({ id: tokenId, reason: text(300) }, ['id']), idempotencyKey }, { requiredKeys: ['input'] }),
    },
    {
      query: ISSUE_TOKEN_ONCE,
      variables: fc.record({ input: input({ name: text(60), roles: field(roles), tenantId }, ['name']), idempotencyKey }, { requiredKeys: ['input'] }),
    },
    {
      query: CREATE_CONNECTION,
      variables: fc.record({
        input: input(
          {
            integration,
            name: field(fc.oneof(fc.stringMatching(/^[a-z0-9-]{1,70}$/), anyText(40))),
            headerName: field(fc.oneof(fc.constantFrom('x-api-key', 'Authorization', 'Host', 'x\r\ninjected: 1'), anyText(40))),
            apiKey: text(300),
            allowedDomain: field(fc.oneof(fc.domain(), fc.constantFrom('*', 'localhost', '127.0.0.1', '*.example.com'), anyText(60))),
            tenantId,
          },
          ['integration', 'name', 'headerName', 'apiKey', 'allowedDomain'],
        ),
      }),
    },
    { query: LIST_CONNECTIONS, variables: fc.record({ integration, first, after: cursor('connection'), tenantId }, { requiredKeys: ['integration'] }) },
    {
      query: USE_CONNECTION,
      variables: fc.record(
        {
          integration,
          // Never the fixture's name: using it with an allowed URL returns its key, as it should.
          name: field(fc.oneof(fc.stringMatching(/^[a-z0-9-]{1,70}$/), anyText(40)).filter((name) => name !== target.connection.name)),
          url: field(fc.oneof(fc.webUrl(), anyText(100))),
          tenantId,
        },
        { requiredKeys: ['integration', 'name', 'url'] },
      ),
    },
    {
      query: AUDIT_LOG,
      variables: fc.record(
        {
          first,
          after: cursor('audit'),
          tenantId,
          filter: input({
            eventTypes: field(fc.array(fc.oneof(fc.constantFrom('TokenIssued', 'TokenRevoked', 'Nope'), anyText(30)), { maxLength: 3 })),
            from: field(isoDate),
            to: field(isoDate),
            actorId: text(40),
            resourceId: text(40),
            resourceType: text(20),
            requestId: text(40),
            fingerprint: text(80),
          }),
        },
        optional,
      ),
    },
    {
      query: EXCHANGE,
      variables: fc.record(
        {
          apiKey: field(fc.oneof(fc.constant(target.partner.apiKey), nearMiss(target.partner.apiKey), anyText(60))),
          apiSecret: field(fc.oneof(nearMiss(target.partner.apiSecret), anyText(60))),
          tenantId,
          subTenantId: field(fc.oneof(fc.constantFrom('sub', 'other'), anyText(40))),
        },
        { requiredKeys: ['apiKey', 'apiSecret', 'tenantId', 'subTenantId'] },
      ),
    },
    {
      query: REVOKE_PARTNER_CREDENTIAL,
      variables: fc.record({ input: input({ id: field(fc.oneof(fc.constant('pc_missing'), anyText(60))), reason: text(300) }, ['id']) }),
    },
    { query: PARTNER_CREDENTIALS, variables: fc.record({ first, after: cursor('partner'), tenantId }, optional) },
  ];
}

/** GraphQL variables of wrong types, sizes and nesting for the real operations, against a real gateway. */
describe('hostile GraphQL variables', () => {
  let target: FuzzTarget;
  /** Tokens the fuzzer may update, rotate and revoke. */
  const victims: string[] = [];

  beforeAll(async () => {
    target = await startFuzzTarget();
    for (const name of ['victim one', 'victim two']) victims.push((await issueToken(target.gw.url, target.admin, { name })).id);
  });
  afterAll(async () => target?.gw.stop());

  it('never a 5xx, an uncoded error, a stack or a secret; the gateway keeps serving', async () => {
    const request = fc.tuple(
      fc.constantFrom(...operations(target, victims)).chain((operation) => fc.tuple(fc.constant(operation.query), operation.variables)),
      fc.oneof({ weight: 3, arbitrary: fc.constant('admin' as const) }, { weight: 1, arbitrary: fc.constant('reader' as const) }),
    );
    await fc.assert(
      fc.asyncProperty(request, async ([[query, variables], caller]) => {
        const answer = await send(`${target.gw.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${target[caller]}` },
          body: JSON.stringify({ query, variables }),
        });
        expectSafeGraphQLAnswer(answer, target.secrets);
      }),
      fuzzParameters(150),
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await expectStillHealthy(target);
  }, fuzzTimeout(150));

  it('variables that are not an object are refused with BAD_USER_INPUT', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyText(40), fc.array(fc.jsonValue(), { maxLength: 3 }), fc.integer(), fc.boolean()), async (variables) => {
        const answer = await send(`${target.gw.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${target.reader}` },
          body: JSON.stringify({ query: TOKENS, variables }),
        });
        expect([400, 413]).toContain(answer.status);
        const body = expectSafeGraphQLAnswer(answer, target.secrets);
        expect(body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      }),
      fuzzParameters(30),
    );
  }, fuzzTimeout(30));
});
