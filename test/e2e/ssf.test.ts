import { decodeJwt } from 'jose';
import { EsdbDouble } from '../helpers/esdb-double';
import { TEST_MASTER_KEY } from '../helpers/esdb-gateway';
import { eventually, issueToken, ROOT_SECRET, startTestGateway, type TestGateway } from '../helpers/gateway';
import { errorCode, graphql, REVOKE_TOKEN } from '../helpers/graphql-client';
import {
  CAEP_CREDENTIAL_CHANGE,
  POLL,
  PUSH,
  PushReceiver,
  RISC_CREDENTIAL_COMPROMISE,
  ssf,
  SSF_VERIFICATION,
  verifySet,
} from '../helpers/ssf-receiver';
import { postReport, scannerKey, signedHeaders, writePublicKeysFile } from '../helpers/secret-scanning';
import { makeTempDir } from '../helpers/temp-dir';
import { ROTATE } from './suites/token-operations';

const TENANT = 'ssf-acme';
const OTHER_TENANT = 'ssf-other';
const STORES = ['sqlite', 'eventstoredb'] as const;

/** The transmitter on each store: streams, poll and push delivery, through the public REST API. */
describe.each(STORES)('SSF transmitter on %s', (store) => {
  const temp = makeTempDir('keyledger-ssf');
  let double: EsdbDouble | null = null;
  let gw: TestGateway;
  let receiver: string;
  const secrets: string[] = [];

  const scanner = scannerKey('ssf-scanner-key');
  const start = async () => {
    const env: Record<string, string> = {
      KEYLEDGER_SSF_LEASE_SECONDS: '2',
      KEYLEDGER_SECRET_SCANNING_GITHUB_KEYS: writePublicKeysFile(temp.path, [scanner]),
      KEYLEDGER_LEAK_POLICY: 'WEBHOOK_TOKEN=notify',
    };
    if (double) Object.assign(env, { EVENTSTORE_CONNECTION_STRING: double.connectionString, KEYLEDGER_MASTER_KEY: TEST_MASTER_KEY });
    gw = await startTestGateway({ dataDir: temp.path, env });
  };

  const issue = async (name: string, tenantId = TENANT, roles: string[] = []) => {
    const issued = await issueToken(gw.url, ROOT_SECRET, { name, tenantId, roles });
    secrets.push(issued.secret);
    return issued;
  };
  const revoke = async (id: string, reason: string) => {
    expect(errorCode(await graphql(gw.url, REVOKE_TOKEN, { input: { id, reason } }, ROOT_SECRET))).toBeUndefined();
  };
  const jwks = () => `${gw.url}/.well-known/jwks.json`;
  const createPoll = async (extra: Record<string, unknown> = {}) => {
    const created = await ssf(gw.url, 'POST', '/ssf/streams', receiver, { delivery: { method: POLL }, ...extra });
    expect(created.status).toBe(201);
    return created.body.stream_id as string;
  };
  const poll = (streamId: string, body: Record<string, unknown>) => ssf(gw.url, 'POST', `/ssf/poll/${streamId}`, receiver, body);
  /** The SETs of a poll answer, verified, in the order keyledger listed them. */
  const verifiedSets = async (sets: Record<string, string>, audience?: string) =>
    Promise.all(Object.entries(sets).map(async ([jti, jwt]) => ({ jti, jwt, claims: await verifySet(jwks(), jwt, audience) })));

  beforeAll(async () => {
    if (store === 'eventstoredb') double = await EsdbDouble.start();
    await start();
    receiver = (await issue('receiver', TENANT, ['keyledger:events:read'])).secret;
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    await double?.close();
    temp.remove();
  });

  it('publishes its metadata at /.well-known/ssf-configuration, without authentication', async () => {
    const response = await fetch(`${gw.url}/.well-known/ssf-configuration`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      spec_version: '1_0',
      issuer: gw.url,
      jwks_uri: `${gw.url}/.well-known/jwks.json`,
      delivery_methods_supported: [PUSH, POLL],
      configuration_endpoint: `${gw.url}/ssf/streams`,
      status_endpoint: `${gw.url}/ssf/status`,
      verification_endpoint: `${gw.url}/ssf/verify`,
      authorization_schemes: [{ spec_urn: 'urn:ietf:rfc:6750' }],
      default_subjects: 'ALL',
    });
  });

  it('creates, reads, updates, pauses and deletes a stream; another tenant cannot see it', async () => {
    const created = await ssf(gw.url, 'POST', '/ssf/streams', receiver, { delivery: { method: POLL }, aud: 'https://receiver.example', description: 'idp' });
    expect(created).toEqual({
      status: 201,
      body: {
        stream_id: expect.stringMatching(/^ssf_[0-9a-f]{32}$/),
        iss: gw.url,
        aud: 'https://receiver.example',
        events_supported: [CAEP_CREDENTIAL_CHANGE, RISC_CREDENTIAL_COMPROMISE],
        events_requested: [CAEP_CREDENTIAL_CHANGE, RISC_CREDENTIAL_COMPROMISE],
        events_delivered: [CAEP_CREDENTIAL_CHANGE, RISC_CREDENTIAL_COMPROMISE],
        delivery: { method: POLL, endpoint_url: `${gw.url}/ssf/poll/${created.body.stream_id}` },
        description: 'idp',
      },
    });
    const id = created.body.stream_id as string;
    expect(await ssf(gw.url, 'GET', `/ssf/streams?stream_id=${id}`, receiver)).toEqual({ status: 200, body: created.body });
    expect((await ssf(gw.url, 'GET', '/ssf/streams', receiver)).body).toContainEqual(created.body);

    const patched = await ssf(gw.url, 'PATCH', '/ssf/streams', receiver, { stream_id: id, events_requested: [CAEP_CREDENTIAL_CHANGE, 'urn:example:unknown'] });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ events_requested: [CAEP_CREDENTIAL_CHANGE, 'urn:example:unknown'], events_delivered: [CAEP_CREDENTIAL_CHANGE], description: 'idp' });
    const replaced = await ssf(gw.url, 'PUT', '/ssf/streams', receiver, { stream_id: id, delivery: { method: POLL } });
    expect(replaced.body).toMatchObject({ events_delivered: [CAEP_CREDENTIAL_CHANGE, RISC_CREDENTIAL_COMPROMISE] });
    expect(replaced.body.description).toBeUndefined();

    expect(await ssf(gw.url, 'GET', `/ssf/status?stream_id=${id}`, receiver)).toEqual({ status: 200, body: { stream_id: id, status: 'enabled' } });
    expect(await ssf(gw.url, 'POST', '/ssf/status', receiver, { stream_id: id, status: 'paused', reason: 'maintenance' })).toEqual({
      status: 200,
      body: { stream_id: id, status: 'paused', reason: 'maintenance' },
    });

    const other = (await issue('other receiver', OTHER_TENANT, ['keyledger:events:read'])).secret;
    for (const [method, path, body] of [
      ['GET', `/ssf/streams?stream_id=${id}`, undefined],
      ['GET', `/ssf/status?stream_id=${id}`, undefined],
      ['PATCH', '/ssf/streams', { stream_id: id, description: 'taken' }],
      ['POST', '/ssf/verify', { stream_id: id }],
      ['POST', `/ssf/poll/${id}`, { returnImmediately: true }],
      ['DELETE', `/ssf/streams?stream_id=${id}`, undefined],
    ] as const) {
      expect({ method, path, status: (await ssf(gw.url, method, path, other, body)).status }).toEqual({ method, path, status: 404 });
    }
    expect((await ssf(gw.url, 'GET', '/ssf/streams', other)).body).toEqual([]);

    expect((await ssf(gw.url, 'DELETE', `/ssf/streams?stream_id=${id}`, receiver)).status).toBe(204);
    expect((await ssf(gw.url, 'GET', `/ssf/streams?stream_id=${id}`, receiver)).status).toBe(404);
  });

  it('refuses what it cannot honour with a clear 400', async () => {
    const cases: Array<[unknown, string]> = [
      [{ delivery: { method: 'urn:example:carrier-pigeon' } }, 'delivery.method'],
      [{ delivery: { method: PUSH, endpoint_url: 'not a url' } }, 'endpoint_url'],
      [{ delivery: { method: PUSH, endpoint_url: 'ftp://receiver.example/events' } }, 'endpoint_url'],
      [{ delivery: { method: PUSH, endpoint_url: 'https://receiver.example/events', authorization_header: 'Bearer receiver-secret-value' } }, 'authorization_header'],
      [{ delivery: { method: POLL, endpoint_url: 'https://receiver.example/poll' } }, 'endpoint_url'],
      [{ events_requested: 'all' }, 'events_requested'],
      [[], 'JSON object'],
    ];
    for (const [body, mentions] of cases) {
      const answer = await ssf(gw.url, 'POST', '/ssf/streams', receiver, body);
      expect({ body, status: answer.status, code: answer.body.errors[0].extensions.code }).toEqual({ body, status: 400, code: 'BAD_USER_INPUT' });
      expect(answer.body.errors[0].message).toContain(mentions);
      expect(JSON.stringify(answer.body)).not.toContain('receiver-secret-value');
    }
    const id = await createPoll();
    expect((await poll(id, { maxEvents: -1 })).status).toBe(400);
    expect((await poll(id, { returnImmediately: 'yes' })).status).toBe(400);
    expect((await poll(id, { ack: 'all' })).status).toBe(400);
  });

  it('poll: returns signed CAEP and RISC SETs, again until acknowledged, and loses none across a restart', async () => {
    const id = await createPoll({ aud: 'https://receiver.example' });
    const leaked = await issue('leaked key');
    const rotated = await issue('rotated key');
    await revoke(leaked.id, 'leaked');
    expect(errorCode(await graphql(gw.url, ROTATE, { input: { id: rotated.id, gracePeriodSeconds: 0 } }, ROOT_SECRET))).toBeUndefined();
    await issue('another tenant', OTHER_TENANT).then((other) => revoke(other.id, 'not this stream'));

    const first = await poll(id, { returnImmediately: true });
    expect(first.status).toBe(200);
    expect(first.body.moreAvailable).toBe(false);
    const sets = await verifiedSets(first.body.sets, 'https://receiver.example');
    expect(sets.map(({ claims }) => ({ sub: claims.sub_id, events: claims.events, iss: claims.iss, jti: claims.jti }))).toEqual([
      {
        iss: gw.url,
        jti: sets[0].jti,
        sub: { format: 'complex', credential: { format: 'opaque', id: leaked.id }, tenant: { format: 'opaque', id: TENANT } },
        events: {
          [CAEP_CREDENTIAL_CHANGE]: { credential_type: 'api-key', change_type: 'revoke', event_timestamp: expect.any(Number), initiating_entity: 'admin', reason_admin: { en: 'leaked' } },
        },
      },
      {
        iss: gw.url,
        jti: sets[1].jti,
        sub: { format: 'complex', credential: { format: 'opaque', id: leaked.id }, tenant: { format: 'opaque', id: TENANT } },
        events: { [RISC_CREDENTIAL_COMPROMISE]: { credential_type: 'api-key', event_timestamp: expect.any(Number), reason_admin: { en: 'leaked' } } },
      },
      {
        iss: gw.url,
        jti: sets[2].jti,
        sub: { format: 'complex', credential: { format: 'opaque', id: rotated.id }, tenant: { format: 'opaque', id: TENANT } },
        events: { [CAEP_CREDENTIAL_CHANGE]: { credential_type: 'api-key', change_type: 'update', event_timestamp: expect.any(Number), initiating_entity: 'admin' } },
      },
    ]);
    for (const { claims } of sets) expect(claims).toMatchObject({ aud: 'https://receiver.example', iat: expect.any(Number), txn: expect.any(String) });

    // Nothing acknowledged: the same SETs again.
    expect(Object.keys((await poll(id, { returnImmediately: true })).body.sets)).toEqual(sets.map((set) => set.jti));
    // The first two acknowledged, the third refused by the receiver: errors acknowledge too, on the next poll.
    const acked = await poll(id, { ack: [sets[0].jti, sets[1].jti], returnImmediately: true, maxEvents: 1 });
    expect(Object.keys(acked.body.sets)).toEqual([sets[2].jti]);
    expect((await poll(id, { maxEvents: 0 })).body).toEqual({ sets: {}, moreAvailable: true });

    await gw.stop();
    await start();
    const afterRestart = await poll(id, { returnImmediately: true });
    expect(Object.keys(afterRestart.body.sets)).toEqual([sets[2].jti]);
    expect(decodeJwt(afterRestart.body.sets[sets[2].jti]).jti).toBe(sets[2].jti);
    const done = await poll(id, { setErrs: { [sets[2].jti]: { err: 'invalid_key', description: 'unknown credential' } }, returnImmediately: true });
    expect(done.body).toEqual({ sets: {}, moreAvailable: false });

    const texts = [...sets.map((set) => set.jwt), ...sets.map((set) => JSON.stringify(set.claims))];
    expect(secrets.filter((secret) => texts.some((text) => text.includes(secret)))).toEqual([]);
  }, 60_000);

  it('a leak reported by secret scanning: RISC credential-compromise for each leaked token, with CAEP revoke for those the policy revokes', async () => {
    const id = await createPoll();
    const revoked = await issue('scanned api token');
    const webhook = await issueToken(gw.url, ROOT_SECRET, { name: 'scanned webhook token', tenantId: TENANT, kind: 'WEBHOOK_TOKEN', ownerId: 'user-7' });
    secrets.push(webhook.secret);
    const body = JSON.stringify(
      [revoked.secret, webhook.secret].map((token) => ({ token, type: 'keyledger_token', url: 'https://github.com/o/r/blob/1/.env', source: 'content' })),
    );
    const report = await postReport(gw.url, body, signedHeaders(scanner, body));
    expect(report.status).toBe(200);
    expect(report.json.map((match: { label: string }) => match.label)).toEqual(['true_positive', 'true_positive']);

    const answer = await poll(id, { returnImmediately: true });
    const sets = await verifiedSets(answer.body.sets);
    const seen = sets.map(({ claims }) => ({ id: (claims.sub_id as any).credential.id, events: Object.keys(claims.events as object) }));
    expect(seen).toEqual(
      expect.arrayContaining([
        { id: revoked.id, events: [CAEP_CREDENTIAL_CHANGE] },
        { id: revoked.id, events: [RISC_CREDENTIAL_COMPROMISE] },
        { id: webhook.id, events: [RISC_CREDENTIAL_COMPROMISE] },
      ]),
    );
    expect(seen).toHaveLength(3);
    const texts = sets.flatMap((set) => [set.jwt, JSON.stringify(set.claims)]);
    expect(secrets.filter((secret) => texts.some((text) => text.includes(secret)))).toEqual([]);
  }, 60_000);

  it('poll: a waiting poll answers with the SET of a revocation made meanwhile; verification SETs come the same way', async () => {
    const id = await createPoll();
    const victim = await issue('revoked while polling');
    const waiting = poll(id, { returnImmediately: false });
    await revoke(victim.id, 'rotated out');
    const answer = await waiting;
    const [set] = await verifiedSets(answer.body.sets);
    expect(set.claims.sub_id).toMatchObject({ credential: { id: victim.id } });
    await poll(id, { ack: [set.jti], maxEvents: 0 });

    expect((await ssf(gw.url, 'POST', '/ssf/verify', receiver, { stream_id: id, state: 'state-123' })).status).toBe(204);
    const verification = await verifiedSets((await poll(id, { returnImmediately: true })).body.sets);
    expect(verification.map(({ claims }) => ({ sub: claims.sub_id, events: claims.events }))).toEqual([
      { sub: { format: 'opaque', id }, events: { [SSF_VERIFICATION]: { state: 'state-123' } } },
    ]);
  }, 30_000);

  it('a paused stream holds its SETs until enabled; a disabled one drops those of its disabled time', async () => {
    const id = await createPoll();
    const setStatus = async (status: string) => expect((await ssf(gw.url, 'POST', '/ssf/status', receiver, { stream_id: id, status })).status).toBe(200);
    const subjects = async () =>
      (await verifiedSets((await poll(id, { returnImmediately: true })).body.sets)).map(({ claims }) => (claims.sub_id as { credential: { id: string } }).credential.id);

    const held = await issue('held');
    await setStatus('paused');
    await revoke(held.id, 'while paused');
    expect(await subjects()).toEqual([]);
    await setStatus('enabled');
    expect(await subjects()).toEqual([held.id]);

    const dropped = await issue('dropped');
    const kept = await issue('kept');
    await setStatus('disabled');
    await revoke(dropped.id, 'while disabled');
    await setStatus('enabled');
    await revoke(kept.id, 'after enabling');
    expect(await subjects()).toEqual([held.id, kept.id]);
  }, 30_000);

  it('push: POSTs each SET as application/secevent+jwt, retries until the receiver answers 202, and sends it once', async () => {
    const push = await PushReceiver.start();
    try {
      let refusals = 1;
      push.answer = () => (refusals-- > 0 ? 503 : 202);
      const created = await ssf(gw.url, 'POST', '/ssf/streams', receiver, { delivery: { method: PUSH, endpoint_url: push.url } });
      expect(created.status).toBe(201);
      expect(created.body.delivery).toEqual({ method: PUSH, endpoint_url: push.url });
      const first = await issue('pushed 1');
      const second = await issue('pushed 2');
      await revoke(first.id, 'pushed');
      await revoke(second.id, 'pushed');
      await push.until(() => push.accepted.length >= 2);
      expect(push.received.map((set) => set.answered)).toEqual([503, 202, 202]);
      expect(push.received[0].jti).toBe(push.received[1].jti);
      const claims = await Promise.all(push.accepted.map((set) => verifySet(jwks(), set.jwt, created.body.aud)));
      expect(claims.map((claim) => (claim.sub_id as { credential: { id: string } }).credential.id)).toEqual([first.id, second.id]);
      expect(secrets.filter((secret) => push.received.some((set) => set.jwt.includes(secret)) || gw.logs().includes(secret))).toEqual([]);
    } finally {
      await push.close();
    }
  }, 30_000);
});

