/*
 * The worker thread of AuditEntriesAhead: reads the SQLite log from its start (or after
 * `after`) and computes every audit entry a replay writes, chained from empty heads (or those
 * it was given), sending them in chunks and staying at most `windowChunks` chunks ahead of
 * what the replay has used.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AuditFingerprinter } from '../../src/crypto/audit-fingerprint';
import { SqliteLogReader } from '../../src/eventstore/sqlite';
import { ChunkWriter, chunkTransfers, type AuditWorkerData, type AuditWorkerMessage } from './audit-entries-ahead';
import { entryText, GENESIS_HASH } from './audit-entry';

const data = workerData as AuditWorkerData;
const port = parentPort!;
const progress = data.progress;
const buffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const fingerprints = new AuditFingerprinter(buffer(data.auditKey), buffer(data.lookupPepper));
const types = new Set(data.eventTypes);
const heads = new Map<string, string>(data.heads);
const headOf = (chain: string) => heads.get(chain) ?? GENESIS_HASH;

/** Waits until the replay has room for another chunk; false once it wants none. */
function waitForRoom(sent: number): boolean {
  for (;;) {
    if (Atomics.load(progress, 1) !== 0) return false;
    const used = Atomics.load(progress, 0);
    if (sent - used < data.windowChunks) return true;
    Atomics.wait(progress, 0, used, 1_000);
  }
}

const reader = SqliteLogReader.open(data.eventsPath);
try {
  let after: bigint | null = data.after === null ? null : BigInt(data.after);
  let sent = 0;
  // Room is waited for before a chunk is computed, so that a finished chunk is sent at once
  // instead of outliving the worker's young generation while it waits.
  while (waitForRoom(sent)) {
    const events = reader.page(after, data.chunkEvents);
    if (events.length === 0) break;
    after = events[events.length - 1].position;
    const chunk = new ChunkWriter(events.length);
    for (const event of events) {
      if (!types.has(event.type)) continue;
      const text = entryText(event, fingerprints, headOf);
      chunk.add(event, headOf(text.chain), text.hash, text.canonical, text.fingerprints);
      heads.set(text.chain, text.hash);
    }
    const message = chunk.finish(after);
    port.postMessage({ chunk: message } satisfies AuditWorkerMessage, chunkTransfers(message));
    sent++;
  }
  if (Atomics.load(progress, 1) === 0) port.postMessage({ end: true } satisfies AuditWorkerMessage);
} finally {
  reader.close();
}
