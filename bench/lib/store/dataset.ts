import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openReadModelDatabase, ProjectionRunner, readModelProjections, rebuildReadModels, type ReadModelDatabase, type RebuildResult } from '../../../projections';
import { startBackgroundCheckpoints } from '../../../src/sqlite/background-checkpoints';
import { auditReplaySource } from '../../../projections/audit';
import { openKeyRing } from '../../../src/app/deployment-keys/open-key-ring';
import { AuditFingerprinter } from '../../../src/crypto/audit-fingerprint';
import { systemClock } from '../../../src/app/clock';
import { SecretHasher } from '../../../src/crypto/secret-hash';
import { timeOrderedUuid } from '../../../src/crypto/time-ordered-uuid';
import { BASE62_ALPHABET } from '../../../src/crypto/base62';
import { displayOf, generateToken } from '../../../src/crypto/token-format';
import { newTokenId } from '../../../src/app/tokens/token-issuer';
import type { AuthenticationFailed, PrivilegedTokenVerified } from '../../../src/domain/access/events';
import {
  accessStreamId,
  connectionStreamId,
  decide as decideConnection,
  evolve as evolveConnection,
  initialConnectionState,
  type ConnectionEvent,
  type ConnectionState,
  type ConnectionUsed,
} from '../../../src/domain/connections';
import {
  accessTokenStreamId,
  decideAccessToken,
  decideCredential,
  evolveCredential,
  initialAccessTokenState,
  initialPartnerCredentialState,
  partnerCredentialStreamId,
  evolveAccessToken,
  type AccessTokenState,
  type PartnerCredentialState,
} from '../../../src/domain/partners';
import { decide as decideToken, evolve as evolveToken, initialTokenState, tokenStreamId, type TokenState } from '../../../src/domain/tokens';
import { SQLITE_EVENT_STORE_SCHEMA_VERSION, SqliteEventStore } from '../../../src/eventstore/sqlite';
import { formatPosition, type Actor, type EventMetadata } from '../../../src/eventstore/port';

/**
 * Event logs for the store, rebuild, audit and memory benchmarks, written by the domain's own
 * deciders with real lookup hashes under the log's deployment pepper. Building a million
 * events takes a while, so each log is kept under the OS temp directory (`keyledger-bench/`,
 * safe to delete) keyed by its size and everything that shapes it, and reused by later
 * benchmarks and runs; every figure is still measured on a fresh copy or a fresh read model.
 */

/** Bump whenever the generated events change. */
const GENERATOR_VERSION = 2;

export const DATASET_CACHE_ROOT = join(tmpdir(), 'keyledger-bench');

/**
 * `mixed`: `size` events of every kind the gateway writes, half of them in one large tenant.
 * `tokens`: `size` active API tokens (one `TokenIssued` each) over a hundred tenants.
 */
export type DatasetKind = 'mixed' | 'tokens';

export interface IssuedSample {
  tokenId: string;
  tenantId: string;
  secret: string;
}

export interface DatasetFacts {
  kind: DatasetKind;
  events: number;
  /** Base64 master key the log's deployment secret is wrapped under (`KEYLEDGER_MASTER_KEY`). */
  masterKey: string;
  /** The tenant holding half the mixed log: the one the audit queries read. */
  largeTenant: string;
  /** Tokens of the large tenant with several events each. */
  busyTokenIds: string[];
  /** Actors of the large tenant. */
  actorIds: string[];
  /** occurredAt of the first and last event. */
  firstAt: string;
  lastAt: string;
  /** Tokens whose secrets verify (kept only in this cache, for `verifyToken`). */
  verifiable: IssuedSample[];
}

export interface Dataset extends DatasetFacts {
  /** The cached `events.db`: read it, never write it. Copy it with `copyDataDir` to start a gateway on it. */
  eventsPath: string;
  dir: string;
}

const QUIET = { info: () => undefined, warn: () => undefined, error: () => undefined };

const SAMPLE_SIZE = 1000;
const BATCH = 20_000;
const SPAN_MS = 90 * 24 * 3600_000;

function cacheKey(kind: DatasetKind, size: number): string {
  const hash = createHash('sha256')
    .update(JSON.stringify({ GENERATOR_VERSION, SQLITE_EVENT_STORE_SCHEMA_VERSION, kind, size }))
    .digest('hex')
    .slice(0, 12);
  return `${kind}-${size}-${hash}`;
}

