import { isIP } from 'node:net';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import type { AuditAnchorSettings } from './app/audit/audit-anchor';
import { parseLeakSettings, type LeakSettings } from './app/leaks/leak-settings';
import type { RateLimitSettings } from './app/rate-limits';
import type { QueryLimits } from './graphql/limits';

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().min(1).default('127.0.0.1'),
  NODE_ENV: z.string().default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  KEYLEDGER_DATA_DIR: z.string().min(1).default('./data'),
  EVENTSTORE_CONNECTION_STRING: z
    .string()
    // The EventStoreDB client understands these two schemes only (not the newer kurrentdb:// forms).
    .regex(/^esdb(\+discover)?:\/\/\S+$/, 'must be an esdb:// or esdb+discover:// connection string')
    .optional(),
  KEYLEDGER_MASTER_KEY: z.string().min(1).optional(),
  KEYLEDGER_PREVIOUS_MASTER_KEY: z.string().min(1).optional(),
  KEYLEDGER_BOOTSTRAP_TOKEN: z.string().min(32, 'must be at least 32 characters').max(512).optional(),
  KEYLEDGER_SQLITE_SYNCHRONOUS: z.enum(['NORMAL', 'FULL']).default('NORMAL'),
  KEYLEDGER_BODY_LIMIT: z.string().regex(/^\d+(kb|mb|b)?$/i).default('256kb'),
  KEYLEDGER_MAX_QUERY_COMPLEXITY: z.coerce.number().int().min(1).max(1_000_000).default(5000),
  KEYLEDGER_MAX_QUERY_TOKENS: z.coerce.number().int().min(100).max(1_000_000).default(2000),
  KEYLEDGER_READ_YOUR_WRITES_TIMEOUT_MS: z.coerce.number().int().min(0).max(60_000).default(5000),
  KEYLEDGER_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
  KEYLEDGER_INTROSPECTION: z.enum(['true', 'false']).optional(),
  KEYLEDGER_PUBLIC_URL: z
    .string()
    .regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, 'must be an http(s) URL without query or fragment, such as https://keys.example.com')
    .optional(),
  KEYLEDGER_PARTNER_ATTEMPTS_PER_KEY: z.coerce.number().int().min(1).max(100_000).default(10),
  KEYLEDGER_PARTNER_ATTEMPTS_PER_IP: z.coerce.number().int().min(1).max(1_000_000).default(100),
  KEYLEDGER_CONNECTIONS_REST_RATE_LIMIT: z.coerce.number().int().min(1).max(1_000_000).default(600),
  KEYLEDGER_AUDIT_SIGN_INTERVAL_SECONDS: z.coerce.number().int().min(10).max(86_400).default(300),
  KEYLEDGER_SSF_LEASE_SECONDS: z.coerce.number().int().min(2).max(3600).default(30),
  KEYLEDGER_SSF_POLL_WAIT_SECONDS: z.coerce.number().int().min(1).max(300).default(25),
  KEYLEDGER_SSF_PUSH_PRIVATE_ADDRESSES: z.enum(['allow', 'deny']).optional(),
  KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(300),
  KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_IP_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(600),
  KEYLEDGER_RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(30),
  KEYLEDGER_RATE_LIMIT_EXPENSIVE_QUERIES_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(10),
  KEYLEDGER_AUDIT_ANCHOR_DIR: z.string().min(1).optional(),
  KEYLEDGER_AUDIT_WITNESS_URL: z
    .string()
    .regex(/^https?:\/\/[^\s/?#@]+(\/[^\s#]*)?$/, 'must be an http(s) URL without credentials or fragment, such as https://witness.example.com/heads')
    .optional(),
  KEYLEDGER_RATE_LIMIT_REDIS_URL: z
    .string()
    .regex(/^(rediss?:\/\/\S+|unix:\/\/\/\S+)$/, 'must be a redis://, rediss:// or unix:///path/to/redis.sock URL')
    .optional(),
  KEYLEDGER_RATE_LIMIT_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1 to 64 letters, digits, dots, dashes or underscores')
    .default('keyledger'),
  KEYLEDGER_TRUST_PROXY: z
    .string()
    .refine(isTrustProxySetting, 'must be a number of proxy hops, or a comma-separated list of IP addresses, CIDR ranges, loopback, linklocal or uniquelocal')
    .optional(),
  KEYLEDGER_IDEMPOTENCY_TTL_HOURS: z.coerce.number().int().min(1).max(8760).default(24),
});

