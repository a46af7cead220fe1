import Database from 'better-sqlite3';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { graphql, ISSUE_TOKEN, REVOKE_TOKEN, VERIFY_TOKEN } from '../helpers/graphql-client';
import { eventually, issueToken, ROOT_SECRET } from '../helpers/gateway';
import { GatewayFleet, type GatewayProcess } from '../helpers/gateway-process';

/** Real OS processes of the compiled gateway, sharing or reusing a data directory. */
describe('gateway processes', () => {
  const fleet = new GatewayFleet();
  afterEach(() => fleet.stop());

  it('keeps a change acknowledged just before SIGKILL', async () => {
    const dataDir = fleet.tempDir();
    const first = await fleet.start(dataDir);
    const { secret, id } = await issueToken(first.url, ROOT_SECRET, { name: 'durable', tenantId: 'acme' });
    const revoked = await issueToken(first.url, ROOT_SECRET, { name: 'revoked before kill', tenantId: 'acme' });
    await graphql(first.url, REVOKE_TOKEN, { input: { id: revoked.id } }, ROOT_SECRET);
    expect(await first.kill('SIGKILL')).toBe('SIGKILL');

    const second = await fleet.start(dataDir);
    const verification = await graphql(second.url, VERIFY_TOKEN, { token: secret }, ROOT_SECRET);
    expect(verification.data!.verifyToken).toMatchObject({ valid: true, code: 'VALID', token: { id } });
    const stillRevoked = await graphql(second.url, VERIFY_TOKEN, { token: revoked.secret }, ROOT_SECRET);
    expect(stillRevoked.data!.verifyToken.code).toBe('REVOKED');
  });

  it('two processes on one data directory: a revocation through one is seen by the other (its latency is measured by `npm run bench -- revocation-fanout`)', async () => {
    const dataDir = fleet.tempDir();
    const [one, two] = await Promise.all([fleet.start(dataDir), fleet.start(dataDir)]);
    const { secret, id } = await issueToken(one.url, ROOT_SECRET, { name: 'shared', tenantId: 'acme' });
    await eventually(async () => (await graphql(two.url, VERIFY_TOKEN, { token: secret }, ROOT_SECRET)).data!.verifyToken.code === 'VALID');

    const response = await graphql(one.url, REVOKE_TOKEN, { input: { id } }, ROOT_SECRET);
    expect(response.data!.revokeToken.status).toBe('REVOKED');
    await eventually(async () => (await graphql(two.url, VERIFY_TOKEN, { token: secret }, ROOT_SECRET)).data!.verifyToken.code === 'REVOKED');
  });

  it('two processes bootstrapping one fresh data directory at once create exactly one root token', async () => {
    const dataDir = fleet.tempDir();
    const [one, two] = await Promise.all([fleet.start(dataDir), fleet.start(dataDir)]);
    for (const gateway of [one, two]) {
      const viewer = await graphql(gateway.url, '{ viewer { id roles } }', {}, ROOT_SECRET);
      expect(viewer.data!.viewer).toEqual({ id: 'tok_bootstrap', roles: ['keyledger:root'] });
    }
    await Promise.all([one.kill('SIGTERM'), two.kill('SIGTERM')]);
    const third = await fleet.start(dataDir);
    expect((await graphql(third.url, '{ viewer { id } }', {}, ROOT_SECRET)).data!.viewer.id).toBe('tok_bootstrap');

    const db = new Database(join(dataDir, 'events.db'), { readonly: true });
    const issued = db.prepare("SELECT count(*) AS n FROM events WHERE type = 'TokenIssued'").get() as { n: number };
    db.close();
    expect(issued.n).toBe(1);
  });

  it('drains and exits cleanly on SIGTERM: every request it accepted answers, and its change survives a restart', async () => {
    const dataDir = fleet.tempDir();
    const gateway = await fleet.start(dataDir);
    // Each request's headers are sent with `Expect: 100-continue`; the server answers
    // `100 Continue` once it has accepted the request, and the body follows after SIGTERM.
    const accepted = Array.from({ length: 5 }, (_, i) =>
      startRequest(gateway.url, { query: ISSUE_TOKEN, variables: { input: { name: `drain ${i}`, tenantId: 'acme' } } }),
    );
    await Promise.all(accepted.map((request) => request.accepted));

    const exit = gateway.kill('SIGTERM');
    await untilOutput(gateway, /"shutting down"/);
    accepted.forEach((request) => request.sendBody());
    // One more request after the signal: it is refused or it completes, never half-done.
    const late = issueToken(gateway.url, ROOT_SECRET, { name: 'drain late', tenantId: 'acme' });
    const results = await Promise.allSettled([...accepted.map((request) => request.response), late]);
    expect(await exit).toBe(0);
    expect(gateway.output()).toContain('keyledger stopped');

    const issued: Array<{ secret: string; id: string }> = [];
    for (const [i, result] of results.entries()) {
      if (i < accepted.length) {
        expect(result.status).toBe('fulfilled');
        const { status, body } = (result as PromiseFulfilledResult<{ status: number; body: any }>).value;
        expect({ status, errors: body.errors }).toEqual({ status: 200, errors: undefined });
        expect(body.data.issueToken.token.name).toBe(`drain ${i}`);
        issued.push({ secret: body.data.issueToken.secret, id: body.data.issueToken.token.id });
      } else if (result.status === 'fulfilled') {
        const { secret, id } = (result as PromiseFulfilledResult<{ secret: string; id: string }>).value;
        issued.push({ secret, id });
      }
      // Requests accepted before the signal complete; any sent after it are refused, never half-done.
      if (result.status === 'rejected') expect(String(result.reason)).toMatch(/fetch failed|ECONNREFUSED|socket/);
    }

    const restarted = await fleet.start(dataDir);
    for (const { secret, id } of issued) {
      const verification = await graphql(restarted.url, VERIFY_TOKEN, { token: secret }, ROOT_SECRET);
      expect(verification.data!.verifyToken).toMatchObject({ valid: true, code: 'VALID', token: { id } });
    }
    // Two gateway starts and five argon2 hashes in flight: allow for a loaded machine.
  }, 90_000);
});