export interface DatasetOptions {
  log?: (line: string) => void;
  /** Where the cache lives; `DATASET_CACHE_ROOT` unless a test keeps its own. */
  root?: string;
}

/** The cached log of this kind and size, generating it first when missing. */
export async function dataset(kind: DatasetKind, size: number, options: DatasetOptions = {}): Promise<Dataset> {
  const log = options.log ?? (() => undefined);
  const root = options.root ?? DATASET_CACHE_ROOT;
  const dir = join(root, cacheKey(kind, size));
  const factsPath = join(dir, 'dataset.json');
  if (!existsSync(factsPath)) {
    mkdirSync(root, { recursive: true });
    const building = `${dir}.building-${process.pid}`;
    rmSync(building, { recursive: true, force: true });
    mkdirSync(building, { recursive: true, mode: 0o700 });
    const started = Date.now();
    log(`generating ${size} ${kind} events into ${dir}`);
    try {
      const facts = await generate(kind, size, join(building, 'events.db'));
      writeFileSync(join(building, 'dataset.json'), JSON.stringify(facts), { mode: 0o600 });
      rmSync(dir, { recursive: true, force: true });
      renameSync(building, dir);
    } catch (error) {
      rmSync(building, { recursive: true, force: true });
      throw error;
    }
    log(`generated in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  const facts = JSON.parse(readFileSync(factsPath, 'utf8')) as DatasetFacts;
  return { ...facts, dir, eventsPath: join(dir, 'events.db') };
}

/** The master keys the dataset's deployment secret opens with. */
function masterKeysOf(data: DatasetFacts): { current: Buffer; previous: null } {
  return { current: Buffer.from(data.masterKey, 'base64'), previous: null };
}

/** Runs the real rebuild of every read model over the dataset's log, as `keyledger rebuild` does, quietly. */
export async function rebuildFromLog(
  data: DatasetFacts,
  store: SqliteEventStore,
  db: ReadModelDatabase,
): Promise<RebuildResult & { readModels: number }> {
  const keys = await openKeyRing(store, masterKeysOf(data), { clock: systemClock, logger: QUIET });
  const projections = readModelProjections(new AuditFingerprinter(keys.auditKey, keys.lookupPepper), auditReplaySource(store, keys));
  return { ...(await rebuildReadModels(store, db, projections, QUIET)), readModels: projections.length };
}

/**
 * A gateway's catch-up after downtime, as its projection runner does it: read models that are
 * not empty (every checkpoint at the log's first event, which stays unapplied) brought up to
 * the end of the log batch by batch by the live handlers, checkpointed in the background as a
 * gateway's are. Resolves with the events applied and the seconds it took.
 */
export async function catchUpFromLog(data: Dataset, store: SqliteEventStore, db: ReadModelDatabase): Promise<{ events: number; seconds: number }> {
  const keys = await openKeyRing(store, masterKeysOf(data), { clock: systemClock, logger: QUIET });
  const projections = readModelProjections(new AuditFingerprinter(keys.auditKey, keys.lookupPepper), auditReplaySource(store, keys));
  const runner = new ProjectionRunner(store, db, projections, QUIET);
  const log = new Database(data.eventsPath, { readonly: true });
  let first: bigint;
  let events: number;
  try {
    const row = log.prepare<[], { first: bigint; events: number }>('SELECT MIN(position) AS first, COUNT(*) AS events FROM events').safeIntegers(true).get()!;
    first = row.first;
    events = Number(row.events) - 1;
  } finally {
    log.close();
  }
  db.prepare('UPDATE projection_checkpoints SET position = ?').run(formatPosition(first));
  const checkpoints = startBackgroundCheckpoints(db);
  const started = process.hrtime.bigint();
  try {
    runner.start();
    while (!(await runner.waitUntilCaughtUp(60_000)));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (runner.appliedPosition === null) throw new Error('the catch-up applied nothing');
    return { events, seconds };
  } finally {
    await runner.stop();
    await checkpoints.stop();
  }
}

/**
 * Read models of the whole log, built once by the real rebuild and cached beside it, so a
 * gateway started on a copy has nothing left to catch up. Their file name carries every
 * projection's version and schema: a changed projection gets read models of its own.
 */
export async function cachedReadModels(data: Dataset, log: (line: string) => void = () => undefined): Promise<string> {
  const path = readModelsCachePath(data);
  if (existsSync(path)) return path;
  const building = `${path}.building-${process.pid}`;
  const started = Date.now();
  log(`building the read models of ${data.events} events`);
  const store = SqliteEventStore.open(data.eventsPath);
  const db = openReadModelDatabase(building);
  try {
    await rebuildFromLog(data, store, db);
    db.pragma('wal_checkpoint(TRUNCATE)');
  } catch (error) {
    rmSync(building, { force: true });
    throw error;
  } finally {
    db.close();
    await store.close();
    rmSync(`${building}-wal`, { force: true });
    rmSync(`${building}-shm`, { force: true });
  }
  renameSync(building, path);
  log(`built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return path;
}

function readModelsCachePath(data: Dataset): string {
  const projections = readModelProjections({ ofStored: () => '', ofSecret: () => '' });
  const versions = createHash('sha256')
    .update(projections.map((projection) => `${projection.name}@${projection.version}:${projection.migrate.toString()}`).join(','))
    .digest('hex')
    .slice(0, 8);
  return join(data.dir, `readmodels-${versions}.db`);
}

/** Keeps read models a benchmark rebuilt from the whole log (and closed) as the cached ones, when there are none yet. */
export function offerReadModels(data: Dataset, path: string): void {
  const cached = readModelsCachePath(data);
  if (existsSync(cached)) return;
  const building = `${cached}.building-${process.pid}`;
  copyFileSync(path, building);
  renameSync(building, cached);
}

/** A data directory of its own holding a copy of the log (and of cached read models), for a gateway that will append to it. */
export function copyDataDir(data: Dataset, dataDir: string, readModelsPath: string | null): void {
  mkdirSync(dataDir, { recursive: true });
  copyFileSync(data.eventsPath, join(dataDir, 'events.db'));
  if (readModelsPath) copyFileSync(readModelsPath, join(dataDir, 'readmodels.db'));
}

/** A small deterministic generator, so a cached log and a fresh one have the same shape. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Row {
  streamId: string;
  type: string;
  data: unknown;
  metadata: EventMetadata;
}

/** Appends rows in large transactions, keeping each stream's revision as the store does. */
class BulkWriter {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly revisions = new Map<string, number>();
  private pending: Row[] = [];
  private written = 0;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = OFF');
    for (const row of this.db.prepare<[], { stream_id: string; revision: number }>('SELECT stream_id, revision FROM streams').all()) {
      this.revisions.set(row.stream_id, row.revision);
    }
    this.insert = this.db.prepare(
      'INSERT INTO events (id, stream_id, revision, type, recorded_at, data, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
  }

  /** Events pushed so far, written or not. */
  get count(): number {
    return this.written + this.pending.length;
  }

  push(streamId: string, event: { type: string; data: unknown }, metadata: EventMetadata): void {
    this.pending.push({ streamId, type: event.type, data: event.data, metadata });
    if (this.pending.length >= BATCH) this.flush();
  }

  flush(): void {
    const rows = this.pending;
    this.pending = [];
    this.db.transaction(() => {
      for (const row of rows) {
        const revision = (this.revisions.get(row.streamId) ?? -1) + 1;
        this.revisions.set(row.streamId, revision);
        this.insert.run(
          timeOrderedUuid(Date.parse(row.metadata.occurredAt)),
          row.streamId,
          revision,
          row.type,
          Date.parse(row.metadata.occurredAt),
          JSON.stringify(row.data),
          JSON.stringify(row.metadata),
        );
      }
    })();
    this.written += rows.length;
  }

  close(): void {
    this.flush();
    const upsert = this.db.prepare(
      'INSERT INTO streams (stream_id, revision) VALUES (?, ?) ON CONFLICT (stream_id) DO UPDATE SET revision = excluded.revision',
    );
    this.db.transaction(() => {
      for (const [streamId, revision] of this.revisions) upsert.run(streamId, revision);
    })();
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.close();
  }
}

async function generate(kind: DatasetKind, size: number, eventsPath: string): Promise<DatasetFacts> {
  const masterKey = randomBytes(32);
  // The deployment secret is created in the log exactly as a first gateway start would.
  const store = SqliteEventStore.open(eventsPath);
  const keys = await openKeyRing(store, { current: masterKey, previous: null }, { clock: systemClock, logger: QUIET });
  await store.close();
  const hasher = new SecretHasher(keys.lookupPepper);
  const writer = new BulkWriter(eventsPath);
  const generator = kind === 'tokens' ? new TokenLogGenerator(writer, hasher, size) : new MixedLogGenerator(writer, hasher, size);
  const facts = await generator.run();
  writer.close();
  return { kind, events: size, masterKey: masterKey.toString('base64'), ...facts };
}

type GeneratedFacts = Omit<DatasetFacts, 'kind' | 'events' | 'masterKey'>;

const ROLE_SETS = [['deploy:read'], ['deploy:read', 'deploy:write'], ['metrics:read'], ['billing:read', 'billing:export'], ['ci:run']];
const USER_AGENTS = ['deploy-bot/2.3', 'curl/8.5.0', 'terraform-provider-keyledger/1.4.0', 'Mozilla/5.0 (X11; Linux x86_64)'];

abstract class LogGenerator {
  protected readonly random: () => number;
  protected readonly startMs: number;
  protected readonly stepMs: number;
  protected readonly verifiable: IssuedSample[] = [];
  private readonly sampleEvery: number;
  private issued = 0;

  constructor(
    protected readonly writer: BulkWriter,
    protected readonly hasher: SecretHasher,
    protected readonly size: number,
    expectedTokens: number,
  ) {
    this.random = prng(size * 31 + expectedTokens);
    this.startMs = Date.now() - SPAN_MS - 24 * 3600_000;
    this.stepMs = SPAN_MS / size;
    this.sampleEvery = Math.max(1, Math.floor(expectedTokens / SAMPLE_SIZE));
  }

  abstract run(): Promise<GeneratedFacts>;

  /** Event times spread evenly over ninety days ending yesterday, in log order. */
  protected at(): Date {
    return new Date(Math.floor(this.startMs + this.writer.count * this.stepMs));
  }

  /** Identifiers need no secrecy, so they come from the fast generator; secrets come from `generateToken`. */
  protected id(length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += BASE62_ALPHABET[Math.floor(this.random() * 62)];
    return out;
  }

  protected pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  protected metadata(actor: Actor, now: Date): EventMetadata {
    return {
      actor,
      requestId: timeOrderedUuid(now.getTime()),
      occurredAt: now.toISOString(),
      ip: `10.${Math.floor(this.random() * 256)}.${Math.floor(this.random() * 256)}.${1 + Math.floor(this.random() * 254)}`,
      userAgent: this.pick(USER_AGENTS),
    };
  }

  /** A generated API token through the token decider, with its real lookup hash. */
  protected issueToken(tenantId: string, actor: Actor, now: Date): TokenState {
    const secret = generateToken('klt');
    const tokenId = newTokenId(now.getTime());
    const [event] = decideToken(
      {
        type: 'IssueToken',
        tokenId,
        tenantId,
        kind: 'API_TOKEN',
        name: `service ${tokenId.slice(4, 10)}`,
        roles: this.pick(ROLE_SETS),
        expiresAt: null,
        display: displayOf('klt', secret),
        secretHash: this.hasher.lookupHash(secret),
        lookupTag: null,
        origin: 'generated',
      },
      initialTokenState,
      now,
    );
    this.writer.push(tokenStreamId(tokenId), event!, this.metadata(actor, now));
    if (this.issued++ % this.sampleEvery === 0 && this.verifiable.length < SAMPLE_SIZE) this.verifiable.push({ tokenId, tenantId, secret });
    return evolveToken(initialTokenState, event!);
  }
}

class TokenLogGenerator extends LogGenerator {
  constructor(writer: BulkWriter, hasher: SecretHasher, size: number) {
    super(writer, hasher, size, size);
  }

  async run(): Promise<GeneratedFacts> {
    const tenants = Array.from({ length: 100 }, (_, i) => `tenant-${i}`);
    const firstAt = this.at().toISOString();
    for (let i = 0; i < this.size; i++) {
      const tenantId = tenants[i % tenants.length]!;
      this.issueToken(tenantId, { type: 'token', id: `tok_admin${i % 7}`, tenantId }, this.at());
    }
    return { largeTenant: tenants[0]!, busyTokenIds: [], actorIds: [], firstAt, lastAt: this.at().toISOString(), verifiable: this.verifiable };
  }
}

interface PoolEntry<State> {
  streamId: string;
  state: State;
}

/** Live aggregates kept for later commands; bounded, so a million-event log needs little memory. */
class Pool<State> {
  readonly items: PoolEntry<State>[] = [];
  constructor(
    private readonly random: () => number,
    private readonly capacity = 20_000,
  ) {}

  add(entry: PoolEntry<State>): void {
    if (this.items.length < this.capacity) this.items.push(entry);
    else this.items[Math.floor(this.random() * this.capacity)] = entry;
  }

  any(): PoolEntry<State> | undefined {
    return this.items.length === 0 ? undefined : this.items[Math.floor(this.random() * this.items.length)];
  }

  remove(entry: PoolEntry<State>): void {
    const index = this.items.indexOf(entry);
    if (index < 0) return;
    this.items[index] = this.items[this.items.length - 1]!;
    this.items.pop();
  }
}

interface TenantState {
  tenantId: string;
  actors: Actor[];
  tokens: Pool<TokenState>;
  connections: Pool<ConnectionState>;
  credentials: Pool<PartnerCredentialState>;
  accessTokens: Pool<AccessTokenState>;
}

/*
 * Shares of the operations, roughly what a busy deployment writes: most events record access
 * (connection uses, refused credentials, partner exchanges), the rest manage credentials.
 */
const OPERATIONS = [
  ['issueToken', 22],
  ['updateToken', 8],
  ['rotateToken', 5],
  ['revokeToken', 4],
  ['createConnection', 4],
  ['updateConnection', 2],
  ['deleteConnection', 1],
  ['useConnection', 20],
  ['authenticationFailed', 7],
  ['privilegedVerified', 3],
  ['createCredential', 1],
  ['revokeCredential', 0.3],
  ['issueAccessToken', 12],
  ['revokeAccessToken', 1],
] as const;
type Operation = (typeof OPERATIONS)[number][0];

const INTEGRATIONS = ['github', 'stripe', 'pagerduty', 'datadog', 'slack'];
const DOMAINS = ['api.github.com', 'api.stripe.com', 'events.pagerduty.com', 'api.datadoghq.com', 'slack.com'];

class MixedLogGenerator extends LogGenerator {
  private readonly tenants: TenantState[];
  private readonly partnerSecretHashes: string[] = [];
  private readonly operationTable: Operation[] = [];
  private readonly busy = new Map<string, number>();

  constructor(writer: BulkWriter, hasher: SecretHasher, size: number) {
    super(writer, hasher, size, Math.floor(size * 0.22));
    this.tenants = Array.from({ length: 40 }, (_, i) => {
      const tenantId = i === 0 ? 'acme-corp' : `tenant-${i}`;
      return {
        tenantId,
        actors: Array.from({ length: 6 }, (_, k) => ({ type: k === 5 ? 'user' : 'token', id: k === 5 ? `ops@${tenantId}.example` : `tok_admin${k}${tenantId}`, tenantId }) as Actor),
        tokens: new Pool<TokenState>(this.random),
        connections: new Pool<ConnectionState>(this.random),
        credentials: new Pool<PartnerCredentialState>(this.random, 200),
        accessTokens: new Pool<AccessTokenState>(this.random),
      };
    });
    for (const [operation, weight] of OPERATIONS) for (let i = 0; i < weight * 10; i++) this.operationTable.push(operation);
  }

  async run(): Promise<GeneratedFacts> {
    // Partner secrets are argon2id-hashed, which is slow on purpose: a few hashes serve every credential.
    for (let i = 0; i < 3; i++) this.partnerSecretHashes.push(await this.hasher.argon2Hash(generateToken('klps')));
    const firstAt = this.at().toISOString();
    const large = this.tenants[0]!;
    while (this.writer.count < this.size) {
      // Half the log belongs to one large tenant, the rest to 39 smaller ones.
      const tenant = this.random() < 0.5 ? large : this.tenants[1 + Math.floor(this.random() * (this.tenants.length - 1))]!;
      this.apply(this.pick(this.operationTable), tenant);
    }
    const busyTokenIds = [...this.busy.entries()].filter(([, events]) => events >= 3).map(([tokenId]) => tokenId).slice(0, 50);
    return {
      largeTenant: large.tenantId,
      busyTokenIds,
      actorIds: large.actors.map((actor) => actor.id),
      firstAt,
      lastAt: this.at().toISOString(),
      verifiable: this.verifiable,
    };
  }

  private apply(operation: Operation, tenant: TenantState): void {
    const now = this.at();
    const actor = this.pick(tenant.actors);
    const meta = () => this.metadata(actor, now);
    switch (operation) {
      case 'issueToken': {
        const state = this.issueToken(tenant.tenantId, actor, now);
        if (state.status === 'active') tenant.tokens.add({ streamId: tokenStreamId(state.tokenId), state });
        return;
      }
      case 'updateToken':
      case 'rotateToken':
      case 'revokeToken': {
        const entry = tenant.tokens.any();
        if (!entry || entry.state.status !== 'active') return this.apply('issueToken', tenant);
        const tokenId = entry.state.tokenId;
        const events =
          operation === 'updateToken'
            ? decideToken(
                { type: 'UpdateToken', tokenId, changes: { name: `service ${this.id(6)}`, roles: this.pick(ROLE_SETS) }, grantorRoles: ['keyledger:root'] },
                entry.state,
                now,
              )
            : operation === 'rotateToken'
              ? (() => {
                  const secret = generateToken('klt');
                  return decideToken(
                    { type: 'RotateToken', tokenId, gracePeriodSeconds: 3600, display: displayOf('klt', secret), secretHash: this.hasher.lookupHash(secret), sealedSecret: null },
                    entry.state,
                    now,
                  );
                })()
              : decideToken({ type: 'RevokeToken', tokenId, reason: 'rotated out of service' }, entry.state, now);
        for (const event of events) {
          this.writer.push(entry.streamId, event, meta());
          entry.state = evolveToken(entry.state, event);
        }
        if (tenant === this.tenants[0]) this.busy.set(tokenId, (this.busy.get(tokenId) ?? 1) + events.length);
        if (entry.state.status !== 'active') tenant.tokens.remove(entry);
        return;
      }
      case 'createConnection': {
        const integrationIndex = Math.floor(this.random() * INTEGRATIONS.length);
        const name = `conn_${this.id(8)}`;
        const streamId = connectionStreamId(tenant.tenantId, INTEGRATIONS[integrationIndex]!, name);
        const connectionId = `con_${this.id(22)}`;
        return this.connectionEvents(tenant, { streamId, state: initialConnectionState }, now, meta, {
          type: 'CreateConnection',
          connectionId,
          tenantId: tenant.tenantId,
          integration: INTEGRATIONS[integrationIndex]!,
          name,
          headerName: 'X-Api-Key',
          allowedDomain: DOMAINS[integrationIndex]!,
          sealedApiKey: this.sealed(connectionId),
        });
      }
      case 'updateConnection':
      case 'deleteConnection': {
        const entry = tenant.connections.any();
        if (!entry || entry.state.status !== 'active') return this.apply('createConnection', tenant);
        return this.connectionEvents(
          tenant,
          entry,
          now,
          meta,
          operation === 'deleteConnection'
            ? { type: 'DeleteConnection' }
            : { type: 'UpdateConnection', sealedApiKey: this.sealed(`${entry.state.connectionId}.${this.id(6)}`) },
        );
      }
      case 'useConnection': {
        const entry = tenant.connections.any();
        if (!entry || entry.state.status !== 'active') return this.apply('createConnection', tenant);
        const { connectionId, integration, name, allowedDomain } = entry.state;
        const event: ConnectionUsed = {
          type: 'ConnectionUsed',
          data: { connectionId, tenantId: tenant.tenantId, integration, name, host: allowedDomain, usedAt: now.toISOString() },
        };
        return this.writer.push(accessStreamId(tenant.tenantId), event, meta());
      }
      case 'authenticationFailed': {
        const entry = tenant.tokens.any();
        const event: AuthenticationFailed = {
          type: 'AuthenticationFailed',
          data: {
            tenantId: tenant.tenantId,
            credentialId: entry && entry.state.status !== 'absent' ? entry.state.tokenId : null,
            credentialType: 'token',
            code: entry ? 'EXPIRED' : 'NOT_FOUND',
            failedAt: now.toISOString(),
          },
        };
        return this.writer.push(accessStreamId(tenant.tenantId), event, { ...meta(), actor: { type: 'system', id: 'keyledger', tenantId: null } });
      }
      case 'privilegedVerified': {
        const entry = tenant.tokens.any();
        if (!entry || entry.state.status !== 'active') return this.apply('issueToken', tenant);
        const event: PrivilegedTokenVerified = {
          type: 'PrivilegedTokenVerified',
          data: { tenantId: tenant.tenantId, tokenId: entry.state.tokenId, code: 'VALID', requiredRoles: ['keyledger:tokens:read'], verifiedAt: now.toISOString() },
        };
        return this.writer.push(accessStreamId(tenant.tenantId), event, meta());
      }
      case 'createCredential': {
        const credentialId = `pc_${this.id(22)}`;
        const secretDisplay = `klps_${this.id(4)}`;
        const [event] = decideCredential(
          {
            type: 'CreatePartnerCredential',
            credentialId,
            tenantId: tenant.tenantId,
            name: `partner ${credentialId.slice(3, 9)}`,
            subTenantIds: ['eu-1', 'us-1', 'ap-1'],
            apiKey: generateToken('klp'),
            secretDisplay,
            secretHash: this.pick(this.partnerSecretHashes),
          },
          initialPartnerCredentialState,
          now,
        );
        const streamId = partnerCredentialStreamId(credentialId);
        this.writer.push(streamId, event!, meta());
        tenant.credentials.add({ streamId, state: evolveCredential(initialPartnerCredentialState, event!) });
        return;
      }
      case 'revokeCredential': {
        const entry = tenant.credentials.any();
        if (!entry || entry.state.status !== 'active') return this.apply('createCredential', tenant);
        for (const event of decideCredential({ type: 'RevokePartnerCredential', credentialId: entry.state.credentialId, reason: null }, entry.state, now)) {
          this.writer.push(entry.streamId, event, meta());
          entry.state = evolveCredential(entry.state, event);
        }
        tenant.credentials.remove(entry);
        return;
      }
      case 'issueAccessToken': {
        const entry = tenant.credentials.any();
        if (!entry || entry.state.status !== 'active') return this.apply('createCredential', tenant);
        const jti = `pat_${this.id(22)}`;
        const [event] = decideAccessToken(
          { type: 'IssueAccessToken', jti, kid: 'sk_bench', issuer: 'http://127.0.0.1:4000', tenantId: tenant.tenantId, subTenantId: this.pick(['eu-1', 'us-1', 'ap-1']), credential: entry.state },
          initialAccessTokenState,
          now,
        );
        this.writer.push(accessTokenStreamId(jti), event!, { ...meta(), actor: { type: 'partner', id: entry.state.credentialId, tenantId: tenant.tenantId } });
        tenant.accessTokens.add({ streamId: accessTokenStreamId(jti), state: evolveAccessToken(initialAccessTokenState, event!) });
        return;
      }
      case 'revokeAccessToken': {
        const entry = tenant.accessTokens.any();
        if (!entry || entry.state.status !== 'issued') return this.apply('issueAccessToken', tenant);
        for (const event of decideAccessToken({ type: 'RevokeAccessToken', jti: entry.state.jti, reason: 'partner offboarded' }, entry.state, now)) {
          this.writer.push(entry.streamId, event, meta());
        }
        tenant.accessTokens.remove(entry);
        return;
      }
    }
  }

  private connectionEvents(
    tenant: TenantState,
    entry: PoolEntry<ConnectionState>,
    now: Date,
    meta: () => EventMetadata,
    command: Parameters<typeof decideConnection>[0],
  ): void {
    const events: ConnectionEvent[] = decideConnection(command, entry.state, now);
    for (const event of events) {
      this.writer.push(entry.streamId, event, meta());
      entry.state = evolveConnection(entry.state, event);
    }
    if (entry.state.status === 'active') {
      if (command.type === 'CreateConnection') tenant.connections.add(entry);
    } else tenant.connections.remove(entry);
  }

  /** The shape of a key sealed under its own data key (AES-GCM ciphertext, base64url). */
  private sealed(dataKeyId: string): { dataKeyId: string; ciphertext: string } {
    return { dataKeyId, ciphertext: `v1.${randomBytes(60).toString('base64url')}` };
  }
}
