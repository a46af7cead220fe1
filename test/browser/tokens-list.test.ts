import { accessibilityViolations, BROWSER_TEST_TIMEOUT, ConsoleFixture } from './console-fixture';
import { REVOKE_TOKEN } from '../helpers/graphql-client';

jest.setTimeout(BROWSER_TEST_TIMEOUT);

describe('console: the tokens list: search, filters, pages', () => {
  const fixture = new ConsoleFixture();
  beforeAll(async () => {
    await fixture.start();
    for (let index = 1; index <= 23; index += 1) await fixture.issue({ name: `fleet bot ${String(index).padStart(2, '0')}` });
    const revoked = await fixture.issue({ name: 'retired bot' });
    await fixture.api(REVOKE_TOKEN, { input: { id: revoked.id } });
    await fixture.issue({ kind: 'WEBHOOK_TOKEN', name: 'chat hook', ownerId: 'user-9' });
  });
  afterAll(() => fixture.stop());

  it('pages through the tokens and narrows them by search, kind and status', async () => {
    const { page } = await fixture.signIn(undefined, { width: 360, height: 740 });
    const table = page.getByRole('region', { name: 'Tokens' });
    await table.getByRole('link').first().waitFor();
    await page.getByText(/Page 1 · \d+ in all/).waitFor();
    expect(await table.getByRole('link').count()).toBe(20);
    expect(await accessibilityViolations(page)).toEqual([]);
    await fixture.screenshot(page, 'tokens-narrow');

    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByText(/^Page 2/).waitFor();
    expect(await table.getByRole('link').count()).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.getByText(/^Page 1/).waitFor();

    await page.getByLabel('Search').fill('fleet bot 1');
    await page.getByLabel('Search').press('Enter');
    await page.getByText('Page 1 · 10 in all').waitFor();

    await page.getByLabel('Search').fill('');
    await page.getByLabel('Search').press('Enter');
    await page.getByLabel('Status').selectOption({ label: 'Revoked' });
    await page.getByText('Page 1 · 1 in all').waitFor();
    expect(await table.getByRole('link').allTextContents()).toEqual(['retired bot']);

    await page.getByLabel('Status').selectOption({ label: 'Any status' });
    await page.getByLabel('Kind').selectOption({ label: 'Webhook token' });
    // The revoked filter's page also read "1 in all": the new row, not the count, says this page has arrived.
    await table.getByRole('link', { name: 'chat hook' }).waitFor();
    await page.getByText('Page 1 · 1 in all').waitFor();
    expect(await table.getByRole('link').allTextContents()).toEqual(['chat hook']);

    await page.getByLabel('Search').fill('no such token');
    await page.getByLabel('Search').press('Enter');
    await page.getByText('No tokens match.').waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
  });

  it('screenshots the list on a desktop', async () => {
    const { page } = await fixture.signIn();
    await page.getByRole('region', { name: 'Tokens' }).getByRole('link').first().waitFor();
    await fixture.screenshot(page, 'tokens');
  });
});
