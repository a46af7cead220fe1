import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

export interface BackgroundCheckpointLogger {
  warn(obj: object, msg: string): void;
}

/** A worker thread that checkpoints a SQLite database's WAL; `stop` ends it and closes its connection. */
export interface BackgroundCheckpoints {
  stop(): Promise<void>;
}

/** How often the worker copies what the WAL holds into the database file. */
export const BACKGROUND_CHECKPOINT_INTERVAL_MS = 100;

/*
 * The connection's own automatic checkpoint, in pages, while the worker runs. The WAL starts
 * over only at a commit that finds everything in it copied, which under sustained writes can
 * take several of the worker's checkpoints (a quick issueToken benchmark saw it reach about
 * 8,600 pages); past this size the connection checkpoints itself, on the event loop, as
 * without the worker, and it does so too should the worker stop.
 */
export const FALLBACK_AUTOCHECKPOINT_PAGES = 10_000;

/*
 * The worker's code, run with `eval` so that it needs no file of its own next to the compiled
 * (or, under test, uncompiled) module. A PASSIVE checkpoint waits for no reader or writer:
 * commits on the main connection go on while it copies, and SQLite restarts the WAL at the
 * next commit once everything in it has been copied.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
let failures = 0;
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    failures = 0;
  } catch (error) {
    // Another process's checkpoint holds the lock now; the next tick tries again.
    if (error && error.code === 'SQLITE_BUSY') return;
    if (failures++ === 0) parentPort.postMessage({ failed: String(error && error.message) });
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * Checkpoints a WAL-mode database from a worker thread instead of inside the commits of the
 * event loop. SQLite's automatic checkpoint runs in whichever commit takes the WAL past 1,000
 * pages, and under `synchronous = NORMAL` a checkpoint is the one step that waits for the
 * disk: it syncs the WAL, copies its pages into the database file and syncs that. The request
 * whose append or projection batch drew it, with every other request of the process, waited
 * for it. What is checkpointed, and so what survives a crash or a power loss, is unchanged:
 * only the thread that does it. (Under `synchronous = FULL` each commit still syncs the WAL
 * itself, as it must.)
 */
export function startBackgroundCheckpoints(db: Database.Database, logger?: BackgroundCheckpointLogger): BackgroundCheckpoints {
  if (db.memory || db.readonly) return { stop: () => Promise.resolve() };
  const previous = db.pragma('wal_autocheckpoint', { simple: true }) as number;
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { driver: require.resolve('better-sqlite3'), path: db.name, intervalMs: BACKGROUND_CHECKPOINT_INTERVAL_MS },
  });
  // The gateway's exit does not wait for the worker; stop() ends it.
  worker.unref();
  let exited = false;
  worker.on('message', (message: { failed?: string }) => {
    if (message.failed) logger?.warn({ database: db.name, err: message.failed }, 'background WAL checkpoint failed; retrying');
  });
  worker.on('error', (error) => logger?.warn({ database: db.name, err: error }, 'background WAL checkpoints stopped; the commits checkpoint instead'));
  worker.once('exit', () => {
    exited = true;
    if (db.open) db.pragma(`wal_autocheckpoint = ${previous}`);
  });
  db.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`);
  let stopped: Promise<void> | null = null;
  return {
    stop() {
      stopped ??= exited
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            worker.once('exit', () => resolve());
            // Held until it has closed its connection, which may checkpoint once more.
            worker.ref();
            worker.postMessage('stop');
          });
      return stopped;
    },
  };
}
