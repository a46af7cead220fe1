import { EsdbDouble } from '../helpers/esdb-double';
import { issueToken, ROOT_SECRET } from '../helpers/gateway';
import { GatewayFleet } from '../helpers/gateway-process';
import { graphql, REVOKE_TOKEN } from '../helpers/graphql-client';
import { SubscriberClient, waitForSubscriptions } from '../helpers/subscriptions';

const MASTER_KEY = Buffer.alloc(32, 9).toString('base64');
/** Each test spawns two or three gateway processes; on a loaded two-core machine that alone takes a while. */
const PROCESS_TEST_TIMEOUT_MS = 90_000;

/**
 * Notices come from the shared log, not from the process that revoked: a subscriber of one
 * gateway process hears revocations made through another. Runs the compiled build.
 */
describe('revocation notices across gateway processes', () => {
  const fleet = new GatewayFleet('keyledger-notices');
  const clients: SubscriberClient[] = [];
  let double: EsdbDouble | null = null;

  function subscriber(url: string): SubscriberClient {
    const client = new SubscriberClient(url, ROOT_SECRET);
    clients.push(client);
    return client;
  }

  async function revokeNew(url: string, name: string): Promise<string> {
    const { id } = await issueToken(url, ROOT_SECRET, { name, tenantId: 'acme' });
    const response = await graphql(url, REVOKE_TOKEN, { input: { id, reason: name } }, ROOT_SECRET);
    expect(response.errors).toBeUndefined();
    return id;
  }

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.dispose()));
    await fleet.stop();
    await double?.close();
    double = null;
  });

  it(
    'two processes on one SQLite data directory: a revocation through one reaches a subscriber of the other; after that process stops, the subscriber resumes on the first with afterPosition',
    async () => {
      const dataDir = fleet.tempDir();
      const one = await fleet.start(dataDir);
      const two = await fleet.start(dataDir);

      const onTwo = subscriber(two.url);
      await onTwo.connected();
      const live = onTwo.subscribe({ tenantId: 'acme' });
      await waitForSubscriptions(two.url, 1);
      const first = await revokeNew(one.url, 'revoked through one');
      await onTwo.until(() => live.notices.length === 1, 10_000);
      expect(live.notices[0]).toMatchObject({ tokenId: first, tenantId: 'acme', kind: 'REVOKED', reason: 'revoked through one' });

      // A graceful stop tells subscribers to go elsewhere (1001) rather than cutting them off.
      expect(await two.kill('SIGTERM')).toBe(0);
      expect((await onTwo.closed()).code).toBe(1001);

      const missed = [await revokeNew(one.url, 'missed 1'), await revokeNew(one.url, 'missed 2')];
      const onOne = subscriber(one.url);
      await onOne.connected();
      const resumed = onOne.subscribe({ tenantId: 'acme', afterPosition: live.notices[0].position });
      await onOne.until(() => resumed.notices.length === 2, 10_000);
      expect(resumed.notices.map((notice) => notice.tokenId)).toEqual(missed);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'two processes with their own data directories on one EventStoreDB: a revocation through one reaches a subscriber of the other',
    async () => {
      double = await EsdbDouble.start();
      const env = { EVENTSTORE_CONNECTION_STRING: double.connectionString, KEYLEDGER_MASTER_KEY: MASTER_KEY };
      const one = await fleet.start(fleet.tempDir(), env);
      const two = await fleet.start(fleet.tempDir(), env);

      const onTwo = subscriber(two.url);
      await onTwo.connected();
      const live = onTwo.subscribe();
      await waitForSubscriptions(two.url, 1);
      const revoked = await revokeNew(one.url, 'revoked on replica one');
      await onTwo.until(() => live.notices.some((notice) => notice.tokenId === revoked), 10_000);
      const notice = live.notices.find((candidate) => candidate.tokenId === revoked)!;
      expect(notice).toMatchObject({ tenantId: 'acme', kind: 'REVOKED', reason: 'revoked on replica one', actor: { type: 'token', id: 'tok_bootstrap' } });

      // The same notice, at the same position, replays from the log on the other replica.
      const onOne = subscriber(one.url);
      await onOne.connected();
      const replayed = onOne.subscribe({ afterPosition: '0' });
      await onOne.until(() => replayed.notices.some((candidate) => candidate.tokenId === revoked), 10_000);
      expect(replayed.notices.find((candidate) => candidate.tokenId === revoked)).toEqual(notice);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
