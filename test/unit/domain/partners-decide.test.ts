import { KeyledgerError, type ErrorCode } from '../../../src/domain/errors';
import {
  allowsPair,
  decideAccessToken,
  decideCredential,
  foldAccessTokenEvents,
  foldCredentialEvents,
  initialPartnerCredentialState,
  type AccessTokenCommand,
  type AccessTokenEvent,
  type AccessTokenIssued,
  type AccessTokenRevoked,
  type CreatePartnerCredential,
  type PartnerCredentialCommand,
  type PartnerCredentialCreated,
  type PartnerCredentialEvent,
  type PartnerCredentialRevoked,
  type PartnerCredentialState,
} from '../../../src/domain/partners';

const NOW = new Date('2030-01-15T10:00:00.250Z');
const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo';

function createCommand(overrides: Partial<CreatePartnerCredential> = {}): CreatePartnerCredential {
  return {
    type: 'CreatePartnerCredential',
    credentialId: 'pc_1',
    tenantId: 'acme',
    name: 'dashboard partner',
    subTenantIds: ['team-b', 'team-a'],
    apiKey: 'klp_key',
    secretDisplay: 'klps_AbCd',
    secretHash: HASH,
    ...overrides,
  };
}

const created = (overrides: Partial<PartnerCredentialCreated['data']> = {}): PartnerCredentialCreated => ({
  type: 'PartnerCredentialCreated',
  data: {
    credentialId: 'pc_1',
    tenantId: 'acme',
    name: 'dashboard partner',
    subTenantIds: ['team-a', 'team-b'],
    apiKey: 'klp_key',
    secretDisplay: 'klps_AbCd',
    secretHash: HASH,
    createdAt: '2030-01-01T00:00:00.000Z',
    ...overrides,
  },
});

const credentialRevoked = (overrides: Partial<PartnerCredentialRevoked['data']> = {}): PartnerCredentialRevoked => ({
  type: 'PartnerCredentialRevoked',
  data: { credentialId: 'pc_1', tenantId: 'acme', reason: null, revokedAt: '2030-01-10T00:00:00.000Z', ...overrides },
});

const tokenIssued = (overrides: Partial<AccessTokenIssued['data']> = {}): AccessTokenIssued => ({
  type: 'AccessTokenIssued',
  data: {
    jti: 'at_1',
    credentialId: 'pc_1',
    tenantId: 'acme',
    subTenantId: 'team-a',
    kid: 'kid-0123456789abcdef',
    issuer: 'https://keyledger.example',
    issuedAt: '2030-01-15T09:00:00.000Z',
    expiresAt: '2030-01-16T09:00:00.000Z',
    ...overrides,
  },
});

function expectError(run: () => unknown, code: ErrorCode, message: RegExp): KeyledgerError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(KeyledgerError);
  expect((caught as KeyledgerError).code).toBe(code);
  expect((caught as KeyledgerError).message).toMatch(message);
  return caught as KeyledgerError;
}

/** given(past events).when(command).then(new events) for the credential aggregate. */
function givenCredential(events: readonly PartnerCredentialEvent[]) {
  return {
    when(command: PartnerCredentialCommand, now: Date = NOW) {
      const run = () => decideCredential(command, foldCredentialEvents(events), now);
      return {
        then: (expected: PartnerCredentialEvent[]) => expect(run()).toEqual(expected),
        thenThrows: (code: ErrorCode, message: RegExp) => expectError(run, code, message),
      };
    },
  };
}

/** The access-token aggregate, with the credential's history as part of the given. */
function givenAccessToken(events: readonly AccessTokenEvent[], credentialEvents: readonly PartnerCredentialEvent[] = [created()]) {
  const credential = foldCredentialEvents(credentialEvents);
  return {
    when(command: AccessTokenCommand | ((credential: PartnerCredentialState) => AccessTokenCommand), now: Date = NOW) {
      const resolved = typeof command === 'function' ? command(credential) : command;
      const run = () => decideAccessToken(resolved, foldAccessTokenEvents(events), now);
      return {
        then: (expected: AccessTokenEvent[]) => expect(run()).toEqual(expected),
        thenThrows: (code: ErrorCode, message: RegExp) => expectError(run, code, message),
      };
    },
  };
}

