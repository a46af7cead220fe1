import { SignJWT } from 'jose';
import { createConnection, DELETE_CONNECTION, useConnection } from '../helpers/connections-client';
import { EsdbDouble } from '../helpers/esdb-double';
import { eventually, ROOT_SECRET } from '../helpers/gateway';
import { GatewayFleet, type GatewayProcess } from '../helpers/gateway-process';
import { graphql, ISSUE_TOKEN, REVOKE_TOKEN, VERIFY_TOKEN } from '../helpers/graphql-client';

const MASTER_KEY = Buffer.alloc(32, 42).toString('base64');
/** Two gateway processes start per test; on a loaded machine that alone can take most of jest's default 30 s. */
const PROCESS_TEST_TIMEOUT_MS = 60_000;
const CONNECTION_KEY_STREAMS = 'datakey-connection_data_keys-';
const TOKEN_KEY_STREAMS = 'datakey-data_keys-';

/**
 * With EVENTSTORE_CONNECTION_STRING set, data keys live on EventStoreDB, so replicas on separate
 * machines (here: separate data directories) open each other's sealed secrets.
 */
describe('data keys shared by gateway replicas on one EventStoreDB', () => {
  let double: EsdbDouble;
  const fleet = new GatewayFleet('keyledger-replica');

  function replica(): Promise<GatewayProcess> {
    return fleet.start(fleet.tempDir(), { EVENTSTORE_CONNECTION_STRING: double.connectionString, KEYLEDGER_MASTER_KEY: MASTER_KEY });
  }

  const dataKeyStreams = (prefix: string) => [...new Set(double.events().map((event) => event.streamName))].filter((name) => name.startsWith(prefix));

  beforeEach(async () => {
    double = await EsdbDouble.start();
  });

  afterEach(async () => {
    await fleet.stop();
    await double.close();
  });

  it('a connection created through one replica is used through the other; deleted through the other, it is shredded for both', async () => {
    const [one, two] = await Promise.all([replica(), replica()]);
    expect(one.output()).not.toMatch(/data directory: JWTs/);
    const apiKey = 'crm-api-key-0123456789-abcdefghij';
    await createConnection(one.url, ROOT_SECRET, {
      tenantId: 'acme',
      integration: 'crm',
      name: 'shared',
      headerName: 'x-api-key',
      apiKey,
      allowedDomain: 'api.example.org',
    });
    const variables = { tenantId: 'acme', integration: 'crm', name: 'shared', url: 'https://api.example.org/v1/things' };
    await eventually(async () => (await useConnection(two.url, ROOT_SECRET, variables)).data?.useApiKeyConnection != null);
    expect((await useConnection(two.url, ROOT_SECRET, variables)).data!.useApiKeyConnection).toEqual({ headerName: 'x-api-key', apiKey });

    const [stream] = dataKeyStreams(CONNECTION_KEY_STREAMS);
    expect(dataKeyStreams(CONNECTION_KEY_STREAMS)).toEqual([stream]);
    const view = double.streamView(stream);
    expect(Array.isArray(view)).toBe(true);
    const wrapped = Buffer.from(JSON.parse(Buffer.from((view as ReadonlyArray<{ data: Uint8Array }>)[0].data).toString('utf8')).wrappedKey, 'base64');

    const deleted = await graphql(two.url, DELETE_CONNECTION, { tenantId: 'acme', integration: 'crm', name: 'shared' }, ROOT_SECRET);
    expect(deleted.errors).toBeUndefined();
    await eventually(async () => (await useConnection(one.url, ROOT_SECRET, variables)).data?.useApiKeyConnection == null);
    expect((await useConnection(one.url, ROOT_SECRET, variables)).data?.useApiKeyConnection ?? null).toBeNull();
    expect(double.streamView(stream)).toBe('deleted');

    // Until a scavenge the server still holds the bytes, unreadable; after one they are gone.
    double.scavenge();
    const remaining = double.events().filter((event) => event.streamName === stream);
    expect(remaining.map((event) => event.type)).toEqual(['$streamDeleted']);
    expect(double.events().some((event) => Buffer.from(event.data).includes(wrapped.toString('base64')))).toBe(false);
  }, PROCESS_TEST_TIMEOUT_MS);

  it('an integration key created through one replica verifies as an HS256 JWT through the other', async () => {
    const [one, two] = await Promise.all([replica(), replica()]);
    const issued = await graphql(
      one.url,
      ISSUE_TOKEN,
      { input: { tenantId: 'acme', name: 'shared key', kind: 'INTEGRATION_KEY', integrationId: 'int-main' } },
      ROOT_SECRET,
    );
    expect(issued.errors).toBeUndefined();
    const key = { id: issued.data!.issueToken.token.id as string, secret: issued.data!.issueToken.secret as string };
    expect(dataKeyStreams(TOKEN_KEY_STREAMS)).toEqual([`${TOKEN_KEY_STREAMS}${key.id}`]);

    const jwt = await new SignJWT({ scope: 'app' }).setProtectedHeader({ alg: 'HS256', kid: key.id }).sign(new TextEncoder().encode(key.secret));
    const verify = async (url: string) => (await graphql(url, VERIFY_TOKEN, { token: jwt }, ROOT_SECRET)).data?.verifyToken?.code;
    await eventually(async () => (await verify(two.url)) === 'VALID');

    expect((await graphql(two.url, REVOKE_TOKEN, { input: { id: key.id } }, ROOT_SECRET)).errors).toBeUndefined();
    await eventually(async () => (await verify(one.url)) === 'REVOKED');
    expect(double.streamView(`${TOKEN_KEY_STREAMS}${key.id}`)).toBe('deleted');
  }, PROCESS_TEST_TIMEOUT_MS);
});
