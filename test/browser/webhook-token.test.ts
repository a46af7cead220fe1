import { accessibilityViolations, BROWSER_TEST_TIMEOUT, ConsoleFixture, domText } from './console-fixture';

jest.setTimeout(BROWSER_TEST_TIMEOUT);

describe("console: a personal webhook token behind Cliq's confirm dialog", () => {
  const fixture = new ConsoleFixture();
  beforeAll(() => fixture.start());
  afterAll(() => fixture.stop());

  it('shows a title and a description, then generates the token for the user', async () => {
    const { page } = await fixture.signIn();
    await page.getByRole('button', { name: 'Generate webhook token' }).click();
    const prompt = page.getByRole('dialog', { name: 'Generate a personal webhook token' });
    await prompt.waitFor();
    expect(await prompt.getAttribute('aria-describedby')).toBeTruthy();
    expect(await prompt.textContent()).toContain('post on behalf of one user');
    expect(await accessibilityViolations(page)).toEqual([]);
    await fixture.screenshot(page, 'webhook-token');
    await prompt.getByLabel('User ID').fill('user-4711');
    await prompt.getByRole('button', { name: 'Generate' }).click();
    const dialog = page.getByRole('dialog', { name: 'Token “Webhook” issued' });
    await dialog.waitFor();
    const secret = (await dialog.locator('code.secret').textContent())!;
    await dialog.getByRole('button', { name: 'Done' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect((await domText(page)).includes(secret)).toBe(false);
    const verification = await fixture.verify(secret);
    expect(verification).toMatchObject({ valid: true, token: { kind: 'WEBHOOK_TOKEN' } });
    const { token } = await fixture.api<{ token: any }>(`query T($id: ID!) { token(id: $id) { ownerId } }`, { id: verification.token!.id });
    expect(token.ownerId).toBe('user-4711');
  });

  it('Cancel generates nothing', async () => {
    const before = await fixture.api<{ tokens: { totalCount: number } }>(`{ tokens(filter: { kind: WEBHOOK_TOKEN }) { totalCount } }`);
    const { page } = await fixture.signIn();
    await page.getByRole('button', { name: 'Generate webhook token' }).click();
    const prompt = page.getByRole('dialog', { name: 'Generate a personal webhook token' });
    await prompt.getByLabel('User ID').fill('user-1');
    await prompt.getByRole('button', { name: 'Cancel' }).click();
    await prompt.waitFor({ state: 'detached' });
    const after = await fixture.api<{ tokens: { totalCount: number } }>(`{ tokens(filter: { kind: WEBHOOK_TOKEN }) { totalCount } }`);
    expect(after.tokens.totalCount).toBe(before.tokens.totalCount);
  });
});
