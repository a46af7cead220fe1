import type { Receipts } from './subscribers';

export interface FanoutOptions {
  /** One receipt log per group of subscribers (e.g. per gateway process), each `subscribersPerGroup` strong. */
  groups: readonly Receipts[];
  subscribersPerGroup: number;
  /** One id per round; the first `warmupRounds` are not counted. */
  ids: readonly string[];
  warmupRounds: number;
  /** Causes the notice for `id` with one HTTP request; resolves with when it was sent and when its response arrived. */
  trigger: (id: string) => Promise<TriggerTimes>;
  timeoutMs: number;
}

/** Instants on `performance.now()`'s clock, the one receipts are recorded on. */
export interface TriggerTimes {
  sentAt: number;
  respondedAt: number;
}

export interface FanoutMeasurement {
  /** Per group, every receipt's delay after the trigger's response, in ms; 0 for a notice that arrived before it. */
  latenciesMs: number[][];
  /** Every receipt's delay after the trigger's request was sent, in ms: the response's own latency included. */
  sinceSentMs: number[];
  /** Receipts that arrived before the trigger's HTTP response did. */
  beforeResponse: number;
  rounds: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Triggers one notice per round and waits until every subscriber of every group has it.
 * Rounds are spaced by a random pause so they do not all land at the same phase of a
 * polling store. A subscriber that misses a notice, hears it twice or reports an error
 * fails the measurement.
 */
export async function measureFanout(options: FanoutOptions): Promise<FanoutMeasurement> {
  const { groups, subscribersPerGroup: expected } = options;
  const latenciesMs: number[][] = groups.map(() => []);
  const sinceSentMs: number[] = [];
  let beforeResponse = 0;
  for (const [round, id] of options.ids.entries()) {
    const { sentAt, respondedAt } = await options.trigger(id);
    const deadline = Date.now() + options.timeoutMs;
    while (groups.some((group) => group.of(id).length < expected)) {
      const failure = groups.flatMap((group) => group.failures)[0];
      if (failure) throw new Error(`a subscriber failed: ${failure}`);
      if (Date.now() > deadline) {
        const counts = groups.map((group) => group.of(id).length).join(' + ');
        throw new Error(`notice ${id} reached ${counts} of ${expected} subscribers per group within ${options.timeoutMs} ms`);
      }
      await sleep(5);
    }
    if (round >= options.warmupRounds) {
      groups.forEach((group, index) => {
        for (const at of group.of(id)) {
          if (at < respondedAt) beforeResponse++;
          latenciesMs[index].push(Math.max(0, at - respondedAt));
          sinceSentMs.push(at - sentAt);
        }
      });
    }
    await sleep(50 + Math.random() * 50);
  }
  await sleep(100);
  for (const group of groups) {
    if (group.failures.length > 0) throw new Error(`a subscriber failed: ${group.failures[0]}`);
    const extra = options.ids.find((id) => group.of(id).length !== expected);
    if (extra !== undefined) throw new Error(`notice ${extra} arrived ${group.of(extra).length} times for ${expected} subscribers`);
  }
  return { latenciesMs, sinceSentMs, beforeResponse, rounds: options.ids.length - options.warmupRounds };
}
