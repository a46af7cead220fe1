import Database from 'better-sqlite3';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, ROOT_SECRET } from '../helpers/gateway';
import { runCli, spawnGateway, type GatewayProcess } from '../helpers/gateway-process';
import { graphql } from '../helpers/graphql-client';
import { dumpReadModels } from '../helpers/read-models';
import { makeTempDir } from '../helpers/temp-dir';
import { testSeed } from '../helpers/seed';

/**
 * Crash safety of the compiled gateway on the embedded store: a steady stream of mutations,
 * SIGKILL at a random moment (50-400 ms after the window's first answer), restart on the
 * same data directory, 20 times; then the same with 40 mutations in flight, so that kills cut
 * through group commits (many appends in one transaction, applied to the read models in one
 * batch), 6 times, each window opening after 40 answers. After every
 * restart each acknowledged mutation must be visible and the log must hold nothing
 * half-written; every COMPARE_EVERY cycles (and after the last) the gateway is stopped and
 * its read models must equal a fresh `rebuild` of a copy of the data directory.
 *
 * The run is driven by a seeded random generator (printed; fixed under CI; set
 * CRASH_SAFETY_SEED to repeat a run's choices, although the kill lands wherever the requests
 * happen to be).
 */

const CYCLES = 20;
const COMPARE_EVERY = 5;
const IN_FLIGHT = 4;
/*
 * Enough concurrent mutations that the embedded store commits many appends in one group
 * transaction and the projections apply them in one batch, so kills land inside groups.
 */
const GROUP_CYCLES = 6;
const GROUP_IN_FLIGHT = 40;
const TENANT = 'crash';
const ALLOWED_DOMAIN = 'api.example.com';
const USE_URL = `https://${ALLOWED_DOMAIN}/v1/ping`;
const TENANT_ROLES = ['orders:read', 'orders:write', 'deploy', 'billing'];
const ENV = {
  KEYLEDGER_RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '0',
  KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_MINUTE: '0',
  KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_IP_PER_MINUTE: '0',
};

/** mulberry32: small, seedable, good enough to pick operations and windows. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * What the acknowledged mutations imply. An entity whose last mutation got no answer (the
 * kill came first) is `pending`: its next check accepts the state before or after that
 * mutation, adopts what it finds, and it is then tracked exactly again.
 */
interface TrackedToken {
  id: string;
  /** Latest known secret; null once a rotation whose answer was lost has been applied. */
  secret: string | null;
  retiredSecrets: string[];
  roles: string[];
  revoked: boolean;
  code: string | null;
  integrationId: string | null;
  busy: boolean;
  pending: { kind: 'update'; roles: string[] } | { kind: 'rotate' } | { kind: 'revoke' } | null;
}

interface ConnectionVersion {
  headerName: string;
  apiKey: string;
}

interface TrackedConnection {
  integration: string;
  name: string;
  /** null: deleted (or never created). */
  current: ConnectionVersion | null;
  busy: boolean;
  /** The other state the connection may be in after a lost answer. */
  pending: { alternative: ConnectionVersion | null } | null;
  /** Its key has not been fetched through useApiKeyConnection since it last changed. */
  unchecked: boolean;
}

interface TrackedPartner {
  id: string;
  apiKey: string;
  apiSecret: string;
  revoked: boolean;
  busy: boolean;
  pending: boolean;
  /** The exchange outcome matching `revoked` has not been checked yet. */
  unchecked: boolean;
}

type Outcome = { kind: 'ok'; data: Record<string, any> } | { kind: 'lost' };

class Ledger {
  readonly tokens: TrackedToken[] = [];
  readonly connections: TrackedConnection[] = [];
  readonly partners: TrackedPartner[] = [];
  readonly unexpected: string[] = [];
  /** Acknowledged mutations by root field. */
  readonly done = new Map<string, number>();
  acknowledged = 0;
  lost = 0;
  private counter = 0;

  constructor(
    private readonly random: () => number,
    private readonly inFlight = IN_FLIGHT,
  ) {}

