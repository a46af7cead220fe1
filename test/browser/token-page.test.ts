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
