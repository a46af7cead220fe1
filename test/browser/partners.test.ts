import { accessibilityViolations, BROWSER_TEST_TIMEOUT, ConsoleFixture, domText } from './console-fixture';

jest.setTimeout(BROWSER_TEST_TIMEOUT);

const EXCHANGE = `mutation Exchange($apiKey: String!, $apiSecret: String!, $tenantId: ID!, $subTenantId: ID!) {
  exchangePartnerCredential(apiKey: $apiKey, apiSecret: $apiSecret, tenantId: $tenantId, subTenantId: $subTenantId) { tokenType }
}`;

describe('console: partner credentials', () => {
  const fixture = new ConsoleFixture();
  beforeAll(() => fixture.start());
  afterAll(() => fixture.stop());

  it('creates a credential shown once, which exchanges; revoked, it no longer does', async () => {
    const { viewer } = await fixture.api<{ viewer: { tenantId: string } }>('{ viewer { tenantId } }');
    const { page } = await fixture.signIn();
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Partners' }).click();
    await page.getByText('No partner credentials yet.').waitFor();
    await page.getByRole('button', { name: 'New partner credential' }).click();
    const form = page.getByRole('dialog', { name: 'New partner credential' });
    await form.getByLabel('Name').fill('Insights dashboard');
    await form.getByLabel('Subtenant IDs').fill('team-a, team-b');
    expect(await accessibilityViolations(page)).toEqual([]);
    await form.getByRole('button', { name: 'Create' }).click();
    const dialog = page.getByRole('dialog', { name: 'Partner credential “Insights dashboard” created' });
    await dialog.waitFor();
    const [apiKey, apiSecret] = await dialog.locator('code.secret').allTextContents();
    expect(await accessibilityViolations(page)).toEqual([]);
    await dialog.getByRole('button', { name: 'Done' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect((await domText(page)).includes(apiSecret)).toBe(false);

    const exchange = () => fixture.api(EXCHANGE, { apiKey, apiSecret, tenantId: viewer.tenantId, subTenantId: 'team-a' }, '');
    expect(await exchange()).toEqual({ exchangePartnerCredential: { tokenType: 'Bearer' } });

    const row = page.getByRole('row').filter({ hasText: 'Insights dashboard' });
    await row.getByRole('button', { name: 'Revoke Insights dashboard' }).click();
    const confirm = page.getByRole('dialog', { name: 'Revoke “Insights dashboard”?' });
    await confirm.getByLabel('Reason').fill('contract ended');
    await confirm.getByRole('button', { name: 'Revoke' }).click();
    await page.getByText('Insights dashboard is revoked.').waitFor();
    await row.getByText('Revoked').waitFor();
    await expect(exchange()).rejects.toThrow(/UNAUTHENTICATED|FORBIDDEN/);
    expect(await accessibilityViolations(page)).toEqual([]);
    await fixture.screenshot(page, 'partners');
  });
});
