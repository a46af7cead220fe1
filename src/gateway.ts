import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { openReadModelDatabase, ProjectionRunner, readModelProjections, type ReadModelDatabase } from '../projections';
import { startBackgroundCheckpoints } from './sqlite/background-checkpoints';
import { AuditQueries, auditReplaySource } from '../projections/audit';
import { AuditService } from './app/audit/audit-service';
import { openCredentialModule, type CredentialModule } from './app/credentials/credential-module';
import { readModelVersionsOf } from './app/credentials/read-model-version';
import { TokenIntrospection } from './app/oauth/token-introspection';
import { TokenRevocation } from './app/oauth/token-revocation';
import { systemClock, type Clock } from './app/clock';
import { openConnectionModule, type ConnectionModule } from './app/connections/connection-module';
import { loadMasterKeys, openKeyRing } from './app/deployment-keys/open-key-ring';
import { EventWriter } from './app/event-writer';
import { IdempotentRequests } from './app/idempotency/idempotent-requests';
import { LeakedCredentials } from './app/leaks/leaked-credentials';
import { ScannerPublicKeys } from './app/leaks/scanner-public-keys';
import { openPartnerModule, type PartnerModule } from './app/partners/partner-module';
import { openRateLimits, type RateLimits } from './app/rate-limits';
import { AuditAnchor } from './app/audit/audit-anchor';
import type { RequestContext } from './app/request-context';
import type { IntegrationKeySecrets } from './app/tokens/integration-key-secrets';
import type { IntegrationKeyService } from './app/tokens/integration-key-service';
import type { RootTokens } from './app/tokens/root-tokens';
import { openTokenModule, type TokenModule } from './app/tokens/token-module';
import type { VerificationCounter } from './app/tokens/verification-counter';
import { openSsfTransmitter } from './app/ssf';
import type { TokenService } from './app/tokens/token-service';
import type { TokenUsageRecorder } from './app/tokens/usage-recorder';
import { PrincipalCache, verdictDeadline } from './app/credentials/principal-cache';
import { TokenQueries } from '../projections/tokens';
import type { Config } from './config';
import { AuditFingerprinter } from './crypto/audit-fingerprint';
import type { KeyRing } from './crypto/keyring';
import { openEventStore } from './eventstore';
import { EventStoreDbEventStore } from './eventstore/eventstoredb';
import type { EventStore } from './eventstore/port';
import { OperationCostLimit } from './graphql/complexity';
import { PreparedQueries } from './graphql/prepared-queries';
import { depthLimitRule } from './graphql/depth-limit';
import { oncePerOperationRule } from './graphql/once-per-operation';
import { formatGraphQLError } from './graphql/errors';
import { idempotencyExtensionsOf, idempotencyExtensionsPlugin, IdempotentMutations } from './graphql/idempotency';
import { offlineLandingPage } from './graphql/landing-page';
import { noStorePlugins } from './graphql/no-store';
import { MAX_QUERY_DEPTH } from './graphql/limits';
import { buildGatewaySchema } from './graphql/schema';
import { createSubscriptionTransport, type SubscriptionLimits } from './graphql/subscriptions';
import { createHttpApp } from './http/app';
import { clientAddressOf } from './http/client-address';
import { auditRouter } from './http/audit-router';
import { consoleRouter } from './http/console-router';
import { connectionsRouter } from './http/connections-router';
import { integrationKeysRouter } from './http/integration-keys-router';
import { oauthRouter, sourceAuthTokenRouter } from './http/partners';
import { publicRevocationRouter } from './http/leaks/public-revocation-router';
import { secretScanningRouter } from './http/leaks/secret-scanning-router';
import { ssfRouter } from './http/ssf/ssf-router';
import { GatewayMetrics } from './http/metrics';
import { createLogger, type Logger } from './logger';

const REDIS_CONNECT_WAIT_MS = 2000;

export interface GatewayOptions {
  config: Config;
  logger?: Logger;
  clock?: Clock;
  /** Overrides of the WebSocket limits (tests use small ones). */
  subscriptionLimits?: Partial<SubscriptionLimits>;
}

