import Database from 'better-sqlite3';
import { filesUnder } from '../helpers/byte-scan';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import type { KeyObject } from 'node:crypto';
import { loadConfig } from '../../src/config';
import { withLowS } from '../../src/crypto/ecdsa-low-s';
import type { SigningKey, SigningKeyGenerated } from '../../src/domain/signing-keys';
import { openCore } from '../../src/gateway';
import { createLogger } from '../../src/logger';
import { graphql, VERIFY_TOKEN } from '../helpers/graphql-client';
import { eventually, issueToken, ROOT_SECRET } from '../helpers/gateway';
import { runCli, GatewayFleet } from '../helpers/gateway-process';
import {
  basic,
  createPartnerCredential,
  graphqlExchange,
  oauthToken,
  postForm,
  sourceExchange,
  sourceHeaders,
  VERIFY_PARTNER_ACCESS_TOKEN,
} from '../helpers/partner-client';

async function jwks(url: string): Promise<Array<Record<string, string>>> {
  return ((await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: Array<Record<string, string>> }).keys;
}

function signingKeyEvents(dataDir: string): Array<{ type: string; data: string }> {
  const db = new Database(join(dataDir, 'events.db'), { readonly: true });
  try {
    return db.prepare("SELECT type, data FROM events WHERE type IN ('SigningKeyGenerated', 'SigningKeyRotated') ORDER BY position").all() as Array<{
      type: string;
      data: string;
    }>;
  } finally {
    db.close();
  }
}

/** Every form a secret could take on disk: as text (UTF-8, UTF-16), base64, and for key material its raw bytes. */
function findSecrets(dir: string, secrets: ReadonlyArray<{ label: string; forms: Buffer[] }>): string[] {
  const hits: string[] = [];
  for (const file of filesUnder(dir)) {
    const bytes = readFileSync(file);
    for (const secret of secrets) {
      if (secret.forms.some((form) => bytes.includes(form))) hits.push(`${file} holds ${secret.label}`);
    }
  }
  return hits;
}

function textForms(label: string, value: string) {
  return { label, forms: [Buffer.from(value, 'utf8'), Buffer.from(value, 'utf16le'), Buffer.from(Buffer.from(value).toString('base64'))] };
}