  /** Sends mutations, `inFlight` at a time, until `stopped()`; every answer is recorded. */
  async drive(url: string, stopped: () => boolean): Promise<void> {
    await Promise.all(
      Array.from({ length: this.inFlight }, async () => {
        while (!stopped()) await this.step(url);
      }),
    );
  }

  private async send(url: string, query: string, variables: Record<string, unknown>): Promise<Outcome> {
    let response;
    try {
      response = await graphql(url, query, variables, ROOT_SECRET);
    } catch {
      this.lost++;
      return { kind: 'lost' };
    }
    if (response.errors || !response.data) {
      this.unexpected.push(`${query.slice(0, 60)}: ${response.raw.slice(0, 300)}`);
      return { kind: 'lost' };
    }
    this.acknowledged++;
    const field = Object.keys(response.data)[0];
    this.done.set(field, (this.done.get(field) ?? 0) + 1);
    return { kind: 'ok', data: response.data };
  }

  private pick<T extends { busy: boolean; pending: unknown }>(items: T[], usable: (item: T) => boolean): T | null {
    const candidates = items.filter((item) => !item.busy && !item.pending && usable(item));
    return candidates.length === 0 ? null : candidates[Math.floor(this.random() * candidates.length)];
  }

  private roles(): string[] {
    return TENANT_ROLES.filter(() => this.random() < 0.5);
  }

  private async step(url: string): Promise<void> {
    const roll = this.random() * 16;
    if (roll < 5) return this.issue(url);
    if (roll < 7) return this.updateToken(url);
    if (roll < 9) return this.rotateToken(url);
    if (roll < 10) return this.revokeToken(url);
    if (roll < 12) return this.createConnection(url);
    if (roll < 13) return this.updateConnection(url);
    if (roll < 14) return this.deleteConnection(url);
    // Partner credentials cost an argon2 hash each, so fewer of their creations finish before a kill.
    if (roll < 15.5) return this.createPartner(url);
    return this.revokePartner(url);
  }

  private async issue(url: string): Promise<void> {
    const n = this.counter++;
    const kind = (['API_TOKEN', 'API_TOKEN', 'WEBHOOK_TOKEN', 'INTEGRATION_KEY'] as const)[n % 4];
    const roles = this.roles();
    const code = kind === 'API_TOKEN' && this.random() < 0.5 ? `bot-${n}` : null;
    const integrationId = kind === 'INTEGRATION_KEY' ? `int-${Math.floor(n / 12)}` : null;
    const input = {
      name: `crash ${n}`,
      kind,
      roles,
      tenantId: TENANT,
      ...(code ? { code } : {}),
      ...(kind === 'WEBHOOK_TOKEN' ? { ownerId: `user-${n % 5}` } : {}),
      ...(integrationId ? { integrationId } : {}),
    };
    const outcome = await this.send(url, 'mutation($input: IssueTokenInput!) { issueToken(input: $input) { secret token { id } } }', { input });
    if (outcome.kind === 'ok') {
      const { secret, token } = outcome.data.issueToken;
      this.tokens.push({ id: token.id, secret, retiredSecrets: [], roles, revoked: false, code, integrationId, busy: false, pending: null });
    }
  }

  private async updateToken(url: string): Promise<void> {
    const token = this.pick(this.tokens, (t) => !t.revoked && t.secret !== null);
    if (!token) return this.issue(url);
    token.busy = true;
    const roles = this.roles();
    const outcome = await this.send(url, 'mutation($input: UpdateTokenInput!) { updateToken(input: $input) { id roles } }', {
      input: { id: token.id, roles, name: `updated ${this.counter++}` },
    });
    if (outcome.kind === 'ok') token.roles = roles;
    else token.pending = { kind: 'update', roles };
    token.busy = false;
  }