const issue = (tenantId = 'acme', subTenantId = 'team-a') => (credential: PartnerCredentialState): AccessTokenCommand => ({
  type: 'IssueAccessToken',
  jti: 'at_1',
  kid: 'kid-0123456789abcdef',
  issuer: 'https://keyledger.example',
  tenantId,
  subTenantId,
  credential,
});

describe('partner credential decider: CreatePartnerCredential', () => {
  it('records the credential with sorted, deduplicated subtenants and createdAt = now', () => {
    givenCredential([])
      .when(createCommand({ subTenantIds: ['team-b', 'team-a', 'team-b'] }))
      .then([created({ createdAt: NOW.toISOString() })]);
  });

  it('accepts an empty subtenant list, which means every subtenant', () => {
    givenCredential([]).when(createCommand({ subTenantIds: [] })).then([created({ subTenantIds: [], createdAt: NOW.toISOString() })]);
  });

  it('on an existing credential is a CONFLICT', () => {
    givenCredential([created()]).when(createCommand()).thenThrows('CONFLICT', /pc_1 already exists/);
  });

  it('refuses a secret that is not argon2id-hashed, so a plaintext can never be recorded', () => {
    givenCredential([]).when(createCommand({ secretHash: 'klps_plaintext' })).thenThrows('BAD_USER_INPUT', /argon2id/);
    givenCredential([]).when(createCommand({ secretHash: 'hmac-sha256$abc' })).thenThrows('BAD_USER_INPUT', /argon2id/);
  });

  it.each([
    ['empty', ''],
    ['with a space', 'team a'],
    ['with a slash', 'team/a'],
    ['129 characters', 's'.repeat(129)],
  ])('rejects a subtenant id that is %s', (_label, subTenantId) => {
    const error = givenCredential([]).when(createCommand({ subTenantIds: [subTenantId] })).thenThrows('BAD_USER_INPUT', /subTenantIds/);
    expect(error.details).toEqual({ field: 'subTenantIds' });
  });

  it('accepts 100 subtenants and rejects 101', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => `team-${String(i).padStart(3, '0')}`);
    givenCredential([]).when(createCommand({ subTenantIds: hundred })).then([created({ subTenantIds: hundred, createdAt: NOW.toISOString() })]);
    givenCredential([])
      .when(createCommand({ subTenantIds: [...hundred, 'team-100'] }))
      .thenThrows('BAD_USER_INPUT', /at most 100 subtenants/);
  });

  it('rejects an empty name and a malformed tenant', () => {
    givenCredential([]).when(createCommand({ name: '  ' })).thenThrows('BAD_USER_INPUT', /name must not be empty/);
    givenCredential([]).when(createCommand({ tenantId: 'ac me' })).thenThrows('BAD_USER_INPUT', /tenantId/);
  });

  it('puts into the event only what the command carried, so no secret can slip in', () => {
    const command = { ...createCommand(), apiSecret: 'klps_PLAINTEXT', secret: 'PLAINTEXT' } as CreatePartnerCredential;
    const [event] = decideCredential(command, initialPartnerCredentialState, NOW) as PartnerCredentialCreated[];
    expect(Object.keys(event.data).sort()).toEqual(
      ['apiKey', 'createdAt', 'credentialId', 'name', 'secretDisplay', 'secretHash', 'subTenantIds', 'tenantId'],
    );
    expect(JSON.stringify(event)).not.toContain('PLAINTEXT');
  });
});

describe('partner credential decider: RevokePartnerCredential', () => {
  it('revokes an active credential with the reason, trimmed', () => {
    givenCredential([created()])
      .when({ type: 'RevokePartnerCredential', credentialId: 'pc_1', reason: '  contract ended ' })
      .then([credentialRevoked({ reason: 'contract ended', revokedAt: NOW.toISOString() })]);
  });

  it('on a revoked credential changes nothing, so retries are safe', () => {
    givenCredential([created(), credentialRevoked()]).when({ type: 'RevokePartnerCredential', credentialId: 'pc_1', reason: null }).then([]);
  });

  it('on an absent credential is NOT_FOUND', () => {
    givenCredential([]).when({ type: 'RevokePartnerCredential', credentialId: 'pc_x', reason: null }).thenThrows('NOT_FOUND', /pc_x not found/);
  });

  it('rejects a reason over 500 characters', () => {
    givenCredential([created()])
      .when({ type: 'RevokePartnerCredential', credentialId: 'pc_1', reason: 'r'.repeat(501) })
      .thenThrows('BAD_USER_INPUT', /reason must be at most 500/);
  });
});

