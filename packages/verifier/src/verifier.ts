import { hash, randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { VerdictCache, type CacheEntry } from './cache.js';
import { GatewayClient, GatewayUnavailable } from './gateway.js';
import { NoticeSubscription } from './notices.js';
import { isPartnerAccessToken, PartnerTokenChecker } from './partner.js';
import { heldRoles } from './roles.js';
import type { RevocationNotice, Verdict, VerificationCode, VerifierLogger, VerifierMetrics, VerifierStats, VerifyOptions } from './types.js';

/** What the verifier does with cached verdicts while the notice subscription is down. */
export type WhileDisconnected = 'fail-closed' | { maxStalenessMs: number };

export interface VerifierOptions {
  /** The gateway's base URL, such as `https://keys.example.com`. */
  url: string;
  /** A keyledger credential holding `keyledger:tokens:read`. */
  token: string;
  /**
   * `'fail-closed'` (the default): while the subscription is down no cached verdict is used;
   * every credential is verified by keyledger, and refused (UNAVAILABLE) when it cannot be
   * asked. `{ maxStalenessMs }`: cached verdicts keep being served until that long after the
   * subscription went down (or after they were fetched, if later).
   */
  whileDisconnected?: WhileDisconnected;
  /** Longest a valid verdict is kept even with no notice about it (role changes are not announced). Default 5 minutes. */
  maxAgeMs?: number;
  /** How long NOT_FOUND, MALFORMED, EXPIRED and WRONG_TENANT verdicts are kept. Default 5 seconds. */
  negativeTtlMs?: number;
  /**
   * Most verdicts kept. Those not served since eviction last passed them go first (an
   * approximation of least recently used that costs a cache hit nothing). Default 10,000.
   */
  maxEntries?: number;
  /** Timeout of one HTTP request to keyledger. Default 5 seconds. */
  requestTimeoutMs?: number;
  /** Ping interval on the notice subscription; a socket without a pong for as long is dropped. Default 10 seconds. */
  keepAliveMs?: number;
  /** Reconnect backoff bounds. Default 250 ms to 10 s. */
  retryDelayMs?: { min: number; max: number };
  /** A WebSocket implementation (a constructor, as `ws` or the global one). Default: `ws`. */
  webSocket?: unknown;
  /** The `iss` partner access tokens must carry. Default: keyledger's, from its authorization server metadata. */
  issuer?: string;
  metrics?: VerifierMetrics;
  logger?: VerifierLogger;
  /** Milliseconds since the epoch; replace to control time in tests. */
  now?: () => number;
}

export interface Verifier {
  /** Never throws for a bad credential: the verdict says why. */
  verify(credential: string, options?: VerifyOptions): Promise<Verdict>;
  /**
   * The same verdict as `verify`, but returned as it is (not in a promise) when the cache can
   * answer, so that a request with a cached credential costs no promise and no microtask; a
   * promise only when keyledger must be asked. The middleware use it.
   */
  verifyNow(credential: string, options?: VerifyOptions): Verdict | Promise<Verdict>;
  /** Resolves once the notice subscription is in place (verify works before that, without the cache). */
  ready(): Promise<void>;
  stats(): VerifierStats;
  close(): Promise<void>;
}

const MAX_CREDENTIAL_LENGTH = 8192;
const RECENT_NOTICES = 10_000;
const DEFAULTS = {
  maxAgeMs: 5 * 60_000,
  negativeTtlMs: 5_000,
  maxEntries: 10_000,
  requestTimeoutMs: 5_000,
  keepAliveMs: 10_000,
  retryDelayMs: { min: 250, max: 10_000 },
};
const SILENT: VerifierLogger = { warn() {}, error() {} };

type MissReason = 'absent' | 'expired' | 'stale' | 'disconnected';

export function createVerifier(options: VerifierOptions): Verifier {
  return new CachingVerifier(options);
}

function refusal(code: VerificationCode): Verdict {
  return Object.freeze({ valid: false, code, tokenId: null, tenantId: null, roles: Object.freeze([]) as unknown as string[], kind: null, expiresAt: null });
}

class CachingVerifier implements Verifier {
  private readonly gateway: GatewayClient;
  private readonly partners: PartnerTokenChecker;
  private readonly notices: NoticeSubscription;
  private readonly cache: VerdictCache;
  private readonly inFlight = new Map<string, Promise<Verdict>>();
  /**
   * Cache keys are SHA-256 of this random prefix followed by the credential: a keyed hash, so
   * the keys in memory cannot be matched against guessed credentials, computed in one call into
   * the native hash (a fraction of what an HMAC object per request costs), its 32 bytes taken
   * as a 32-character string without encoding them. The keys never leave the process, so the
   * length extension a prefix construction allows gives nobody anything.
   */
  private readonly hashKey = randomBytes(32).toString('base64url');
  private readonly now: () => number;
  private readonly metrics: VerifierMetrics;
  private readonly logger: VerifierLogger;
  private readonly settings: typeof DEFAULTS & { whileDisconnected: WhileDisconnected };
  /** Ids named by recent notices, with the sequence number of the last one: verdicts fetched meanwhile are not trusted. */
  private readonly recent = new Map<string, number>();
  /** Tokens rotated whose previous secret still works: until when. */
  private readonly rotations = new Map<string, number>();
  private noticeSeq = 0;
  private live = false;
  private downSince: number;
  private closed = false;
  private readonly counters = { hits: 0, misses: 0, notices: 0 };
  private readonly readyWaiters: Array<() => void> = [];

  constructor(options: VerifierOptions) {
    if (typeof options?.url !== 'string' || typeof options.token !== 'string' || options.token.length === 0) {
      throw new TypeError('createVerifier needs { url, token }: the gateway base URL and a credential holding keyledger:tokens:read');
    }
    const base = new URL(options.url);
    const baseUrl = `${base.origin}${base.pathname.replace(/\/+$/, '').replace(/\/graphql$/, '')}`;
    const authorization = `Bearer ${options.token}`;
    this.settings = {
      maxAgeMs: options.maxAgeMs ?? DEFAULTS.maxAgeMs,
      negativeTtlMs: options.negativeTtlMs ?? DEFAULTS.negativeTtlMs,
      maxEntries: options.maxEntries ?? DEFAULTS.maxEntries,
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
      keepAliveMs: options.keepAliveMs ?? DEFAULTS.keepAliveMs,
      retryDelayMs: options.retryDelayMs ?? DEFAULTS.retryDelayMs,
      whileDisconnected: options.whileDisconnected ?? 'fail-closed',
    };
    const disconnected = this.settings.whileDisconnected;
    if (disconnected !== 'fail-closed' && !(typeof disconnected?.maxStalenessMs === 'number' && disconnected.maxStalenessMs >= 0)) {
      throw new TypeError("whileDisconnected must be 'fail-closed' or { maxStalenessMs: <milliseconds> }");
    }
    this.now = options.now ?? Date.now;
    this.metrics = options.metrics ?? {};
    this.logger = options.logger ?? SILENT;
    this.downSince = this.now();
    this.cache = new VerdictCache(this.settings.maxEntries);
    this.gateway = new GatewayClient(baseUrl, authorization, this.settings.requestTimeoutMs);
    const issuer = options.issuer;
    this.partners = new PartnerTokenChecker(baseUrl, issuer ? () => Promise.resolve(issuer) : () => this.gateway.issuer(), this.now);
    this.notices = new NoticeSubscription({
      wsUrl: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
      authorization,
      webSocket: options.webSocket ?? WebSocket,
      keepAliveMs: this.settings.keepAliveMs,
      retryDelayMs: this.settings.retryDelayMs,
      logger: this.logger,
      listener: {
        onConnected: (resumed) => this.onConnected(resumed),
        onDisconnected: (code, reason) => this.onDisconnected(code, reason),
        onNotice: (notice) => this.onNotice(notice),
      },
    });
    this.notices.start();
  }

  async verify(credential: string, options?: VerifyOptions): Promise<Verdict> {
    return this.verifyNow(credential, options);
  }

  verifyNow(credential: string, options?: VerifyOptions): Verdict | Promise<Verdict> {
    if (typeof credential !== 'string' || credential.length === 0 || credential.length > MAX_CREDENTIAL_LENGTH) {
      this.miss('MALFORMED', 'absent');
      return refusal('MALFORMED');
    }
    if (this.closed) return refusal('UNAVAILABLE');
    const key = hash('sha256', this.hashKey + credential, 'binary');
    const found = this.lookup(key);
    const requiredRoles = options?.requiredRoles;
    if (typeof found !== 'string') return withRoles(found.verdict, found.held, requiredRoles);
    return this.fetchOnce(key, credential, found).then((verdict) => withRoles(verdict, null, requiredRoles));
  }

  ready(): Promise<void> {
    if (this.live) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  stats(): VerifierStats {
    return {
      ...this.counters,
      entries: this.cache.size,
      connected: this.live,
      lastPosition: this.notices.lastPosition,
      stalenessMs: this.live ? 0 : Math.max(0, this.now() - this.downSince),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.live = false;
    this.cache.clear();
    await this.notices.stop();
  }

  /** The cached entry that may be served now (counted as a hit), or why there is none. */
  private lookup(key: string): CacheEntry | MissReason {
    const entry = this.cache.get(key);
    if (entry === undefined) return 'absent';
    const now = this.now();
    if (now >= entry.until) {
      this.cache.delete(key);
      return 'expired';
    }
    if (this.live) return this.hit(entry);
    const disconnected = this.settings.whileDisconnected;
    if (disconnected === 'fail-closed') return 'disconnected';
    const staleness = now - Math.max(this.downSince, entry.fetchedAt);
    if (staleness <= disconnected.maxStalenessMs) {
      this.metrics.staleness?.({ milliseconds: staleness });
      return this.hit(entry);
    }
    this.cache.delete(key);
    return 'stale';
  }

  /** Asks keyledger, once for all the requests presenting the same credential meanwhile. */
  private async fetchOnce(key: string, credential: string, reason: MissReason): Promise<Verdict> {
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.fetch(key, credential).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    const verdict = await pending;
    this.miss(verdict.code, reason);
    return verdict;
  }

  private hit(entry: CacheEntry): CacheEntry {
    this.counters.hits++;
    // An unset hook costs a property read: the event object is only built for a hook.
    this.metrics.hit?.({ code: entry.verdict.code });
    return entry;
  }

  private miss(code: VerificationCode, reason: MissReason): void {
    this.counters.misses++;
    this.metrics.miss?.({ code, reason });
  }

  private async fetch(key: string, credential: string): Promise<Verdict> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const fetchedAt = this.now();
      const seq = this.noticeSeq;
      const verdict = await this.ask(credential);
      if (this.closed) return verdict;
      // A notice about this credential arrived while keyledger was answering: the answer may
      // predate it. Asking again gives an answer that follows it.
      if (this.noticedSince(verdict, seq)) continue;
      this.store(key, verdict, fetchedAt);
      return verdict;
    }
    return this.ask(credential);
  }

  private async ask(credential: string): Promise<Verdict> {
    try {
      if (isPartnerAccessToken(credential)) {
        const local = await this.partners.check(credential);
        if (!local.ok) return refusal(local.code);
        return Object.freeze(await this.gateway.verifyPartnerAccessToken(credential, local.claims));
      }
      return Object.freeze(await this.gateway.verifyToken(credential));
    } catch (error) {
      if (!(error instanceof GatewayUnavailable)) throw error;
      this.logger.warn('keyledger verifier: could not verify a credential', { cause: error.message });
      return refusal('UNAVAILABLE');
    }
  }

  private store(key: string, verdict: Verdict, fetchedAt: number): void {
    let until: number;
    switch (verdict.code) {
      case 'VALID':
        until = Math.min(fetchedAt + this.settings.maxAgeMs, verdict.expiresAt?.getTime() ?? Infinity);
        break;
      case 'REVOKED':
        // Final: no later event brings a revoked credential back.
        until = fetchedAt + this.settings.maxAgeMs;
        break;
      case 'UNAVAILABLE':
      case 'INSUFFICIENT_ROLES':
        return;
      default:
        // NOT_FOUND may be a credential issued a moment ago on another replica, EXPIRED one whose
        // expiry is being extended: neither is announced, so they are kept only briefly.
        until = fetchedAt + this.settings.negativeTtlMs;
    }
    const rotatedUntil = verdict.tokenId ? this.rotations.get(verdict.tokenId) : undefined;
    if (rotatedUntil !== undefined) {
      if (rotatedUntil <= fetchedAt) this.rotations.delete(verdict.tokenId!);
      else until = Math.min(until, rotatedUntil);
    }
    if (until > fetchedAt) this.cache.set(key, { verdict, fetchedAt, until, held: heldRoles(verdict.roles), used: false });
  }

  private noticedSince(verdict: Verdict, seq: number): boolean {
    for (const id of [verdict.tokenId, verdict.credentialId]) {
      if (id && (this.recent.get(id) ?? -1) > seq) return true;
    }
    return false;
  }

  private onNotice(notice: RevocationNotice): void {
    this.counters.notices++;
    const seq = ++this.noticeSeq;
    this.recent.delete(notice.tokenId);
    this.recent.set(notice.tokenId, seq);
    if (this.recent.size > RECENT_NOTICES) this.recent.delete(this.recent.keys().next().value as string);
    let dropped = 0;
    const now = this.now();
    if (notice.kind === 'ROTATED') {
      // The previous secret works until the end of the grace period; the cache cannot tell
      // which secret an entry was for, so every entry of the token ends then.
      const effectiveAt = Date.parse(notice.effectiveAt);
      if (effectiveAt > now) this.rotations.set(notice.tokenId, effectiveAt);
      for (const key of this.cache.keysFor(notice.tokenId)) {
        const entry = this.cache.peek(key)!;
        if (entry.verdict.tokenId !== notice.tokenId) continue;
        dropped++;
        if (effectiveAt <= now) this.cache.delete(key);
        else entry.until = Math.min(entry.until, effectiveAt);
      }
    } else {
      // REVOKED, PARTNER_TOKEN_REVOKED, PARTNER_CREDENTIAL_REVOKED, and any kind added later:
      // whatever the id names, its verdicts go.
      for (const key of this.cache.keysFor(notice.tokenId)) {
        this.cache.delete(key);
        dropped++;
      }
    }
    this.metrics.notice?.({ notice, dropped });
  }

  private onConnected(resumed: boolean): void {
    // Without a position nothing missed can be replayed: whatever is cached may be stale.
    if (!resumed) this.cache.clear();
    this.live = true;
    this.metrics.connection?.({ connected: true });
    for (const resolve of this.readyWaiters.splice(0)) resolve();
  }

  private onDisconnected(code: number | undefined, reason: string | undefined): void {
    if (this.live) this.downSince = this.now();
    this.live = false;
    this.metrics.connection?.({ connected: false, code, reason });
  }
}

/** `held`: the verdict's roles with those they imply, when already worked out. */
function withRoles(verdict: Verdict, held: ReadonlySet<string> | null, requiredRoles: Iterable<string> | undefined): Verdict {
  if (!verdict.valid || requiredRoles === undefined) return verdict;
  // Any iterable (a Set passed from JavaScript too) is checked role by role, never skipped.
  for (const role of requiredRoles) {
    held ??= heldRoles(verdict.roles);
    if (!held.has(role)) return Object.freeze({ ...verdict, valid: false, code: 'INSUFFICIENT_ROLES' });
  }
  return verdict;
}
