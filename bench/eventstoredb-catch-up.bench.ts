import { join } from 'node:path';
import Database from 'better-sqlite3';
import { EventStoreDBClient, FORWARDS, START } from '@eventstore/db-client';
import { openReadModelDatabase, ProjectionRunner, readModelProjections } from '../projections';
import { systemClock } from '../src/app/clock';
import { openKeyRing } from '../src/app/deployment-keys/open-key-ring';
import { AuditFingerprinter } from '../src/crypto/audit-fingerprint';
import { EventStoreDbEventStore } from '../src/eventstore/eventstoredb';
import { isSystemEvent } from '../src/eventstore/eventstoredb/mapping';
import { EsdbDouble } from '../test/helpers/esdb-double';
import { round } from './lib/stats';
import { dataset, type Dataset } from './lib/store/dataset';
import type { Benchmark, Figure } from './types';

/*
 * A new replica's catch-up on EventStoreDB: every read model built from an empty database by
 * the gateway's projection runner, fed by the EventStoreDB adapter's subscription to `$all`,
 * from the in-memory EventStoreDB double (the gRPC protocol on loopback, in this process).
 * Beside it, in the same run, a raw `@eventstore/db-client` `readAll` of the same events from
 * the same double: what reading them costs before anything is applied.
 */

const QUIET = { info: () => undefined, warn: () => undefined, error: () => undefined };

interface Loaded {
  events: number;
}

/** Copies the first `limit` events of the dataset's log into the double, in log order. */
function loadInto(double: EsdbDouble, data: Dataset, limit: number): Loaded {
  const db = new Database(data.eventsPath, { readonly: true });
  let events = 0;
  try {
    const rows = db
      .prepare<[number], { id: string; stream_id: string; type: string; data: string; metadata: string }>(
        'SELECT id, stream_id, type, data, metadata FROM events ORDER BY position LIMIT ?',
      )
      .iterate(limit);
    double.load(
      (function* () {
        for (const row of rows) {
          events++;
          yield { streamName: row.stream_id, id: row.id, type: row.type, data: JSON.parse(row.data), metadata: JSON.parse(row.metadata) };
        }
      })(),
    );
  } finally {
    db.close();
  }
  return { events };
}

async function rawRead(connectionString: string): Promise<{ events: number; seconds: number }> {
  const client = EventStoreDBClient.connectionString(connectionString);
  try {
    const started = process.hrtime.bigint();
    let events = 0;
    for await (const resolved of client.readAll({ fromPosition: START, direction: FORWARDS })) {
      const event = resolved.event;
      if (event && !isSystemEvent({ type: event.type, streamId: event.streamId })) events++;
    }
    return { events, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  } finally {
    await client.dispose();
  }
}

async function catchUp(connectionString: string, data: Dataset, workDir: string): Promise<{ events: number; seconds: number; readModels: number }> {
  const store = EventStoreDbEventStore.connect(connectionString);
  const db = openReadModelDatabase(join(workDir, 'readmodels.db'));
  try {
    const keys = await openKeyRing(store, { current: Buffer.from(data.masterKey, 'base64'), previous: null }, { clock: systemClock, logger: QUIET });
    const projections = readModelProjections(new AuditFingerprinter(keys.auditKey, keys.lookupPepper));
    const runner = new ProjectionRunner(store, db, projections, QUIET);
    let events = 0;
    runner.onEvents((batch) => (events += batch.length));
    const started = process.hrtime.bigint();
    runner.start();
    try {
      while (!(await runner.waitUntilCaughtUp(60_000))) {
        if (runner.isStopped) throw new Error('the projection runner stopped before it caught up');
      }
    } finally {
      await runner.stop();
    }
    return { events, seconds: Number(process.hrtime.bigint() - started) / 1e9, readModels: projections.length };
  } finally {
    await store.close();
    db.close();
  }
}

/** Loads `limit` events of the dataset into a fresh double and measures the raw read, then the catch-up. */
export async function measureEventStoreDbCatchUp(data: Dataset, workDir: string, limit: number): Promise<Figure[]> {
  const double = await EsdbDouble.start();
  try {
    const loaded = loadInto(double, data, limit);
    // A first read warms the double and the client, so neither measurement pays for that alone.
    await rawRead(double.connectionString);
    const raw = await rawRead(double.connectionString);
    const result = await catchUp(double.connectionString, data, workDir);
    if (raw.events !== loaded.events || result.events !== loaded.events) {
      throw new Error(`loaded ${loaded.events} events; the raw read saw ${raw.events}, the catch-up applied ${result.events}`);
    }
    return [
      {
        name: `EventStoreDB catch-up events/s (${result.readModels} read models, ${result.events} events)`,
        value: result.events / result.seconds,
        unit: 'events/s',
        baseline: { name: 'raw client readAll of the same events', value: raw.events / raw.seconds },
        target: { kind: 'ratio-at-least', ratio: 0.5 },
        detail: { events: result.events, 'catch-up s': round(result.seconds), 'raw read s': round(raw.seconds) },
      },
    ];
  } finally {
    await double.close();
  }
}

export const eventStoreDbCatchUpBenchmark: Benchmark = {
  id: 'eventstoredb-catch-up',
  title: "A new replica's catch-up of every read model from the EventStoreDB double, events/s, against a raw client read",
  async run({ quick, workDir }) {
    const data = await dataset('mixed', 100_000, { log: (line) => process.stderr.write(`  eventstoredb-catch-up: ${line}\n`) });
    return measureEventStoreDbCatchUp(data, workDir, quick ? 20_000 : 100_000);
  },
};
