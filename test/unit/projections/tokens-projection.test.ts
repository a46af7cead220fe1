import { TokenQueries, tokensProjection } from '../../../projections/tokens';
import { tokenStatus, tokenStatusSql, type TokenEvent, type TokenStatus } from '../../../src/domain/tokens';
import { HASH, issued, NEW_HASH, revoked, rotated } from '../domain/token-given';
import { given } from './projection-given';

const THIRD_HASH = 'hmac-sha256$' + 'ef'.repeat(32);

const asGiven = (event: TokenEvent) => ({ ...event, streamId: `token-${event.data.tokenId}` });

const updated = (changes: Record<string, unknown>, updatedAt = '2030-01-12T00:00:00.000Z'): TokenEvent => ({
  type: 'TokenUpdated',
  data: { tokenId: 'tok_1', tenantId: 'acme', changes, updatedAt },
});

const TOKEN_COLUMNS = ['id', 'tenant_id', 'kind', 'name', 'roles', 'display', 'secret_hash', 'origin', 'expires_at', 'revoked_at', 'revoke_reason', 'updated_at'];
const SECRET_COLUMNS = ['secret_hash', 'token_id', 'lookup_tag', 'sealed_secret', 'created_at', 'valid_until'];

describe('tokens projection', () => {
  it('given TokenIssued, then one token row and its one current secret', () => {
    const events = [issued({ expiresAt: '2030-06-01T00:00:00.000Z' })].map(asGiven);
    given(tokensProjection, events).then('tokens', TOKEN_COLUMNS, [
      {
        id: 'tok_1',
        tenant_id: 'acme',
        kind: 'API_TOKEN',
        name: 'billing bot',
        roles: '["billing:read"]',
        display: 'klt_AbCd',
        secret_hash: HASH,
        origin: 'generated',
        expires_at: '2030-06-01T00:00:00.000Z',
        revoked_at: null,
        revoke_reason: null,
        updated_at: '2030-01-01T00:00:00.000Z',
      },
    ]);
    given(tokensProjection, events).then('token_secrets', SECRET_COLUMNS, [
      { secret_hash: HASH, token_id: 'tok_1', lookup_tag: null, sealed_secret: null, created_at: '2030-01-01T00:00:00.000Z', valid_until: null },
    ]);
  });

  it('given an integration key issued, then its sealed secret is kept with the secret', () => {
    const sealedSecret = { dataKeyId: 'tok_1', ciphertext: 'v1.c2VhbGVk' };
    given(tokensProjection, [issued({ kind: 'INTEGRATION_KEY', integrationId: 'int_1', sealedSecret })].map(asGiven)).then(
      'token_secrets',
      ['token_id', 'sealed_secret'],
      [{ token_id: 'tok_1', sealed_secret: JSON.stringify(sealedSecret) }],
    );
  });

  it('given TokenIssued twice (a replay), then still one row', () => {
    given(tokensProjection, [issued(), issued()].map(asGiven)).then('tokens', ['id'], [{ id: 'tok_1' }]);
  });

  it('given TokenUpdated, then only the changed columns change, and a null clears', () => {
    const events = [issued({ expiresAt: '2030-06-01T00:00:00.000Z' }), updated({ name: 'renamed', roles: ['a', 'b'], expiresAt: null })].map(asGiven);
    given(tokensProjection, events).then(
      'tokens',
      ['name', 'roles', 'display', 'expires_at', 'updated_at'],
      [{ name: 'renamed', roles: '["a","b"]', display: 'klt_AbCd', expires_at: null, updated_at: '2030-01-12T00:00:00.000Z' }],
    );
  });

  it('given TokenRotated, then the new secret is current and the old one ends at the grace period', () => {
    const events = [issued(), rotated({ previousSecretsValidUntil: '2030-01-16T10:00:00.000Z' })].map(asGiven);
    given(tokensProjection, events).then(
      'token_secrets',
      ['secret_hash', 'created_at', 'valid_until'],
      [
        { secret_hash: HASH, created_at: '2030-01-01T00:00:00.000Z', valid_until: '2030-01-16T10:00:00.000Z' },
        { secret_hash: NEW_HASH, created_at: '2030-01-15T10:00:00.000Z', valid_until: null },
      ],
      'created_at',
    );
    given(tokensProjection, events).then('tokens', ['secret_hash', 'display'], [{ secret_hash: NEW_HASH, display: 'klt_WxYz' }]);
  });

  it('given two rotations, then a secret already ending sooner keeps its own end', () => {
    const events = [
      issued(),
      rotated({ previousSecretsValidUntil: '2030-01-15T11:00:00.000Z' }),
      rotated({ secretHash: THIRD_HASH, previousSecretsValidUntil: '2030-01-20T00:00:00.000Z', rotatedAt: '2030-01-15T12:00:00.000Z' }),
    ].map(asGiven);
    given(tokensProjection, events).then(
      'token_secrets',
      ['secret_hash', 'valid_until'],
      [
        { secret_hash: HASH, valid_until: '2030-01-15T11:00:00.000Z' },
        { secret_hash: NEW_HASH, valid_until: '2030-01-20T00:00:00.000Z' },
        { secret_hash: THIRD_HASH, valid_until: null },
      ],
      'created_at',
    );
  });

  it('given TokenRevoked twice, then the first revocation is the one recorded', () => {
    const events = [
      issued(),
      revoked({ reason: 'leaked' }),
      revoked({ reason: 'again', revokedAt: '2030-01-11T00:00:00.000Z' }),
    ].map(asGiven);
    given(tokensProjection, events).then(
      'tokens',
      ['revoked_at', 'revoke_reason', 'updated_at'],
      [{ revoked_at: '2030-01-10T00:00:00.000Z', revoke_reason: 'leaked', updated_at: '2030-01-10T00:00:00.000Z' }],
    );
  });

  it('given TokenIssueAbandoned, then no row: the read model does not read it', () => {
    given(tokensProjection, [asGiven({ type: 'TokenIssueAbandoned', data: { tokenId: 'tok_1', tenantId: 'acme', abandonedAt: '2030-01-02T00:00:00.000Z' } } as TokenEvent)]).then(
      'tokens',
      ['id'],
      [],
    );
  });
});

