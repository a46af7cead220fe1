import { accessibilityViolations, BROWSER_TEST_TIMEOUT, ConsoleFixture, domText } from './console-fixture';

jest.setTimeout(BROWSER_TEST_TIMEOUT);

describe('console: integration keys per integration', () => {
  const fixture = new ConsoleFixture();
  beforeAll(() => fixture.start());
  afterAll(() => fixture.stop());

  it('creates a key: its id and secret are shown once and authenticate as keyId:secret', async () => {
    const { page } = await fixture.signIn();
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Integration keys' }).click();
    await page.getByText('Name an integration to see its keys.').waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Create key' }).click();
    const form = page.getByRole('dialog', { name: 'Create an integration key' });
    await form.getByLabel('Integration').fill('messenger');
    await form.getByLabel('Name').fill('My custom key');
    expect(await accessibilityViolations(page)).toEqual([]);
    await form.getByRole('button', { name: 'Create' }).click();
    const dialog = page.getByRole('dialog', { name: 'Key “My custom key” created' });
    await dialog.waitFor();
    const [keyId, secret] = await dialog.locator('code.secret').allTextContents();
    await dialog.getByRole('button', { name: 'Done' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect((await domText(page)).includes(secret)).toBe(false);

    expect(await fixture.verify(`${keyId}:${secret}`)).toMatchObject({ valid: true, token: { id: keyId, kind: 'INTEGRATION_KEY' } });
    // The list now shows the integration's keys.
    const table = page.getByRole('region', { name: 'Keys of messenger' });
    await table.getByRole('link', { name: 'My custom key' }).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await fixture.screenshot(page, 'integration-keys');
  });
});
