import { accessibilityViolations, BROWSER_TEST_TIMEOUT, ConsoleFixture, domText, isFocused, tabTo } from './console-fixture';

jest.setTimeout(BROWSER_TEST_TIMEOUT);

describe("console: a token's page: edit, rotate, revoke, history", () => {
  const fixture = new ConsoleFixture();
  beforeAll(() => fixture.start());
  afterAll(() => fixture.stop());

  it('edits name, roles and bot identity; the new roles take effect', async () => {
    const issued = await fixture.issue({ name: 'Billing bot', roles: ['billing:read'], botName: 'Billing' });
    const { page } = await fixture.signIn();
    await page.getByRole('link', { name: 'Billing bot' }).click();
    await page.getByRole('heading', { level: 1, name: 'Billing bot' }).waitFor();
    await page.getByRole('region', { name: 'Token history' }).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await fixture.screenshot(page, 'token');

    await page.getByRole('button', { name: 'Edit' }).click();
    const form = page.getByRole('dialog', { name: 'Edit “Billing bot”' });
    await form.waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await form.getByLabel('Name', { exact: true }).fill('Billing bot v2');
    await form.getByLabel('Roles').fill('billing:read, billing:write');
    await form.getByLabel('Bot name').fill('Billing desk');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.waitFor({ state: 'detached' });
    await page.getByRole('heading', { level: 1, name: 'Billing bot v2' }).waitFor();

    expect(await fixture.verify(issued.secret, ['billing:write'])).toMatchObject({ valid: true, token: { roles: ['billing:read', 'billing:write'] } });
    const { token } = await fixture.api<{ token: any }>(`query T($id: ID!) { token(id: $id) { name botName } }`, { id: issued.id });
    expect(token).toEqual({ name: 'Billing bot v2', botName: 'Billing desk' });
    // The history names the change and who made it.
    const history = page.getByRole('region', { name: 'Token history' });
    await history.getByText('TokenUpdated').waitFor();
  });

  it('disables and enables the token, and edits its external id and meta; verification follows', async () => {
    const issued = await fixture.issue({ name: 'Metered bot', roles: ['m:r'], meta: { plan: 'free' }, externalId: 'org-1' });
    const { page } = await fixture.signIn();
    await page.getByRole('link', { name: 'Metered bot' }).click();
    await page.getByRole('heading', { level: 1, name: 'Metered bot' }).waitFor();
    const details = page.getByRole('region', { name: 'Details' });
    await details.getByText('org-1').waitFor();
    await details.getByText('{"plan":"free"}').waitFor();

    await page.getByRole('button', { name: 'Disable' }).click();
    await page.getByText('The token is disabled: every check refuses it until you enable it.').waitFor();
    await details.getByText('No: paused, every check refuses it until it is enabled').waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    expect(await fixture.verify(issued.secret)).toMatchObject({ valid: false, code: 'DISABLED' });
    await page.getByRole('region', { name: 'Token history' }).getByText('TokenDisabled').waitFor();

    await page.getByRole('button', { name: 'Enable' }).click();
    await page.getByText('The token is enabled again.').waitFor();
    expect(await fixture.verify(issued.secret)).toMatchObject({ valid: true, code: 'VALID' });

    await page.getByRole('button', { name: 'Edit' }).click();
    const form = page.getByRole('dialog', { name: 'Edit “Metered bot”' });
    await form.waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await form.getByLabel('Meta').fill('[1, 2]');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.getByRole('alert').getByText(/meta must be a JSON object/i).waitFor();
    await form.getByLabel('External id').fill('org-2');
    await form.getByLabel('Meta').fill('{"plan": "pro", "seats": 5}');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.waitFor({ state: 'detached' });
    await details.getByText('org-2').waitFor();

    const { token } = await fixture.api<{ token: any }>(`query T($id: ID!) { token(id: $id) { enabled meta externalId } }`, { id: issued.id });
    expect(token).toEqual({ enabled: true, meta: { plan: 'pro', seats: 5 }, externalId: 'org-2' });
  });

  it('sets credits and rate limits through the page, shows them, and counts verifications in the usage table', async () => {
    const issued = await fixture.issue({ name: 'Metered API', roles: ['m:r'] });
    const { page } = await fixture.signIn();
    await page.getByRole('link', { name: 'Metered API' }).click();
    await page.getByRole('heading', { level: 1, name: 'Metered API' }).waitFor();
    const credits = page.getByRole('region', { name: 'Credits', exact: true });
    const limits = page.getByRole('region', { name: 'Rate limits', exact: true });
    const usage = page.getByRole('region', { name: 'Usage', exact: true });
    await credits.getByText('None: verifications spend nothing.').waitFor();
    await usage.getByText('No verifications in the last 24 hours.').waitFor();

    await page.getByRole('button', { name: 'Usage limits' }).click();
    const form = page.getByRole('dialog', { name: 'Usage limits of “Metered API”' });
    await form.waitFor();
    await form.getByLabel('Each verification spends credits').check();
    await form.getByLabel('Balance').fill('5');
    await form.getByLabel('Refill', { exact: true }).selectOption({ label: 'Daily, at UTC midnight' });
    await form.getByLabel('Refill amount').fill('100');
    await form.getByRole('button', { name: 'Add rate limit' }).click();
    const first = form.getByRole('group', { name: 'Rate limit 1' });
    await first.getByLabel('Name').fill('per-minute');
    await first.getByLabel('Limit').fill('50');
    await first.getByLabel('Window (seconds)').fill('60');
    expect(await accessibilityViolations(page)).toEqual([]);
    await fixture.screenshot(page, 'usage-limits');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.waitFor({ state: 'detached' });
    await page.getByText('Usage limits saved.').waitFor();
    await credits.getByText('100 each day (at UTC midnight)').waitFor();
    const limitRow = limits.getByRole('row', { name: /per-minute/ });
    expect(await limitRow.getByRole('cell').allTextContents()).toEqual(['50', '1 minute']);
    const { token } = await fixture.api<{ token: any }>(`query T($id: ID!) { token(id: $id) { credits { remaining refill { amount interval } } rateLimits { name limit durationSeconds } } }`, {
      id: issued.id,
    });
    expect(token).toEqual({ credits: { remaining: 5, refill: { amount: 100, interval: 'DAILY' } }, rateLimits: [{ name: 'per-minute', limit: 50, durationSeconds: 60 }] });

    // Five credits: five verifications are VALID, the sixth finds none left.
    const codes: string[] = [];
    for (let i = 0; i < 6; i++) codes.push((await fixture.verify(issued.secret)).code);
    expect(codes).toEqual(['VALID', 'VALID', 'VALID', 'VALID', 'VALID', 'USAGE_EXCEEDED']);
    // The gateway appends its counts every few seconds: wait until the API reads all six.
    await countedUsage(issued.id, 6);
    await usage.getByRole('button', { name: 'Refresh' }).click();
    const hours = usage.getByRole('table', { name: 'Verifications per hour, last 24 hours' });
    await hours.waitFor();
    expect(await hours.getByRole('columnheader').allTextContents()).toEqual(['Hour from', 'Total', 'VALID', 'USAGE_EXCEEDED']);
    expect(await hours.locator('tbody td').allTextContents()).toEqual(['6', '5', '1']);
    expect(await accessibilityViolations(page)).toEqual([]);
    // Refresh reads the balance again too: the five credits are spent.
    await credits.getByText('0', { exact: true }).waitFor();
    await fixture.screenshot(page, 'token-usage');

    const byDay = usage.getByRole('button', { name: 'Last 30 days' });
    await byDay.click();
    expect(await byDay.getAttribute('aria-pressed')).toBe('true');
    const days = usage.getByRole('table', { name: 'Verifications per day, last 30 days' });
    await days.waitFor();
    expect(await days.locator('tbody td').allTextContents()).toEqual(['6', '5', '1']);
  });

  it('shows the gateway\'s refusal beside the field it names, and records nothing', async () => {
    const issued = await fixture.issue({ name: 'Limited API', credits: { remaining: 10 }, rateLimits: [{ name: 'burst', limit: 5, durationSeconds: 1 }] });
    const { page } = await fixture.signIn();
    await page.getByRole('link', { name: 'Limited API' }).click();
    await page.getByRole('region', { name: 'Credits', exact: true }).getByText('Never').waitFor();
    await page.getByRole('button', { name: 'Usage limits' }).click();
    const form = page.getByRole('dialog', { name: 'Usage limits of “Limited API”' });
    const burst = form.getByRole('group', { name: 'Rate limit 1' });
    expect(await burst.getByLabel('Name').inputValue()).toBe('burst');
    const window = burst.getByLabel('Window (seconds)');
    await window.fill('1000000');
    await form.getByRole('button', { name: 'Save' }).click();
    const limitsGroup = form.getByRole('group', { name: 'Rate limits', exact: true });
    await limitsGroup.getByRole('alert').getByText(/rateLimits\.durationSeconds must be a whole number from 1 to 604800/).waitFor();
    expect(await window.getAttribute('aria-invalid')).toBe('true');
    expect(await accessibilityViolations(page)).toEqual([]);

    await window.fill('10');
    await form.getByLabel('Balance').fill('2000000000');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.getByRole('alert').getByText(/credits\.remaining must be a whole number/).waitFor();
    expect(await form.getByLabel('Balance').getAttribute('aria-describedby')).toContain('credits-remaining-error');
    expect(await limitsGroup.getByRole('alert').count()).toBe(0);

    // Removing credits and the only limit, by keyboard.
    await form.getByLabel('Each verification spends credits').uncheck();
    await tabTo(page, burst.getByRole('button', { name: 'Remove rate limit 1' }));
    await page.keyboard.press('Enter');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.waitFor({ state: 'detached' });
    await page.getByRole('region', { name: 'Rate limits', exact: true }).getByText('None: verifications are not rate limited.').waitFor();
    const { token } = await fixture.api<{ token: any }>(`query T($id: ID!) { token(id: $id) { credits { remaining } rateLimits { name } } }`, { id: issued.id });
    expect(token).toEqual({ credits: null, rateLimits: [] });
    const history = await fixture.api<{ auditLog: any }>(`query A($f: AuditLogFilter) { auditLog(first: 50, filter: $f) { edges { node { eventType } } } }`, {
      f: { resourceType: 'token', resourceId: issued.id },
    });
    // The two refused saves recorded nothing: one issue, one update.
    expect(history.auditLog.edges.map((edge: any) => edge.node.eventType).sort()).toEqual(['TokenIssued', 'TokenUpdated']);
  });

  /** Polls the API (never a fixed wait) until the gateway has appended `total` verifications of the token. */
  async function countedUsage(id: string, total: number): Promise<void> {
    for (;;) {
      const to = new Date();
      const data = await fixture.api<{ tokenUsage: Array<{ total: number }> }>(
        `query U($id: ID!, $from: DateTime!, $to: DateTime!) { tokenUsage(id: $id, from: $from, to: $to) { total } }`,
        { id, from: new Date(to.getTime() - 86_400_000).toISOString(), to: to.toISOString() },
      );
      if (data.tokenUsage.reduce((sum, bucket) => sum + bucket.total, 0) >= total) return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  it('rotates with a chosen grace period: the new secret is shown once and verifies, the old one stops at once', async () => {
    const issued = await fixture.issue({ name: 'Rotating bot', roles: ['a:b'] });
    const { page } = await fixture.signIn();
    await page.getByRole('link', { name: 'Rotating bot' }).click();
    await page.getByRole('button', { name: 'Rotate' }).click();
    const form = page.getByRole('dialog', { name: 'Rotate “Rotating bot”' });
    await form.getByLabel('Grace period').selectOption({ label: 'None: the old secret stops at once' });
    expect(await accessibilityViolations(page)).toEqual([]);
    await form.getByRole('button', { name: 'Rotate' }).click();
    const dialog = page.getByRole('dialog', { name: 'New secret for “Rotating bot”' });
    await dialog.waitFor();
    const secret = (await dialog.locator('code.secret').textContent())!;
    expect(secret).not.toBe(issued.secret);
    await dialog.getByRole('button', { name: 'Done' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect((await domText(page)).includes(secret)).toBe(false);
    expect(await fixture.verify(secret)).toMatchObject({ valid: true, token: { id: issued.id } });
    expect((await fixture.verify(issued.secret)).valid).toBe(false);
  });

  it('revokes with a reason after a confirmation, with the keyboard alone', async () => {
    const issued = await fixture.issue({ name: 'Doomed bot', roles: ['x:y'] });
    const { page } = await fixture.signIn();
    const link = page.getByRole('link', { name: 'Doomed bot' });
    await link.waitFor();
    await tabTo(page, link);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Doomed bot' }).waitFor();
    await tabTo(page, page.getByRole('button', { name: 'Revoke' }));
    await page.keyboard.press('Enter');
    const confirm = page.getByRole('dialog', { name: 'Revoke “Doomed bot”?' });
    await confirm.waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await tabTo(page, confirm.getByLabel('Reason'));
    await page.keyboard.type('leaked in a build log');
    await tabTo(page, confirm.getByRole('button', { name: 'Revoke' }));
    await page.keyboard.press('Enter');
    await confirm.waitFor({ state: 'detached' });
    await page.getByText('The token is revoked.').waitFor();
    expect(await fixture.verify(issued.secret)).toMatchObject({ valid: false, code: 'REVOKED' });
    await page.getByRole('region', { name: 'Token history' }).getByText('TokenRevoked').waitFor();
    expect(await page.getByRole('button', { name: 'Revoke', exact: true }).count()).toBe(0);
  });

  it('Escape cancels the confirmation, revokes nothing, and gives the focus back', async () => {
    const issued = await fixture.issue({ name: 'Spared bot' });
    const { page } = await fixture.signIn();
    await page.getByRole('link', { name: 'Spared bot' }).click();
    const revoke = page.getByRole('button', { name: 'Revoke' });
    await revoke.click();
    const confirm = page.getByRole('dialog', { name: 'Revoke “Spared bot”?' });
    await confirm.waitFor();
    await page.keyboard.press('Escape');
    await confirm.waitFor({ state: 'detached' });
    expect(await isFocused(revoke)).toBe(true);
    expect(await fixture.verify(issued.secret)).toMatchObject({ valid: true });
  });
});
