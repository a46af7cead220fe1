import { KeyledgerError } from '../../domain/errors';
import { tokenCreditsStreamId, type TokenCreditsSpent } from '../../domain/token-usage/events';
import { creditPeriod, nextRefillAt } from '../../domain/tokens/usage-controls';
import { WrongExpectedRevisionError, type EventMetadata, type ExpectedRevision, type RecordedEvent } from '../../eventstore/port';
import type { TokenControls, TokenControlsQueries } from '../../../projections/tokens';
import type { Clock } from '../clock';
import type { EventWriter } from '../event-writer';

/** What is known of a token's spends: its credits stream folded up to `revision`. */
interface SpendState {
  revision: ExpectedRevision;
  position: bigint | null;
  /** The grant and period of the latest spend; spends of earlier ones no longer count. */
  grant: number;
  period: string;
  spent: number;
}

export interface CreditBalance {
  remaining: number;
  /** When the balance is next set to the refill amount; null without a refill. */
  refillsAt: Date | null;
}

export interface CreditSpend extends CreditBalance {
  /** False when fewer credits remained than the cost (or none at all). */
  spent: boolean;
}

const EMPTY: SpendState = { revision: 'no_stream', position: null, grant: -1, period: '', spent: 0 };
/** Each failed attempt means another process spent meanwhile, so attempts end when credits do; this bounds a pathological race. */
const MAX_ATTEMPTS = 100;
/** Tokens whose spends are remembered; a forgotten one is read from its stream again. */
const MAX_CACHED = 10_000;

/**
 * Spends a token's credits exactly, whatever the number of processes or replicas: a spend
 * is an append to the token's `token-credits-<id>` stream with the revision this process
 * last saw as the expected one. When another process appended first the append fails, the
 * new spends are read and the decision is made again; so no two verifications can spend
 * the same credit. Within a process, spends of one token queue behind each other, so the
 * only conflicts are with other processes.
 *
 * The balance is computed, not stored: the credits last set (their `grant`), minus the
 * spends of the current refill period under that grant. A refill is the start of a new
 * period, so nothing runs at the boundary.
 */
