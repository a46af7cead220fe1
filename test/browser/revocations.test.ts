import { accessibilityViolations, BROWSER_TEST_TIMEOUT, ConsoleFixture } from './console-fixture';
import { REVOKE_TOKEN } from '../helpers/graphql-client';
import { waitForSubscriptions } from '../helpers/subscriptions';

jest.setTimeout(BROWSER_TEST_TIMEOUT);

describe('console: the live revocations feed', () => {
  const fixture = new ConsoleFixture();
  beforeAll(() => fixture.start());
  afterAll(() => fixture.stop());

  it('shows a revocation made through the API without a reload', async () => {
    const issued = await fixture.issue({ name: 'feed bot' });
    const session = await fixture.signIn();
    const { page } = session;
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Revocations' }).click();
    await page.getByText('No revocations since this page opened.').waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    // graphql-ws does not acknowledge a subscribe message: the gateway's gauge says when it is registered.
    await waitForSubscriptions(fixture.url, 1);
    const navigations: string[] = [];
    page.on('framenavigated', (frame) => navigations.push(frame.url()));

    await fixture.api(REVOKE_TOKEN, { input: { id: issued.id, reason: 'seen in a paste' } });
    const feed = page.getByRole('list', { name: 'Revocations, newest first' });
    const item = feed.getByRole('listitem').filter({ hasText: issued.id });
    await item.waitFor();
    expect(await item.textContent()).toContain('Reason: seen in a paste');
    expect(navigations).toEqual([]);
    expect(await accessibilityViolations(page)).toEqual([]);
    await fixture.screenshot(page, 'revocations');
  });
});
