/** How a refusal-latency measurement reaches the systems it measures. */
export interface RefusalLatencyOptions {
  /** Credentials to revoke, one per sample, in order. */
  ids: readonly string[];
  /** Revokes the credential; resolves when keyledger has answered. */
  revoke(id: string): Promise<void>;
  /** One request with the credential at the resource server: true once it is refused. */
  refused(id: string): Promise<boolean>;
  /** Gives up on a credential still accepted this long after its revocation was answered. */
  timeoutMs: number;
  /** Milliseconds, monotonic. */
  now?: () => number;
}

export class RefusalTimeout extends Error {
  override name = 'RefusalTimeout';
}

/**
 * For each credential: revoke it, then send requests with it back to back until the resource
 * server refuses one. A sample is the time from the revocation's answer to the arrival of
 * that first refusal, so it covers the notice's way to the resource server and the request
 * that finds it refused.
 */
export async function measureRefusalLatency(options: RefusalLatencyOptions): Promise<number[]> {
  const now = options.now ?? (() => performance.now());
  const samples: number[] = [];
  for (const id of options.ids) {
    await options.revoke(id);
    const answeredAt = now();
    for (;;) {
      if (await options.refused(id)) break;
      if (now() - answeredAt > options.timeoutMs) throw new RefusalTimeout(`${id} was still accepted ${options.timeoutMs} ms after its revocation`);
    }
    samples.push(now() - answeredAt);
  }
  return samples;
}
