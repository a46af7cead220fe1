import { join } from 'node:path';
import { cachedReadModels, copyDataDir, dataset } from './lib/store/dataset';
import { newGatewayCredentials } from './lib/gateway';
import { round } from './lib/stats';
import { gatewayMemoryAfterVerifying } from './lib/store/resident';
import type { Benchmark } from './types';

/*
 * Resident memory of a gateway process holding a million active tokens (quick: 100,000), once
 * it has started on read models the real rebuild built from its log, caught up with the log
 * (its own start-up events) and verified a sample of those tokens through `verifyToken`,
 * beside the bare Apollo process's in the same run.
 */

export const memoryBenchmark: Benchmark = {
  id: 'memory',
  title: 'Gateway RSS with 1M active tokens (quick: 100k) against the bare Apollo process',
  async run({ quick, workDir }) {
    const log = (line: string) => process.stderr.write(`  memory: ${line}\n`);
    const data = await dataset('tokens', quick ? 100_000 : 1_000_000, { log });
    const dataDir = join(workDir, 'data');
    copyDataDir(data, dataDir, await cachedReadModels(data, log));
    const sample = quick ? data.verifiable.slice(0, 200) : data.verifiable;

    const credentials = { ...newGatewayCredentials(), masterKey: data.masterKey };
    const { readySeconds, memory, baseline } = await gatewayMemoryAfterVerifying(dataDir, credentials, sample);
    return [
      {
        name: `gateway RSS with ${data.events} active tokens`,
        value: memory.rss,
        unit: 'MiB',
        baseline: { name: 'bare Apollo process RSS', value: baseline.rss },
        target: { kind: 'at-most', value: 1024 },
        detail: {
          'peak RSS MiB': round(memory.peak, 1),
          'ready after s': round(readySeconds, 1),
          verified: sample.length,
        },
      },
    ];
  },
};
