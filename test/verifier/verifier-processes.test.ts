import { createVerifier, type Verifier, type VerifierOptions } from '@keyledger/verifier';
import { eventually, issueToken, ROOT_SECRET } from '../helpers/gateway';
import { GatewayFleet, type GatewayProcess } from '../helpers/gateway-process';
import { graphql, REVOKE_TOKEN } from '../helpers/graphql-client';
import { basic, createPartnerCredential, oauthToken, postForm, REVOKE_PARTNER_CREDENTIAL } from '../helpers/partner-client';
import { waitForSubscriptions } from '../helpers/subscriptions';
import { TcpProxy } from '../helpers/tcp-proxy';
import { VerifierEvents } from '../helpers/verifier-events';

/** Each test spawns one or two gateway processes; on a loaded two-core machine that alone takes a while. */
const PROCESS_TEST_TIMEOUT_MS = 90_000;
const FAST_RETRIES = { min: 20, max: 200 };

/**
 * The verifier library against real gateway processes: verdicts cached once, dropped when
 * keyledger's notice arrives, and what happens while the notices cannot reach it.
 */
describe('@keyledger/verifier against gateway processes', () => {
  const fleet = new GatewayFleet('keyledger-verifier');
  const verifiers: Verifier[] = [];
  const proxies: TcpProxy[] = [];

  async function subscriberToken(url: string): Promise<string> {
    return (await issueToken(url, ROOT_SECRET, { name: 'resource server', tenantId: 'acme', roles: ['keyledger:tokens:read'] })).secret;
  }

  async function verifierFor(gateway: GatewayProcess, options: Partial<VerifierOptions> = {}, url = gateway.url) {
    const events = new VerifierEvents();
    const verifier = createVerifier({ url, token: await subscriberToken(gateway.url), metrics: events.metrics, retryDelayMs: FAST_RETRIES, ...options });
    verifiers.push(verifier);
    await verifier.ready();
    // Connected is not yet subscribed: wait until the gateway counts the subscription.
    await waitForSubscriptions(gateway.url, 1);
    return { verifier, events };
  }

  async function proxyTo(gateway: GatewayProcess): Promise<TcpProxy> {
    const proxy = await TcpProxy.start(gateway.url);
    proxies.push(proxy);
    return proxy;
  }

  async function revoke(url: string, id: string): Promise<void> {
    const response = await graphql(url, REVOKE_TOKEN, { input: { id, reason: 'test' } }, ROOT_SECRET);
    expect(response.errors).toBeUndefined();
  }

  async function setEnabled(url: string, id: string, enabled: boolean): Promise<void> {
    const response = await graphql(url, 'mutation U($input: UpdateTokenInput!) { updateToken(input: $input) { id } }', { input: { id, enabled } }, ROOT_SECRET);
    expect(response.errors).toBeUndefined();
  }

  afterEach(async () => {
    await Promise.all(verifiers.splice(0).map((verifier) => verifier.close()));
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
    await fleet.stop();
  });

  it(
    'verifies through keyledger once, serves the verdict from its cache, and refuses the token from the notice of its revocation on',
    async () => {
      const gateway = await fleet.start(fleet.tempDir());
      const { verifier, events } = await verifierFor(gateway);
      const token = await issueToken(gateway.url, ROOT_SECRET, { name: 'client', tenantId: 'acme', roles: ['orders:read'] });

      const first = await verifier.verify(token.secret, { requiredRoles: ['orders:read'] });
      expect(first).toMatchObject({ valid: true, code: 'VALID', tokenId: token.id, tenantId: 'acme', roles: ['orders:read'] });
      expect(await verifier.verify(token.secret)).toMatchObject({ valid: true, code: 'VALID' });
      expect(await verifier.verify(token.secret, { requiredRoles: ['orders:write'] })).toMatchObject({ valid: false, code: 'INSUFFICIENT_ROLES' });
      expect(verifier.stats()).toMatchObject({ misses: 1, hits: 2, entries: 1, connected: true });

      await revoke(gateway.url, token.id);
      expect(await events.notice(token.id, 'REVOKED')).toMatchObject({ dropped: 1 });
      expect(await verifier.verify(token.secret)).toMatchObject({ valid: false, code: 'REVOKED', tokenId: token.id });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'drops the verdict of a token on the notice of its pause, and refuses it as DISABLED until it is enabled again',
    async () => {
      const gateway = await fleet.start(fleet.tempDir());
      // A refusal is kept no longer than negativeTtlMs: resuming is not announced.
      const { verifier, events } = await verifierFor(gateway, { negativeTtlMs: 1 });
      const token = await issueToken(gateway.url, ROOT_SECRET, { name: 'paused client', tenantId: 'acme', roles: ['orders:read'] });
      expect(await verifier.verify(token.secret)).toMatchObject({ valid: true, code: 'VALID' });
      expect(await verifier.verify(token.secret)).toMatchObject({ valid: true, code: 'VALID' });

      await setEnabled(gateway.url, token.id, false);
      expect(await events.notice(token.id, 'DISABLED')).toMatchObject({ dropped: 1 });
      expect(await verifier.verify(token.secret)).toMatchObject({ valid: false, code: 'DISABLED', tokenId: token.id });

      await setEnabled(gateway.url, token.id, true);
      await eventually(async () => (await verifier.verify(token.secret)).valid, 10_000);
      expect(await verifier.verify(token.secret)).toMatchObject({ valid: true, code: 'VALID', tokenId: token.id });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'a revocation through a second gateway process on the same data directory reaches the verifier of the first',
    async () => {
      const dataDir = fleet.tempDir();
      const one = await fleet.start(dataDir);
      const two = await fleet.start(dataDir);
      const { verifier, events } = await verifierFor(one);
      const token = await issueToken(one.url, ROOT_SECRET, { name: 'client', tenantId: 'acme' });
      expect(await verifier.verify(token.secret)).toMatchObject({ valid: true });

      await revoke(two.url, token.id);
      await events.notice(token.id);
      expect(await verifier.verify(token.secret)).toMatchObject({ valid: false, code: 'REVOKED' });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'fail-closed (the default): while the subscription is down no cached verdict is used; keyledger is asked, and UNAVAILABLE when it cannot be',
    async () => {
      const gateway = await fleet.start(fleet.tempDir());
      const proxy = await proxyTo(gateway);
      const { verifier, events } = await verifierFor(gateway, {}, proxy.url);
      const token = await issueToken(gateway.url, ROOT_SECRET, { name: 'client', tenantId: 'acme' });
      const other = await issueToken(gateway.url, ROOT_SECRET, { name: 'other', tenantId: 'acme' });
      expect(await verifier.verify(token.secret)).toMatchObject({ valid: true });
      expect(await verifier.verify(other.secret)).toMatchObject({ valid: true });

      proxy.cut('websocket');
      await events.connection(false);
      await revoke(gateway.url, token.id);
      expect(await verifier.verify(token.secret)).toMatchObject({ valid: false, code: 'REVOKED' });
      expect(events.notices).toHaveLength(0);

      proxy.cut('all');
      expect(await verifier.verify(other.secret)).toMatchObject({ valid: false, code: 'UNAVAILABLE' });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'maxStalenessMs: while the subscription is down cached verdicts are served for that long, then refused when keyledger cannot be asked',
    async () => {
      let now = Date.now();
      const gateway = await fleet.start(fleet.tempDir());
      const proxy = await proxyTo(gateway);
      const { verifier, events } = await verifierFor(gateway, { whileDisconnected: { maxStalenessMs: 30_000 }, now: () => now }, proxy.url);
      const token = await issueToken(gateway.url, ROOT_SECRET, { name: 'client', tenantId: 'acme' });
      expect(await verifier.verify(token.secret)).toMatchObject({ valid: true });

      proxy.cut('all');
      await events.connection(false);
      now += 30_000;
      expect(await verifier.verify(token.secret)).toMatchObject({ valid: true, code: 'VALID' });
      expect(events.staleness).toEqual([30_000]);
      expect(verifier.stats().stalenessMs).toBe(30_000);

      now += 1;
      expect(await verifier.verify(token.secret)).toMatchObject({ valid: false, code: 'UNAVAILABLE' });
      expect(events.misses.at(-1)).toEqual({ code: 'UNAVAILABLE', reason: 'stale' });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'after a disconnect it resumes with afterPosition on another process: the revocations made meanwhile are replayed and drop their verdicts',
    async () => {
      const dataDir = fleet.tempDir();
      const one = await fleet.start(dataDir);
      const two = await fleet.start(dataDir);
      const proxy = await proxyTo(one);
      // Cached verdicts stay usable while down, so only the replayed notices can drop them.
      const { verifier, events } = await verifierFor(one, { whileDisconnected: { maxStalenessMs: 3_600_000 } }, proxy.url);
      const [seen, missed1, missed2, kept] = await Promise.all(
        ['seen', 'missed 1', 'missed 2', 'kept'].map((name) => issueToken(one.url, ROOT_SECRET, { name, tenantId: 'acme' })),
      );
      await revoke(one.url, seen.id);
      await events.notice(seen.id);
      for (const token of [missed1, missed2, kept]) expect(await verifier.verify(token.secret)).toMatchObject({ valid: true });

      proxy.cut('all');
      await events.connection(false);
      await revoke(one.url, missed1.id);
      await revoke(one.url, missed2.id);
      expect(await verifier.verify(missed1.secret)).toMatchObject({ valid: true });
      expect(await one.kill('SIGTERM')).toBe(0);

      proxy.restore(two.url);
      expect(await events.notice(missed1.id)).toMatchObject({ dropped: 1 });
      expect(await events.notice(missed2.id)).toMatchObject({ dropped: 1 });
      expect(events.notices.map((event) => event.notice.tokenId)).toEqual([seen.id, missed1.id, missed2.id]);
      expect(await verifier.verify(missed1.secret)).toMatchObject({ valid: false, code: 'REVOKED' });
      expect(await verifier.verify(missed2.secret)).toMatchObject({ valid: false, code: 'REVOKED' });
      expect(await verifier.verify(kept.secret)).toMatchObject({ valid: true });
      expect(events.hits.at(-1)).toBe('VALID');
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'partner access JWTs: checked against the JWKS, and refused once the notice of their revocation or of their credential arrives',
    async () => {
      const gateway = await fleet.start(fleet.tempDir());
      const { verifier, events } = await verifierFor(gateway);
      const credential = await createPartnerCredential(gateway.url, ROOT_SECRET, { name: 'partner', tenantId: 'acme', subTenantIds: [] });
      const revokedItself = await oauthToken(gateway.url, credential, 'acme', 'sales');
      const diesWithCredential = await oauthToken(gateway.url, credential, 'acme', 'support');

      const verdict = await verifier.verify(revokedItself);
      expect(verdict).toMatchObject({ valid: true, code: 'VALID', kind: 'PARTNER_ACCESS_TOKEN', tenantId: 'acme', subTenantId: 'sales', credentialId: credential.id, roles: [] });
      expect(await verifier.verify(revokedItself, { requiredRoles: ['orders:read'] })).toMatchObject({ valid: false, code: 'INSUFFICIENT_ROLES' });
      expect(await verifier.verify(diesWithCredential)).toMatchObject({ valid: true, subTenantId: 'support' });
      const forged = `${revokedItself.slice(0, revokedItself.lastIndexOf('.'))}.${'A'.repeat(86)}`;
      expect(await verifier.verify(forged)).toMatchObject({ valid: false, code: 'MALFORMED' });

      const revoked = await postForm(gateway.url, '/oauth/revoke', { token: revokedItself }, { authorization: basic(credential.apiKey, credential.apiSecret) });
      expect(revoked.status).toBe(200);
      expect(await events.notice(verdict.tokenId!, 'PARTNER_TOKEN_REVOKED')).toMatchObject({ dropped: 1 });
      expect(await verifier.verify(revokedItself)).toMatchObject({ valid: false, code: 'REVOKED' });
      expect(await verifier.verify(diesWithCredential)).toMatchObject({ valid: true });

      const response = await graphql(gateway.url, REVOKE_PARTNER_CREDENTIAL, { input: { id: credential.id, reason: 'leaked' } }, ROOT_SECRET);
      expect(response.errors).toBeUndefined();
      // Both its tokens' verdicts go: the valid one's and the cached REVOKED one's.
      expect(await events.notice(credential.id, 'PARTNER_CREDENTIAL_REVOKED')).toMatchObject({ dropped: 2 });
      expect(await verifier.verify(diesWithCredential)).toMatchObject({ valid: false });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'keeps at most maxEntries verdicts, evicting one not served since rather than one just served',
    async () => {
      const gateway = await fleet.start(fleet.tempDir());
      const { verifier, events } = await verifierFor(gateway, { maxEntries: 2 });
      const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((name) => issueToken(gateway.url, ROOT_SECRET, { name, tenantId: 'acme' })));
      await verifier.verify(a.secret);
      await verifier.verify(b.secret);
      await verifier.verify(a.secret);
      await verifier.verify(c.secret);
      expect(verifier.stats()).toMatchObject({ entries: 2, hits: 1, misses: 3 });
      expect(await verifier.verify(a.secret)).toMatchObject({ valid: true, tokenId: a.id });
      expect(await verifier.verify(b.secret)).toMatchObject({ valid: true, tokenId: b.id });
      expect(verifier.stats()).toMatchObject({ entries: 2, hits: 2, misses: 4 });
      expect(events.hits).toEqual(['VALID', 'VALID']);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'keeps a NOT_FOUND verdict only for negativeTtlMs, and writes no credential in any log line',
    async () => {
      let now = Date.now();
      const lines: string[] = [];
      const logger = { warn: (message: string, fields?: object) => lines.push(message + JSON.stringify(fields)), error: (message: string, fields?: object) => lines.push(message + JSON.stringify(fields)) };
      const gateway = await fleet.start(fleet.tempDir());
      const proxy = await proxyTo(gateway);
      const { verifier, events } = await verifierFor(gateway, { negativeTtlMs: 5_000, now: () => now, logger }, proxy.url);
      // Another tenant's token reads as NOT_FOUND, as an unknown one does.
      const unknown = (await issueToken(gateway.url, ROOT_SECRET, { name: 'elsewhere', tenantId: 'globex' })).secret;
      expect(await verifier.verify(unknown)).toMatchObject({ valid: false, code: 'NOT_FOUND' });
      expect(await verifier.verify(unknown)).toMatchObject({ code: 'NOT_FOUND' });
      expect(events.hits).toEqual(['NOT_FOUND']);
      now += 5_000;
      expect(await verifier.verify(unknown)).toMatchObject({ code: 'NOT_FOUND' });
      expect(events.misses.map((miss) => miss.reason)).toEqual(['absent', 'expired']);

      const token = await issueToken(gateway.url, ROOT_SECRET, { name: 'client', tenantId: 'acme' });
      proxy.cut('all');
      expect(await verifier.verify(token.secret)).toMatchObject({ code: 'UNAVAILABLE' });
      await events.connection(false);
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.join('\n')).not.toContain(token.secret);
      expect(lines.join('\n')).not.toContain(unknown);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
