import { createHash } from 'node:crypto';
import { PUBLIC_REVOCATION_PATH } from '../../src/http/leaks/public-revocation-router';
import { SECRET_SCANNING_GITHUB_PATH } from '../../src/http/leaks/secret-scanning-router';
import { eventually, issueToken, ROOT_SECRET } from '../helpers/gateway';
import { graphql, VERIFY_TOKEN } from '../helpers/graphql-client';
import { scannerKey, signedHeaders } from '../helpers/secret-scanning';
import { appendedBy, expectNoSecretsWritten, startSecurityGateway, STORES, TENANT_A, TENANT_B, type SecurityGateway } from './fixtures';

const NO_STACKS = /stacktrace|\bat [A-Za-z.<>]+ \(|\.ts:\d+|node_modules/;

/**
 * The leak routes take no bearer: a keyledger credential, a partner JWT or another tenant's
 * admin gains nothing there, and a report only counts when the scanner's key signed it.
 */
describe.each(STORES)('leak routes on %s', (store) => {
  let s: SecurityGateway;
  const leakedSecrets: string[] = [];

  beforeAll(async () => {
    s = await startSecurityGateway(store);
  }, 120_000);
  afterAll(async () => s.gw.stop());

  const report = async (body: string, headers: Record<string, string>) => {
    const response = await fetch(`${s.gw.url}${SECRET_SCANNING_GITHUB_PATH}`, { method: 'POST', headers, body });
    return { status: response.status, text: await response.text() };
  };
  const codeOf = async (secret: string) => (await graphql(s.gw.url, VERIFY_TOKEN, { token: secret }, ROOT_SECRET)).data!.verifyToken.code as string;

  it.each([
    ['no credentials', () => undefined],
    ["tenant A's admin", () => `Bearer ${s.principals.adminA}`],
    ['a partner access token', () => `Bearer ${s.principals.partnerJwtA}`],
    ['the root token', () => `Bearer ${ROOT_SECRET}`],
  ])('an unsigned report with %s: 401, nothing appended, nothing revoked', async (_name, authorization) => {
    const body = JSON.stringify([{ token: s.b.token.secret, type: 'keyledger_api_token', url: 'https://github.com/o/r/blob/1/x', source: 'content' }]);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const bearer = authorization();
    if (bearer) headers.authorization = bearer;
    const { result, appended } = await appendedBy(s.gw, () => report(body, headers));
    expect({ status: result.status, appended }).toEqual({ status: 401, appended: [] });
    expect(result.text).not.toMatch(NO_STACKS);
    expect(result.text).not.toContain(s.b.token.secret);
    expect(await codeOf(s.b.token.secret)).toBe('VALID');
  });

  it('a report signed by a key the document does not hold: 401, nothing appended', async () => {
    const body = JSON.stringify([{ token: s.b.token.secret, type: 'keyledger_api_token' }]);
    const { result, appended } = await appendedBy(s.gw, () => report(body, signedHeaders(scannerKey(s.scanner.id), body)));
    expect({ status: result.status, appended }).toEqual({ status: 401, appended: [] });
    expect(await codeOf(s.b.token.secret)).toBe('VALID');
  });

  it("a signed report revokes a token of any tenant, and its answer names no tenant and no token id", async () => {
    const leaked = await issueToken(s.gw.url, ROOT_SECRET, { name: 'leaked in b', tenantId: TENANT_B });
    leakedSecrets.push(leaked.secret);
    const body = JSON.stringify([{ token: leaked.secret, type: 'keyledger_api_token', url: 'https://github.com/o/r/blob/1/y', source: 'content' }]);
    const { result, appended } = await appendedBy(s.gw, () => report(body, signedHeaders(s.scanner, body)));
    expect(JSON.parse(result.text)).toEqual([{ token_hash: createHash('sha256').update(leaked.secret).digest('hex'), token_type: 'keyledger_api_token', label: 'true_positive' }]);
    expect(appended).toEqual(['TokenRevoked', 'SecretScanningReportReceived']);
    for (const value of [leaked.id, TENANT_B, leaked.secret]) expect(result.text).not.toContain(value);
    expect(await codeOf(leaked.secret)).toBe('REVOKED');
  });

  it('public revocation answers the same to any bearer, and revokes what it was given only', async () => {
    const leaked = await issueToken(s.gw.url, ROOT_SECRET, { name: 'posted publicly', tenantId: TENANT_A });
    leakedSecrets.push(leaked.secret);
    const answers = [];
    for (const bearer of [undefined, s.principals.partnerJwtA, s.principals.adminB]) {
      const response = await fetch(`${s.gw.url}${PUBLIC_REVOCATION_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
        body: JSON.stringify({ credentials: bearer === s.principals.adminB ? [leaked.secret] : ['not-a-secret-at-all'] }),
      });
      answers.push({ status: response.status, text: await response.text() });
    }
    expect(new Set(answers.map((answer) => JSON.stringify(answer))).size).toBe(1);
    expect(answers[0].status).toBe(202);
    await eventually(async () => (await codeOf(leaked.secret)) === 'REVOKED', 20_000);
    expect(await codeOf(s.b.token.secret)).toBe('VALID');
  });

  it('after all of the above, no presented credential is in the logs or the data files', () => {
    expectNoSecretsWritten(s);
    const logs = s.gw.logs();
    expect(leakedSecrets.filter((secret) => logs.includes(secret))).toEqual([]);
  });
});