/** A receiver's URL is chosen by a tenant: on a gateway that denies private addresses, none is ever connected to. */
describe('SSF push with KEYLEDGER_SSF_PUSH_PRIVATE_ADDRESSES=deny', () => {
  const temp = makeTempDir('keyledger-ssf-private');
  let gw: TestGateway;
  let push: PushReceiver;
  let receiver: string;

  beforeAll(async () => {
    push = await PushReceiver.start();
    gw = await startTestGateway({ dataDir: temp.path, env: { KEYLEDGER_SSF_PUSH_PRIVATE_ADDRESSES: 'deny', KEYLEDGER_SSF_LEASE_SECONDS: '2' } });
    receiver = (await issueToken(gw.url, ROOT_SECRET, { name: 'receiver', tenantId: TENANT, roles: ['keyledger:events:read'] })).secret;
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    await push?.close();
    temp.remove();
  });

  it('refuses a private address at creation, and never connects to a name that resolves to one', async () => {
    for (const endpoint of [push.url, 'http://[::1]:9/events', 'http://169.254.169.254/latest/meta-data', 'https://10.1.2.3/events', 'http://[::ffff:127.0.0.1]/x']) {
      const refused = await ssf(gw.url, 'POST', '/ssf/streams', receiver, { delivery: { method: PUSH, endpoint_url: endpoint } });
      expect({ endpoint, status: refused.status, text: JSON.stringify(refused.body) }).toEqual({ endpoint, status: 400, text: expect.stringContaining('public address') });
    }

    // `localhost` is a name: it passes creation, and is refused where it matters, on the address it resolves to.
    const byName = push.url.replace('127.0.0.1', 'localhost');
    const created = await ssf(gw.url, 'POST', '/ssf/streams', receiver, { delivery: { method: PUSH, endpoint_url: byName } });
    expect(created.status).toBe(201);
    const victim = await issueToken(gw.url, ROOT_SECRET, { name: 'victim', tenantId: TENANT });
    expect(errorCode(await graphql(gw.url, REVOKE_TOKEN, { input: { id: victim.id } }, ROOT_SECRET))).toBeUndefined();
    await eventually(() => gw.logs().includes('resolves to no public address'), 20_000);
    expect(push.received).toEqual([]);
  }, 60_000);
});
