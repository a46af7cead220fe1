import { accessibilityViolations, BROWSER_TEST_TIMEOUT, ConsoleFixture, domText } from './console-fixture';

jest.setTimeout(BROWSER_TEST_TIMEOUT);

const USE = `mutation Use($integration: String!, $name: String!, $url: String!) {
  useApiKeyConnection(integration: $integration, name: $name, url: $url) { headerName apiKey }
}`;

describe('console: API-key connections per integration', () => {
  const fixture = new ConsoleFixture();
  beforeAll(() => fixture.start());
  afterAll(() => fixture.stop());

  it('creates, edits and deletes a connection; the key is write-only and usable only for its domain', async () => {
    const apiKey = 'third-party-key-5b1c0e6a2f';
    const { page } = await fixture.signIn();
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Connections' }).click();
    await page.getByRole('button', { name: 'New connection' }).click();
    const form = page.getByRole('dialog', { name: 'New connection' });
    await form.getByLabel('Integration').fill('helpdesk');
    await form.getByLabel('Name', { exact: true }).fill('crm_key');
    await form.getByLabel('Header name').fill('x-api-key');
    await form.getByLabel('API key').fill(apiKey);
    await form.getByLabel('Allowed domain').fill('api.example.com');
    expect(await accessibilityViolations(page)).toEqual([]);
    await form.getByRole('button', { name: 'Create' }).click();
    await form.waitFor({ state: 'detached' });
    const table = page.getByRole('region', { name: 'Connections of helpdesk' });
    const row = table.getByRole('row').filter({ hasText: 'crm_key' });
    await row.waitFor();
    expect(await row.textContent()).toContain('*****');
    expect((await domText(page)).includes(apiKey)).toBe(false);
    expect(await accessibilityViolations(page)).toEqual([]);
    await fixture.screenshot(page, 'connections');

    const used = await fixture.api<{ useApiKeyConnection: { apiKey: string } }>(USE, { integration: 'helpdesk', name: 'crm_key', url: 'https://api.example.com/v1/contacts' });
    expect(used.useApiKeyConnection).toEqual({ headerName: 'x-api-key', apiKey });
    await expect(fixture.api(USE, { integration: 'helpdesk', name: 'crm_key', url: 'https://evil.example.net/' })).rejects.toThrow(/FORBIDDEN|BAD_USER_INPUT/);

    await row.getByRole('button', { name: 'Edit crm_key' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit “crm_key”' });
    await edit.getByLabel('Header name').fill('x-crm-key');
    // Moving the key to another header needs the key again (a stored key never follows a change unasked).
    await edit.getByLabel('API key').fill(apiKey);
    expect(await accessibilityViolations(page)).toEqual([]);
    await edit.getByRole('button', { name: 'Save' }).click();
    await edit.waitFor({ state: 'detached' });
    await row.getByText('x-crm-key').waitFor();
    const afterEdit = await fixture.api<{ useApiKeyConnection: { headerName: string } }>(USE, { integration: 'helpdesk', name: 'crm_key', url: 'https://api.example.com/' });
    expect(afterEdit.useApiKeyConnection.headerName).toBe('x-crm-key');

    await row.getByRole('button', { name: 'Delete crm_key' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete “crm_key”?' });
    expect(await accessibilityViolations(page)).toEqual([]);
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await page.getByText('No connections for helpdesk yet.').waitFor();
    const { apiKeyConnection } = await fixture.api<{ apiKeyConnection: unknown }>(`{ apiKeyConnection(integration: "helpdesk", name: "crm_key") { name } }`);
    expect(apiKeyConnection).toBeNull();
  });
});
