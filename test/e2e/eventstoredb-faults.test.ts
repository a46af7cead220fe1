import Database from 'better-sqlite3';
import { join } from 'node:path';
import { EsdbDouble } from '../helpers/esdb-double';
import { eventually, issueToken, ROOT_SECRET } from '../helpers/gateway';
import { runCli, spawnGateway, type GatewayProcess } from '../helpers/gateway-process';
import { graphql, ISSUE_TOKEN, REVOKE_TOKEN, VERIFY_TOKEN, type GraphQLResponse } from '../helpers/graphql-client';
import { makeTempDir } from '../helpers/temp-dir';

const MASTER_KEY = Buffer.alloc(32, 11).toString('base64');
const TOKEN_QUERY = `query Token($id: ID!) { token(id: $id) { id status } }`;
/** Bounds on waiting for the gateway to notice things; liveness limits, not performance thresholds. */
const NOTICE_MS = 20_000;

type Phase = 'before' | 'outage' | 'after';

interface Outcome {
  op: 'issue' | 'revoke';
  /** The token issued, or the token the revocation named; unknown for a failed issue. */
  id: string | null;
  secret: string | null;
  acknowledged: boolean;
  code?: string;
  reason?: string;
  sentIn: Phase;
  answeredIn: Phase;
}

const acknowledged = (response: GraphQLResponse) => response.status === 200 && response.errors === undefined;

/**
 * A steady stream of issue and revoke mutations from a few concurrent clients, recording
 * what each was told. It can be paused: `pause()` resolves once nothing is in flight, so every
 * request sent in a phase has been answered before the test moves to the next one.
 */
class Load {
  phase: Phase = 'before';
  readonly outcomes: Outcome[] = [];
  private readonly revocable: string[] = [];
  private readonly loops: Promise<void>[];
  private running = true;
  private paused = false;
  private inFlight = 0;
  private failure: unknown = null;

  constructor(
    private readonly url: string,
    private readonly bearer: string,
    workers: number,
  ) {
    this.loops = Array.from({ length: workers }, (_, worker) =>
      this.loop(worker).catch((error: unknown) => {
        this.failure ??= error;
        this.running = false;
      }),
    );
  }

  count(predicate: (outcome: Outcome) => boolean): number {
    return this.outcomes.filter(predicate).length;
  }

  async pause(): Promise<void> {
    this.paused = true;
    await eventually(() => this.inFlight === 0 || this.failure !== null, NOTICE_MS);
    this.rethrow();
  }

  resume(): void {
    this.paused = false;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.rethrow();
  }

  private rethrow(): void {
    if (this.failure) throw this.failure;
  }

  private async loop(worker: number): Promise<void> {
    for (let n = 0; this.running; n++) {
      if (this.paused) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        continue;
      }
      const sentIn = this.phase;
      this.inFlight += 1;
      try {
        const target = n % 2 === 1 ? this.revocable.shift() : undefined;
        if (target) {
          const response = await graphql(this.url, REVOKE_TOKEN, { input: { id: target, reason: 'load' } }, this.bearer);
          this.record({ op: 'revoke', id: target, secret: null, sentIn }, response);
        } else {
          const response = await graphql(this.url, ISSUE_TOKEN, { input: { name: `load ${worker}-${n}` } }, this.bearer);
          const issued = response.data?.issueToken;
          this.record({ op: 'issue', id: issued?.token.id ?? null, secret: issued?.secret ?? null, sentIn }, response);
          // Some tokens stay untouched, so there are settled ACTIVE ones to check as well as REVOKED ones.
          if (acknowledged(response) && n % 4 !== 0) this.revocable.push(issued.token.id);
        }
      } finally {
        this.inFlight -= 1;
      }
    }
  }

  private record(outcome: Pick<Outcome, 'op' | 'id' | 'secret' | 'sentIn'>, response: GraphQLResponse): void {
    const error = response.errors?.[0];
    this.outcomes.push({
      ...outcome,
      acknowledged: acknowledged(response),
      code: error?.extensions?.code,
      reason: error?.extensions?.reason,
      answeredIn: this.phase,
    });
  }
}

function dumpReadModels(dataDir: string) {
  const db = new Database(join(dataDir, 'readmodels.db'), { readonly: true });
  try {
    return {
      tokens: db.prepare('SELECT * FROM tokens ORDER BY seq').all(),
      checkpoints: db.prepare('SELECT * FROM projection_checkpoints ORDER BY projection').all(),
    };
  } finally {
    db.close();
  }
}

async function readyStatus(url: string): Promise<number> {
  return (await fetch(`${url}/readyz`)).status;
}