export class CreditLedger {
  private readonly states = new Map<string, SpendState>();
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly writer: Pick<EventWriter, 'appendUnawaited' | 'readStream' | 'waitForReadModels'>,
    private readonly controls: Pick<TokenControlsQueries, 'of'>,
    private readonly clock: Clock,
  ) {}

  /** Spends `cost` credits (0 spends nothing and only checks that some remain). */
  spend(token: { id: string; tenantId: string }, controls: TokenControls, cost: number, metadata: EventMetadata): Promise<CreditSpend> {
    return this.serially(token.id, async () => {
      let current = controls;
      let state = await this.caughtUp(token.id);
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        current = await this.notBehind(token.id, current, state);
        const now = this.clock.now();
        const { period, remaining, refillsAt } = balanceOf(state, current, now);
        if (remaining === 0 || remaining < cost) return { spent: false, remaining, refillsAt };
        if (cost === 0) return { spent: true, remaining, refillsAt };
        const spend: TokenCreditsSpent = {
          type: 'TokenCreditsSpent',
          data: {
            tokenId: token.id,
            tenantId: token.tenantId,
            grant: current.creditsGrant!,
            period,
            cost,
            remaining: remaining - cost,
            spentAt: now.toISOString(),
          },
        };
        try {
          const appended = await this.writer.appendUnawaited(tokenCreditsStreamId(token.id), [spend], metadata, state.revision);
          state = fold(state, spend.data, appended.nextExpectedRevision, appended.position);
          this.remember(token.id, state);
          return { spent: true, remaining: remaining - cost, refillsAt };
        } catch (error) {
          if (!(error instanceof WrongExpectedRevisionError)) throw error;
          state = await this.caughtUp(token.id);
        }
      }
      throw new KeyledgerError('UNAVAILABLE', 'The credits of this token are contended too heavily to spend right now; retry shortly');
    });
  }

  /** The balance now, reading spends this process has not seen yet. */
  balance(tokenId: string, controls: TokenControls): Promise<CreditBalance> {
    return this.serially(tokenId, async () => {
      const state = await this.caughtUp(tokenId);
      const { remaining, refillsAt } = balanceOf(state, controls, this.clock.now());
      return { remaining, refillsAt };
    });
  }

  /**
   * The credits stream may already hold spends of a grant this replica's read model has not
   * applied yet (the credits were set again elsewhere): wait for it, since deciding on the
   * older grant could spend credits that were taken away.
   */
  private async notBehind(tokenId: string, controls: TokenControls, state: SpendState): Promise<TokenControls> {
    if (state.grant <= controls.creditsGrant! || state.position === null) return controls;
    await this.writer.waitForReadModels(tokenCreditsStreamId(tokenId), state.position);
    const fresh = this.controls.of(tokenId);
    if (!fresh?.credits || fresh.creditsGrant! < state.grant) {
      throw new KeyledgerError('UNAVAILABLE', "This token's credits were just changed and this replica has not caught up yet; retry shortly");
    }
    return fresh;
  }

  private async caughtUp(tokenId: string): Promise<SpendState> {
    let state = this.states.get(tokenId) ?? EMPTY;
    const from = state.revision === 'no_stream' ? 0 : (state.revision as number) + 1;
    const events: RecordedEvent[] = await this.writer.readStream(tokenCreditsStreamId(tokenId), from);
    for (const event of events) {
      if (event.type === 'TokenCreditsSpent') state = fold(state, event.data as TokenCreditsSpent['data'], event.revision, event.position);
    }
    this.remember(tokenId, state);
    return state;
  }

  private remember(tokenId: string, state: SpendState): void {
    this.states.delete(tokenId);
    if (this.states.size >= MAX_CACHED) this.states.delete(this.states.keys().next().value!);
    this.states.set(tokenId, state);
  }

  private serially<T>(tokenId: string, run: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(tokenId) ?? Promise.resolve();
    const result = previous.then(run, run);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(tokenId, tail);
    void tail.then(() => {
      if (this.queues.get(tokenId) === tail) this.queues.delete(tokenId);
    });
    return result;
  }
}

/**
 * A spend decided on a state counts from its grant and period on. Spends are only ever
 * decided on a state holding every earlier spend, with a grant and a period no older than
 * its own, so an older one seen here can only be a retried read and is skipped.
 */
function fold(state: SpendState, spend: TokenCreditsSpent['data'], revision: number, position: bigint): SpendState {
  const base = { ...state, revision, position };
  if (spend.grant < state.grant || (spend.grant === state.grant && spend.period < state.period)) return base;
  if (spend.grant === state.grant && spend.period === state.period) return { ...base, spent: state.spent + spend.cost };
  return { ...base, grant: spend.grant, period: spend.period, spent: spend.cost };
}

/**
 * The balance under the current grant. The period is never earlier than the one the credits
 * were set in, nor than the latest spend's (another process's clock may be ahead): a period
 * once started is never gone back to, so its refill is granted once.
 */
function balanceOf(state: SpendState, controls: TokenControls, now: Date): { period: string; remaining: number; refillsAt: Date | null } {
  const credits = controls.credits!;
  const grant = controls.creditsGrant!;
  const setPeriod = creditPeriod(credits.refill, controls.creditsSetAt ?? now);
  const sameGrant = state.grant === grant;
  let period = creditPeriod(credits.refill, now);
  if (period < setPeriod) period = setPeriod;
  if (sameGrant && state.period > period) period = state.period;
  const granted = period === setPeriod || !credits.refill ? credits.remaining : credits.refill.amount;
  const spent = sameGrant && state.period === period ? state.spent : 0;
  return { period, remaining: Math.max(0, granted - spent), refillsAt: nextRefillAt(credits.refill, now) };
}
