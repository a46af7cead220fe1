import Database from 'better-sqlite3';
import { join } from 'node:path';
import { startBareApollo } from './lib/bare-apollo';
import { newGatewayCredentials, startGateway } from './lib/gateway';
import { graphqlRequest as graphql } from './lib/graphql';
import type { ServerProcess } from './lib/server-process';
import { round } from './lib/stats';
import { copyDataDir, dataset, type Dataset } from './lib/store/dataset';
import { residentMiB } from './lib/store/resident';
import type { Benchmark, Figure } from './types';

/*
 * Cold start: a gateway process on a data directory that holds the log of a million active
 * tokens (quick: 100,000) and no read models, as a new replica's first start or a start after
 * the read models were deleted. It projects the whole log, then reports ready. Measured: the
 * seconds from spawning the process to `/readyz` answering 200, and the peak RSS of the
 * process once it has verified a sample of the tokens, beside the bare Apollo process's peak
 * and the seconds the same run needs to read and parse the log (the floor of any catch-up).
 */

const VERIFY_TOKEN = `query Verify($token: String!) { verifyToken(token: $token) { valid code token { id } } }`;

/** The rebuild's target rate: a cold start is a replay of the whole log. */
const TARGET_EVENTS_PER_SECOND = 100_000;

interface Verification {
  verifyToken: { valid: boolean; code: string; token: { id: string } | null };
}

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
  let gateway: ServerProcess | null = null;
  let bare: ServerProcess | null = null;
  try {
    const started = Date.now();
    gateway = await startGateway(dataDir, credentials, { readyTimeoutMs: 3_600_000 });
    const readySeconds = (Date.now() - started) / 1000;
    for (const token of sample) {
      const { verifyToken } = await graphql<Verification>(gateway.url, VERIFY_TOKEN, { token: token.secret }, credentials.rootSecret);
      if (!verifyToken.valid || verifyToken.code !== 'VALID' || verifyToken.token?.id !== token.tokenId) {
        throw new Error(`token ${token.tokenId} did not verify after a cold start: ${JSON.stringify(verifyToken)}`);
      }
    }
    const memory = residentMiB(gateway.pid);
    await gateway.stop();
    gateway = null;

    bare = await startBareApollo();
    for (let i = 0; i < sample.length; i++) await graphql(bare.url, '{ __typename }', {});
    const baseline = residentMiB(bare.pid);
    // The floor of a small log is milliseconds: four decimals keep it from reading as 0 s.
    const detail = { events: data.events, verified: sample.length, 'floor s': round(floorSeconds, 4), 'RSS after MiB': round(memory.rss, 1) };
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
    ];
  } finally {
    await gateway?.stop();
    await bare?.stop();
  }
}

export const coldStartBenchmark: Benchmark = {
  id: 'cold-start',
  title: 'Start of a gateway on 1M active tokens (quick: 100k) without read models: seconds to ready, peak RSS',
  async run({ quick, workDir }) {
    const data = await dataset('tokens', quick ? 100_000 : 1_000_000, { log: (line) => process.stderr.write(`  cold-start: ${line}\n`) });
    return measureColdStart(data, workDir, quick ? 200 : 1000);
  },
};