  private async rotateToken(url: string): Promise<void> {
    const token = this.pick(this.tokens, (t) => !t.revoked && t.secret !== null);
    if (!token) return this.issue(url);
    token.busy = true;
    const outcome = await this.send(url, 'mutation($input: RotateTokenInput!) { rotateToken(input: $input) { secret token { id } } }', {
      input: { id: token.id, gracePeriodSeconds: 0 },
    });
    if (outcome.kind === 'ok') {
      token.retiredSecrets.push(token.secret!);
      token.secret = outcome.data.rotateToken.secret;
    } else token.pending = { kind: 'rotate' };
    token.busy = false;
  }

  private async revokeToken(url: string): Promise<void> {
    const token = this.pick(this.tokens, (t) => !t.revoked);
    if (!token) return this.issue(url);
    token.busy = true;
    const outcome = await this.send(url, 'mutation($input: RevokeTokenInput!) { revokeToken(input: $input) { id status } }', {
      input: { id: token.id, reason: 'crash drill' },
    });
    if (outcome.kind === 'ok') token.revoked = true;
    else token.pending = { kind: 'revoke' };
    token.busy = false;
  }

  private version(): ConnectionVersion {
    const n = this.counter++;
    return { headerName: `x-api-key-${n % 7}`, apiKey: `third-party-key-${n}-${Math.floor(this.random() * 1e9)}` };
  }

  private async createConnection(url: string): Promise<void> {
    const reusable = this.pick(this.connections, (c) => c.current === null);
    const connection: TrackedConnection = reusable ?? {
      integration: `zis-${this.counter % 3}`,
      name: `conn-${this.counter++}`,
      current: null,
      busy: false,
      pending: null,
      unchecked: false,
    };
    if (!reusable) this.connections.push(connection);
    connection.busy = true;
    const version = this.version();
    const outcome = await this.send(url, 'mutation($input: CreateApiKeyConnectionInput!) { createApiKeyConnection(input: $input) { name } }', {
      input: { integration: connection.integration, name: connection.name, ...version, allowedDomain: ALLOWED_DOMAIN, tenantId: TENANT },
    });
    if (outcome.kind === 'ok') {
      connection.current = version;
      connection.unchecked = true;
    } else connection.pending = { alternative: version };
    connection.busy = false;
  }

  private async updateConnection(url: string): Promise<void> {
    const connection = this.pick(this.connections, (c) => c.current !== null);
    if (!connection) return this.createConnection(url);
    connection.busy = true;
    const version = this.version();
    const outcome = await this.send(url, 'mutation($input: UpdateApiKeyConnectionInput!) { updateApiKeyConnection(input: $input) { name } }', {
      input: { integration: connection.integration, name: connection.name, tenantId: TENANT, ...version },
    });
    if (outcome.kind === 'ok') {
      connection.current = version;
      connection.unchecked = true;
    } else connection.pending = { alternative: version };
    connection.busy = false;
  }

  private async deleteConnection(url: string): Promise<void> {
    const connection = this.pick(this.connections, (c) => c.current !== null);
    if (!connection) return this.createConnection(url);
    connection.busy = true;
    const outcome = await this.send(url, 'mutation($i: String!, $n: String!, $t: ID) { deleteApiKeyConnection(integration: $i, name: $n, tenantId: $t) }', {
      i: connection.integration,
      n: connection.name,
      t: TENANT,
    });
    if (outcome.kind === 'ok') connection.current = null;
    else connection.pending = { alternative: null };
    connection.busy = false;
  }

  private async createPartner(url: string): Promise<void> {
    const outcome = await this.send(
      url,
      'mutation($input: CreatePartnerCredentialInput!) { createPartnerCredential(input: $input) { apiKey apiSecret credential { id } } }',
      { input: { name: `partner ${this.counter++}`, subTenantIds: [], tenantId: TENANT } },
    );
    if (outcome.kind === 'ok') {
      const created = outcome.data.createPartnerCredential;
      this.partners.push({ id: created.credential.id, apiKey: created.apiKey, apiSecret: created.apiSecret, revoked: false, busy: false, pending: false, unchecked: true });
    }
  }