describe('token status: the domain rule and the read model SQL agree', () => {
  const NOW = new Date('2030-01-15T10:00:00.000Z');
  const cases: Array<{ name: string; expiresAt: string | null; revokedAt: string | null }> = [
    { name: 'no expiry, not revoked', expiresAt: null, revokedAt: null },
    { name: 'expires later', expiresAt: '2030-01-15T10:00:00.001Z', revokedAt: null },
    { name: 'expires at this instant', expiresAt: '2030-01-15T10:00:00.000Z', revokedAt: null },
    { name: 'expired before', expiresAt: '2030-01-15T09:59:59.999Z', revokedAt: null },
    { name: 'revoked, no expiry', expiresAt: null, revokedAt: '2030-01-10T00:00:00.000Z' },
    { name: 'revoked and expired', expiresAt: '2030-01-01T00:00:00.000Z', revokedAt: '2030-01-10T00:00:00.000Z' },
    { name: 'revoked, expires later', expiresAt: '2031-01-01T00:00:00.000Z', revokedAt: '2030-01-10T00:00:00.000Z' },
  ];
  const events = cases.map((row, index) =>
    asGiven(issued({ tokenId: `tok_${index}`, secretHash: `hmac-sha256$${String(index).padStart(64, '0')}`, expiresAt: row.expiresAt })),
  );
  const revocations = cases.flatMap((row, index) => (row.revokedAt ? [asGiven(revoked({ tokenId: `tok_${index}`, revokedAt: row.revokedAt }))] : []));

  it('finds, for each status filter, exactly the tokens the domain function gives that status', () => {
    const { bySql, byList } = given(tokensProjection, [...events, ...revocations]).read((db) => {
      const statuses: TokenStatus[] = ['ACTIVE', 'EXPIRED', 'REVOKED'];
      const sqlIds = (status: TokenStatus) =>
        (db.prepare(`SELECT id FROM tokens t WHERE ${tokenStatusSql(status, { revokedAt: 't.revoked_at', expiresAt: 't.expires_at' }, '@now')} ORDER BY id`).all({
          now: NOW.toISOString(),
        }) as Array<{ id: string }>).map((row) => row.id);
      const queries = new TokenQueries(db);
      const listIds = (status: TokenStatus) => queries.list({ tenantId: 'acme', status }, 100, null, NOW).records.map((record) => record.id).sort();
      return {
        bySql: Object.fromEntries(statuses.map((status) => [status, sqlIds(status)])),
        byList: Object.fromEntries(statuses.map((status) => [status, listIds(status)])),
      };
    });
    const byDomain: Record<TokenStatus, string[]> = { ACTIVE: [], EXPIRED: [], REVOKED: [] };
    cases.forEach((row, index) => byDomain[tokenStatus(row, NOW)].push(`tok_${index}`));
    expect(bySql).toEqual(byDomain);
    expect(byList).toEqual(byDomain);
    expect(byDomain).toEqual({ ACTIVE: ['tok_0', 'tok_1'], EXPIRED: ['tok_2', 'tok_3'], REVOKED: ['tok_4', 'tok_5', 'tok_6'] });
  });
});
