import { createHash, createHmac } from 'node:crypto';
import { KeyledgerError } from '../../domain/errors';
import { leakReportStreamId, type LeakEvent, type TokenLeakReported } from '../../domain/leaks/events';
import {
  decide,
  evolve,
  initialTokenState,
  isLeakUrl,
  LEAKED_REASON,
  tokenStreamId,
  type LeakLocation,
  type TokenEvent,
  type TokenState,
} from '../../domain/tokens';
import { parseToken } from '../../crypto/token-format';
import { WrongExpectedRevisionError, type Actor, type EventMetadata } from '../../eventstore/port';
import type { TokenRecord } from '../../../projections/tokens';
import type { Logger } from '../../logger';
import type { Clock } from '../clock';
import type { EventWriter } from '../event-writer';
import { eventMetadata, type RequestContext } from '../request-context';
import { TOKEN_PREFIXES } from '../tokens/token-issuer';
import type { IntegrationKeySecrets } from '../tokens/integration-key-secrets';
import type { TokenCredentials } from '../credentials/token-credentials';
import type { LeakPolicy } from './leak-settings';

/** One match of a secret-scanning report, as the code host sends it. */
export interface ScanMatch {
  token: string;
  type: string;
  url: string | null;
  source: string | null;
}

/** The answer per match: GitHub's partner format. */
export interface ScanAnswer {
  token_hash: string;
  token_type: string;
  label: 'true_positive' | 'false_positive';
}

export interface LeakedCredentialsOptions {
  tokens: Pick<TokenCredentials, 'verifySecret'>;
  /** Destroys a revoked integration key's data key. */
  integrationKeySecrets: Pick<IntegrationKeySecrets, 'shred'>;
  writer: EventWriter;
  clock: Clock;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Keys the report ids: an HMAC of the body, the same on every replica of the deployment. */
  reportKey: Buffer;
  policy: Record<TokenRecord['kind'], LeakPolicy>;
}

/** Prefixes of the tokens a leak report can name: those of the kinds keyledger generates. */
const TOKEN_PREFIX_SET: ReadonlySet<string> = new Set(Object.values(TOKEN_PREFIXES));
/** Batches of public revocations waiting for the worker; beyond that, clients are asked to retry. */
const MAX_QUEUED_BATCHES = 100;

export const replayed = () => new KeyledgerError('UNAUTHENTICATED', 'This report was already received: a replayed body changes nothing', { reason: 'replayed' });

/**
 * What keyledger does with a secret found where it should not be: a signed report from a code
 * host's secret scanning, or anyone posting secrets to the public revocation endpoint. Only
 * generated tokens are looked at (prefix and checksum, then the HMAC lookup), so an answer costs
 * the same whatever was sent, and no argon2 work can be asked for anonymously.
 */
