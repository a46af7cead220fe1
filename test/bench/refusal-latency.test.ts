import { measureRefusalLatency, RefusalTimeout } from '../../bench/lib/refusal-latency';

/** A clock the fake systems advance, so the samples are exact. */
function fakeSystems(requestsUntilRefused: Record<string, number>) {
  let now = 0;
  const log: string[] = [];
  const remaining = { ...requestsUntilRefused };
  return {
    log,
    now: () => now,
    revoke: async (id: string) => {
      now += 7; // the revocation's own round trip is not part of a sample
      log.push(`revoke ${id}`);
    },
    refused: async (id: string) => {
      now += 2;
      log.push(`request ${id}`);
      remaining[id]--;
      return remaining[id] <= 0;
    },
  };
}

describe('measureRefusalLatency', () => {
  it('revokes each credential in turn and times from the answer to the first refused request', async () => {
    const systems = fakeSystems({ a: 1, b: 3 });
    const samples = await measureRefusalLatency({ ids: ['a', 'b'], revoke: systems.revoke, refused: systems.refused, now: systems.now, timeoutMs: 1000 });
    expect(samples).toEqual([2, 6]);
    expect(systems.log).toEqual(['revoke a', 'request a', 'revoke b', 'request b', 'request b', 'request b']);
  });

  it('fails, naming the credential, when one is still accepted after the timeout', async () => {
    const systems = fakeSystems({ a: Infinity });
    await expect(measureRefusalLatency({ ids: ['a'], revoke: systems.revoke, refused: systems.refused, now: systems.now, timeoutMs: 10 })).rejects.toThrow(
      new RefusalTimeout('a was still accepted 10 ms after its revocation'),
    );
  });
});
