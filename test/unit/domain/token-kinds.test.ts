import type { TokenIssued } from '../../../src/domain/tokens';
import { given, issueCommand, issued, NOW, SEALED } from './token-given';

const at = { issuedAt: NOW.toISOString() };

describe('token decider: IssueToken, API_TOKEN fields', () => {
  it('records code, bot name and avatar', () => {
    given([])
      .when(issueCommand({ code: 'billing-bot', botName: ' Billing Bot ', avatarUrl: 'https://cdn.example.com/bots/billing.png' }))
      .then([issued({ ...at, code: 'billing-bot', botName: 'Billing Bot', avatarUrl: 'https://cdn.example.com/bots/billing.png' })]);
  });

  it('leaves unset kind fields out of the event, so plain tokens keep the v1 shape', () => {
    const [event] = given([]).when(issueCommand({ code: null, botName: null, avatarUrl: null })).then([issued(at)]);
    expect(Object.keys((event as TokenIssued).data)).not.toEqual(expect.arrayContaining(['code']));
  });

  it.each([
    ['empty', ''],
    ['a space', 'billing bot'],
    ['a slash, which would split the reservation stream id', 'acme/x'],
    ['a leading dot', '.hidden'],
    ['65 characters', 'c'.repeat(65)],
  ])('rejects a code with %s', (_label, code) => {
    const error = given([]).when(issueCommand({ code })).thenThrows('BAD_USER_INPUT', /code must be 1-64 characters/);
    expect(error.details).toEqual({ field: 'code' });
  });

  it('accepts a 64-character code', () => {
    given([]).when(issueCommand({ code: 'c'.repeat(64) })).then([issued({ ...at, code: 'c'.repeat(64) })]);
  });

  it.each([
    ['plain http', 'http://cdn.example.com/a.png', /avatarUrl must use https/],
    ['a data URL', 'data:image/png;base64,AAAA', /avatarUrl must use https/],
    ['javascript', 'javascript:alert(1)', /avatarUrl must use https/],
    ['a relative path', '/avatars/a.png', /avatarUrl must be an absolute https URL/],
    ['embedded credentials', 'https://user:pass@cdn.example.com/a.png', /avatarUrl must not contain credentials/],
    ['2049 characters', `https://cdn.example.com/${'a'.repeat(2030)}`, /at most 2048 characters/],
  ])('rejects an avatar URL that is %s', (_label, avatarUrl, message) => {
    const error = given([]).when(issueCommand({ avatarUrl })).thenThrows('BAD_USER_INPUT', message);
    expect(error.details).toEqual({ field: 'avatarUrl' });
  });

  it('rejects a bot name over 100 characters or with control characters', () => {
    given([]).when(issueCommand({ botName: 'b'.repeat(101) })).thenThrows('BAD_USER_INPUT', /botName must be at most 100 characters/);
    given([]).when(issueCommand({ botName: 'bot\u202e' })).thenThrows('BAD_USER_INPUT', /botName must not contain control characters/);
  });

  it.each([
    ['ownerId', { ownerId: 'ana' }, /ownerId applies only to WEBHOOK_TOKEN/],
    ['integrationId', { integrationId: 'int-1' }, /integrationId applies only to INTEGRATION_KEY/],
  ])('refuses %s on an API_TOKEN', (_field, fields, message) => {
    given([]).when(issueCommand(fields)).thenThrows('BAD_USER_INPUT', message);
  });
});

describe('token decider: IssueToken, WEBHOOK_TOKEN fields', () => {
  const webhook = { kind: 'WEBHOOK_TOKEN' as const };

  it('requires ownerId', () => {
    const error = given([]).when(issueCommand(webhook)).thenThrows('BAD_USER_INPUT', /ownerId is required for a WEBHOOK_TOKEN/);
    expect(error.details).toEqual({ field: 'ownerId' });
  });

  it('records the owner, e-mail addresses included', () => {
    given([])
      .when(issueCommand({ ...webhook, ownerId: 'ana.lima+ops@example.com' }))
      .then([issued({ ...at, kind: 'WEBHOOK_TOKEN', ownerId: 'ana.lima+ops@example.com' })]);
  });

  it.each([['a space', 'ana lima'], ['a newline', 'ana\n'], ['255 characters', 'o'.repeat(255)], ['a leading @', '@ana']])(
    'rejects an owner id with %s',
    (_label, ownerId) => {
      given([]).when(issueCommand({ ...webhook, ownerId })).thenThrows('BAD_USER_INPUT', /ownerId must be 1-254 characters/);
    },
  );

  it.each([
    ['code', { code: 'x' }],
    ['botName', { botName: 'x' }],
    ['avatarUrl', { avatarUrl: 'https://a.example/x.png' }],
    ['integrationId', { integrationId: 'int-1' }],
  ])('refuses %s', (field, fields) => {
    given([]).when(issueCommand({ ...webhook, ownerId: 'ana', ...fields })).thenThrows('BAD_USER_INPUT', new RegExp(`${field} applies only to`));
  });
});

describe('token decider: IssueToken, INTEGRATION_KEY fields', () => {
  const key = { kind: 'INTEGRATION_KEY' as const, sealedSecret: SEALED };

  it('requires integrationId', () => {
    const error = given([]).when(issueCommand(key)).thenThrows('BAD_USER_INPUT', /integrationId is required for an INTEGRATION_KEY/);
    expect(error.details).toEqual({ field: 'integrationId' });
  });

  it('records the integration and the sealed secret, and nothing that could be the secret', () => {
    const [event] = given([])
      .when(issueCommand({ ...key, integrationId: '5e4b0f225aca01092928f917' }))
      .then([issued({ ...at, kind: 'INTEGRATION_KEY', integrationId: '5e4b0f225aca01092928f917', sealedSecret: SEALED })]);
    expect(Object.keys((event as TokenIssued).data)).not.toContain('secret');
  });

  it('rejects an integration id with a slash or a space', () => {
    given([]).when(issueCommand({ ...key, integrationId: 'a/b' })).thenThrows('BAD_USER_INPUT', /integrationId must be 1-128 characters/);
    given([]).when(issueCommand({ ...key, integrationId: 'a b' })).thenThrows('BAD_USER_INPUT', /integrationId must be 1-128 characters/);
  });

  it('refuses API_TOKEN and WEBHOOK_TOKEN fields', () => {
    given([]).when(issueCommand({ ...key, integrationId: 'i', code: 'x' })).thenThrows('BAD_USER_INPUT', /code applies only to API_TOKEN/);
    given([]).when(issueCommand({ ...key, integrationId: 'i', ownerId: 'ana' })).thenThrows('BAD_USER_INPUT', /ownerId applies only to WEBHOOK_TOKEN/);
  });

  it('refuses to issue an integration key without its sealed secret, or another kind with one (a programming error)', () => {
    expect(() => given([]).when(issueCommand({ kind: 'INTEGRATION_KEY', integrationId: 'i' })).then([])).toThrow(/needs its sealed secret/);
    expect(() => given([]).when(issueCommand({ sealedSecret: SEALED })).then([])).toThrow(/Only integration keys carry a sealed secret/);
  });
});
