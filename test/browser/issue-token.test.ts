import { accessibilityViolations, BROWSER_TEST_TIMEOUT, clipboardText, ConsoleFixture, domText, isFocused, PIXEL_PNG, tabTo } from './console-fixture';

jest.setTimeout(BROWSER_TEST_TIMEOUT);

const AVATAR = 'https://avatars.example/order-bot.png';

describe('console: issue an API token and copy its secret once', () => {
  const fixture = new ConsoleFixture();
  beforeAll(() => fixture.start());
  afterAll(() => fixture.stop());

  it('issues from the form; the secret verifies with its roles, is copied, and leaves the page when the dialog closes', async () => {
    const session = await fixture.signIn();
    const { page } = session;
    await page.route(`${AVATAR}*`, (route) => route.fulfill({ status: 200, contentType: 'image/png', body: PIXEL_PNG }));
    await page.getByRole('button', { name: 'Issue token' }).click();
    const form = page.getByRole('dialog', { name: 'Issue an API token' });
    await form.waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await form.getByLabel('Name', { exact: true }).fill('Order bot');
    await form.getByLabel('Code').fill('order-bot');
    await form.getByLabel('Bot name').fill('Orders');
    await form.getByLabel('Avatar URL').fill(AVATAR);
    await form.getByLabel('Roles').fill('orders:read, orders:write');
    await form.getByLabel('Roles').focus();
    await form.getByRole('img', { name: 'Avatar preview' }).waitFor();
    await form.getByLabel('Expires').fill('2099-01-01T12:00');
    await fixture.screenshot(page, 'issue-token');
    await form.getByRole('button', { name: 'Issue' }).click();

    const dialog = page.getByRole('dialog', { name: 'Token “Order bot” issued' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('will not be shown again');
    const secret = (await dialog.locator('code.secret').textContent())!;
    expect(secret.length).toBeGreaterThan(20);
    expect(await accessibilityViolations(page)).toEqual([]);
    await dialog.getByRole('button', { name: 'Copy' }).click();
    await dialog.getByText('Secret copied to the clipboard.').waitFor();
    expect(await clipboardText(page)).toBe(secret);
    await dialog.getByRole('button', { name: 'Done' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect((await domText(page)).includes(secret)).toBe(false);
    expect(await isFocused(page.getByRole('button', { name: 'Issue token' }))).toBe(true);

    const verification = await fixture.verify(secret, ['orders:write']);
    expect(verification).toMatchObject({ valid: true, code: 'VALID', token: { roles: ['orders:read', 'orders:write'], kind: 'API_TOKEN' } });
    const { token } = await fixture.api<{ token: any }>(`query T($id: ID!) { token(id: $id) { name code botName avatarUrl expiresAt } }`, {
      id: verification.token!.id,
    });
    expect(token).toMatchObject({ name: 'Order bot', code: 'order-bot', botName: 'Orders', avatarUrl: AVATAR });
    expect(new Date(token.expiresAt).getFullYear()).toBe(2099);
    await page.getByRole('link', { name: 'Order bot' }).waitFor();
    // The avatar the person typed is the only request that left the gateway's origin.
    expect(fixture.offOrigin(session.requests)).toEqual([AVATAR]);
    expect(await fixture.webStorage(session)).toEqual({ local: 0, session: 0, cookies: '', indexedDb: 0, contextCookies: 0 });
  });

  it('states a refused input as a sentence in the form', async () => {
    await fixture.issue({ name: 'taken', code: 'taken-code' });
    const { page } = await fixture.signIn();
    await page.getByRole('button', { name: 'Issue token' }).click();
    const form = page.getByRole('dialog', { name: 'Issue an API token' });
    await form.getByLabel('Name', { exact: true }).fill('second');
    await form.getByLabel('Code').fill('taken-code');
    await form.getByRole('button', { name: 'Issue' }).click();
    const alert = form.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/^That clashes with something that already exists\. .+\.$/);
    expect(await alert.textContent()).toContain('taken-code');
    expect(await alert.textContent()).not.toMatch(/[{}]|extensions|BAD_USER_INPUT|CONFLICT/);
    expect(await accessibilityViolations(page)).toEqual([]);
  });

  it('issues with the keyboard alone', async () => {
    const { page } = await fixture.signIn();
    await tabTo(page, page.getByRole('button', { name: 'Issue token' }));
    await page.keyboard.press('Enter');
    const form = page.getByRole('dialog', { name: 'Issue an API token' });
    await form.waitFor();
    await tabTo(page, form.getByLabel('Name', { exact: true }));
    await page.keyboard.type('Keyboard bot');
    await tabTo(page, form.getByLabel('Roles'));
    await page.keyboard.type('reports:read');
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Token “Keyboard bot” issued' });
    await dialog.waitFor();
    const secret = (await dialog.locator('code.secret').textContent())!;
    await tabTo(page, dialog.getByRole('button', { name: 'Done' }));
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'detached' });
    expect((await domText(page)).includes(secret)).toBe(false);
    expect(await fixture.verify(secret, ['reports:read'])).toMatchObject({ valid: true, token: { roles: ['reports:read'] } });
  });
});
