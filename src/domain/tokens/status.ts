/**
 * A token's status, derived from its facts and the clock, never recorded: no background job
 * has to notice an expiry. This is the one statement of the rule; the read model's SQL
 * filters are built from `tokenStatusSql` below, which says the same thing over columns.
 */
export type TokenStatus = 'ACTIVE' | 'REVOKED' | 'EXPIRED';

/** An instant as the domain state (ISO string) or the read model (Date) holds it. */
type Instant = Date | string | null;

export interface StatusFacts {
  revokedAt: Instant;
  expiresAt: Instant;
}

const timeOf = (instant: Date | string) => (instant instanceof Date ? instant.getTime() : new Date(instant).getTime());

/** Expired at the instant of its expiry, not a millisecond later. */
export function isExpired(facts: Pick<StatusFacts, 'expiresAt'>, now: Date): boolean {
  return facts.expiresAt !== null && timeOf(facts.expiresAt) <= now.getTime();
}

/** Revocation wins over expiry: a revoked token that has also expired reads as REVOKED. */
export function tokenStatus(facts: StatusFacts, now: Date): TokenStatus {
  if (facts.revokedAt) return 'REVOKED';
  if (isExpired(facts, now)) return 'EXPIRED';
  return 'ACTIVE';
}

/**
 * What one secret of a token proves now: a secret rotated out stays valid for its grace
 * period (until `validUntil`, exclusive) and is REVOKED after it, whatever the token's own
 * status; otherwise the token's status decides.
 */
export function secretStatus(secret: { validUntil: Instant }, token: StatusFacts, now: Date): TokenStatus {
  if (secret.validUntil !== null && timeOf(secret.validUntil) <= now.getTime()) return 'REVOKED';
  return tokenStatus(token, now);
}

/**
 * `tokenStatus` as an SQL condition over a row whose instants are ISO-8601 UTC strings (which
 * order as the instants do), with `now` bound as the same kind of string. Each status is
 * the negation of those checked before it, exactly as `tokenStatus` reads.
 */
export function tokenStatusSql(status: TokenStatus, columns: { revokedAt: string; expiresAt: string }, now: string): string {
  const revoked = `${columns.revokedAt} IS NOT NULL`;
  const expired = `${columns.expiresAt} IS NOT NULL AND ${columns.expiresAt} <= ${now}`;
  const conditions: Record<TokenStatus, string> = {
    REVOKED: revoked,
    EXPIRED: `NOT (${revoked}) AND ${expired}`,
    ACTIVE: `NOT (${revoked}) AND NOT (${expired})`,
  };
  return conditions[status];
}

/** Not revoked, whatever the clock says. */
export function notRevokedSql(columns: { revokedAt: string }): string {
  return `${columns.revokedAt} IS NULL`;
}
