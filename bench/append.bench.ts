import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { appendToStream, createEventStoreSchema, sqliteConnection } from '@event-driven-io/emmett-sqlite';
import type { NewEvent } from '../src/eventstore/port';
import { SqliteEventStore } from '../src/eventstore/sqlite';
import { percentile } from './lib/stats';
import type { Benchmark, Figure } from './types';

/*
 * Appends/s of the embedded store, one append per stream as the gateway writes a new
 * aggregate (`no_stream`), beside two baselines on the same rows in the same run: plain
 * better-sqlite3 inserts in one `BEGIN IMMEDIATE … COMMIT` per append (the floor), and
 * Emmett's SQLite event store. Each contender runs in rounds, in a rotating order, on a fresh
 * file and keeps its median round, so a busy neighbour slows all of them alike.
 */

const ROUNDS = 3;

interface Contender {
  name: string;
  /** Appends every batch to a new stream and returns the elapsed seconds. */
  run(file: string, batches: readonly NewEvent[][]): Promise<number>;
}

function seconds(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** A token issue as the gateway records it: same fields, same sizes. */
function tokenEvent(): NewEvent {
  const tokenId = `tok_${randomUUID().replaceAll('-', '').slice(0, 22)}`;
  return {
    id: randomUUID(),
    type: 'TokenIssued',
    data: {
      tokenId,
      tenantId: 'acme-corp',
      kind: 'API_TOKEN',
      name: `deploy bot ${tokenId.slice(4, 10)}`,
      roles: ['deploy:read', 'deploy:write'],
      expiresAt: null,
      display: `klt_${tokenId.slice(4, 8)}`,
      secretHash: `hmac-sha256$${randomUUID().replaceAll('-', '')}${randomUUID().replaceAll('-', '')}`,
      lookupTag: null,
      origin: 'generated',
      issuedAt: new Date().toISOString(),
    },
    metadata: {
      actor: { type: 'token', id: 'tok_admin0acme', tenantId: 'acme-corp' },
      requestId: `req_${randomUUID().slice(0, 16)}`,
      occurredAt: new Date().toISOString(),
      ip: '10.0.3.17',
      userAgent: 'deploy-bot/2.3',
    },
  };
}

const keyledger: Contender = {
  name: 'keyledger SqliteEventStore',
  async run(file, batches) {
    const store = SqliteEventStore.open(file, { synchronous: 'NORMAL' });
    try {
      const started = process.hrtime.bigint();
      for (let i = 0; i < batches.length; i++) await store.append(`token-${i}`, batches[i]!, 'no_stream');
      return seconds(started);
    } finally {
      await store.close();
    }
  },
};

/** The same table and settings as the store, without the store: the rows only. */
const raw: Contender = {
  name: 'raw better-sqlite3 inserts',
  async run(file, batches) {
    // The store creates the schema, so both write into identical tables and indexes.
    await SqliteEventStore.open(file).close();
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    const insert = db.prepare('INSERT INTO events (id, stream_id, revision, type, recorded_at, data, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const begin = db.prepare('BEGIN IMMEDIATE');
    const commit = db.prepare('COMMIT');
    try {
      const started = process.hrtime.bigint();
      for (let i = 0; i < batches.length; i++) {
        const events = batches[i]!;
        const streamId = `token-${i}`;
        const recordedAt = Date.now();
        begin.run();
        for (let revision = 0; revision < events.length; revision++) {
          const event = events[revision]!;
          insert.run(event.id, streamId, revision, event.type, recordedAt, JSON.stringify(event.data), JSON.stringify(event.metadata));
        }
        commit.run();
        // The same turn of the event loop the store's async append costs.
        await Promise.resolve();
      }
      return seconds(started);
    } finally {
      db.close();
    }
  },
};

/*
 * Emmett's `getSQLiteEventStore` opens and closes the database file around every append; its
 * exported `appendToStream` on one long-lived connection is the fastest way it offers, so
 * that is what is measured. Expected version 0 is Emmett's "stream must not exist".
 */
const emmett: Contender = {
  name: 'Emmett emmett-sqlite 0.38.5',
  async run(file, batches) {
    const connection = sqliteConnection({ fileName: file });
    try {
      await connection.command('PRAGMA synchronous = NORMAL');
      await createEventStoreSchema(connection);
      const started = process.hrtime.bigint();
      for (let i = 0; i < batches.length; i++) {
        const messages = batches[i]!.map((event) => ({ type: event.type, data: event.data, metadata: event.metadata }));
        const result = await appendToStream(connection, `token-${i}`, 'token', messages, { expectedStreamVersion: 0n });
        if (!result.success) throw new Error(`Emmett refused the append to token-${i}`);
      }
      return seconds(started);
    } finally {
      connection.close();
    }
  },
};

async function measure(workDir: string, batchSize: number, appends: number): Promise<Map<Contender, number>> {
  const batches = Array.from({ length: appends }, () => Array.from({ length: batchSize }, tokenEvent));
  const contenders = [keyledger, raw, emmett];
  const rates = new Map<Contender, number[]>(contenders.map((contender) => [contender, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Each round starts with another contender: the one after a writer pays for the disk flushing that writer's pages.
    for (let k = 0; k < contenders.length; k++) {
      const index = (round + k) % contenders.length;
      const file = join(workDir, `append-${batchSize}-${round}-${index}.db`);
      rates.get(contenders[index]!)!.push(appends / (await contenders[index]!.run(file, batches)));
    }
  }
  return new Map([...rates].map(([contender, samples]) => [contender, percentile(samples, 0.5)]));
}

export const appendBenchmark: Benchmark = {
  id: 'append',
  title: 'Embedded store appends/s (1 and 10 events per append) against raw better-sqlite3 and Emmett',
  async run({ quick, workDir }) {
    const figures: Figure[] = [];
    for (const batchSize of [1, 10]) {
      const appends = (quick ? 2000 : 20_000) / (batchSize === 1 ? 1 : 4);
      const rates = await measure(workDir, batchSize, appends);
      const value = rates.get(keyledger)!;
      const detail = { appends, rounds: ROUNDS, 'events/s': Math.round(value * batchSize) };
      const name = `appends/s, ${batchSize} event${batchSize === 1 ? '' : 's'} per append`;
      for (const [baseline, ratio] of [
        [raw, 0.8],
        [emmett, 1],
      ] as const) {
        figures.push({
          name,
          value,
          unit: 'appends/s',
          baseline: { name: baseline.name, value: rates.get(baseline)! },
          target: { kind: 'ratio-at-least', ratio },
          detail,
        });
      }
    }
    return figures;
  },
};