  private async revokePartner(url: string): Promise<void> {
    const tracked = this.pick(this.partners, (p) => !p.revoked);
    if (!tracked) return this.createPartner(url);
    tracked.busy = true;
    const outcome = await this.send(url, 'mutation($input: RevokePartnerCredentialInput!) { revokePartnerCredential(input: $input) { id status } }', {
      input: { id: tracked.id, reason: 'crash drill' },
    });
    if (outcome.kind === 'ok') {
      tracked.revoked = true;
      tracked.unchecked = true;
    } else tracked.pending = true;
    tracked.busy = false;
  }
}

/** Runs one GraphQL document made of many aliased fields, in chunks, and returns every alias' value. */
async function batched<T>(
  url: string,
  operation: 'query' | 'mutation',
  items: T[],
  field: (item: T, index: number) => { args: string; variables: Record<string, [string, unknown]>; selection: string },
): Promise<Array<Record<string, any> | null>> {
  const results: Array<Record<string, any> | null> = [];
  for (let start = 0; start < items.length; start += 40) {
    const chunk = items.slice(start, start + 40);
    const declarations: string[] = [];
    const variables: Record<string, unknown> = {};
    const fields = chunk.map((item, i) => {
      const { args, variables: vars, selection } = field(item, i);
      for (const [name, [type, value]] of Object.entries(vars)) {
        declarations.push(`$${name}: ${type}`);
        variables[name] = value;
      }
      return `a${i}: ${args} ${selection}`;
    });
    const response = await graphql(url, `${operation}(${declarations.join(', ')}) { ${fields.join('\n')} }`, variables, ROOT_SECRET);
    if (response.errors) throw new Error(`verification request failed: ${response.raw}`);
    chunk.forEach((_, i) => results.push(response.data![`a${i}`]));
  }
  return results;
}