interface PendingRequest {
  /** Resolves when the server has accepted the request (its `100 Continue`). */
  accepted: Promise<void>;
  sendBody(): void;
  response: Promise<{ status: number; body: any }>;
}

/** A GraphQL POST whose body is held back until `sendBody`, so it is in flight on the server meanwhile. */
function startRequest(baseUrl: string, payload: Record<string, unknown>): PendingRequest {
  const body = Buffer.from(JSON.stringify(payload));
  const request = httpRequest(`${baseUrl}/graphql`, {
    method: 'POST',
    agent: false,
    headers: {
      'content-type': 'application/json',
      'content-length': String(body.length),
      authorization: `Bearer ${ROOT_SECRET}`,
      expect: '100-continue',
    },
  });
  const accepted = new Promise<void>((resolve, reject) => {
    request.once('continue', () => resolve());
    request.once('error', reject);
  });
  const response = new Promise<{ status: number; body: any }>((resolve, reject) => {
    request.once('error', reject);
    request.once('response', (res) => {
      let raw = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (raw += chunk));
      res.once('error', reject);
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: raw.length > 0 ? JSON.parse(raw) : {} }));
    });
  });
  // Seen by the assertions through `response`; this keeps an early failure from going unhandled.
  accepted.catch(() => undefined);
  request.flushHeaders();
  return { accepted, sendBody: () => request.end(body), response };
}

/** Resolves once the process has written a line matching `pattern`. */
function untilOutput(gateway: GatewayProcess, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!pattern.test(gateway.output())) return false;
      gateway.process.stdout!.off('data', onData);
      gateway.process.off('exit', onExit);
      resolve();
      return true;
    };
    const onData = () => void check();
    const onExit = () => {
      if (!check()) reject(new Error(`process exited without writing ${pattern}:\n${gateway.output()}`));
    };
    if (check()) return;
    gateway.process.stdout!.on('data', onData);
    gateway.process.once('exit', onExit);
  });
}
