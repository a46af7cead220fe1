import { generateKeyPairSync, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ScannerPublicKeys } from '../../../src/app/leaks/scanner-public-keys';
import { ConfigError, loadConfig } from '../../../src/config';
import { scannerKey, servePublicKeys, writePublicKeysFile } from '../../helpers/secret-scanning';
import { makeTempDir } from '../../helpers/temp-dir';
import { TestClock } from '../../helpers/test-clock';

const quiet = { info: () => undefined, warn: () => undefined };
const body = Buffer.from('[{"token":"klt_x","type":"keyledger_api_token"}]');

describe('the secret-scanning public keys', () => {
  const temp = makeTempDir('scanner-keys-unit');
  afterAll(() => temp.remove());

  it('picks up a rotated-in key once the refresh interval allows, and not before', async () => {
    const old = scannerKey('old');
    const next = scannerKey('next');
    const file = writePublicKeysFile(temp.path, [old]);
    const clock = new TestClock();
    const keys = new ScannerPublicKeys({ source: { file }, clock, logger: quiet, minRefreshIntervalMs: 60_000 });
    const signature = (key: typeof old) => sign('sha256', body, key.privateKey).toString('base64');

    expect(await keys.check('old', signature(old), body)).toBe('valid');
    writePublicKeysFile(temp.path, [next, old]);
    expect(await keys.check('next', signature(next), body)).toBe('unknown-key');
    clock.advance(60_000);
    expect(await keys.check('next', signature(next), body)).toBe('valid');
    // Keys still listed but no longer current keep verifying.
    expect(await keys.check('old', signature(old), body)).toBe('valid');
    expect(await keys.check('old', signature(next), body)).toBe('invalid');
  });

  it('a burst of unknown identifiers fetches the document once', async () => {
    const key = scannerKey('only');
    const server = await servePublicKeys([key]);
    try {
      const keys = new ScannerPublicKeys({ source: { url: server.url }, clock: new TestClock(), logger: quiet });
      const signature = sign('sha256', body, key.privateKey).toString('base64');
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => keys.check(`unknown-${i}`, signature, body)));
      expect(new Set(answers)).toEqual(new Set(['unknown-key']));
      expect(server.fetches()).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('a document that cannot be fetched is tried again once per refresh interval, not once per report', async () => {
    let fetches = 0;
    const server = createServer((_req, res) => {
      fetches++;
      res.statusCode = 503;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const clock = new TestClock();
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/keys`;
      const keys = new ScannerPublicKeys({ source: { url }, clock, logger: quiet, minRefreshIntervalMs: 60_000 });
      for (let i = 0; i < 5; i++) expect(await keys.check('any', 'A'.repeat(96), body)).toBe('keys-unavailable');
      expect(fetches).toBe(1);
      clock.advance(60_000);
      expect(await keys.check('any', 'A'.repeat(96), body)).toBe('keys-unavailable');
      expect(fetches).toBe(2);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('keys-unavailable while the document cannot be read, and no key of another curve is taken', async () => {
    const clock = new TestClock();
    const missing = new ScannerPublicKeys({ source: { file: join(temp.path, 'absent.json') }, clock, logger: quiet });
    expect(await missing.check('any', 'A'.repeat(96), body)).toBe('keys-unavailable');

    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const file = join(temp.path, 'p384.json');
    writeFileSync(file, JSON.stringify({ public_keys: [{ key_identifier: 'p384', key: p384.publicKey.export({ type: 'spki', format: 'pem' }), is_current: true }] }));
    const keys = new ScannerPublicKeys({ source: { file }, clock, logger: quiet });
    const signature = sign('sha256', body, p384.privateKey).toString('base64');
    expect(await keys.check('p384', signature, body)).toBe('unknown-key');
  });
});

describe('the leak settings', () => {
  it('default to revoking every kind, with no secret-scanning keys', () => {
    expect(loadConfig({}).leaks).toEqual({
      githubKeys: null,
      policy: { API_TOKEN: 'revoke', WEBHOOK_TOKEN: 'revoke', INTEGRATION_KEY: 'revoke' },
      publicRevocationsPerMinute: 10,
    });
  });

  it('read a URL or a file, and a policy per kind', () => {
    const config = loadConfig({ KEYLEDGER_SECRET_SCANNING_GITHUB_KEYS: 'https://api.github.com/meta/public_keys/secret_scanning', KEYLEDGER_LEAK_POLICY: 'WEBHOOK_TOKEN=notify, API_TOKEN=revoke' });
    expect(config.leaks.githubKeys).toEqual({ url: 'https://api.github.com/meta/public_keys/secret_scanning' });
    expect(config.leaks.policy).toEqual({ API_TOKEN: 'revoke', WEBHOOK_TOKEN: 'notify', INTEGRATION_KEY: 'revoke' });
    expect(loadConfig({ KEYLEDGER_SECRET_SCANNING_GITHUB_KEYS: '/etc/keyledger/github-keys.json' }).leaks.githubKeys).toEqual({ file: '/etc/keyledger/github-keys.json' });
  });

  it.each([
    ['KEYLEDGER_LEAK_POLICY', 'API_TOKEN=delete'],
    ['KEYLEDGER_LEAK_POLICY', 'PARTNER=notify'],
    ['KEYLEDGER_PUBLIC_REVOCATIONS_PER_MINUTE', 'many'],
    ['KEYLEDGER_SECRET_SCANNING_GITHUB_KEYS', 'https://user:pw@example.com/keys'],
  ])('refuse %s=%s, naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(name));
  });
});
