import { issueToken, ROOT_SECRET } from '../helpers/gateway';
import { GatewayFleet, type GatewayProcess } from '../helpers/gateway-process';
import { errorCode, graphql, REVOKE_TOKEN } from '../helpers/graphql-client';
import { PUSH, PushReceiver, ssf, verifySet } from '../helpers/ssf-receiver';

const TENANT = 'ssf-processes';
/** Each test spawns two gateway processes; on a loaded two-core machine that alone takes a while. */
const PROCESS_TEST_TIMEOUT_MS = 120_000;
/** Short, so that a surviving process takes a killed one's streams over soon. */
const ENV = { KEYLEDGER_SSF_LEASE_SECONDS: '2', KEYLEDGER_PUBLIC_URL: 'https://keyledger.test' };

/**
 * Push delivery across gateway processes on one SQLite data directory: each SET reaches the
 * receiver once, whichever process revokes, and a SET whose delivery was cut off by a
 * killed process is delivered by the other. Runs the compiled build.
 */
describe('SSF push delivery across gateway processes', () => {
  const fleet = new GatewayFleet('keyledger-ssf');
  let push: PushReceiver;
  const secrets: string[] = [];

  beforeEach(async () => {
    push = await PushReceiver.start();
  });

  afterEach(async () => {
    await fleet.stop();
    await push.close();
  });

  async function revokeNew(gateway: GatewayProcess, name: string): Promise<string> {
    const issued = await issueToken(gateway.url, ROOT_SECRET, { name, tenantId: TENANT });
    secrets.push(issued.secret);
    expect(errorCode(await graphql(gateway.url, REVOKE_TOKEN, { input: { id: issued.id, reason: name } }, ROOT_SECRET))).toBeUndefined();
    return issued.id;
  }

  async function pushStream(gateway: GatewayProcess): Promise<string> {
    const receiver = await issueToken(gateway.url, ROOT_SECRET, { name: 'receiver', tenantId: TENANT, roles: ['keyledger:events:read'] });
    secrets.push(receiver.secret);
    const created = await ssf(gateway.url, 'POST', '/ssf/streams', receiver.secret, { delivery: { method: PUSH, endpoint_url: push.url }, aud: 'https://receiver.test' });
    expect(created.status).toBe(201);
    return created.body.stream_id;
  }

  async function subjects(gateway: GatewayProcess): Promise<string[]> {
    const claims = await Promise.all(push.accepted.map((set) => verifySet(`${gateway.url}/.well-known/jwks.json`, set.jwt, 'https://receiver.test')));
    return claims.map((claim) => (claim.sub_id as { credential: { id: string } }).credential.id);
  }

  it(
    'two processes deliver each revocation once, whichever process revoked',
    async () => {
      const dataDir = fleet.tempDir();
      const one = await fleet.start(dataDir, ENV);
      const two = await fleet.start(dataDir, ENV);
      await pushStream(two);

      const revoked = [await revokeNew(one, 'through one')];
      await push.until(() => push.accepted.length >= 1);
      revoked.push(await revokeNew(two, 'through two'));
      await push.until(() => push.accepted.length >= 2);
      revoked.push(await revokeNew(one, 'through one again'));
      await push.until(() => push.accepted.length >= 3);

      expect(push.received.map((set) => set.answered)).toEqual([202, 202, 202]);
      expect(new Set(push.received.map((set) => set.jti)).size).toBe(3);
      expect(await subjects(two)).toEqual(revoked);
      const written = one.output() + two.output();
      expect(secrets.filter((secret) => written.includes(secret) || push.received.some((set) => set.jwt.includes(secret)))).toEqual([]);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'the delivering process is killed mid-delivery: the other takes the stream over and delivers the SET, with the same jti, and nothing twice',
    async () => {
      const dataDir = fleet.tempDir();
      let killed = false;
      // Until the delivering process is dead, the receiver takes each SET but never answers.
      push.answer = () => (killed ? 202 : 'hold');
      const one = await fleet.start(dataDir, ENV);
      await pushStream(one);
      const first = await revokeNew(one, 'in flight when killed');
      await push.until(() => push.received.length >= 1);

      // The second process starts while the first holds the stream, then the first dies.
      const two = await fleet.start(dataDir, ENV);
      expect(await one.kill('SIGKILL')).toBe('SIGKILL');
      killed = true;
      await push.until(() => push.accepted.length >= 1);
      expect(push.accepted[0].jti).toBe(push.received[0].jti);
      expect(push.received.filter((set) => set.answered === null).every((set) => set.jti === push.received[0].jti)).toBe(true);

      const second = await revokeNew(two, 'after the take-over');
      await push.until(() => push.accepted.length >= 2);
      expect(await subjects(two)).toEqual([first, second]);
      expect(push.received.filter((set) => set.answered !== null).map((set) => set.answered)).toEqual([202, 202]);
      expect(secrets.filter((secret) => two.output().includes(secret) || one.output().includes(secret))).toEqual([]);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
