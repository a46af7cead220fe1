import { bareSubscriptionCount, publishBareNotice, serveBareGraphqlWs } from '../../bench/lib/bare-graphql-ws';
import { measureFanout } from '../../bench/lib/fanout';
import { openSubscribers, Receipts, waitForCount, wsUrl } from '../../bench/lib/subscribers';

const later = (ms: number, action: () => void) => setTimeout(action, ms);

describe('measuring a fan-out', () => {
  it('times receipts from the trigger response, counting those that came first as 0 ms and as early', async () => {
    const groups = [new Receipts(), new Receipts()];
    const measurement = await measureFanout({
      groups,
      subscribersPerGroup: 2,
      ids: ['warm', 'a', 'b'],
      warmupRounds: 1,
      timeoutMs: 5000,
      trigger: async (id) => {
        const sentAt = performance.now() - 5;
        groups[0].record(id, sentAt + 1);
        groups[0].record(id, sentAt + 1);
        const respondedAt = performance.now();
        later(1, () => groups[1].record(id, performance.now()));
        later(1, () => groups[1].record(id, performance.now()));
        return { sentAt, respondedAt };
      },
    });
    expect(measurement.rounds).toBe(2);
    expect(measurement.beforeResponse).toBe(4);
    expect(measurement.latenciesMs[0]).toEqual([0, 0, 0, 0]);
    expect(measurement.latenciesMs[1]).toHaveLength(4);
    expect(measurement.latenciesMs[1].every((latency) => latency >= 0)).toBe(true);
    expect(measurement.sinceSentMs).toHaveLength(8);
    expect(measurement.sinceSentMs.filter((latency) => latency === 1)).toHaveLength(4);
  });

  /** One unwarmed round of notice `a` to one group, whose trigger delivers to it as `deliver` says. */
  const oneRound = (subscribersPerGroup: number, timeoutMs: number, deliver: (group: Receipts, id: string) => void) => {
    const group = new Receipts();
    return measureFanout({
      groups: [group],
      subscribersPerGroup,
      ids: ['a'],
      warmupRounds: 0,
      timeoutMs,
      trigger: async (id) => {
        deliver(group, id);
        return { sentAt: performance.now(), respondedAt: performance.now() };
      },
    });
  };

  it('fails when a subscriber misses a notice', async () => {
    const run = oneRound(2, 200, (group, id) => group.record(id, performance.now()));
    await expect(run).rejects.toThrow('notice a reached 1 of 2 subscribers per group');
  });

  it('fails when a notice arrives twice at one group', async () => {
    const run = oneRound(1, 1000, (group, id) => {
      group.record(id, performance.now());
      later(10, () => group.record(id, performance.now()));
    });
    await expect(run).rejects.toThrow('notice a arrived 2 times for 1 subscribers');
  });

  it('fails when a subscriber reports an error', async () => {
    const run = oneRound(1, 1000, (group) => group.failures.push('FORBIDDEN'));
    await expect(run).rejects.toThrow('a subscriber failed: FORBIDDEN');
  });
});

describe('the bare graphql-ws baseline', () => {
  it('broadcasts each published notice once to every subscriber over real sockets', async () => {
    const server = await serveBareGraphqlWs(0, '127.0.0.1');
    const receipts = new Receipts();
    const pool = await openSubscribers(wsUrl(server.url), 60, {}, receipts);
    try {
      expect(pool.size).toBe(60);
      await waitForCount(() => bareSubscriptionCount(server.url), 60, 'subscriptions');
      expect(await bareSubscriptionCount(server.url)).toBe(60);
      const measurement = await measureFanout({
        groups: [receipts],
        subscribersPerGroup: 60,
        ids: ['t1', 't2'],
        warmupRounds: 0,
        timeoutMs: 10_000,
        trigger: async (id) => {
          const sentAt = performance.now();
          await publishBareNotice(server.url, id);
          return { sentAt, respondedAt: performance.now() };
        },
      });
      expect(measurement.latenciesMs[0]).toHaveLength(120);
      expect(receipts.failures).toEqual([]);
    } finally {
      await pool.close();
      await server.close();
    }
  });
});
