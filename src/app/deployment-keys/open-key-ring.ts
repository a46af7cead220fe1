import { join } from 'node:path';
import type { Config } from '../../config';
import { KeyRing, loadOrCreateMasterKeyFile, parseMasterKey, type MasterKeys } from '../../crypto/keyring';
import type { EventStore } from '../../eventstore/port';
import type { Logger } from '../../logger';
import type { Clock } from '../clock';
import { DeploymentSecretService } from './deployment-secret-service';

/**
 * The master keys from configuration: `KEYLEDGER_MASTER_KEY` (or, in development, one
 * generated into the data directory) and, during a rotation, `KEYLEDGER_PREVIOUS_MASTER_KEY`.
 */
export function loadMasterKeys(config: Pick<Config, 'masterKey' | 'previousMasterKey' | 'dataDir'>, logger: Pick<Logger, 'warn'>): MasterKeys {
  const previous = config.previousMasterKey ? parseNamed(config.previousMasterKey, 'KEYLEDGER_PREVIOUS_MASTER_KEY') : null;
  if (config.masterKey) return { current: parseMasterKey(config.masterKey), previous };
  const path = join(config.dataDir, 'master.key');
  const { key, created } = loadOrCreateMasterKeyFile(path);
  if (created) {
    logger.warn({ path }, 'generated a development master key; set KEYLEDGER_MASTER_KEY in production and for replicas');
  }
  return { current: key, previous };
}

function parseNamed(encoded: string, variable: string): Buffer {
  try {
    return parseMasterKey(encoded);
  } catch (error) {
    throw new RangeError((error as Error).message.replace('KEYLEDGER_MASTER_KEY', variable));
  }
}

/**
 * The key ring, once the deployment secret has been read from the log (or created there on
 * a fresh one). Fails with a message naming the variables when the configured master keys
 * cannot open the secret.
 */
export async function openKeyRing(
  store: EventStore,
  masterKeys: MasterKeys,
  options: { clock: Clock; logger: Pick<Logger, 'info' | 'warn'> },
): Promise<KeyRing> {
  const secret = await new DeploymentSecretService(store, masterKeys, options).load();
  try {
    return new KeyRing(masterKeys, secret);
  } finally {
    secret.fill(0);
  }
}