export interface Gateway {
  readonly url: string;
  readonly port: number;
  readonly store: EventStore;
  readonly runner: ProjectionRunner;
  readonly tokens: TokenService;
  readonly credentials: CredentialModule;
  readonly partners: PartnerModule;
  readonly connections: ConnectionModule;
  readonly audit: AuditService;
  readonly idempotency: IdempotentRequests;
  /** Outcomes of verifications counted and not yet appended. */
  readonly verificationCounts: Pick<VerificationCounter, 'flush'>;
  /** Stops accepting requests, drains in-flight ones, then closes the store. Idempotent. */
  stop(): Promise<void>;
}

/** The parts every entry point (server, CLI) needs: store, read models, services. */
export interface Core {
  store: EventStore;
  readModels: ReadModelDatabase;
  runner: ProjectionRunner;
  tokens: TokenService;
  integrationKeys: IntegrationKeyService;
  rootTokens: RootTokens;
  integrationKeySecrets: IntegrationKeySecrets;
  /** Where presented credentials are judged. */
  credentials: CredentialModule;
  oauth: { introspection: TokenIntrospection; revocation: TokenRevocation };
  partners: PartnerModule;
  connections: ConnectionModule;
  audit: AuditService;
  idempotency: IdempotentRequests;
  /** Secret-scanning reports and public revocations of leaked tokens. */
  leaks: LeakedCredentials;
  clock: Clock;
  rateLimits: RateLimits;
  /** Where uses of tokens are noted. */
  tokenUsage: TokenUsageRecorder;
  /** Credits and rate limits of tokens. */
  usageControls: Pick<TokenModule, 'controls' | 'credits' | 'verificationCounts' | 'analytics'>;
  close(): Promise<void>;
}

