import { Role } from '../../src/domain/access/roles';
import { issueToken, ROOT_SECRET, startTestGateway, type TestGateway } from '../helpers/gateway';
import { graphql, VERIFY_TOKEN } from '../helpers/graphql-client';
import { postForm } from '../helpers/partner-client';
import { appendedBy, NO_RATE_LIMITS, TENANT_A, TENANT_B } from './fixtures';

/**
 * RFC 7009 §2.2: whatever the token is — unknown, dead, another tenant's, or one the caller
 * may not revoke — the answer is the same 200, and the token is left alone. Only the
 * caller's own lack of the endpoint's role is refused, before the token is read.
 */
describe('POST /oauth/revoke answers alike for every token', () => {
  let gw: TestGateway;
  let writer: string;
  let reader: string;

  beforeAll(async () => {
    gw = await startTestGateway({ env: NO_RATE_LIMITS });
    writer = (await issueToken(gw.url, ROOT_SECRET, { name: 'writer', tenantId: TENANT_A, roles: [Role.tokensWrite] })).secret;
    reader = (await issueToken(gw.url, ROOT_SECRET, { name: 'reader', tenantId: TENANT_A, roles: [Role.tokensRead] })).secret;
  }, 60_000);
  afterAll(async () => gw?.stop());

  const revoke = async (bearer: string, token: string) => {
    const answer = await postForm(gw.url, '/oauth/revoke', { token }, { authorization: `Bearer ${bearer}` });
    return { status: answer.status, text: answer.text, challenge: answer.headers.get('www-authenticate') };
  };
  const code = async (token: string) => (await graphql(gw.url, VERIFY_TOKEN, { token }, ROOT_SECRET)).data!.verifyToken.code as string;

  it("a token holding roles the caller lacks is left alone, answered like an unknown token or another tenant's", async () => {
    const admin = await issueToken(gw.url, ROOT_SECRET, { name: 'admin a', tenantId: TENANT_A, roles: [Role.admin] });
    const foreign = await issueToken(gw.url, ROOT_SECRET, { name: 'b token', tenantId: TENANT_B });
    const { result: answers, appended } = await appendedBy(gw, async () => ({
      beyondCaller: await revoke(writer, admin.secret),
      foreign: await revoke(writer, foreign.secret),
      unknown: await revoke(writer, `klt_${'A'.repeat(32)}000000`),
    }));
    const alike = { status: 200, text: '', challenge: null };
    expect(answers).toEqual({ beyondCaller: alike, foreign: alike, unknown: alike });
    // Checking a token that holds keyledger roles is itself on record; nothing else is written.
    expect(appended.filter((type) => type !== 'PrivilegedTokenVerified')).toEqual([]);
    expect([await code(admin.secret), await code(foreign.secret)]).toEqual(['VALID', 'VALID']);
  });

  it('a bearer without keyledger:tokens:write is refused with insufficient_scope, the same for every token', async () => {
    const own = await issueToken(gw.url, ROOT_SECRET, { name: 'own', tenantId: TENANT_A });
    const answers = [await revoke(reader, own.secret), await revoke(reader, `klt_${'A'.repeat(32)}000000`)];
    expect(answers[0]).toEqual(answers[1]);
    expect({ status: answers[0].status, error: JSON.parse(answers[0].text).error, challenge: answers[0].challenge }).toEqual({
      status: 403,
      error: 'insufficient_scope',
      challenge: 'Bearer realm="keyledger", error="insufficient_scope"',
    });
    expect(await code(own.secret)).toBe('VALID');
  });
});