describe('gateway on EventStoreDB: the server dies under load and comes back', () => {
  const temps: Array<{ path: string; remove(): void }> = [];
  let double: EsdbDouble | undefined;
  let gateway: GatewayProcess | undefined;
  let load: Load | undefined;

  const tempDir = () => {
    const temp = makeTempDir('keyledger-faults');
    temps.push(temp);
    return temp.path;
  };

  afterEach(async () => {
    await load?.stop().catch(() => undefined);
    await gateway?.kill('SIGKILL');
    await double?.close();
    [load, gateway, double] = [undefined, undefined, undefined];
    temps.splice(0).forEach((temp) => temp.remove());
  });

  test('nothing acknowledged is lost, outage writes fail fast, readiness follows the feed, and the read models equal a fresh rebuild', async () => {
    double = await EsdbDouble.start();
    const store = { EVENTSTORE_CONNECTION_STRING: double.connectionString, KEYLEDGER_MASTER_KEY: MASTER_KEY };
    const dataDir = tempDir();
    gateway = await spawnGateway(dataDir, store);
    const { url } = gateway;
    const { secret: admin } = await issueToken(url, ROOT_SECRET, { name: 'faults admin', tenantId: 'faults', roles: ['keyledger:admin'] });

    load = new Load(url, admin, 3);
    await eventually(() => load!.count((o) => o.acknowledged && o.op === 'revoke') >= 10, NOTICE_MS);

    // The kill lands wherever the load happens to be: requests in flight get either answer.
    await double.stop();
    load.phase = 'outage';
    await eventually(async () => (await readyStatus(url)) === 503, NOTICE_MS);
    await eventually(() => load!.count((o) => o.sentIn === 'outage') >= 10, NOTICE_MS);
    // Settles only if every request sent during the outage was answered while the server was still down.
    await load.pause();

    const duringOutage = load.outcomes.filter((o) => o.sentIn === 'outage');
    expect(duringOutage.length).toBeGreaterThanOrEqual(10);
    for (const outcome of duringOutage) {
      expect(outcome).toMatchObject({ acknowledged: false, code: 'INTERNAL_SERVER_ERROR', reason: 'UNAVAILABLE', answeredIn: 'outage' });
    }
    expect(await readyStatus(url)).toBe(503);

    // Reads keep being served from the local read models.
    const settled = load.outcomes.find((o) => o.op === 'issue' && o.acknowledged && !load!.outcomes.some((r) => r.op === 'revoke' && r.id === o.id));
    const verification = await graphql(url, VERIFY_TOKEN, { token: settled!.secret }, admin);
    expect(verification.data!.verifyToken).toMatchObject({ valid: true, code: 'VALID', token: { id: settled!.id } });

    await double.restart();
    load.phase = 'after';
    load.resume();
    await eventually(async () => (await readyStatus(url)) === 200, NOTICE_MS);
    await eventually(() => load!.count((o) => o.sentIn === 'after' && o.acknowledged) >= 10, NOTICE_MS);
    await load.stop();

    const errors = load.outcomes.filter((o) => !o.acknowledged);
    for (const outcome of errors) expect(outcome).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', reason: 'UNAVAILABLE' });
    // Outside the outage only requests the kill caught in flight may fail: once the server is
    // back, the same gateway process writes again without being restarted.
    expect(errors.filter((o) => o.sentIn !== 'outage')).toEqual(errors.filter((o) => o.sentIn === 'before' && o.answeredIn === 'outage'));

    const revokedAcknowledged = new Set(load.outcomes.filter((o) => o.op === 'revoke' && o.acknowledged).map((o) => o.id));
    const revokeAttempted = new Set(load.outcomes.filter((o) => o.op === 'revoke').map((o) => o.id));
    const issuedAcknowledged = load.outcomes.filter((o) => o.op === 'issue' && o.acknowledged);
    expect(issuedAcknowledged.length).toBeGreaterThanOrEqual(20);
    for (const issued of issuedAcknowledged) {
      const response = await graphql(url, TOKEN_QUERY, { id: issued.id }, admin);
      expect(response.errors).toBeUndefined();
      const token = response.data!.token;
      expect(token).not.toBeNull();
      if (revokedAcknowledged.has(issued.id)) expect(token.status).toBe('REVOKED');
      // A revocation that failed may or may not have been recorded; one never attempted must not be.
      else if (!revokeAttempted.has(issued.id)) expect(token.status).toBe('ACTIVE');
      const verified = await graphql(url, VERIFY_TOKEN, { token: issued.secret }, admin);
      expect(verified.data!.verifyToken.code).toBe(token.status === 'ACTIVE' ? 'VALID' : 'REVOKED');
    }
    for (const id of revokedAcknowledged) expect(issuedAcknowledged.some((o) => o.id === id)).toBe(true);

    expect(await gateway.kill('SIGTERM')).toBe(0);
    gateway = undefined;

    // Every column is compared, `seq` included: rows are numbered in log order, which a
    // replay reproduces, and the checkpoint is a log position, not a local counter.
    const served = dumpReadModels(dataDir);
    // The bootstrap root and the admin, plus anything whose answer the kill swallowed after it was recorded.
    expect(served.tokens.length).toBeGreaterThanOrEqual(issuedAcknowledged.length + 2);

    const fresh = tempDir();
    const rebuiltFresh = await runCli(['rebuild'], { ...store, KEYLEDGER_DATA_DIR: fresh, LOG_LEVEL: 'warn' });
    expect(rebuiltFresh).toMatchObject({ code: 0, stdout: expect.stringMatching(/^rebuilt \d+ read model\(s\) from \d+ event\(s\)/) });
    expect(dumpReadModels(fresh)).toEqual(served);

    // Rebuilding over the served read models must drop and replay them, not merge into them.
    const copy = tempDir();
    const source = new Database(join(dataDir, 'readmodels.db'), { readonly: true });
    try {
      await source.backup(join(copy, 'readmodels.db'));
    } finally {
      source.close();
    }
    const tampered = new Database(join(copy, 'readmodels.db'));
    try {
      tampered.exec("UPDATE tokens SET revoked_at = NULL, name = 'tampered'; DELETE FROM tokens WHERE seq % 3 = 0");
    } finally {
      tampered.close();
    }
    expect(dumpReadModels(copy)).not.toEqual(served);
    const rebuiltCopy = await runCli(['rebuild'], { ...store, KEYLEDGER_DATA_DIR: copy, LOG_LEVEL: 'warn' });
    expect(rebuiltCopy.code).toBe(0);
    expect(dumpReadModels(copy)).toEqual(served);
  }, 120_000);
});
