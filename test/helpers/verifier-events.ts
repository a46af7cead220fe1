import type { RevocationNotice, VerifierMetrics } from '@keyledger/verifier';

/**
 * The verifier's metrics hooks, recorded, so a test can wait for the moment a notice was
 * processed or the subscription changed state instead of sleeping.
 */
export class VerifierEvents {
  readonly notices: Array<{ notice: RevocationNotice; dropped: number }> = [];
  readonly connections: Array<{ connected: boolean; code?: number }> = [];
  readonly staleness: number[] = [];
  readonly hits: string[] = [];
  readonly misses: Array<{ code: string; reason: string }> = [];
  private readonly waiters = new Set<() => void>();

  readonly metrics: VerifierMetrics = {
    hit: ({ code }) => this.record(() => this.hits.push(code)),
    miss: (event) => this.record(() => this.misses.push(event)),
    notice: (event) => this.record(() => this.notices.push(event)),
    staleness: ({ milliseconds }) => this.record(() => this.staleness.push(milliseconds)),
    connection: (event) => this.record(() => this.connections.push(event)),
  };

  /** Resolves once a notice about that id has been processed. */
  notice(tokenId: string, kind?: string): Promise<{ notice: RevocationNotice; dropped: number }> {
    const find = () => this.notices.find((event) => event.notice.tokenId === tokenId && (kind === undefined || event.notice.kind === kind));
    return this.until(find, `a notice about ${tokenId}`);
  }

  /** Resolves once the subscription has come up (or gone down) `count` times in all. */
  connection(connected: boolean, count = 1): Promise<unknown> {
    return this.until(() => (this.connections.filter((event) => event.connected === connected).length >= count ? true : undefined), `connected=${connected} ×${count}`);
  }

  private until<T>(find: () => T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = find();
        if (found === undefined) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`verifier: no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  private record(push: () => void): void {
    push();
    for (const waiter of [...this.waiters]) waiter();
  }
}
