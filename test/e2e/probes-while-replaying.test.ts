import { join } from 'node:path';
import { copyDataDir, dataset } from '../../bench/lib/store/dataset';
import { GatewayFleet } from '../helpers/gateway-process';

/*
 * A new replica's first replay of a long log takes a while (a minute for a million events).
 * Meanwhile the process must answer its probes: /healthz that it is alive, so that an
 * orchestrator does not restart it, /readyz that it is not ready yet, /metrics how far it has
 * come. The replay applies the log batch after batch, and the process answers between them.
 */

/** Enough events for the replay to take many batches of 2,000. */
const EVENTS = 60_000;

function positionIn(metrics: string): number {
  const match = /^keyledger_projection_position (-?\d+)$/m.exec(metrics);
  if (!match) throw new Error(`no keyledger_projection_position in:\n${metrics}`);
  return Number(match[1]);
}

describe('a gateway replaying a long log into empty read models', () => {
  const fleet = new GatewayFleet('probes-while-replaying');
  afterAll(() => fleet.stop());

  it('answers /healthz, /readyz and /metrics while it replays, at several points of the replay', async () => {
    const data = await dataset('tokens', EVENTS, { root: join(fleet.tempDir(), 'cache') });
    const dataDir = fleet.tempDir();
    copyDataDir(data, dataDir, null);
    const gateway = await fleet.start(dataDir, { KEYLEDGER_MASTER_KEY: data.masterKey }, { ready: false });

    // Positions /metrics reported in answers given while /readyz still said 503.
    const whileReplaying = new Set<number>();
    for (;;) {
      const metrics = await fetch(`${gateway.url}/metrics`);
      expect(metrics.status).toBe(200);
      const position = positionIn(await metrics.text());
      const health = await fetch(`${gateway.url}/healthz`);
      expect(health.status).toBe(200);
      const ready = await fetch(`${gateway.url}/readyz`);
      if (ready.status === 200) break;
      expect(ready.status).toBe(503);
      whileReplaying.add(position);
    }
    // Answered at two points of the replay at least, each before its end: not only once it was over.
    const applied = [...whileReplaying].filter((position) => position > 0 && position < EVENTS);
    expect(applied.length).toBeGreaterThanOrEqual(2);
    expect(await gateway.kill('SIGTERM')).toBe(0);
  }, 180_000);
});
