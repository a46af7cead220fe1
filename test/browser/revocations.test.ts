import type { WebSocketRoute } from 'playwright-core';
import { accessibilityViolations, BROWSER_TEST_TIMEOUT, ConsoleFixture, ROOT_SECRET } from './console-fixture';
import { REVOKE_TOKEN } from '../helpers/graphql-client';
import { metricValue, waitForSubscriptions } from '../helpers/subscriptions';

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

  it('after a dropped connection, shows the revocations made while it was down', async () => {
    const [before, during] = [await fixture.issue({ name: 'seen bot' }), await fixture.issue({ name: 'missed bot' })];
    // Pages of earlier tests may still hold subscriptions: this page's is counted on top of them.
    const elsewhere = (await metricValue(fixture.url, 'keyledger_subscriptions')) ?? 0;
    const { page } = await fixture.open();
    // Every WebSocket the page opens passes through here, so the test can drop it and refuse reconnections for a while.
    let refusing = false;
    let firstRefusal!: () => void;
    const refusedOnce = new Promise<void>((resolve) => (firstRefusal = resolve));
    const sockets: { page: WebSocketRoute; server: WebSocketRoute }[] = [];
    await page.routeWebSocket(/\/graphql$/, (socket) => {
      if (refusing) {
        firstRefusal();
        // 1013 (try again later): graphql-ws retries after it.
        socket.close({ code: 1013, reason: 'unavailable' });
        return;
      }
      sockets.push({ page: socket, server: socket.connectToServer() });
    });
    await page.getByLabel('Token').fill(ROOT_SECRET);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Revocations' }).click();
    await waitForSubscriptions(fixture.url, elsewhere + 1);
    const feed = page.getByRole('list', { name: 'Revocations, newest first' });
    await fixture.api(REVOKE_TOKEN, { input: { id: before.id, reason: 'seen live' } });
    await feed.getByRole('listitem').filter({ hasText: before.id }).waitFor();

    refusing = true;
    const { page: pageSide, server } = sockets[0];
    await server.close({ code: 1012, reason: 'restart' });
    await pageSide.close({ code: 1012, reason: 'restart' });
    // Once a reconnection has been refused the page has no socket: the revocation lands while it is away, and only a
    // subscription resumed from its last position can bring it.
    await refusedOnce;
    await fixture.api(REVOKE_TOKEN, { input: { id: during.id, reason: 'made while the console was away' } });
    refusing = false;

    const missed = feed.getByRole('listitem').filter({ hasText: during.id });
    await missed.waitFor();
    expect(await missed.textContent()).toContain('Reason: made while the console was away');
    expect(await feed.getByRole('listitem').filter({ hasText: before.id }).count()).toBe(1);
  });
});
