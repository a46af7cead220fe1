import { join } from 'node:path';
import type { ReadModelDatabase } from '../../../projections/database';
import { TokenQueries, TokenUsageTable } from '../../../projections/tokens';
import { SqliteDataKeyStore, type DataKeyStore } from '../../crypto/data-keys';
import { SecretSealer } from '../../crypto/envelope';
import type { KeyRing } from '../../crypto/keyring';
import { SecretHasher } from '../../crypto/secret-hash';
import type { Logger } from '../../logger';
import type { Clock } from '../clock';
import type { EventWriter } from '../event-writer';
import type { LimiterFactory } from '../rate-limits';
import { ChosenSecretLimiter } from './chosen-secret-limiter';
import { IntegrationKeyService } from './integration-key-service';
import { TokenService } from './token-service';
import { TokenUsageRecorder } from './usage-recorder';

export interface TokenModule {
  tokens: TokenService;
  integrationKeys: IntegrationKeyService;
  /** Where uses of tokens are noted, for whatever authenticates them besides `tokens`. */
  usage: TokenUsageRecorder;
  /** Writes pending usage and closes the data key store. */
  close(): Promise<void>;
}

export interface TokenModuleOptions {
  dataDir: string;
  keys: KeyRing;
  readModels: ReadModelDatabase;
  writer: EventWriter;
  clock: Clock;
  logger: Logger;
  /** Where the data keys of `table` live; `keys.db` in the data directory when not given. */
  openDataKeys?: (table: string) => DataKeyStore;
  /** Where the argon2 failure counters live; in this process when not given. */
  limiters?: LimiterFactory;
}

/** The data key table (partition) of integration-key secrets. */
export const TOKEN_DATA_KEYS_TABLE = 'data_keys';

/** The token services and what they own: the data key store and the usage recorder. */
export function openTokenModule(options: TokenModuleOptions): TokenModule {
  const dataKeys =
    options.openDataKeys?.(TOKEN_DATA_KEYS_TABLE) ?? new SqliteDataKeyStore(join(options.dataDir, 'keys.db'), { table: TOKEN_DATA_KEYS_TABLE });
  const usage = new TokenUsageRecorder(new TokenUsageTable(options.readModels), options.logger);
  usage.start();
  const tokens = new TokenService(options.writer, new TokenQueries(options.readModels), new SecretHasher(options.keys.lookupPepper), options.clock, {
    sealer: new SecretSealer(options.keys.dataKeyWrapping, dataKeys),
    usage,
    limiter: new ChosenSecretLimiter(undefined, options.limiters),
    logger: options.logger,
  });
  let closed: Promise<void> | null = null;
  return {
    tokens,
    integrationKeys: new IntegrationKeyService(tokens),
    usage,
    close() {
      closed ??= (async () => {
        usage.stop();
        await dataKeys.close();
      })();
      return closed;
    },
  };
}
