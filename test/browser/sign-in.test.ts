import { accessibilityViolations, BROWSER_TEST_TIMEOUT, ConsoleFixture, domText, ROOT_SECRET } from './console-fixture';

jest.setTimeout(BROWSER_TEST_TIMEOUT);

const NAVIGATION = ['Tokens', 'Integration keys', 'Connections', 'Partners', 'Audit', 'Revocations'];

describe('console: sign in and out', () => {
  const fixture = new ConsoleFixture();
  beforeAll(() => fixture.start());
  afterAll(() => fixture.stop());

  it('refuses a wrong token with a plain sentence and keeps the person on the sign-in page', async () => {
    const { page } = await fixture.open();
    expect(await accessibilityViolations(page)).toEqual([]);
    await fixture.screenshot(page, 'sign-in');
    await page.getByLabel('Token').fill('not-a-token-of-this-gateway-0123456789');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/^The gateway did not accept your token\./);
    expect(await alert.textContent()).not.toMatch(/[{}]|at \w+ \(/);
    expect(await page.getByRole('button', { name: 'Sign in' }).isVisible()).toBe(true);
    expect(await accessibilityViolations(page)).toEqual([]);
  });

  it('signs in with the root token, shows every page, keeps the credential out of web storage and never leaves the origin', async () => {
    const session = await fixture.signIn();
    const { page } = session;
    const navigation = page.getByRole('navigation', { name: 'Console' });
    for (const label of NAVIGATION) expect(await navigation.getByRole('link', { name: label, exact: true }).isVisible()).toBe(true);
    for (const label of NAVIGATION) {
      await navigation.getByRole('link', { name: label, exact: true }).click();
      await page.getByRole('heading', { level: 1, name: label }).waitFor();
      await page.waitForLoadState('networkidle');
      expect(await accessibilityViolations(page)).toEqual([]);
    }
    const storage = await fixture.webStorage(session);
    expect(storage).toEqual({ local: 0, session: 0, cookies: '', indexedDb: 0, contextCookies: 0 });
    expect(fixture.offOrigin(session.requests)).toEqual([]);
    expect(session.errors).toEqual([]);
    expect(session.requests.some((url) => url.startsWith('ws://'))).toBe(true);
  });

  it('signs out: the sign-in page again, and nothing signed in is left', async () => {
    const { page } = await fixture.signIn();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Token').waitFor();
    expect(await page.getByRole('navigation', { name: 'Console' }).count()).toBe(0);
    expect((await domText(page)).includes(ROOT_SECRET)).toBe(false);
  });

  it('offers only what the signed-in roles allow', async () => {
    const reader = await fixture.issue({ name: 'reader', roles: ['keyledger:tokens:read'] });
    const { page } = await fixture.signIn(reader.secret);
    const navigation = page.getByRole('navigation', { name: 'Console' });
    await page.getByRole('heading', { level: 1, name: 'Tokens' }).waitFor();
    expect(await navigation.getByRole('link', { name: 'Tokens', exact: true }).count()).toBe(1);
    expect(await navigation.getByRole('link', { name: 'Audit' }).count()).toBe(0);
    expect(await navigation.getByRole('link', { name: 'Connections' }).count()).toBe(0);
    await page.getByRole('link', { name: 'reader' }).waitFor();
    expect(await page.getByRole('button', { name: 'Issue token' }).count()).toBe(0);
    await page.getByRole('link', { name: 'reader' }).click();
    await page.getByRole('heading', { level: 2, name: 'Details' }).waitFor();
    expect(await page.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
  });

  it('answers /console with a strict CSP and the security headers, and caches hashed assets for good', async () => {
    const response = await fetch(`${fixture.url}/console`);
    expect(response.status).toBe(200);
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    const html = await response.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const assets = [...html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((match) => match[1]);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const asset of assets) {
      const assetResponse = await fetch(`${fixture.url}${asset}`);
      expect(assetResponse.status).toBe(200);
      expect(assetResponse.headers.get('cache-control')).toMatch(/immutable/);
      expect(assetResponse.headers.get('content-security-policy')).toBe(csp);
    }
    expect((await fetch(`${fixture.url}/console/assets/missing-0000.js`)).status).toBe(404);
  });

  it('links the /graphql page to the console', async () => {
    const response = await fetch(`${fixture.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(await response.text()).toContain('href="/console"');
  });
});
