import { KeyledgerError, type ErrorCode } from '../../../src/domain/errors';
import {
  decide,
  foldTokenEvents,
  type IssueToken,
  type RevokeToken,
  type TokenCommand,
  type TokenEvent,
  type TokenIssued,
  type TokenRevoked,
  type TokenRotated,
} from '../../../src/domain/tokens';

export const NOW = new Date('2030-01-15T10:00:00.000Z');
export const LATER = new Date('2030-01-20T08:30:00.000Z');
export const HASH = 'hmac-sha256$' + 'ab'.repeat(32);
export const NEW_HASH = 'hmac-sha256$' + 'cd'.repeat(32);
export const SEALED = { dataKeyId: 'tok_1', ciphertext: 'v1.c2VhbGVk' };

export function issueCommand(overrides: Partial<IssueToken> = {}): IssueToken {
  return {
    type: 'IssueToken',
    tokenId: 'tok_1',
    tenantId: 'acme',
    kind: 'API_TOKEN',
    name: 'billing bot',
    roles: ['billing:read'],
    expiresAt: null,
    display: 'klt_AbCd',
    secretHash: HASH,
    lookupTag: null,
    origin: 'generated',
    ...overrides,
  };
}

export function revokeCommand(overrides: Partial<RevokeToken> = {}): RevokeToken {
  return { type: 'RevokeToken', tokenId: 'tok_1', reason: null, ...overrides };
}

export const issued = (overrides: Partial<TokenIssued['data']> = {}): TokenIssued => ({
  type: 'TokenIssued',
  data: {
    tokenId: 'tok_1',
    tenantId: 'acme',
    kind: 'API_TOKEN',
    name: 'billing bot',
    roles: ['billing:read'],
    expiresAt: null,
    display: 'klt_AbCd',
    secretHash: HASH,
    lookupTag: null,
    origin: 'generated',
    issuedAt: '2030-01-01T00:00:00.000Z',
    ...overrides,
  },
});

export const revoked = (overrides: Partial<TokenRevoked['data']> = {}): TokenRevoked => ({
  type: 'TokenRevoked',
  data: { tokenId: 'tok_1', tenantId: 'acme', reason: null, revokedAt: '2030-01-10T00:00:00.000Z', ...overrides },
});

export const rotated = (overrides: Partial<TokenRotated['data']> = {}): TokenRotated => ({
  type: 'TokenRotated',
  data: {
    tokenId: 'tok_1',
    tenantId: 'acme',
    display: 'klt_WxYz',
    secretHash: NEW_HASH,
    lookupTag: null,
    origin: 'generated',
    previousSecretsValidUntil: '2030-01-15T11:00:00.000Z',
    rotatedAt: NOW.toISOString(),
    ...overrides,
  },
});

/** Runs `run` and returns the KeyledgerError it throws, checking its code and message. */
export function expectDomainError(run: () => unknown, code: ErrorCode, message: RegExp): KeyledgerError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(KeyledgerError);
  const error = caught as KeyledgerError;
  expect(error.code).toBe(code);
  expect(error.message).toMatch(message);
  return error;
}

/** given(past events).when(command, now).then(new events) — the decider's whole contract in one line. */
export function given(events: readonly TokenEvent[]) {
  return {
    when(command: TokenCommand, now: Date = NOW) {
      const run = () => decide(command, foldTokenEvents(events), now);
      return {
        then(expected: TokenEvent[]): TokenEvent[] {
          const produced = run();
          expect(produced).toEqual(expected);
          return produced;
        },
        thenThrows(code: ErrorCode, message: RegExp): KeyledgerError {
          return expectDomainError(run, code, message);
        },
      };
    },
  };
}
