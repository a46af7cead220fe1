import Database from 'better-sqlite3';
import { randomBytes, randomUUID } from 'node:crypto';
import { KeyledgerError } from '../../../src/domain/errors';
import { AttemptLimiter } from '../../../src/app/partners/attempt-limiter';
import { PartnerClientAuthenticator } from '../../../src/app/partners/partner-client-authenticator';
import type { PartnerCredentialCreated, PartnerCredentialRevoked } from '../../../src/domain/partners/events';
import { SecretHasher } from '../../../src/crypto/secret-hash';
import { generateToken } from '../../../src/crypto/token-format';
import type { RecordedEvent } from '../../../src/eventstore/port';
import { PartnerQueries, partnersProjection } from '../../../projections/partners';

const API_KEY = generateToken('klp');
const API_SECRET = generateToken('klps');

/** The real hasher, with the real argon2 hash of API_SECRET (computed once: argon2 is slow on purpose). */
const hasher = new SecretHasher(randomBytes(32));
let secretHash: string;
beforeAll(async () => {
  secretHash = await hasher.argon2Hash(API_SECRET);
});
afterEach(() => jest.restoreAllMocks());

function recorded<E extends { type: string; data: object }>(type: E['type'], data: E['data'], position: bigint): RecordedEvent {
  return {
    id: randomUUID(),
    type,
    streamId: 'partner-credential-pc_1',
    revision: Number(position) - 1,
    position,
    data: data as Record<string, unknown>,
    metadata: { actor: { type: 'user', id: 'admin', tenantId: 'acme' }, requestId: randomUUID(), occurredAt: new Date().toISOString() },
    recordedAt: new Date(),
  };
}

/** The `partners` read model in an in-memory SQLite database, built by its projection from the credential's events. */
function readModel(options: { revoked: boolean }): PartnerQueries {
  const db = new Database(':memory:');
  partnersProjection.migrate(db);
  const handler = partnersProjection.handler(db);
  const createdAt = new Date().toISOString();
  handler.apply(
    recorded<PartnerCredentialCreated>(
      'PartnerCredentialCreated',
      { credentialId: 'pc_1', tenantId: 'acme', name: 'p', subTenantIds: [], apiKey: API_KEY, secretDisplay: 'klps_xxxx', secretHash, createdAt },
      1n,
    ),
  );
  if (options.revoked) {
    handler.apply(
      recorded<PartnerCredentialRevoked>('PartnerCredentialRevoked', { credentialId: 'pc_1', tenantId: 'acme', revokedAt: createdAt, reason: 'leaked' }, 2n),
    );
  }
  return new PartnerQueries(db);
}

function setup(limits = { perKey: 3, perIp: 100, windowSeconds: 60 }, options = { revoked: false }) {
  const argon2Verify = jest.spyOn(hasher, 'argon2Verify');
  const authenticator = new PartnerClientAuthenticator(readModel(options), hasher, new AttemptLimiter(limits));
  // How many argon2 checks ran: the real hasher, observed.
  return { hasher: { get checks() { return argon2Verify.mock.calls.length; } }, authenticator };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'OK';
  } catch (error) {
    if (error instanceof KeyledgerError) return error.code;
    throw error;
  }
}

describe('partner client authentication', () => {
  it('accepts the right key and secret', async () => {
    const { authenticator } = setup();
    await expect(authenticator.authenticate(API_KEY, API_SECRET, '10.0.0.1')).resolves.toMatchObject({ id: 'pc_1' });
  });

  it('answers every failure the same way: UNAUTHENTICATED', async () => {
    const { authenticator } = setup({ perKey: 100, perIp: 100, windowSeconds: 60 });
    for (const [key, secret] of [
      [API_KEY, generateToken('klps')],
      [generateToken('klp'), API_SECRET],
      ['klp_garbage', API_SECRET],
      [API_KEY, 'not-a-secret'],
      ['', ''],
      [API_SECRET, API_KEY],
    ]) {
      expect(await codeOf(authenticator.authenticate(key, secret, '10.0.0.1'))).toBe('UNAUTHENTICATED');
    }
  });

  it('charges an attempt before argon2: once the key is spent, no more checks run', async () => {
    const { authenticator, hasher } = setup();
    const outcomes = [];
    for (let i = 0; i < 10; i++) outcomes.push(await codeOf(authenticator.authenticate(API_KEY, generateToken('klps'), '10.0.0.1')));
    expect(outcomes).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED', 'UNAUTHENTICATED', ...Array(7).fill('RATE_LIMITED')]);
    expect(hasher.checks).toBe(3);
    // While the key is locked out even the right secret waits: a guess must not be confirmable.
    expect(await codeOf(authenticator.authenticate(API_KEY, API_SECRET, '10.0.0.2'))).toBe('RATE_LIMITED');
    expect(hasher.checks).toBe(3);
  });

  it('runs argon2 only for well-formed secrets of known keys', async () => {
    const { authenticator, hasher } = setup({ perKey: 100, perIp: 100, windowSeconds: 60 });
    await codeOf(authenticator.authenticate(generateToken('klp'), generateToken('klps'), '10.0.0.1'));
    await codeOf(authenticator.authenticate(API_KEY, 'klps_wrong', '10.0.0.1'));
    await codeOf(authenticator.authenticate(API_KEY, 'x'.repeat(10_000), '10.0.0.1'));
    expect(hasher.checks).toBe(0);
  });

  it('gives the point back on success, so a legitimate partner is never limited by its own traffic', async () => {
    const { authenticator } = setup();
    // Twice the per-key limit of 3.
    for (let i = 0; i < 6; i++) expect(await codeOf(authenticator.authenticate(API_KEY, API_SECRET, '10.0.0.1'))).toBe('OK');
  });

  it('limits per address too, across keys, and reports when to retry', async () => {
    const { authenticator } = setup({ perKey: 100, perIp: 5, windowSeconds: 60 });
    for (let i = 0; i < 5; i++) await codeOf(authenticator.authenticate(`klp_guess${i}`, 'x', '10.0.0.9'));
    let caught: KeyledgerError | null = null;
    try {
      await authenticator.authenticate('klp_guess-more', 'x', '10.0.0.9');
    } catch (error) {
      caught = error as KeyledgerError;
    }
    expect(caught?.code).toBe('RATE_LIMITED');
    expect(caught?.details.retryAfter).toBeGreaterThan(0);
    expect(caught?.details.retryAfter).toBeLessThanOrEqual(60);
    expect(await codeOf(authenticator.authenticate(API_KEY, API_SECRET, '10.0.0.10'))).toBe('OK');
  });

  it('a revoked credential is UNAUTHENTICATED even with the right secret', async () => {
    const { authenticator, hasher: used } = setup(undefined, { revoked: true });
    const error = await authenticator.authenticate(API_KEY, API_SECRET, '10.0.0.1').catch((caught: KeyledgerError) => caught);
    expect(error).toBeInstanceOf(KeyledgerError);
    expect((error as KeyledgerError).code).toBe('UNAUTHENTICATED');
    expect((error as KeyledgerError).message).toMatch(/revoked/);
    // The secret was checked (and was right): the refusal is the revocation, not the secret.
    expect(used.checks).toBe(1);
  });
});