describe('partner exchange across gateway processes', () => {
  const fleet = new GatewayFleet();
  afterEach(() => fleet.stop());

  it('two processes starting at once on a fresh data directory publish the same single key', async () => {
    const dataDir = fleet.tempDir();
    const [one, two] = await Promise.all([fleet.start(dataDir), fleet.start(dataDir)]);
    const [keysOne, keysTwo] = await Promise.all([jwks(one.url), jwks(two.url)]);
    expect(keysOne).toHaveLength(1);
    expect(keysTwo).toEqual(keysOne);
    expect(signingKeyEvents(dataDir).map((event) => event.type)).toEqual(['SigningKeyGenerated']);

    // Each signs with that key: a token from either verifies against the other's JWKS.
    const { secret: admin } = await issueToken(one.url, ROOT_SECRET, { name: 'admin', tenantId: 'acme', roles: ['keyledger:admin'] });
    const partner = await createPartnerCredential(one.url, admin, { name: 'p', subTenantIds: [] });
    await eventually(async () => (await sourceExchange(two.url, sourceHeaders(partner, 'acme', 'x'))).status === 200);
    const fromTwo = (await sourceExchange(two.url, sourceHeaders(partner, 'acme', 'x'))).body.data.token as string;
    expect(decodeProtectedHeader(fromTwo).kid).toBe(keysOne[0].kid);
    const { payload } = await jwtVerify(fromTwo, createRemoteJWKSet(new URL(`${one.url}/.well-known/jwks.json`)), {
      audience: 'keyledger',
      typ: 'at+jwt',
      algorithms: ['ES256'],
    });
    expect(payload.sub).toBe(partner.id);
  });

  it('two processes on one data directory without KEYLEDGER_PUBLIC_URL accept each other\'s tokens, and a restart on another port keeps them valid', async () => {
    const dataDir = fleet.tempDir();
    const one = await fleet.start(dataDir);
    const two = await fleet.start(dataDir);
    expect(two.url).not.toBe(one.url);
    const { secret: admin } = await issueToken(one.url, ROOT_SECRET, { name: 'admin', tenantId: 'acme', roles: ['keyledger:admin'] });
    const partner = await createPartnerCredential(one.url, admin, { name: 'p', subTenantIds: ['team'] });
    await eventually(async () => (await sourceExchange(two.url, sourceHeaders(partner, 'acme', 'team'))).status === 200);
    const fromOne = await oauthToken(one.url, partner, 'acme', 'team');
    const fromTwo = (await sourceExchange(two.url, sourceHeaders(partner, 'acme', 'team'))).body.data.token as string;
    // Each names its own address, as its OAuth metadata does.
    expect([decodeJwt(fromOne).iss, decodeJwt(fromTwo).iss]).toEqual([one.url, two.url]);

    const accepted = async (url: string, jwt: string) => ({
      verifyToken: (await graphql(url, VERIFY_TOKEN, { token: jwt }, admin)).data!.verifyToken.code,
      verifyPartnerAccessToken: (await graphql(url, VERIFY_PARTNER_ACCESS_TOKEN, { token: jwt, tenantId: 'acme', subTenantId: 'team' }, admin)).data!
        .verifyPartnerAccessToken.code,
      introspect: (await postForm(url, '/oauth/introspect', { token: jwt }, { authorization: `Bearer ${admin}` })).body.active,
    });
    const valid = { verifyToken: 'VALID', verifyPartnerAccessToken: 'VALID', introspect: true };
    for (const [url, jwt] of [
      [two.url, fromOne],
      [one.url, fromTwo],
    ]) {
      expect(await accepted(url, jwt)).toEqual(valid);
    }

    // A token signed with the deployment's key but naming an issuer the log never recorded is not one of ours.
    const [{ key }] = await privateSigningKeys(dataDir);
    const { kid } = decodeProtectedHeader(fromOne);
    // Signed with the low s, as keyledger signs: a high-s signature is refused as malformed before the issuer is read.
    const elsewhere = withLowS(
      await new SignJWT({ ...decodeJwt(fromOne), iss: 'https://elsewhere.example' }).setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' }).sign(key),
    );
    const unknown = { verifyToken: 'NOT_FOUND', verifyPartnerAccessToken: 'NOT_FOUND', introspect: false };
    expect(await accepted(one.url, elsewhere)).toEqual(unknown);
    expect(await accepted(two.url, elsewhere)).toEqual(unknown);

    await one.kill('SIGTERM');
    const three = await fleet.start(dataDir);
    expect(await accepted(three.url, fromOne)).toEqual(valid);
    expect(await accepted(three.url, fromTwo)).toEqual(valid);
  }, 120_000);

  it('rotate-signing-key through the CLI: running gateways sign with the new key and keep publishing the old one', async () => {
    const dataDir = fleet.tempDir();
    const gateway = await fleet.start(dataDir);
    const { secret: admin } = await issueToken(gateway.url, ROOT_SECRET, { name: 'admin', tenantId: 'acme', roles: ['keyledger:admin'] });
    const partner = await createPartnerCredential(gateway.url, admin, { name: 'p', subTenantIds: ['team'] });
    const before = await oauthToken(gateway.url, partner, 'acme', 'team');
    const [oldKey] = await jwks(gateway.url);

    const result = await runCli(['rotate-signing-key'], { KEYLEDGER_DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`${oldKey.kid} stays published until`));

    await eventually(async () => (await jwks(gateway.url)).length === 2);
    const keys = await jwks(gateway.url);
    expect(keys[1]).toEqual(oldKey);
    const after = (await graphqlExchange(gateway.url, partner, 'acme', 'team')).data!.exchangePartnerCredential.accessToken as string;
    expect(decodeProtectedHeader(after).kid).toBe(keys[0].kid);
    const remote = createRemoteJWKSet(new URL(`${gateway.url}/.well-known/jwks.json`));
    for (const jwt of [before, after]) {
      const { payload } = await jwtVerify(jwt, remote, { issuer: gateway.url, audience: 'keyledger', typ: 'at+jwt', algorithms: ['ES256'] });
      expect(payload).toMatchObject({ tenant_id: 'acme', sub_tenant_id: 'team' });
    }
    expect(signingKeyEvents(dataDir).map((event) => event.type)).toEqual(['SigningKeyGenerated', 'SigningKeyRotated']);
  });

  it('no API secret, JWT or private signing key reaches the data directory or the logs', async () => {
    const dataDir = fleet.tempDir();
    const gateway = await fleet.start(dataDir, { LOG_LEVEL: 'trace' });
    const { secret: admin } = await issueToken(gateway.url, ROOT_SECRET, { name: 'admin', tenantId: 'acme', roles: ['keyledger:admin'] });
    const partner = await createPartnerCredential(gateway.url, admin, { name: 'kept', subTenantIds: ['team'] });
    const revoked = await createPartnerCredential(gateway.url, admin, { name: 'revoked', subTenantIds: [] });
    const jwts = [
      (await sourceExchange(gateway.url, sourceHeaders(partner, 'acme', 'team'))).body.data.token as string,
      (await graphqlExchange(gateway.url, partner, 'acme', 'team')).data!.exchangePartnerCredential.accessToken as string,
      await oauthToken(gateway.url, partner, 'acme', 'team'),
      await oauthToken(gateway.url, revoked, 'acme', 'anything'),
    ];
    await postForm(gateway.url, '/oauth/introspect', { token: jwts[0] }, { authorization: `Bearer ${admin}` });
    await postForm(gateway.url, '/oauth/revoke', { token: jwts[1] }, { authorization: basic(partner.apiKey, partner.apiSecret) });
    await graphql(gateway.url, 'mutation($input: RevokePartnerCredentialInput!) { revokePartnerCredential(input: $input) { id } }', { input: { id: revoked.id } }, admin);
    // Secrets sent where they do not belong: a failed exchange, a revoked token as a bearer, a query string.
    await sourceExchange(gateway.url, { ...sourceHeaders(revoked, 'acme', 'team'), 'x-sub-tenant-id': 'elsewhere' });
    await graphql(gateway.url, '{ viewer { id } }', {}, jwts[1]);
    await fetch(`${gateway.url}/oauth/token?client_secret=${partner.apiSecret}`, { method: 'POST' });
    await rotate(dataDir);
    await eventually(async () => (await jwks(gateway.url)).length === 2);
    jwts.push(await oauthToken(gateway.url, partner, 'acme', 'team'));

    const privateKeys = (await privateSigningKeys(dataDir)).map(({ kid, key }) => {
      const d = key.export({ format: 'jwk' }).d!;
      return {
        label: `the private key ${kid}`,
        forms: [
          Buffer.from(d),
          Buffer.from(d, 'base64url'),
          Buffer.from(Buffer.from(d, 'base64url').toString('base64')),
          Buffer.from(Buffer.from(d, 'base64url').toString('hex')),
          key.export({ format: 'der', type: 'pkcs8' }),
          Buffer.from(key.export({ format: 'pem', type: 'pkcs8' }).toString().split('\n')[1]),
        ],
      };
    });
    expect(privateKeys).toHaveLength(2);
    const secrets = [
      textForms('an API secret', partner.apiSecret),
      textForms('an API secret', revoked.apiSecret),
      ...jwts.flatMap((jwt) => [textForms('a JWT', jwt), textForms('a JWT signature', jwt.split('.')[2])]),
      ...privateKeys,
    ];
    // The scan does see what is there: the API key is public and stored as is.
    expect(findSecrets(dataDir, [textForms('the API key', partner.apiKey)])).not.toEqual([]);
    expect(findSecrets(dataDir, secrets)).toEqual([]);
    expect(await gateway.kill('SIGTERM')).toBe(0);
    expect(findSecrets(dataDir, secrets)).toEqual([]);

    const logs = gateway.output();
    expect(logs).toContain('"path":"/oauth/token"');
    for (const secret of secrets) {
      for (const form of secret.forms) expect(logs.includes(form.toString('utf8'))).toBe(false);
    }
  });
});

/**
 * The private signing keys, opened the way a gateway opens them (an in-process core on the
 * same data directory), so the scan knows every form they could take on disk.
 */
async function privateSigningKeys(dataDir: string): Promise<Array<{ kid: string; key: KeyObject }>> {
  const core = await openCore(loadConfig({ KEYLEDGER_DATA_DIR: dataDir, LOG_LEVEL: 'silent' }), createLogger({ level: 'silent' }));
  try {
    return signingKeyEvents(dataDir).map((event) => {
      const data = JSON.parse(event.data) as SigningKeyGenerated['data'];
      const record: SigningKey = { ...data, createdAt: '', retiredAt: null, publishedUntil: null };
      // The service never hands a private key out; the test reaches for the one method that opens it.
      return { kid: data.kid, key: core.partners.signingKeys['privateKey'](record) };
    });
  } finally {
    await core.close();
  }
}

async function rotate(dataDir: string): Promise<void> {
  const result = await runCli(['rotate-signing-key'], { KEYLEDGER_DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  if (result.code !== 0) throw new Error(`rotate-signing-key failed: ${result.stderr}`);
}
