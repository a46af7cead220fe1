import { NOTICE_EVENT_TYPES, revocationNoticeOf } from '../../../src/app/revocations';
import type { RecordedEvent } from '../../../src/eventstore/port';

function recorded(type: string, data: Record<string, unknown>): RecordedEvent {
  return {
    id: 'event-1',
    type,
    streamId: `token-${String(data.tokenId)}`,
    revision: 1,
    position: 42n,
    data,
    metadata: { actor: { type: 'token', id: 'tok_admin', tenantId: 'acme' }, requestId: 'req-1', occurredAt: '2030-01-01T00:00:00.000Z', ip: '10.0.0.1' },
    recordedAt: new Date('2030-01-01T00:00:00.000Z'),
  };
}

describe('revocationNoticeOf', () => {
  it('given TokenRevoked, notices a revocation effective at once, with the reason and the actor (type and id only)', () => {
    const notice = revocationNoticeOf(
      recorded('TokenRevoked', { tokenId: 'tok_1', tenantId: 'acme', reason: 'leaked', revokedAt: '2030-01-01T00:00:00.000Z' }),
    );
    expect(notice).toEqual({
      tokenId: 'tok_1',
      tenantId: 'acme',
      kind: 'REVOKED',
      reason: 'leaked',
      effectiveAt: new Date('2030-01-01T00:00:00.000Z'),
      actor: { type: 'token', id: 'tok_admin' },
      eventId: 'event-1',
      position: 42n,
    });
  });

  it('given TokenRotated, notices that the previous secret ends with the grace period', () => {
    const notice = revocationNoticeOf(
      recorded('TokenRotated', {
        tokenId: 'tok_2',
        tenantId: 'acme',
        display: 'klt_abcd',
        secretHash: 'hmac-sha256$x',
        lookupTag: null,
        origin: 'generated',
        previousSecretsValidUntil: '2030-01-01T01:00:00.000Z',
        rotatedAt: '2030-01-01T00:00:00.000Z',
      }),
    );
    expect(notice).toMatchObject({ tokenId: 'tok_2', kind: 'ROTATED', reason: null, effectiveAt: new Date('2030-01-01T01:00:00.000Z') });
    expect(JSON.stringify(notice, (_key, value) => (typeof value === 'bigint' ? value.toString() : value))).not.toMatch(/hmac|secretHash/);
  });

  it('given AccessTokenRevoked, notices the partner access token by its jti', () => {
    const notice = revocationNoticeOf(
      recorded('AccessTokenRevoked', {
        jti: 'jti-1',
        credentialId: 'pc_1',
        tenantId: 'acme',
        subTenantId: 'sales',
        expiresAt: '2030-01-02T00:00:00.000Z',
        reason: 'leaked',
        revokedAt: '2030-01-01T00:00:00.000Z',
      }),
    );
    expect(notice).toMatchObject({ tokenId: 'jti-1', tenantId: 'acme', kind: 'PARTNER_TOKEN_REVOKED', reason: 'leaked', effectiveAt: new Date('2030-01-01T00:00:00.000Z') });
  });

  it('given PartnerCredentialRevoked, notices the credential, whose id every access token it obtained carries as sub', () => {
    const notice = revocationNoticeOf(
      recorded('PartnerCredentialRevoked', { credentialId: 'pc_2', tenantId: 'acme', reason: null, revokedAt: '2030-01-01T00:00:00.000Z' }),
    );
    expect(notice).toMatchObject({ tokenId: 'pc_2', tenantId: 'acme', kind: 'PARTNER_CREDENTIAL_REVOKED', reason: null });
  });

  it('given any other event, notices nothing', () => {
    expect(revocationNoticeOf(recorded('TokenIssued', { tokenId: 'tok_3', tenantId: 'acme' }))).toBeNull();
    expect(revocationNoticeOf(recorded('AccessTokenIssued', { jti: 'jti-2', tenantId: 'acme' }))).toBeNull();
    expect(revocationNoticeOf(recorded('toString', { tokenId: 'tok_4' }))).toBeNull();
  });

  it('asks the store for exactly the event types it maps', () => {
    expect([...NOTICE_EVENT_TYPES].sort()).toEqual(['AccessTokenRevoked', 'PartnerCredentialRevoked', 'TokenDisabled', 'TokenRevoked', 'TokenRotated']);
  });
});
