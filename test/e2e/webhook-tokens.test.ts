import { issueToken, ROOT_SECRET, startTestGateway, type TestGateway } from '../helpers/gateway';
import { errorCode, graphql } from '../helpers/graphql-client';

/**
 * A chat extension's model: its backend holds keyledger:webhook-tokens:write and issues
 * each user a webhook token when they confirm the dialog; the user's token then sees,
 * rotates and revokes itself.
 */
const TENANT = 'cliq-org';
const ISSUE = 'mutation($input: IssueTokenInput!, $key: String) { issueToken(input: $input, idempotencyKey: $key) { secret token { id kind ownerId roles tenantId } } }';
const LIST = 'query($filter: TokenFilter) { tokens(first: 50, filter: $filter) { totalCount edges { node { id kind ownerId } } } }';
const TOKEN = 'query($id: ID!) { token(id: $id) { id kind ownerId status } }';
const ROTATE = 'mutation($id: ID!, $key: String) { rotateToken(input: {id: $id, gracePeriodSeconds: 0}, idempotencyKey: $key) { secret token { id } } }';
const REVOKE = 'mutation($id: ID!, $key: String) { revokeToken(input: {id: $id}, idempotencyKey: $key) { id status } }';
const VIEWER = '{ viewer { id tenantId } }';

describe('webhook tokens: an extension backend issues them, each holder manages its own', () => {
  let gw: TestGateway;
  let extension: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    ({ secret: extension } = await issueToken(gw.url, ROOT_SECRET, { name: 'cliq extension', tenantId: TENANT, roles: ['keyledger:webhook-tokens:write'] }));
  });
  afterAll(async () => gw.stop());

  const issueFor = async (ownerId: string, key?: string) => {
    const response = await graphql(gw.url, ISSUE, { input: { name: `webhook of ${ownerId}`, kind: 'WEBHOOK_TOKEN', ownerId, roles: ['gitlab:post'] }, key }, extension);
    expect(response.errors).toBeUndefined();
    return response.data!.issueToken as { secret: string; token: { id: string; kind: string; ownerId: string; roles: string[]; tenantId: string } };
  };

  it('the backend issues, lists, rotates and revokes webhook tokens for any user of its tenant', async () => {
    const alice = await issueFor('alice@example.com');
    expect(alice.token).toMatchObject({ kind: 'WEBHOOK_TOKEN', ownerId: 'alice@example.com', roles: ['gitlab:post'], tenantId: TENANT });
    expect(alice.secret).toMatch(/^klw_/);
    const bob = await issueFor('bob@example.com', 'confirm-dialog-bob-1');

    const listed = await graphql(gw.url, LIST, { filter: { kind: 'WEBHOOK_TOKEN' } }, extension);
    expect(listed.errors).toBeUndefined();
    expect(listed.data!.tokens.edges.map((edge: any) => edge.node.id)).toEqual(expect.arrayContaining([alice.token.id, bob.token.id]));
    expect((await graphql(gw.url, TOKEN, { id: bob.token.id }, extension)).data!.token).toMatchObject({ id: bob.token.id, ownerId: 'bob@example.com' });

    const rotated = await graphql(gw.url, ROTATE, { id: alice.token.id, key: 'rotate-alice-1' }, extension);
    expect(rotated.errors).toBeUndefined();
    expect(errorCode(await graphql(gw.url, VIEWER, {}, alice.secret))).toBe('UNAUTHENTICATED');
    expect((await graphql(gw.url, VIEWER, {}, rotated.data!.rotateToken.secret)).data!.viewer.id).toBe(alice.token.id);

    const revoked = await graphql(gw.url, REVOKE, { id: bob.token.id }, extension);
    expect(revoked.data!.revokeToken).toEqual({ id: bob.token.id, status: 'REVOKED' });
    expect(errorCode(await graphql(gw.url, VIEWER, {}, bob.secret))).toBe('UNAUTHENTICATED');
  });

  it("the backend cannot reach another kind or grant keyledger roles (the security tables check the rest)", async () => {
    const apiToken = await issueToken(gw.url, ROOT_SECRET, { name: 'api', tenantId: TENANT });
    for (const [query, variables] of [
      [ISSUE, { input: { name: 'api', kind: 'API_TOKEN' } }],
      [ISSUE, { input: { name: 'w', kind: 'WEBHOOK_TOKEN', ownerId: 'eve', roles: ['keyledger:webhook-tokens:write'] } }],
      [ROTATE, { id: apiToken.id }],
      [REVOKE, { id: apiToken.id }],
      [TOKEN, { id: apiToken.id }],
      [LIST, {}],
    ] as const) {
      expect(errorCode(await graphql(gw.url, query, variables, extension))).toBe('FORBIDDEN');
    }
  });

  it('a webhook token sees, rotates and revokes itself, with or without an idempotency key', async () => {
    const carol = await issueFor('carol@example.com');
    const me = (await graphql(gw.url, VIEWER, {}, carol.secret)).data!.viewer;
    expect(me).toEqual({ id: carol.token.id, tenantId: TENANT });
    const seen = await graphql(gw.url, TOKEN, { id: me.id }, carol.secret);
    expect(seen.data!.token).toEqual({ id: carol.token.id, kind: 'WEBHOOK_TOKEN', ownerId: 'carol@example.com', status: 'ACTIVE' });

    const rotated = await graphql(gw.url, ROTATE, { id: me.id, key: 'carol-rotate-1' }, carol.secret);
    expect(rotated.errors).toBeUndefined();
    const secret = rotated.data!.rotateToken.secret as string;
    expect(errorCode(await graphql(gw.url, VIEWER, {}, carol.secret))).toBe('UNAUTHENTICATED');

    const again = await graphql(gw.url, ROTATE, { id: me.id }, secret);
    expect(again.errors).toBeUndefined();
    const latest = again.data!.rotateToken.secret as string;
    const revoked = await graphql(gw.url, REVOKE, { id: me.id }, latest);
    expect(revoked.data!.revokeToken).toEqual({ id: me.id, status: 'REVOKED' });
    expect(errorCode(await graphql(gw.url, VIEWER, {}, latest))).toBe('UNAUTHENTICATED');
  });

  it("a webhook token cannot see or touch another user's token", async () => {
    const dave = await issueFor('dave@example.com');
    const erin = await issueFor('erin@example.com');
    for (const [query, variables] of [
      [TOKEN, { id: erin.token.id }],
      [ROTATE, { id: erin.token.id }],
      [REVOKE, { id: erin.token.id }],
      [LIST, { filter: { kind: 'WEBHOOK_TOKEN' } }],
    ] as const) {
      expect(errorCode(await graphql(gw.url, query, variables, dave.secret))).toBe('FORBIDDEN');
    }
    expect((await graphql(gw.url, VIEWER, {}, erin.secret)).data!.viewer.id).toBe(erin.token.id);
  });
});
