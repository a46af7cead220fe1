import { hash, randomBytes } from 'node:crypto';
import type { RecordedEvent } from '../../eventstore/port';
import { TOKEN_EVENT_TYPES } from '../../domain/tokens/events';
import type { TokenQueries } from '../../../projections/tokens';
import type { Clock } from '../clock';
import { authFailureLocked } from '../rate-limits';
import type { Principal } from '../request-context';
import type { PresentedWith } from './credential-verifier';

export type Authenticate = (presented: string, ip?: string, request?: PresentedWith) => Promise<Principal>;

export interface PrincipalCacheOptions {
  /** The full check, which decides every credential the cache does not hold. */
  authenticate: Authenticate;
  /** Seconds an address is still locked out for failed authentications, or null. */
  lockedFor(ip: string | undefined): Promise<number | null>;
  /** Notes a use of the token, as the full check does. */
  recordUse(tokenId: string, at: Date): void;
  /** Until when (epoch ms) the token's verdict may stand without a check, or null when it must not be kept; see `verdictDeadline`. */
  validUntilOf(tokenId: string, now: Date): number | null;
  /** Committed event batches of this process's feed, applied to its read models just before. */
  events: { onEvents(listener: (events: readonly RecordedEvent[]) => void): () => void };
  /**
   * A number that changes whenever another connection (another process on the same data
   * directory) commits to the read models this process reads.
   */
  readModelVersion(): number;
  clock: Clock;
  maxEntries?: number;
}

const TOKEN_EVENTS: ReadonlySet<string> = new Set(TOKEN_EVENT_TYPES);

/*
 * Whether a token event can change what a held principal was decided on. The issue of a token
 * with a generated secret cannot: the new token was no caller before, and its secret (178
 * random bits) is no other bearer's. Every other token event can, the issue of a chosen
 * secret included: verification refuses a secret that two credentials hold, both of them.
 */
function canChangePrincipals(event: RecordedEvent): boolean {
  if (!TOKEN_EVENTS.has(event.type)) return false;
  return event.type !== 'TokenIssued' || (event.data as { origin?: unknown }).origin !== 'generated';
}

/**
 * The principals bearer tokens authenticated as, per process, so that a caller sending many
 * requests has its token looked up once rather than on each. An entry stands only while
 * nothing it was decided on can have changed: every token event this process's feed applies
 * (but the issue of a generated secret, see `canChangePrincipals`) and every commit another
 * process makes to the shared read models empties the cache before
 * the next request is answered, and an entry ends when its token expires or one of the
 * token's rotated-out secrets leaves its grace period. Refusals are never kept: they are
 * counted, recorded and limited by the full check each time. Keys are a SHA-256 of the bearer
 * under a random salt that lives only in this process, so the cache holds no secret.
 */
export class PrincipalCache {
  private readonly entries = new Map<string, { principal: Principal; validUntil: number }>();
  /** Prefixed to a bearer before hashing it; never leaves the process. */
  private readonly salt = randomBytes(32).toString('base64');
  private readonly maxEntries: number;
  private seenVersion: number;
  /** Changes whenever the entries are dropped, so that a check that began before is not kept. */
  private generation = 0;
  private readonly detach: () => void;

  constructor(private readonly options: PrincipalCacheOptions) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.seenVersion = options.readModelVersion();
    this.detach = options.events.onEvents((events) => {
      if (events.some(canChangePrincipals)) this.clear();
    });
  }

  /** `authenticate`, answered from the cache when the bearer's principal is held and still stands. */
  async authenticate(presented: string, ip?: string, request?: PresentedWith): Promise<Principal> {
    // Integration-key forms are checked per request (JWT claims, the Basic pair); only bare bearer secrets are kept.
    if (request?.integrationKeyForms) return this.options.authenticate(presented, ip, request);
    const generation = this.currentGeneration();
    const fingerprint = hash('sha256', this.salt + presented, 'base64');
    const now = this.options.clock.now();
    const held = this.entries.get(fingerprint);
    if (held && held.validUntil > now.getTime()) {
      // As the full check does: a locked-out address is refused even a valid credential.
      if (!request?.addressChecked) {
        const locked = await this.options.lockedFor(ip);
        if (locked !== null) throw authFailureLocked(locked);
      }
      this.options.recordUse(held.principal.id, now);
      return { ...held.principal, roles: [...held.principal.roles] };
    }
    if (held) this.entries.delete(fingerprint);
    const principal = await this.options.authenticate(presented, ip, request);
    if (principal.type === 'token' && this.currentGeneration() === generation) {
      const validUntil = this.options.validUntilOf(principal.id, this.options.clock.now());
      if (validUntil !== null) this.remember(fingerprint, { ...principal, roles: [...principal.roles] }, validUntil);
    }
    return principal;
  }

  /** Stops following the event feed. */
  close(): void {
    this.detach();
    this.clear();
  }

  private currentGeneration(): number {
    const version = this.options.readModelVersion();
    if (version !== this.seenVersion) {
      this.seenVersion = version;
      this.clear();
    }
    return this.generation;
  }

  private clear(): void {
    this.entries.clear();
    this.generation += 1;
  }

  private remember(fingerprint: string, principal: Principal, validUntil: number): void {
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(fingerprint, { principal, validUntil });
  }
}

/**
 * Until when (epoch ms) a token that has just authenticated stays valid whatever happens in
 * the log: its expiry, and the end of the grace period of any of its rotated-out secrets
 * still in one (the one presented may be among them). Infinity when neither applies; null
 * when the token is not in the read models.
 */
export function verdictDeadline(queries: Pick<TokenQueries, 'byId' | 'secretsOf'>, tokenId: string, now: Date): number | null {
  const record = queries.byId(tokenId);
  if (!record) return null;
  let deadline = record.expiresAt?.getTime() ?? Infinity;
  for (const secret of queries.secretsOf(tokenId)) {
    const ends = secret.validUntil?.getTime();
    if (ends !== undefined && ends > now.getTime() && ends < deadline) deadline = ends;
  }
  return deadline;
}
