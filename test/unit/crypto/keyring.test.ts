import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { KeyRing, MASTER_KEY_BYTES, loadOrCreateMasterKeyFile, parseMasterKey } from '../../../src/crypto/keyring';
import { makeTempDir } from '../../helpers/temp-dir';

const MASTER = Buffer.alloc(32, 7);
const SECRET = Buffer.alloc(32, 7);
const ring = (master: Buffer, secret: Buffer = SECRET, previous: Buffer | null = null) => new KeyRing({ current: master, previous }, secret);

describe('KeyRing', () => {
  it('derives 32-byte keys that differ from each other and from their roots', () => {
    const keys = ring(MASTER, Buffer.alloc(32, 9));
    expect(keys.lookupPepper).toHaveLength(32);
    expect(keys.auditKey).toHaveLength(32);
    expect(keys.lookupPepper.equals(keys.auditKey)).toBe(false);
    for (const root of [MASTER, Buffer.alloc(32, 9)]) {
      expect(keys.lookupPepper.equals(root)).toBe(false);
      expect(keys.auditKey.equals(root)).toBe(false);
    }
  });

  // Replicas and restarts must derive the same pepper, or every stored lookup hash stops matching.
  it('derives the pinned keys for a known deployment secret', () => {
    const keys = ring(MASTER);
    expect(keys.lookupPepper.toString('hex')).toBe('3841cc52c0c4021d609348b81e4bd012c7bf18112be99ceb374231efb0ecd972');
    expect(keys.auditKey.toString('hex')).toBe('c5ae9c66645db95a9f83973516de2eae6c36e00d482cc365eddadd1306ac054e');
  });

  it('keeps the pepper, audit key and signing-key wrapping key when the master key changes', () => {
    const before = ring(MASTER);
    const after = ring(Buffer.alloc(32, 8), SECRET, MASTER);
    expect(after.lookupPepper.equals(before.lookupPepper)).toBe(true);
    expect(after.auditKey.equals(before.auditKey)).toBe(true);
    expect(after.signingKeyWrappingKey.equals(before.signingKeyWrappingKey)).toBe(true);
    expect(after.dataKeyWrappingKey.equals(before.dataKeyWrappingKey)).toBe(false);
  });

  it('differs for another deployment secret', () => {
    const a = ring(MASTER);
    const other = ring(MASTER, Buffer.alloc(32, 8));
    expect(other.lookupPepper.equals(a.lookupPepper)).toBe(false);
    expect(other.auditKey.equals(a.auditKey)).toBe(false);
  });

  it('wraps data keys with the current master key and unwraps with the previous one during a rotation', () => {
    const old = ring(MASTER);
    const blob = old.dataKeyWrapping.wrap(Buffer.from('data key'), 'ctx');
    const rolling = ring(Buffer.alloc(32, 8), SECRET, MASTER);
    expect(rolling.dataKeyWrapping.unwrap(blob, 'ctx')!.toString()).toBe('data key');
    expect(rolling.dataKeyWrapping.needsRewrap(blob)).toBe(true);
    expect(rolling.dataKeyWrapping.needsRewrap(rolling.dataKeyWrapping.wrap(Buffer.from('x'), 'ctx'))).toBe(false);
  });

  it('keeps the master key it was given', () => {
    expect(ring(MASTER).masterKey.equals(MASTER)).toBe(true);
  });

  it.each([0, 16, 31, 33, 64])('refuses a %d-byte master key', (length) => {
    expect(() => ring(Buffer.alloc(length, 1))).toThrow(/master key must be 32 bytes/);
  });

  it('refuses a deployment secret that is not 32 bytes', () => {
    expect(() => ring(MASTER, Buffer.alloc(16, 1))).toThrow(/deployment secret must be 32 bytes/);
  });
});

describe('parseMasterKey', () => {
  const encoded = MASTER.toString('base64');

  it('decodes a base64 32-byte key, ignoring surrounding whitespace', () => {
    expect(MASTER_KEY_BYTES).toBe(32);
    expect(parseMasterKey(encoded).equals(MASTER)).toBe(true);
    expect(parseMasterKey(`  ${encoded}\n`).equals(MASTER)).toBe(true);
  });

  it('accepts unpadded base64', () => {
    expect(parseMasterKey(encoded.replace(/=+$/, '')).equals(MASTER)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['blank', '   '],
    ['not base64', 'not base64!'],
    ['base64url alphabet', Buffer.alloc(32, 0xfb).toString('base64url')],
    ['hex with a separator', MASTER.toString('hex').replace(/(..)/g, '$1:').slice(0, -1)],
    ['padding in the middle', 'AAAA=AAAA'],
    ['too much padding', `${encoded}==`],
  ])('refuses %s input with a hint on how to make a key', (_label, value) => {
    expect(() => parseMasterKey(value)).toThrow('KEYLEDGER_MASTER_KEY must be base64 (for example: openssl rand -base64 32)');
  });

  it('refuses a hex-encoded key, which decodes to the wrong length', () => {
    expect(() => parseMasterKey(MASTER.toString('hex'))).toThrow('KEYLEDGER_MASTER_KEY must encode exactly 32 bytes (it encodes 48)');
  });

  it.each([1, 16, 31, 33, 48])('refuses a key that encodes %d bytes, saying how many it got', (length) => {
    expect(() => parseMasterKey(Buffer.alloc(length, 3).toString('base64'))).toThrow(
      `KEYLEDGER_MASTER_KEY must encode exactly 32 bytes (it encodes ${length})`,
    );
  });

  it('does not echo the key in its error', () => {
    const wrong = Buffer.alloc(31, 0x5a).toString('base64');
    const error = (() => {
      try {
        parseMasterKey(wrong);
      } catch (caught) {
        return caught as Error;
      }
      throw new Error('expected parseMasterKey to throw');
    })();
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).not.toContain(wrong);
    expect(error.message).not.toContain(wrong.slice(0, 8));
  });
});