export async function openCore(config: Config, logger: Logger, clock: Clock = systemClock): Promise<Core> {
  const masterKeys = loadMasterKeys(config, logger);
  const store = await openEventStore(config, logger);
  // The key ring needs the deployment secret, which lives in the log.
  let keys: KeyRing;
  try {
    keys = await openKeyRing(store, masterKeys, { clock, logger });
  } catch (error) {
    await store.close();
    throw error;
  }
  const rateLimits = openRateLimits(config.rateLimits, logger);
  const { limiters } = rateLimits;
  const readModels = openReadModelDatabase(join(config.dataDir, 'readmodels.db'));
  const readModelCheckpoints = startBackgroundCheckpoints(readModels, logger);
  // Replicas on other machines must open the secrets this one seals, so with a shared log the
  // keys are shared too; otherwise they stay in this machine's keys.db.
  const openDataKeys = store instanceof EventStoreDbEventStore ? (table: string) => store.dataKeys(table) : undefined;
  const fingerprinter = new AuditFingerprinter(keys.auditKey, keys.lookupPepper);
  const runner = new ProjectionRunner(store, readModels, readModelProjections(fingerprinter, auditReplaySource(store, keys, logger)), logger);
  const writer = new EventWriter(store, runner, config.readYourWritesTimeoutMs, logger);
  const connections = openConnectionModule({ dataDir: config.dataDir, keys, store, readModels, writer, clock, logger, openDataKeys });
  const tokenModule = openTokenModule({ dataDir: config.dataDir, keys, readModels, writer, clock, logger, openDataKeys, limiters });
  const { tokens, integrationKeys } = tokenModule;
  const partners = openPartnerModule({
    keys,
    readModels,
    writer,
    clock,
    publicUrl: config.publicUrl,
    attemptLimits: { ...config.partnerAttempts, windowSeconds: 60 },
    limiters,
  });
  const credentials = openCredentialModule({
    tokens: tokenModule,
    readModelVersion: readModelVersionsOf(readModels).ofAll,
    accessTokens: partners.accessTokens,
    access: connections.access,
    authFailures: rateLimits.authFailures,
    limiters,
    clock,
    logger,
  });
  const oauth = {
    introspection: new TokenIntrospection(credentials.verifier, partners.accessTokens),
    revocation: new TokenRevocation(credentials.verifier, tokens, partners.accessTokens),
  };
  const audit = new AuditService(new AuditQueries(readModels), store, fingerprinter, partners.signingKeys, clock, writer, new AuditAnchor(config.auditAnchor));
  const idempotency = new IdempotentRequests(writer, keys.idempotencyKey, clock, config.idempotencyTtlHours * 3600_000, logger);
  const leaks = new LeakedCredentials({ tokens: credentials.tokens, integrationKeySecrets: tokenModule.integrationKeySecrets, writer, clock, logger, reportKey: keys.lookupPepper, policy: config.leaks.policy });
  let closed: Promise<void> | null = null;
  return {
    store,
    readModels,
    runner,
    tokens,
    integrationKeys,
    rootTokens: tokenModule.rootTokens,
    integrationKeySecrets: tokenModule.integrationKeySecrets,
    credentials,
    oauth,
    partners,
    connections,
    audit,
    idempotency,
    leaks,
    clock,
    rateLimits,
    tokenUsage: tokenModule.usage,
    usageControls: {
      controls: tokenModule.controls,
      credits: tokenModule.credits,
      verificationCounts: tokenModule.verificationCounts,
      analytics: tokenModule.analytics,
    },
    close() {
      closed ??= (async () => {
        await leaks.close();
        // Counted verifications are appended while the store is open.
        await tokenModule.verificationCounts.stop();
        // Uses still queued are appended while the feed runs, so the read models hold them too.
        await connections.close();
        if (runner.isCaughtUp) {
          const head = await store.headPosition().catch(() => null);
          if (head !== null) await runner.waitForPosition(head, config.readYourWritesTimeoutMs);
        }
        await runner.stop();
        await store.close();
        await tokenModule.close();
        await readModelCheckpoints.stop();
        readModels.close();
        await rateLimits.close();
      })();
      return closed;
    },
  };
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const core = await openCore(config, logger, options.clock);
  const { runner, tokens } = core;
  const metrics = new GatewayMetrics(runner, core.rateLimits.shared);
  const ssf = openSsfTransmitter(core, config, logger);

  let startupDone = false;
  let auditSigningTimer: NodeJS.Timeout | null = null;
  let auditSigningRound: Promise<void> | null = null;
  let auditSigningStopped = false;
  // Rounds never overlap within a process: a slow round makes the next tick a no-op instead
  // of a second signer racing the first (replicas still race, and the append settles that).
  const runAuditSigningRound = () => {
    if (auditSigningRound || auditSigningStopped) return;
    auditSigningRound = (async () => {
      try {
        const round = await core.audit.signChangedHeads();
        if (round.signed.length > 0) logger.info({ tenants: round.signed.map((head) => head.tenantId) }, 'signed audit chain heads');
        for (const failure of round.failed) logger.error({ err: failure.error, tenantId: failure.tenantId }, 'could not sign an audit chain head');
      } catch (error) {
        logger.error({ err: error }, 'audit head signing round failed');
      } finally {
        auditSigningRound = null;
      }
    })();
  };
  const startAuditSigning = () => {
    if (auditSigningStopped) return;
    auditSigningTimer = setInterval(runAuditSigningRound, config.auditSignIntervalSeconds * 1000);
    // The timer alone must not keep a process (a CLI, a test) alive.
    auditSigningTimer.unref();
  };
  const startup = (async () => {
    runner.start();
    // Limits work from memory meanwhile; waiting a little lets replicas share them from the first request.
    if (core.rateLimits.shared && !(await core.rateLimits.shared.whenConnected(REDIS_CONNECT_WAIT_MS))) {
      logger.warn({}, 'starting without the rate-limit store; limits are per replica until it is reachable');
    }
    while (!(await runner.waitUntilCaughtUp(60_000))) {
      if (runner.isStopped) return;
      logger.info({ position: runner.appliedPosition?.toString() ?? null }, 'catching up with the event log');
    }
    if ((await core.partners.signingKeys.ensureSigningKey({ requestId: `startup-${randomUUID()}` })) === 'created') {
      logger.info({}, 'created the first JWT signing key');
    }
    if (config.bootstrapToken) {
      const outcome = await core.rootTokens.ensureBootstrapToken(config.bootstrapToken, { requestId: `bootstrap-${randomUUID()}` });
      if (outcome === 'created') logger.info({}, 'created the root token from KEYLEDGER_BOOTSTRAP_TOKEN');
      if (outcome === 'exists-different') {
        logger.warn({}, 'a bootstrap root token already exists with another secret; KEYLEDGER_BOOTSTRAP_TOKEN was ignored');
      }
    }
    const shredded = await core.integrationKeySecrets.sweepOrphans();
    if (shredded > 0) logger.info({ shredded }, 'destroyed data keys of revoked or never-issued integration keys');
    const shreddedConnectionKeys = await core.connections.connections.shredOrphanedDataKeys();
    if (shreddedConnectionKeys > 0) logger.info({ shredded: shreddedConnectionKeys }, 'destroyed connection data keys no live connection holds');
    startupDone = true;
    startAuditSigning();
    ssf.start();
  })();
  startup.catch((error) => logger.error({ err: error }, 'start-up failed'));

  const httpServer: Server = createServer();
  const schema = await buildGatewaySchema({
    tokens,
    credentials: core.credentials.verifier,
    clock: core.clock,
    partners: core.partners,
    connections: core.connections.connections,
    audit: core.audit,
    mutations: core.rateLimits.mutations,
    expensiveQueries: core.rateLimits.expensiveQueries,
    idempotency: new IdempotentMutations(core.idempotency, core.clock),
    tokenUsage: core.usageControls,
  });
  const clientAddress = clientAddressOf(config.trustProxy);
  const subscriptions = createSubscriptionTransport({
    httpServer,
    schema,
    store: core.store,
    events: runner,
    tokens: { authenticate: (bearer, ip) => core.credentials.tokens.authenticate(bearer, ip), getToken: (ctx, id) => tokens.getToken(ctx, id) },
    clock: core.clock,
    logger,
    bodyLimit: config.bodyLimit,
    queryLimits: config.queryLimits,
    production: config.production,
    registry: metrics.registry,
    isStarted: () => startupDone,
    limits: options.subscriptionLimits,
    limiters: core.rateLimits.limiters,
    authFailures: core.rateLimits.authFailures,
    clientAddress,
  });
  const formatError = formatGraphQLError((error) => logger.error({ err: error }, 'unexpected error in a GraphQL operation'), {
    hideSchemaSuggestions: config.production,
  });
  const costLimit = new OperationCostLimit(config.queryLimits.maxComplexity);
  const preparedQueries = new PreparedQueries({ costLimit, formatError, extensionsOf: idempotencyExtensionsOf });
  const apollo = new ApolloServer<RequestContext>({
    schema,
    introspection: config.introspection,
    includeStacktraceInErrorResponses: false,
    // The entry point owns signal handling: it drains Apollo, the projections and the store in order.
    stopOnTerminationSignals: false,
    formatError,
    parseOptions: { maxTokens: config.queryLimits.maxTokens },
    validationRules: [depthLimitRule(MAX_QUERY_DEPTH), oncePerOperationRule],
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      offlineLandingPage(),
      metrics.apolloPlugin(),
      costLimit.plugin(),
      preparedQueries.plugin(),
      subscriptions.apolloPlugin,
      idempotencyExtensionsPlugin(),
      ...noStorePlugins<RequestContext>(),
    ],
  });
  await apollo.start();

  const tokenQueries = new TokenQueries(core.readModels);
  const principals = new PrincipalCache({
    authenticate: (bearer, ip, request) => core.credentials.verifier.authenticate(bearer, ip, request),
    lockedFor: (ip) => core.rateLimits.authFailures.lockedFor(ip),
    recordUse: (tokenId, at) => core.tokenUsage.record(tokenId, at),
    validUntilOf: (tokenId, now) => verdictDeadline(tokenQueries, tokenId, now),
    events: runner,
    readModelVersion: readModelVersionsOf(core.readModels).ofOtherConnections,
    clock: core.clock,
  });

  const isReady = () => startupDone && runner.isCaughtUp;
  const app = createHttpApp({
    apollo,
    preparedQueries,
    metrics,
    logger,
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy,
    mutations: core.rateLimits.mutations,
    authFailures: core.rateLimits.authFailures,
    authenticate: (bearer, ip, request) => principals.authenticate(bearer, ip, request),
    routers: [
      integrationKeysRouter({
        integrationKeys: core.integrationKeys,
        bodyLimit: config.bodyLimit,
        reportError: (error, req) => logger.error({ err: error, path: req.path }, 'unexpected error in the integration keys API'),
      }),
      sourceAuthTokenRouter({ exchange: core.partners.exchange, logger }),
      connectionsRouter({
        connections: core.connections.connections,
        bodyLimit: config.bodyLimit,
        requestsPerMinute: config.connectionsRestRateLimit,
        limiters: core.rateLimits.limiters,
        reportError: (error, req) => logger.error({ err: error, path: req.path }, 'unexpected error in the connections API'),
      }),
      oauthRouter({ ...core.partners, ...core.oauth, verifier: core.credentials.verifier, logger }),
      secretScanningRouter({
        leaks: core.leaks,
        keys: config.leaks.githubKeys ? new ScannerPublicKeys({ source: config.leaks.githubKeys, clock: core.clock, logger }) : null,
        reportError: (error, req) => logger.error({ err: error, path: req.path }, 'unexpected error in the secret-scanning endpoint'),
      }),
      publicRevocationRouter({
        leaks: core.leaks,
        requestsPerMinute: config.leaks.publicRevocationsPerMinute,
        limiters: core.rateLimits.limiters,
        reportError: (error, req) => logger.error({ err: error, path: req.path }, 'unexpected error in public revocation'),
      }),
      auditRouter({ audit: core.audit, expensiveQueries: core.rateLimits.expensiveQueries, reportError: (error) => logger.error({ err: error }, 'unexpected error in the audit export') }),
      ssfRouter({
        streams: ssf.streams,
        bodyLimit: config.bodyLimit,
        reportError: (error, req) => logger.error({ err: error, path: req.path }, 'unexpected error in the SSF transmitter'),
      }),
      consoleRouter(),
    ],
    isReady,
    whenStarted(timeoutMs) {
      if (startupDone) return true;
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
      return Promise.race([startup.catch(() => undefined), timeout]).then(() => startupDone);
    },
  });
  httpServer.on('request', app.listener);
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const { port } = httpServer.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  core.partners.publicUrl.listening(url);
  if (!core.partners.publicUrl.isConfigured && config.eventStoreConnectionString) {
    logger.warn({ issuer: url }, 'KEYLEDGER_PUBLIC_URL is not set: each replica names its own address as the JWT issuer, so clients that check iss against one replica refuse the others\' tokens');
  }
  logger.info({ url: `${url}/graphql`, store: core.store.name }, 'keyledger listening');

  let stopping: Promise<void> | null = null;
  return {
    url,
    port,
    store: core.store,
    runner,
    tokens,
    credentials: core.credentials,
    partners: core.partners,
    connections: core.connections,
    audit: core.audit,
    idempotency: core.idempotency,
    verificationCounts: core.usageControls.verificationCounts,
    stop() {
      stopping ??= (async () => {
        auditSigningStopped = true;
        ssf.streams.stop();
        if (auditSigningTimer) clearInterval(auditSigningTimer);
        // Apollo's drain plugin stops the HTTP server and waits for in-flight requests.
        await apollo.stop();
        subscriptions.stop();
        principals.close();
        await startup.catch(() => undefined);
        await auditSigningRound;
        await ssf.stop();
        await core.close();
        logger.info({}, 'keyledger stopped');
      })();
      return stopping;
    },
  };
}
