import Database from 'better-sqlite3';
import { join } from 'node:path';
import { newGatewayCredentials } from './lib/gateway';
import { round } from './lib/stats';
import { copyDataDir, dataset, type Dataset } from './lib/store/dataset';
import { gatewayMemoryAfterVerifying } from './lib/store/resident';
import { sqliteWriteFloor, writeFloorFigure } from './lib/store/write-floor';
import type { Benchmark, Figure } from './types';

/*
 * Cold start: a gateway process on a data directory that holds the log of a million active
 * tokens (quick: 100,000) and no read models, as a new replica's first start or a start after
 * the read models were deleted. It projects the whole log, then reports ready. Measured: the
 * seconds from spawning the process to `/readyz` answering 200, and the peak RSS of the
 * process once it has verified a sample of the tokens, beside the bare Apollo process's peak
 * and the seconds the same run needs to read and parse the log (the floor of any catch-up);
 * and the start's events/s beside SQLite alone writing the read models it left behind.
 */

/** The rebuild's target rate: a cold start is a replay of the whole log. */
const TARGET_EVENTS_PER_SECOND = 100_000;

/** Seconds to read every row of the log and parse its JSON, as the rebuild benchmark's floor. */
export function readAndParseSeconds(eventsPath: string): number {
  const db = new Database(eventsPath, { readonly: true });
  try {
    const started = process.hrtime.bigint();
    let fields = 0;
    for (const row of db.prepare<[], { data: string; metadata: string }>('SELECT data, metadata FROM events ORDER BY position').iterate()) {
      fields += Object.keys(JSON.parse(row.data) as object).length + Object.keys(JSON.parse(row.metadata) as object).length;
    }
    if (fields === 0) throw new Error('the log holds no fields');
    return Number(process.hrtime.bigint() - started) / 1e9;
  } finally {
    db.close();
  }
}

/** Starts a gateway on a copy of `data`'s log without read models and measures its cold start. */
export async function measureColdStart(data: Dataset, workDir: string, sampleSize: number): Promise<Figure[]> {
  const dataDir = join(workDir, 'data');
  copyDataDir(data, dataDir, null);
  readAndParseSeconds(join(dataDir, 'events.db'));
  const floorSeconds = readAndParseSeconds(join(dataDir, 'events.db'));
  const sample = data.verifiable.slice(0, sampleSize);
  const credentials = { ...newGatewayCredentials(), masterKey: data.masterKey };
  const { readySeconds, memory, baseline } = await gatewayMemoryAfterVerifying(dataDir, credentials, sample, { readyTimeoutMs: 3_600_000 });
  // The floor of a small log is milliseconds: four decimals keep it from reading as 0 s.
  const detail = { events: data.events, verified: sample.length, 'floor s': round(floorSeconds, 4), 'RSS after MiB': round(memory.rss, 1) };
  // The gateway has stopped: its read models are those its first replay wrote, and the sample's verifications.
  const written = sqliteWriteFloor(join(dataDir, 'readmodels.db'), workDir);
  return [
    {
      name: `cold start to /readyz (${data.events} events, no read models)`,
      value: round(readySeconds, 2),
      unit: 's',
      baseline: { name: 'read + JSON.parse the same events, s', value: round(floorSeconds, 4) },
      target: { kind: 'at-most', value: round(data.events / TARGET_EVENTS_PER_SECOND, 4) },
      detail,
    },
    {
      name: `cold start peak RSS (${data.events} active tokens)`,
      value: round(memory.peak, 1),
      unit: 'MiB',
      baseline: { name: 'bare Apollo process peak RSS', value: round(baseline.peak, 1) },
      target: { kind: 'at-most', value: 1024 },
      detail,
    },
    writeFloorFigure(`cold start events/s against SQLite writing its read models (${data.events} events)`, data.events, readySeconds, written),
  ];
}

export const coldStartBenchmark: Benchmark = {
  id: 'cold-start',
  title: 'Start of a gateway on 1M active tokens (quick: 100k) without read models: seconds to ready, peak RSS',
  async run({ quick, workDir }) {
    const data = await dataset('tokens', quick ? 100_000 : 1_000_000, { log: (line) => process.stderr.write(`  cold-start: ${line}\n`) });
    return measureColdStart(data, workDir, quick ? 200 : 1000);
  },
};
