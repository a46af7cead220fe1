import { graphql, REVOKE_TOKEN } from '../helpers/graphql-client';
import { issueToken, ROOT_SECRET, settledHeadPosition, startTestGateway, type TestGateway } from '../helpers/gateway';
import { REVOKE_PARTNER_CREDENTIAL } from '../helpers/partner-client';

const UPDATE_TOKEN = 'mutation Update($input: UpdateTokenInput!) { updateToken(input: $input) { id } }';
const ROTATE_TOKEN = 'mutation Rotate($input: RotateTokenInput!) { rotateToken(input: $input) { secret } }';

/**
 * Ids a client names that no id generator makes: longer than a stream id may be, or of the
 * wrong shape. They name nothing, so they read as NOT_FOUND (the fuzzer found them answered
 * as internal errors, the event store refusing the stream id).
 */
describe('mutations naming a malformed id', () => {
  let gw: TestGateway;
  let admin: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    ({ secret: admin } = await issueToken(gw.url, ROOT_SECRET, { name: 'admin', tenantId: 'ids', roles: ['keyledger:admin'] }));
  });
  afterAll(async () => gw?.stop());

  const ids = [
    ['600 characters', `tok_${'a'.repeat(596)}`],
    ['60,000 characters', 'a'.repeat(60_000)],
    ['a control character', 'tok_abc\u0000'],
    ['a path', 'tok_../../x'],
  ];
  const operations: Array<[string, string, (id: string) => Record<string, unknown>]> = [
    ['updateToken', UPDATE_TOKEN, (id) => ({ input: { id, name: 'renamed' } })],
    ['rotateToken', ROTATE_TOKEN, (id) => ({ input: { id, gracePeriodSeconds: 0 } })],
    ['revokeToken', REVOKE_TOKEN, (id) => ({ input: { id } })],
    ['revokePartnerCredential', REVOKE_PARTNER_CREDENTIAL, (id) => ({ input: { id: id.replace(/^tok_/, 'pc_') } })],
  ];

  describe.each(operations)('%s', (_name, mutation, variables) => {
    it.each(ids)('answers an id of %s with NOT_FOUND, writes nothing and logs no error', async (_label, id) => {
      const before = await settledHeadPosition(gw.gateway);
      const response = await graphql(gw.url, mutation, variables(id), admin);
      expect(response.errors).toHaveLength(1);
      expect(response.errors![0].extensions).toEqual({ code: 'NOT_FOUND' });
      expect(response.errors![0].message).toMatch(/^(Token|Partner credential) not found$/);
      expect(await settledHeadPosition(gw.gateway)).toBe(before);
      expect(gw.logs()).not.toMatch(/"level":"error"/);
    });
  });

  it('still finds a well-formed id that exists', async () => {
    const { id } = await issueToken(gw.url, admin, { name: 'real' });
    const response = await graphql(gw.url, UPDATE_TOKEN, { input: { id, name: 'renamed' } }, admin);
    expect(response.errors).toBeUndefined();
    expect(response.data!.updateToken.id).toBe(id);
  });
});
