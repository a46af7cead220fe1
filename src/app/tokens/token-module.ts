import { join } from 'node:path';
import type { ReadModelDatabase } from '../../../projections/database';
import { TokenControlsQueries, TokenQueries, TokenUsageTable, TokenVerificationCountQueries } from '../../../projections/tokens';
import { SqliteDataKeyStore, type DataKeyStore } from '../../crypto/data-keys';
import { SecretSealer } from '../../crypto/envelope';
import type { KeyRing } from '../../crypto/keyring';
import { SecretHasher } from '../../crypto/secret-hash';
import type { Logger } from '../../logger';
import type { Clock } from '../clock';
import { DataKeyLifecycle } from '../data-keys/data-key-lifecycle';
import type { EventWriter } from '../event-writer';
import { IntegrationKeySecrets } from './integration-key-secrets';
import { IntegrationKeyService } from './integration-key-service';
import { RootTokens } from './root-tokens';
import { TokenIssuer } from './token-issuer';
import { TokenService } from './token-service';
import { TokenUsageRecorder } from './usage-recorder';
import { CreditLedger } from './credit-ledger';
import { UsageMetering } from './usage-metering';
import { TokenControlsCache } from './token-controls-cache';
import { readModelVersionsOf } from '../credentials/read-model-version';
import { TokenUsageAnalytics } from './usage-analytics';
import { VerificationCounter } from './verification-counter';
import { TokenRateLimits } from './token-rate-limits';
import { memoryLimiters, type LimiterFactory } from '../rate-limits';

export interface TokenModule {
  tokens: TokenService;
  integrationKeys: IntegrationKeyService;
  /** The bootstrap secret's root token and the CLI's. */
  rootTokens: RootTokens;
  /** The sealed secrets of integration keys and their data keys. */
  integrationKeySecrets: IntegrationKeySecrets;
  /** What verification reads: the read model, the hasher, the sealed secrets, the usage of tokens. */
  queries: TokenQueries;
  hasher: SecretHasher;
  sealer: SecretSealer;
  usage: TokenUsageRecorder;
  /** Usage controls (credits, rate limits) of tokens, and the ledger of their credits. */
  controls: TokenControlsQueries;
  credits: CreditLedger;
  metering: UsageMetering;
  /** Counts of verification outcomes, and the analytics read from them. */
  verificationCounts: VerificationCounter;
  analytics: TokenUsageAnalytics;
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
  /** Where the counters of tokens' rate limits live; in this process when not given. */
  limiters?: LimiterFactory;
  /** Where the data keys of `table` live; `keys.db` in the data directory when not given. */
  openDataKeys?: (table: string) => DataKeyStore;
}

/** The data key table (partition) of integration-key secrets. */
export const TOKEN_DATA_KEYS_TABLE = 'data_keys';

/** The token services and what they own: the data key store and the usage recorder. */
export function openTokenModule(options: TokenModuleOptions): TokenModule {
  const { writer, clock, logger } = options;
  const dataKeys =
    options.openDataKeys?.(TOKEN_DATA_KEYS_TABLE) ?? new SqliteDataKeyStore(join(options.dataDir, 'keys.db'), { table: TOKEN_DATA_KEYS_TABLE });
  const usage = new TokenUsageRecorder(new TokenUsageTable(options.readModels), logger);
  usage.start();
  const queries = new TokenQueries(options.readModels);
  const hasher = new SecretHasher(options.keys.lookupPepper);
  const sealer = new SecretSealer(options.keys.dataKeyWrapping, dataKeys);
  const issuer = new TokenIssuer(writer, queries, hasher, usage, clock, logger);
  const integrationKeySecrets = new IntegrationKeySecrets(sealer, new DataKeyLifecycle(sealer, logger), queries, clock, logger);
  const tokens = new TokenService(writer, queries, hasher, clock, { issuer, integrationKeySecrets, usage });
  const controls = new TokenControlsQueries(options.readModels);
  const credits = new CreditLedger(writer, controls, clock);
  const verificationCounts = new VerificationCounter(writer, clock, logger);
  verificationCounts.start();
  const analytics = new TokenUsageAnalytics(tokens, new TokenVerificationCountQueries(options.readModels));
  const metering = new UsageMetering(new TokenControlsCache(controls, readModelVersionsOf(options.readModels).ofAll), credits, new TokenRateLimits(options.limiters ?? memoryLimiters, clock));
  let closed: Promise<void> | null = null;
  return {
    tokens,
    integrationKeys: new IntegrationKeyService(tokens),
    rootTokens: new RootTokens(issuer, queries, hasher),
    integrationKeySecrets,
    queries,
    hasher,
    sealer,
    usage,
    controls,
    credits,
    metering,
    verificationCounts,
    analytics,
    close() {
      closed ??= (async () => {
        usage.stop();
        await dataKeys.close();
      })();
      return closed;
    },
  };
}