describe('loadOrCreateMasterKeyFile', () => {
  let dir: ReturnType<typeof makeTempDir>;

  beforeEach(() => {
    dir = makeTempDir('keyledger-keyring');
  });
  afterEach(() => dir.remove());

  it('creates a 0600 file holding a base64 key, in a directory it creates', () => {
    const path = join(dir.path, 'nested', 'keys', 'master.key');
    const first = loadOrCreateMasterKeyFile(path);
    expect(first.created).toBe(true);
    expect(first.key).toHaveLength(32);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toBe(`${first.key.toString('base64')}\n`);
  });

  it('returns the same key on the second call without creating a new one', () => {
    const path = join(dir.path, 'master.key');
    const first = loadOrCreateMasterKeyFile(path);
    const second = loadOrCreateMasterKeyFile(path);
    expect(second.created).toBe(false);
    expect(second.key.equals(first.key)).toBe(true);
  });

  it('creates different keys in different data directories', () => {
    const a = loadOrCreateMasterKeyFile(join(dir.path, 'a', 'master.key'));
    const b = loadOrCreateMasterKeyFile(join(dir.path, 'b', 'master.key'));
    expect(a.key.equals(b.key)).toBe(false);
  });

  it('reads an existing key file without rewriting it', () => {
    const path = join(dir.path, 'master.key');
    writeFileSync(path, `${MASTER.toString('base64')}\n`, { mode: 0o400 });
    const loaded = loadOrCreateMasterKeyFile(path);
    expect(loaded).toEqual({ key: MASTER, created: false });
    expect(statSync(path).mode & 0o777).toBe(0o400);
  });

  it('refuses a key file with a malformed key', () => {
    const path = join(dir.path, 'master.key');
    writeFileSync(path, 'c2hvcnQ=\n');
    expect(() => loadOrCreateMasterKeyFile(path)).toThrow(/must encode exactly 32 bytes \(it encodes 5\)/);
  });

  it('gives up on a key file that stays empty, naming the file', () => {
    const path = join(dir.path, 'master.key');
    writeFileSync(path, '');
    expect(() => loadOrCreateMasterKeyFile(path)).toThrow(`The master key file ${path} is empty`);
  });

  it('surfaces filesystem errors instead of inventing a key', () => {
    const file = join(dir.path, 'not-a-directory');
    writeFileSync(file, 'x');
    expect(() => loadOrCreateMasterKeyFile(join(file, 'master.key'))).toThrow(/ENOTDIR|EEXIST/);
    const directory = join(dir.path, 'master.key');
    mkdirSync(directory);
    expect(() => loadOrCreateMasterKeyFile(directory)).toThrow(/EISDIR/);
  });

  it('lets processes racing on a fresh data directory agree on one key', async () => {
    // The children load a plain-JS build of the module so they start quickly and hit the
    // exclusive create at the same instant.
    for (const name of ['keyring', 'wrapping-keys']) {
      const source = readFileSync(resolve(__dirname, `../../../src/crypto/${name}.ts`), 'utf8');
      const compiled = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      }).outputText;
      writeFileSync(join(dir.path, `${name}.js`), compiled);
    }
    const modulePath = join(dir.path, 'keyring.js');
    const keyPath = join(dir.path, 'data', 'master.key');
    const startAt = Date.now() + 1500;
    const child = `
      const { loadOrCreateMasterKeyFile } = require(${JSON.stringify(modulePath)});
      const wait = new Int32Array(new SharedArrayBuffer(4));
      while (Date.now() < ${startAt}) Atomics.wait(wait, 0, 0, 1);
      const { key, created } = loadOrCreateMasterKeyFile(${JSON.stringify(keyPath)});
      process.stdout.write(JSON.stringify({ key: key.toString('base64'), created }));
    `;
    const run = () =>
      new Promise<{ key: string; created: boolean }>((resolveRun, reject) => {
        const proc = spawn(process.execPath, ['-e', child], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        proc.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
        proc.on('error', reject);
        proc.on('close', (code) => (code === 0 ? resolveRun(JSON.parse(out)) : reject(new Error(`child exited ${code}: ${err}`))));
      });

    const results = await Promise.all([run(), run(), run(), run()]);
    const onDisk = readFileSync(keyPath, 'utf8').trim();
    expect(new Set(results.map((r) => r.key))).toEqual(new Set([onDisk]));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(parseMasterKey(onDisk)).toHaveLength(32);
  }, 20_000);
});
