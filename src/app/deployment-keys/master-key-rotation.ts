import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteDataKeyStore, type DataKeyStore } from '../../crypto/data-keys';
import { SecretSealer, type RewrapOutcome } from '../../crypto/envelope';
import { dataKeyWrappingKeys, masterKeyFingerprint, type MasterKeys } from '../../crypto/keyring';
import { EventStoreDbEventStore } from '../../eventstore/eventstoredb';
import type { EventStore } from '../../eventstore/port';
import { CONNECTION_DATA_KEYS_TABLE } from '../connections/connection-module';
import { TOKEN_DATA_KEYS_TABLE } from '../tokens/token-module';
import type { Logger } from '../../logger';
import type { Clock } from '../clock';
import { DeploymentSecretService } from './deployment-secret-service';

export interface MasterKeyRotationReport {
  current: string;
  previous: string;
  deploymentSecret: 'rewrapped' | 'unchanged';
  /** Per data key table (of `keys.db`, or of the EventStoreDB data key streams). */
  dataKeys: Record<string, RewrapOutcome>;
}

/**
 * Moves everything the previous master key wraps under the current one: the deployment
 * secret in the log (a `DeploymentSecretRewrapped` event) and every data key, whichever
 * owner's table it is in: those on EventStoreDB when the log is there (shared by every
 * machine, so one run covers them all), otherwise those in this machine's `keys.db`. Gateways keep serving meanwhile,
 * as long as they hold both keys; running it again finds nothing left to do.
 */
export async function rotateMasterKey(options: {
  store: EventStore;
  masterKeys: MasterKeys;
  dataDir: string;
  clock: Clock;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
}): Promise<MasterKeyRotationReport> {
  const { masterKeys, logger } = options;
  if (!masterKeys.previous) throw new Error('KEYLEDGER_PREVIOUS_MASTER_KEY must name the master key being replaced');
  if (masterKeys.previous.equals(masterKeys.current)) {
    throw new Error('KEYLEDGER_MASTER_KEY and KEYLEDGER_PREVIOUS_MASTER_KEY are the same key: generate a new one with openssl rand -base64 32');
  }
  const report: MasterKeyRotationReport = {
    current: masterKeyFingerprint(masterKeys.current),
    previous: masterKeyFingerprint(masterKeys.previous),
    deploymentSecret: await new DeploymentSecretService(options.store, masterKeys, { clock: options.clock, logger }).rewrap(),
    dataKeys: {},
  };
  const path = join(options.dataDir, 'keys.db');
  const shared = options.store instanceof EventStoreDbEventStore ? options.store : null;
  const tables = shared ? [TOKEN_DATA_KEYS_TABLE, CONNECTION_DATA_KEYS_TABLE] : existsSync(path) ? dataKeyTables(path) : [];
  for (const table of tables) {
    const store: DataKeyStore = shared ? shared.dataKeys(table) : new SqliteDataKeyStore(path, { table });
    try {
      report.dataKeys[table] = await new SecretSealer(dataKeyWrappingKeys(masterKeys), store).rewrapDataKeys((dataKeyId, error) =>
        logger.error({ err: error, table, dataKeyId }, 'could not re-wrap a data key'),
      );
    } finally {
      await store.close();
    }
  }
  return report;
}

/** Every table of `keys.db` shaped like a data key table, so that no owner's keys are left behind. */
function dataKeyTables(path: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    const tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all();
    return tables
      .map((table) => table.name)
      .filter((name) => {
        const columns = db.prepare<[], { name: string }>(`PRAGMA table_info(${JSON.stringify(name)})`).all().map((column) => column.name);
        return columns.includes('id') && columns.includes('wrapped_key');
      });
  } finally {
    db.close();
  }
}
