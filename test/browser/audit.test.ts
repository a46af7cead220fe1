import { readFileSync } from 'node:fs';
import { accessibilityViolations, BROWSER_TEST_TIMEOUT, ConsoleFixture } from './console-fixture';
import { REVOKE_TOKEN } from '../helpers/graphql-client';

jest.setTimeout(BROWSER_TEST_TIMEOUT);

describe('console: the audit log', () => {
  const fixture = new ConsoleFixture();
  let revoked: { id: string; secret: string };
  beforeAll(async () => {
    await fixture.start();
    revoked = await fixture.issue({ name: 'audited bot' });
    await fixture.api(REVOKE_TOKEN, { input: { id: revoked.id, reason: 'rotation drill' } });
  });
  afterAll(() => fixture.stop());

  it('lists entries with their event types, filters them, shows details and states the integrity', async () => {
    const { page } = await fixture.signIn();
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Audit' }).click();
    const table = page.getByRole('region', { name: 'Audit entries' });
    await table.getByText('TokenRevoked', { exact: true }).waitFor();
    await page.getByText(/^The audit chain is intact: all \d+ entries verify/).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await fixture.screenshot(page, 'audit');

    await page.getByLabel('Event type').fill('TokenRevoked');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await table.getByText('TokenIssued').first().waitFor({ state: 'detached' });
    const rows = table.getByRole('row').filter({ hasText: 'TokenRevoked' });
    expect(await rows.count()).toBe(1);
    await rows.getByRole('button', { name: /Show the details/ }).click();
    await table.getByText('rotation drill').waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
  });

  it('downloads the export as NDJSON and CSV', async () => {
    const { page } = await fixture.signIn();
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Audit' }).click();
    for (const [format, label] of [['ndjson', 'NDJSON'], ['csv', 'CSV']] as const) {
      await page.getByLabel('Format').selectOption({ label });
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download export' }).click()]);
      expect(download.suggestedFilename()).toBe(`audit.${format}`);
      const text = readFileSync((await download.path())!, 'utf8');
      expect(text).toContain('TokenRevoked');
      expect(text).toContain(revoked.id);
      expect(text).not.toContain(revoked.secret);
    }
  });

  it('answers "was this secret ever seen here?" with the entries of its fingerprint, and forgets the value', async () => {
    const { page } = await fixture.signIn();
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Audit' }).click();
    await page.getByLabel('Secret or API key').fill(revoked.secret);
    await page.getByRole('button', { name: 'Look up' }).click();
    const found = page.getByRole('region', { name: 'Entries holding the value' });
    await found.getByText('TokenIssued').waitFor();
    expect(await page.getByLabel('Secret or API key').inputValue()).toBe('');
    expect(await accessibilityViolations(page)).toEqual([]);

    await page.getByLabel('Secret or API key').fill('never-issued-anywhere-0123456789');
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.getByText('No entry holds this value.').waitFor();
  });
});