export class LeakedCredentials {
  private readonly queue: Array<{ secrets: string[]; ctx: Pick<RequestContext, 'requestId' | 'ip' | 'userAgent'> }> = [];
  private worker: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly options: LeakedCredentialsOptions) {}

  /**
   * Labels each match, applies the policy of its token's kind to live tokens, and records the
   * report once: a second report with the same body (a replay, or the same delivery reaching
   * another replica) is refused, after the revocations it asks for, which are idempotent,
   * so that a report recorded before a crash is never half-applied.
   */
  async report(source: string, body: Buffer, matches: readonly ScanMatch[], ctx: Pick<RequestContext, 'requestId' | 'ip' | 'userAgent'>): Promise<ScanAnswer[]> {
    const { writer, clock } = this.options;
    const reportId = createHmac('sha256', this.options.reportKey).update('keyledger/leak-report/v1\0').update(body).digest('hex');
    const streamId = leakReportStreamId(source, reportId);
    if ((await writer.readStream(streamId)).length > 0) throw replayed();

    const now = clock.now();
    const metadata = eventMetadata(ctx, actorFor(`secret-scanning/${source}`), now);
    const answers: ScanAnswer[] = [];
    const notices: TokenLeakReported[] = [];
    const handled = new Set<string>();
    for (const match of matches) {
      const record = await this.tokenOf(match.token);
      answers.push({ token_hash: createHash('sha256').update(match.token).digest('hex'), token_type: match.type, label: record.known ? 'true_positive' : 'false_positive' });
      if (!record.live || handled.has(record.live.id)) continue;
      handled.add(record.live.id);
      const leak = { source, url: match.url !== null && isLeakUrl(match.url) ? match.url : null };
      if (this.options.policy[record.live.kind] === 'notify') {
        notices.push({
          type: 'TokenLeakReported',
          data: { tokenId: record.live.id, tenantId: record.live.tenantId, kind: record.live.kind, ...leak, reportId, action: 'notify', reportedAt: now.toISOString() },
        });
      } else {
        await this.revoke(record.live, leak, metadata);
      }
    }

    const events: LeakEvent[] = [
      {
        type: 'SecretScanningReportReceived',
        data: { reportId, source, matches: matches.length, truePositives: answers.filter((answer) => answer.label === 'true_positive').length, receivedAt: now.toISOString() },
      },
      ...notices,
    ];
    try {
      await writer.append(streamId, events, metadata, 'no_stream');
    } catch (error) {
      if (error instanceof WrongExpectedRevisionError) throw replayed();
      throw error;
    }
    const revoked = handled.size - notices.length;
    this.options.logger.info({ source, reportId, matches: matches.length, revoked, notified: notices.length }, 'received a secret-scanning report');
    return answers;
  }

  /**
   * Queues secrets for revocation and returns at once: the caller learns nothing of what they
   * were, not even from how long the answer took. UNAVAILABLE when the queue is full.
   */
  submitForRevocation(secrets: readonly string[], ctx: Pick<RequestContext, 'requestId' | 'ip' | 'userAgent'>): void {
    if (this.closed || this.queue.length >= MAX_QUEUED_BATCHES) {
      throw new KeyledgerError('UNAVAILABLE', 'Too many revocations are waiting; retry shortly', { retryAfter: 5 });
    }
    this.queue.push({ secrets: [...secrets], ctx: { requestId: ctx.requestId, ip: ctx.ip, userAgent: ctx.userAgent } });
    this.worker ??= this.work().finally(() => (this.worker = null));
  }

  /** Finishes the revocations already accepted, and accepts no more. */
  async close(): Promise<void> {
    this.closed = true;
    await this.worker;
  }

  private async work(): Promise<void> {
    for (let batch = this.queue.shift(); batch; batch = this.queue.shift()) {
      const metadata = eventMetadata(batch.ctx, actorFor('public-revocation'), this.options.clock.now());
      let revoked = 0;
      for (const secret of batch.secrets) {
        try {
          const { live } = await this.tokenOf(secret);
          if (!live) continue;
          await this.revoke(live, { source: 'public', url: null }, metadata);
          revoked++;
        } catch (error) {
          // The error is about the store or the token, never the secret, which is not logged.
          this.options.logger.error({ err: error, requestId: batch.ctx.requestId }, 'could not revoke a publicly reported token');
        }
      }
      // How many were live is for the operator's log only, never for the caller.
      this.options.logger.info({ requestId: batch.ctx.requestId, submitted: batch.secrets.length, revoked }, 'processed a public revocation request');
    }
  }

  /** `known`: a token of this deployment, in any state; `live`: one a leak can still hurt. */
  private async tokenOf(secret: string): Promise<{ known: boolean; live: TokenRecord | null }> {
    const parsed = typeof secret === 'string' ? parseToken(secret) : null;
    if (!parsed || !TOKEN_PREFIX_SET.has(parsed.prefix)) return { known: false, live: null };
    const { code, record } = await this.options.tokens.verifySecret(secret);
    if (!record) return { known: false, live: null };
    return { known: true, live: code === 'VALID' ? record : null };
  }

  private async revoke(record: TokenRecord, leak: LeakLocation, metadata: EventMetadata): Promise<void> {
    const now = this.options.clock.now();
    await this.options.writer.execute<TokenState, TokenEvent>({
      streamId: tokenStreamId(record.id),
      initial: initialTokenState,
      evolve,
      metadata: { ...metadata, occurredAt: now.toISOString() },
      decide: (state) => (state.status === 'active' ? decide({ type: 'RevokeToken', tokenId: record.id, reason: LEAKED_REASON, leak }, state, now) : []),
    });
    if (record.kind === 'INTEGRATION_KEY') {
      // A revoked key's secret is never needed again: its data key goes now, or at the next start-up.
      await this.options.integrationKeySecrets.shred(record.id).catch((error: unknown) => {
        this.options.logger.warn({ err: error, tokenId: record.id }, 'could not destroy the data key of a leaked integration key yet; start-up will');
      });
    }
  }
}

function actorFor(id: string): Actor {
  return { type: 'system', id, tenantId: null };
}