/** Listen addresses meaning "every interface" (0.0.0.0, ::): a public URL derived from one would name no host. */
export function isWildcardHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  const version = isIP(bare);
  if (version === 4) return bare === '0.0.0.0';
  return version === 6 && /^[0:]+$/.test(bare);
}

const TRUST_PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isTrustedProxyEntry(entry: string): boolean {
  if (TRUST_PROXY_NAMES.has(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128);
}

function isTrustProxySetting(value: string): boolean {
  if (/^\d{1,2}$/.test(value.trim())) return true;
  return value.split(',').every((entry) => isTrustedProxyEntry(entry.trim()));
}

/** Express `trust proxy`: false trusts no X-Forwarded-For, a number that many hops, a list those addresses. */
export type TrustProxy = false | number | string[];

function trustProxyOf(value: string | undefined): TrustProxy {
  if (value === undefined) return false;
  if (/^\d{1,2}$/.test(value.trim())) return Number(value.trim());
  return value.split(',').map((entry) => entry.trim());
}

export interface Config {
  port: number;
  host: string;
  production: boolean;
  logLevel: string;
  dataDir: string;
  eventStoreConnectionString: string | null;
  masterKey: string | null;
  /** During a master key rotation: the key being replaced, still accepted for unwrapping. */
  previousMasterKey: string | null;
  bootstrapToken: string | null;
  sqliteSynchronous: 'NORMAL' | 'FULL';
  bodyLimit: string;
  /** Limits on each GraphQL operation, over HTTP and WebSocket alike. */
  queryLimits: QueryLimits;
  readYourWritesTimeoutMs: number;
  shutdownTimeoutMs: number;
  introspection: boolean;
  /** JWT issuer and OAuth base URL; null means the address the server listens on. */
  publicUrl: string | null;
  /** Partner client authentication attempts allowed per minute, per API key and per client address. */
  partnerAttempts: { perKey: number; perIp: number };
  /** Requests per minute each caller may make to the REST connection routes. */
  connectionsRestRateLimit: number;
  /** How often each tenant's changed audit chain head is signed and recorded in the log. */
  auditSignIntervalSeconds: number;
  /** SSF delivery: how long a replica holds a push stream, and how long a poll waits for a SET. */
  ssf: { leaseSeconds: number; pollWaitSeconds: number; pushToPrivateAddresses: boolean };
  /** Where signed audit heads are published outside the store. */
  auditAnchor: AuditAnchorSettings;
  /** Limits per minute (0 disables one) and where their counters live. */
  rateLimits: RateLimitSettings;
  /** Which proxies' X-Forwarded-For decides the client address that per-address limits charge. */
  trustProxy: TrustProxy;
  /** How long the outcome of a request under an idempotency key is replayed; after that the key is new again. */
  idempotencyTtlHours: number;
  /** Secret scanning and public revocation of leaked tokens. */
  leaks: LeakSettings;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads and checks configuration from environment variables; throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([, value]) => value !== '')));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const values = parsed.data;
  const leaks = parseLeakSettings(env);
  if (leaks.problems.length > 0) throw new ConfigError(`Invalid configuration:\n  ${leaks.problems.join('\n  ')}`);
  const production = values.NODE_ENV === 'production';
  if (values.EVENTSTORE_CONNECTION_STRING && !values.KEYLEDGER_MASTER_KEY) {
    throw new ConfigError(
      'KEYLEDGER_MASTER_KEY is required when EVENTSTORE_CONNECTION_STRING is set: every replica must share it ' +
        '(generate one with: openssl rand -base64 32)',
    );
  }
  if (isWildcardHost(values.HOST) && !values.KEYLEDGER_PUBLIC_URL) {
    throw new ConfigError(
      `KEYLEDGER_PUBLIC_URL is required when HOST is ${values.HOST}: it is the JWT issuer and the base of every OAuth discovery URL, ` +
        'and no client reaches a wildcard address. Set it to the URL clients use, such as http://localhost:4000 or https://keys.example.com',
    );
  }
  if (production && !values.KEYLEDGER_MASTER_KEY) {
    throw new ConfigError('KEYLEDGER_MASTER_KEY is required when NODE_ENV=production (generate one with: openssl rand -base64 32)');
  }
  const dataDir = resolve(values.KEYLEDGER_DATA_DIR);
  const anchorDir = values.KEYLEDGER_AUDIT_ANCHOR_DIR ? resolve(values.KEYLEDGER_AUDIT_ANCHOR_DIR) : null;
  const fromData = anchorDir === null ? null : relative(dataDir, anchorDir);
  if (fromData !== null && !(fromData === '..' || fromData.startsWith(`..${sep}`) || isAbsolute(fromData))) {
    // Whoever can rewrite the log could rewrite an anchor beside it.
    throw new ConfigError('Invalid configuration:\n  KEYLEDGER_AUDIT_ANCHOR_DIR: must be outside KEYLEDGER_DATA_DIR');
  }
  return {
    port: values.PORT,
    host: values.HOST,
    production,
    logLevel: values.LOG_LEVEL,
    dataDir,
    eventStoreConnectionString: values.EVENTSTORE_CONNECTION_STRING ?? null,
    masterKey: values.KEYLEDGER_MASTER_KEY ?? null,
    previousMasterKey: values.KEYLEDGER_PREVIOUS_MASTER_KEY ?? null,
    bootstrapToken: values.KEYLEDGER_BOOTSTRAP_TOKEN ?? null,
    sqliteSynchronous: values.KEYLEDGER_SQLITE_SYNCHRONOUS,
    bodyLimit: values.KEYLEDGER_BODY_LIMIT,
    queryLimits: { maxComplexity: values.KEYLEDGER_MAX_QUERY_COMPLEXITY, maxTokens: values.KEYLEDGER_MAX_QUERY_TOKENS },
    readYourWritesTimeoutMs: values.KEYLEDGER_READ_YOUR_WRITES_TIMEOUT_MS,
    shutdownTimeoutMs: values.KEYLEDGER_SHUTDOWN_TIMEOUT_MS,
    introspection: values.KEYLEDGER_INTROSPECTION ? values.KEYLEDGER_INTROSPECTION === 'true' : !production,
    publicUrl: values.KEYLEDGER_PUBLIC_URL?.replace(/\/+$/, '') ?? null,
    partnerAttempts: { perKey: values.KEYLEDGER_PARTNER_ATTEMPTS_PER_KEY, perIp: values.KEYLEDGER_PARTNER_ATTEMPTS_PER_IP },
    connectionsRestRateLimit: values.KEYLEDGER_CONNECTIONS_REST_RATE_LIMIT,
    auditSignIntervalSeconds: values.KEYLEDGER_AUDIT_SIGN_INTERVAL_SECONDS,
    ssf: {
      leaseSeconds: values.KEYLEDGER_SSF_LEASE_SECONDS,
      pollWaitSeconds: values.KEYLEDGER_SSF_POLL_WAIT_SECONDS,
      // Denied in production unless the operator says otherwise: a receiver's URL is chosen by a tenant.
      pushToPrivateAddresses: (values.KEYLEDGER_SSF_PUSH_PRIVATE_ADDRESSES ?? (production ? 'deny' : 'allow')) === 'allow',
    },
    rateLimits: {
      redisUrl: values.KEYLEDGER_RATE_LIMIT_REDIS_URL ?? null,
      redisKeyPrefix: values.KEYLEDGER_RATE_LIMIT_REDIS_PREFIX,
      mutationsPerPrincipal: values.KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_MINUTE,
      mutationsPerIp: values.KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_IP_PER_MINUTE,
      authFailuresPerIp: values.KEYLEDGER_RATE_LIMIT_AUTH_FAILURES_PER_MINUTE,
      expensiveQueriesPerPrincipal: values.KEYLEDGER_RATE_LIMIT_EXPENSIVE_QUERIES_PER_MINUTE,
    },
    auditAnchor: { dir: anchorDir, witnessUrl: values.KEYLEDGER_AUDIT_WITNESS_URL ?? null },
    trustProxy: trustProxyOf(values.KEYLEDGER_TRUST_PROXY),
    idempotencyTtlHours: values.KEYLEDGER_IDEMPOTENCY_TTL_HOURS,
    leaks: leaks.settings,
  };
}
