import { join } from 'node:path';
import type { Dataset } from '../../bench/lib/store/dataset';
import type { AuditReplaySource } from '../../projections/audit';
import { systemClock } from '../../src/app/clock';
import { openKeyRing } from '../../src/app/deployment-keys/open-key-ring';
import type { SqliteEventStore } from '../../src/eventstore/sqlite';

const QUIET = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * The compiled worker that computes a replay's or a catch-up's audit entries (the test setup
 * builds dist/): run from their sources, the projections would find no script beside them and
 * compute every entry on the replay's own thread, as a log other than a SQLite file does.
 */
export const AUDIT_WORKER = join(__dirname, '../../dist/projections/audit/audit-entries-worker.js');

/** The audit key and pepper of a benchmark dataset's deployment, opened from its log. */
export function datasetKeys(data: Dataset, store: SqliteEventStore): Promise<{ auditKey: Buffer; lookupPepper: Buffer }> {
  return openKeyRing(store, { current: Buffer.from(data.masterKey, 'base64'), previous: null }, { clock: systemClock, logger: QUIET });
}

/** What a worker needs to compute the dataset's entries from the log at `eventsPath`, through the compiled worker; its warnings go to `warn`. */
export function auditWorkerSource(
  keys: { auditKey: Buffer; lookupPepper: Buffer },
  eventsPath: string,
  warn: (message: string) => void = () => undefined,
): AuditReplaySource {
  return { eventsPath, auditKey: keys.auditKey, lookupPepper: keys.lookupPepper, workerScript: AUDIT_WORKER, logger: { warn: (_fields, message) => warn(message) } };
}