/** Every acknowledged mutation is visible; pending ones resolve to their before or after state. */
async function verifyAcknowledged(url: string, ledger: Ledger): Promise<void> {
  const withSecret = ledger.tokens.filter((t) => t.secret !== null);
  const verified = await batched(url, 'query', withSecret, (t, i) => ({
    args: `verifyToken(token: $s${i})`,
    variables: { [`s${i}`]: ['String!', t.secret] },
    selection: '{ valid code token { id roles status } }',
  }));
  withSecret.forEach((token, i) => {
    const result = verified[i]!;
    const context = `token ${token.id} (pending: ${JSON.stringify(token.pending)})`;
    const pending = token.pending;
    token.pending = null;
    if (pending?.kind === 'rotate' && result.code === 'REVOKED') {
      // The rotation was applied; its new secret never reached the client.
      token.retiredSecrets.push(token.secret!);
      token.secret = null;
      return;
    }
    if (pending?.kind === 'revoke') token.revoked = result.code === 'REVOKED';
    expect({ context, code: result.code, id: result.token?.id }).toEqual({ context, code: token.revoked ? 'REVOKED' : 'VALID', id: token.id });
    if (pending?.kind === 'update' && [...result.token.roles].sort().join() === [...pending.roles].sort().join()) token.roles = pending.roles;
    expect({ context, roles: [...result.token.roles].sort() }).toEqual({ context, roles: [...token.roles].sort() });
  });

  const retired = ledger.tokens.flatMap((t) => t.retiredSecrets.map((secret) => ({ id: t.id, secret })));
  const retiredResults = await batched(url, 'query', retired, (r, i) => ({
    args: `verifyToken(token: $s${i})`,
    variables: { [`s${i}`]: ['String!', r.secret] },
    selection: '{ code token { id } }',
  }));
  retired.forEach((r, i) => expect({ id: r.id, code: retiredResults[i]!.code }).toEqual({ id: r.id, code: 'REVOKED' }));

  const sealed = ledger.tokens.filter((t) => t.secret === null);
  const sealedResults = await batched(url, 'query', sealed, (t, i) => ({
    args: `token(id: $id${i})`,
    variables: { [`id${i}`]: ['ID!', t.id] },
    selection: '{ id status }',
  }));
  sealed.forEach((t, i) => expect(sealedResults[i]).toEqual({ id: t.id, status: t.revoked ? 'REVOKED' : 'ACTIVE' }));

  const found = await batched(url, 'query', ledger.connections, (c, i) => ({
    args: `apiKeyConnection(integration: $i${i}, name: $n${i}, tenantId: $t${i})`,
    variables: { [`i${i}`]: ['String!', c.integration], [`n${i}`]: ['String!', c.name], [`t${i}`]: ['ID', TENANT] },
    selection: '{ name headerName apiKey }',
  }));
  ledger.connections.forEach((connection, i) => {
    const row = found[i];
    const context = `${connection.integration}/${connection.name} (pending: ${JSON.stringify(connection.pending)})`;
    const versions = [connection.current, ...(connection.pending ? [connection.pending.alternative] : [])];
    if (row === null) {
      expect({ context, mayBeAbsent: versions.includes(null) }).toEqual({ context, mayBeAbsent: true });
      connection.current = null;
      connection.pending = null;
      connection.unchecked = false;
      return;
    }
    const headers = versions.filter((v): v is ConnectionVersion => v !== null).map((v) => v.headerName);
    expect({ context, name: row.name, apiKey: row.apiKey, headerExpected: headers.includes(row.headerName) }).toEqual({
      context,
      name: connection.name,
      apiKey: '*****',
      headerExpected: true,
    });
    // Which of two versions is in place is settled by the key itself, below.
    if (connection.pending) connection.unchecked = true;
  });
  const toUse = ledger.connections.filter((c) => c.unchecked);
  const used = await batched(url, 'mutation', toUse, (c, i) => ({
    args: `useApiKeyConnection(integration: $i${i}, name: $n${i}, tenantId: $t${i}, url: $u${i})`,
    variables: { [`i${i}`]: ['String!', c.integration], [`n${i}`]: ['String!', c.name], [`t${i}`]: ['ID', TENANT], [`u${i}`]: ['String!', USE_URL] },
    selection: '{ headerName apiKey }',
  }));
  toUse.forEach((connection, i) => {
    const got = used[i]!;
    const versions = [connection.current, connection.pending?.alternative ?? null].filter((v): v is ConnectionVersion => v !== null);
    const match = versions.find((v) => v.apiKey === got.apiKey && v.headerName === got.headerName);
    expect({ connection: connection.name, got, matches: match !== undefined }).toEqual({ connection: connection.name, got, matches: true });
    connection.current = match!;
    connection.pending = null;
    connection.unchecked = false;
  });

  const partners = await batched(url, 'query', ledger.partners, (p, i) => ({
    args: `partnerCredential(id: $id${i})`,
    variables: { [`id${i}`]: ['ID!', p.id] },
    selection: '{ id status }',
  }));
  ledger.partners.forEach((partner, i) => {
    if (partner.pending) {
      partner.revoked = partners[i]?.status === 'REVOKED';
      partner.pending = false;
      partner.unchecked = true;
    }
    expect(partners[i]).toEqual({ id: partner.id, status: partner.revoked ? 'REVOKED' : 'ACTIVE' });
  });
  for (const partner of ledger.partners.filter((p) => p.unchecked)) {
    const exchange = await graphql(
      url,
      'mutation($k: String!, $s: String!, $t: ID!, $st: ID!) { exchangePartnerCredential(apiKey: $k, apiSecret: $s, tenantId: $t, subTenantId: $st) { tokenType } }',
      { k: partner.apiKey, s: partner.apiSecret, t: TENANT, st: 'branch-1' },
    );
    if (partner.revoked) expect(exchange.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    else expect(exchange.data?.exchangePartnerCredential).toEqual({ tokenType: 'Bearer' });
    partner.unchecked = false;
  }
}

interface LoggedEvent {
  position: number;
  stream_id: string;
  revision: number;
  type: string;
  data: string;
}

/**
 * Nothing half-written: every stream's revisions run 0..n with the stream table agreeing;
 * every token row comes from a complete issue (its TokenIssued, no abandonment, and the
 * code or integration slot claimed for it), every connection and partner row from its
 * stream, and every complete issue the projection has passed has its row.
 */
function checkLogAndReadModels(dataDir: string, acknowledgedTokenIds: string[]): void {
  const events = new Database(join(dataDir, 'events.db'), { readonly: true });
  const models = new Database(join(dataDir, 'readmodels.db'), { readonly: true });
  try {
    const broken = events
      .prepare(
        `SELECT e.stream_id, count(*) AS n, min(e.revision) AS lo, max(e.revision) AS hi, s.revision AS recorded
         FROM events e LEFT JOIN streams s ON s.stream_id = e.stream_id GROUP BY e.stream_id
         HAVING lo <> 0 OR hi <> n - 1 OR recorded IS NULL OR recorded <> hi`,
      )
      .all();
    expect(broken).toEqual([]);
    const orphanStreams = events.prepare('SELECT stream_id FROM streams WHERE stream_id NOT IN (SELECT stream_id FROM events)').all();
    expect(orphanStreams).toEqual([]);

    const log = events.prepare('SELECT position, stream_id, revision, type, data FROM events ORDER BY position').all() as LoggedEvent[];
    const byStream = new Map<string, LoggedEvent[]>();
    for (const event of log) byStream.set(event.stream_id, [...(byStream.get(event.stream_id) ?? []), event]);
    const checkpoint = (projection: string): number => {
      const row = models.prepare('SELECT position FROM projection_checkpoints WHERE projection = ?').get(projection) as { position: string | null } | undefined;
      return row?.position ? Number(row.position) : 0;
    };

    const claimed = new Set(
      log
        .filter((e) => e.type === 'TokenCodeReserved' || e.type === 'IntegrationKeySlotTaken')
        .map((e) => `${e.type}:${(JSON.parse(e.data) as { tokenId: string }).tokenId}`),
    );
    const tokenRows = models.prepare('SELECT id, code, integration_id FROM tokens').all() as Array<{ id: string; code: string | null; integration_id: string | null }>;
    const complete = (id: string) => {
      const stream = byStream.get(`token-${id}`) ?? [];
      return stream[0]?.type === 'TokenIssued' && !stream.some((e) => e.type === 'TokenIssueAbandoned');
    };
    for (const row of tokenRows) {
      expect({ id: row.id, complete: complete(row.id) }).toEqual({ id: row.id, complete: true });
      if (row.code !== null) expect(claimed).toContain(`TokenCodeReserved:${row.id}`);
      if (row.integration_id !== null) expect(claimed).toContain(`IntegrationKeySlotTaken:${row.id}`);
    }
    const projected = checkpoint('tokens');
    const rowIds = new Set(tokenRows.map((row) => row.id));
    const issuedIds = log.filter((e) => e.type === 'TokenIssued' && e.position <= projected).map((e) => e.stream_id.slice('token-'.length));
    expect(issuedIds.filter((id) => !rowIds.has(id))).toEqual([]);
    expect(acknowledgedTokenIds.filter((id) => !complete(id))).toEqual([]);

    const connectionRows = models.prepare('SELECT tenant_id, integration, name FROM api_key_connections').all() as Array<Record<string, string>>;
    const liveConnections = [...byStream.entries()]
      .filter(([stream]) => stream.startsWith('connection-'))
      .filter(([, stream]) => {
        const seen = stream.filter((e) => e.position <= checkpoint('connections'));
        return seen.length > 0 && seen[seen.length - 1].type !== 'ConnectionDeleted';
      })
      .map(([stream]) => stream)
      .sort();
    expect(connectionRows.map((row) => `connection-${row.tenant_id}/${row.integration}/${row.name}`).sort()).toEqual(liveConnections);

    const partnerRows = models.prepare('SELECT id FROM partner_credentials').all() as Array<{ id: string }>;
    for (const { id } of partnerRows) expect(byStream.get(`partner-credential-${id}`)?.[0]?.type).toBe('PartnerCredentialCreated');
  } finally {
    events.close();
    models.close();
  }
}

describe('crash safety', () => {
  const temps: Array<{ remove(): void }> = [];
  let running: GatewayProcess | null = null;

  afterAll(async () => {
    await running?.kill('SIGKILL');
    temps.forEach((temp) => temp.remove());
  });

  async function start(dataDir: string): Promise<GatewayProcess> {
    running = await spawnGateway(dataDir, ENV);
    return running;
  }

  /** `opensAfter`: answers each cycle waits for before its random window, so every kill lands in a running stream. */
  async function crashCycles(cycles: number, inFlight: number, opensAfter: number): Promise<void> {
    const seed = testSeed('crash-safety', 'CRASH_SAFETY_SEED');
    const random = seededRandom(seed);
    const ledger = new Ledger(random, inFlight);
    const data = makeTempDir('crash-safety');
    temps.push(data);

    let gateway = await start(data.path);
    const compared: number[] = [];
    for (let cycle = 1; cycle <= cycles; cycle++) {
      const windowMs = 50 + Math.floor(random() * 350);
      let stopped = false;
      const before = ledger.acknowledged;
      const driving = ledger.drive(gateway.url, () => stopped);
      try {
        await eventually(() => ledger.acknowledged >= before + opensAfter, 60_000, 5);
        await new Promise((resolve) => setTimeout(resolve, windowMs));
      } finally {
        stopped = true;
      }
      expect(await gateway.kill('SIGKILL')).toBe('SIGKILL');
      await driving;
      expect({ cycle, seed, unexpected: ledger.unexpected }).toEqual({ cycle, seed, unexpected: [] });

      const t0 = Date.now();
      gateway = await start(data.path);
      const t1 = Date.now();
      await verifyAcknowledged(gateway.url, ledger);
      checkLogAndReadModels(data.path, ledger.tokens.map((t) => t.id));
      process.stdout.write(
        `cycle ${cycle}: window ${windowMs} ms; ${ledger.acknowledged} acknowledged, ${ledger.lost} unanswered so far; ` +
          `restart ${t1 - t0} ms, checks ${Date.now() - t1} ms\n`,
      );

      if (cycle % COMPARE_EVERY === 0 || cycle === cycles) {
        expect(await gateway.kill('SIGTERM')).toBe(0);
        running = null;
        const copy = makeTempDir('crash-safety-rebuild');
        temps.push(copy);
        cpSync(data.path, copy.path, { recursive: true });
        const rebuild = await runCli(['rebuild'], { KEYLEDGER_DATA_DIR: copy.path, LOG_LEVEL: 'warn' });
        expect({ cycle, code: rebuild.code, stderr: rebuild.stderr }).toEqual({ cycle, code: 0, stderr: '' });
        expect(dumpReadModels(data.path)).toEqual(dumpReadModels(copy.path));
        copy.remove();
        compared.push(cycle);
        if (cycle < cycles) gateway = await start(data.path);
      }
    }

    process.stdout.write(
      `crash-safety: ${ledger.acknowledged} acknowledged and ${ledger.lost} unanswered mutations; ` +
        `${JSON.stringify(Object.fromEntries(ledger.done))}; ` +
        `read models compared with a rebuild after cycles ${compared.join(', ')}\n`,
    );
    // The workload really exercised every kind of change, and kills really cut requests off.
    const kinds = ['issueToken', 'updateToken', 'rotateToken', 'revokeToken', 'createApiKeyConnection', 'updateApiKeyConnection', 'deleteApiKeyConnection'];
    expect(kinds.filter((kind) => !ledger.done.get(kind))).toEqual([]);
    expect(ledger.lost).toBeGreaterThan(0);
  }

  it(`keeps every acknowledged mutation through ${CYCLES} SIGKILLs at random moments`, () => crashCycles(CYCLES, IN_FLIGHT, 1), 600_000);

  it(`keeps every acknowledged mutation through ${GROUP_CYCLES} SIGKILLs with ${GROUP_IN_FLIGHT} mutations in flight (kills inside group commits)`, () =>
    crashCycles(GROUP_CYCLES, GROUP_IN_FLIGHT, GROUP_IN_FLIGHT), 600_000);
});
