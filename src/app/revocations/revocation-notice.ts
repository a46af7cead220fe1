import type { AccessTokenRevoked, PartnerCredentialRevoked } from '../../domain/partners/events';
import type { TokenDisabled, TokenRevoked, TokenRotated } from '../../domain/tokens/events';
import type { Actor, RecordedEvent } from '../../eventstore/port';

/** Why a credential stops being accepted. */
export type RevocationKind = 'REVOKED' | 'ROTATED' | 'PARTNER_TOKEN_REVOKED' | 'PARTNER_CREDENTIAL_REVOKED' | 'DISABLED';

/** What a subscriber learns when a credential stops (or will stop) being accepted. */
export interface RevocationNotice {
  tokenId: string;
  tenantId: string;
  kind: RevocationKind;
  reason: string | null;
  /** From this instant the credential (for a rotation: its previous secret) is refused. */
  effectiveAt: Date;
  actor: Pick<Actor, 'type' | 'id'>;
  eventId: string;
  /** Log position of the event: the resume point for `afterPosition`. */
  position: bigint;
}

type NoticeOf = (event: RecordedEvent) => RevocationNotice;

function base(event: RecordedEvent, tokenId: string, tenantId: string) {
  const { type, id } = event.metadata.actor;
  return { tokenId, tenantId, actor: { type, id }, eventId: event.id, position: event.position };
}

/**
 * One entry per event type that ends a credential's validity. The keys are also the event
 * types the feed asks the store for when replaying, so a new entry is all a new kind needs.
 */
export const NOTICE_OF_EVENT: Readonly<Record<string, NoticeOf>> = {
  TokenRevoked(event) {
    const data = event.data as TokenRevoked['data'];
    return { ...base(event, data.tokenId, data.tenantId), kind: 'REVOKED', reason: data.reason, effectiveAt: new Date(data.revokedAt) };
  },
  // The token lives on with a new secret; what ends, at the end of the grace period, is the old one.
  TokenRotated(event) {
    const data = event.data as TokenRotated['data'];
    return {
      ...base(event, data.tokenId, data.tenantId),
      kind: 'ROTATED',
      reason: null,
      effectiveAt: new Date(data.previousSecretsValidUntil),
    };
  },
  /*
   * A pause is announced like a revocation, so every cache of a verdict drops it; resuming is
   * not announced: a refusal is only kept briefly, as for a token just issued elsewhere.
   */
  TokenDisabled(event) {
    const data = event.data as TokenDisabled['data'];
    return { ...base(event, data.tokenId, data.tenantId), kind: 'DISABLED', reason: null, effectiveAt: new Date(data.disabledAt) };
  },
  // A partner access token is a JWT that resource servers check locally; its id is the jti.
  AccessTokenRevoked(event) {
    const data = event.data as AccessTokenRevoked['data'];
    return { ...base(event, data.jti, data.tenantId), kind: 'PARTNER_TOKEN_REVOKED', reason: data.reason, effectiveAt: new Date(data.revokedAt) };
  },
  // Every access token the credential obtained dies with it: their `sub` is the credential id.
  PartnerCredentialRevoked(event) {
    const data = event.data as PartnerCredentialRevoked['data'];
    return {
      ...base(event, data.credentialId, data.tenantId),
      kind: 'PARTNER_CREDENTIAL_REVOKED',
      reason: data.reason,
      effectiveAt: new Date(data.revokedAt),
    };
  },
};

export const NOTICE_EVENT_TYPES: readonly string[] = Object.keys(NOTICE_OF_EVENT);

/** The notice an event stands for, or null when it does not end any credential's validity. */
export function revocationNoticeOf(event: RecordedEvent): RevocationNotice | null {
  const noticeOf = Object.hasOwn(NOTICE_OF_EVENT, event.type) ? NOTICE_OF_EVENT[event.type] : undefined;
  return noticeOf ? noticeOf(event) : null;
}