describe('access token decider: IssueAccessToken', () => {
  it('issues a 24-hour token for an allowed pair, in whole seconds', () => {
    givenAccessToken([])
      .when(issue())
      .then([tokenIssued({ issuedAt: '2030-01-15T10:00:00.000Z', expiresAt: '2030-01-16T10:00:00.000Z' })]);
  });

  it('issues for any subtenant when the credential lists none', () => {
    givenAccessToken([], [created({ subTenantIds: [] })])
      .when(issue('acme', 'anything'))
      .then([tokenIssued({ subTenantId: 'anything', issuedAt: '2030-01-15T10:00:00.000Z', expiresAt: '2030-01-16T10:00:00.000Z' })]);
  });

  it('refuses a subtenant the credential does not list: FORBIDDEN', () => {
    givenAccessToken([]).when(issue('acme', 'team-c')).thenThrows('FORBIDDEN', /not allowed for this tenant and subtenant/);
  });

  it('refuses another tenant, whatever the subtenant: FORBIDDEN', () => {
    givenAccessToken([]).when(issue('globex', 'team-a')).thenThrows('FORBIDDEN', /not allowed/);
    givenAccessToken([], [created({ subTenantIds: [] })]).when(issue('globex', 'team-a')).thenThrows('FORBIDDEN', /not allowed/);
  });

  it('refuses a revoked credential: UNAUTHENTICATED', () => {
    givenAccessToken([], [created(), credentialRevoked()]).when(issue()).thenThrows('UNAUTHENTICATED', /revoked/);
  });

  it('refuses an absent credential: UNAUTHENTICATED', () => {
    givenAccessToken([], []).when(issue()).thenThrows('UNAUTHENTICATED', /not valid/);
  });

  it('rejects a malformed subtenant before looking at the grants', () => {
    givenAccessToken([]).when(issue('acme', 'team a')).thenThrows('BAD_USER_INPUT', /subTenantId/);
  });

  it('never reuses a jti', () => {
    givenAccessToken([tokenIssued()]).when(issue()).thenThrows('CONFLICT', /at_1 already exists/);
  });
});

describe('access token decider: RevokeAccessToken', () => {
  const revoke: AccessTokenCommand = { type: 'RevokeAccessToken', jti: 'at_1', reason: 'leaked' };

  it('revokes a live token, recording until when the revocation matters', () => {
    const expected: AccessTokenRevoked = {
      type: 'AccessTokenRevoked',
      data: {
        jti: 'at_1',
        credentialId: 'pc_1',
        tenantId: 'acme',
        subTenantId: 'team-a',
        expiresAt: '2030-01-16T09:00:00.000Z',
        reason: 'leaked',
        revokedAt: NOW.toISOString(),
      },
    };
    givenAccessToken([tokenIssued()]).when(revoke).then([expected]);
  });

  it('on a revoked token changes nothing', () => {
    givenAccessToken([tokenIssued(), { type: 'AccessTokenRevoked', data: { ...tokenIssued().data, reason: null, revokedAt: NOW.toISOString() } }])
      .when(revoke)
      .then([]);
  });

  it('on an expired token changes nothing: it is already dead', () => {
    givenAccessToken([tokenIssued()]).when(revoke, new Date('2030-01-16T09:00:00.000Z')).then([]);
  });

  it('on an unknown jti is NOT_FOUND', () => {
    givenAccessToken([]).when(revoke).thenThrows('NOT_FOUND', /at_1 not found/);
  });
});

describe('allowsPair', () => {
  it('is false for an absent credential', () => {
    expect(allowsPair(initialPartnerCredentialState, 'acme', 'team-a')).toBe(false);
  });

  it('is exact about tenant and subtenant ids', () => {
    const credential = foldCredentialEvents([created()]);
    expect(allowsPair(credential, 'acme', 'team-a')).toBe(true);
    expect(allowsPair(credential, 'ACME', 'team-a')).toBe(false);
    expect(allowsPair(credential, 'acme', 'team-A')).toBe(false);
  });
});
