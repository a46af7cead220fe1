import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT_SECRET } from '../helpers/gateway';
import { makeTempDir } from '../helpers/temp-dir';

/**
 * `npm run build` is what `npm start`, `npm test` and `npm run bootstrap` run first. On a tree
 * built already it must be quick and write nothing: a gateway started a moment earlier may be
 * loading dist/ at that very moment.
 */
const ROOT = join(__dirname, '../..');
const DIST = join(ROOT, 'dist');

function filesWithTimes(dir: string, into = new Map<string, number>()): Map<string, number> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) filesWithTimes(path, into);
    else if (!entry.name.startsWith('.build.lock')) into.set(path, statSync(path).mtimeMs);
  }
  return into;
}

function run(command: string, args: string[], env: Record<string, string> = {}, until?: RegExp): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    // Its own process group, so that stopping it reaches the gateway npm starts underneath.
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    let done = false;
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (until && !done && until.test(output)) {
        done = true;
        process.kill(-child.pid!, 'SIGTERM');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => resolve({ code: done ? 0 : code, output }));
  });
}

const build = () => run(process.execPath, [join(ROOT, 'src/build.js')]);

describe('npm run build', () => {
  beforeAll(async () => {
    // Brings dist/ up to date, as `npm test` does before running anything.
    const first = await build();
    if (first.code !== 0) throw new Error(first.output);
  }, 600_000);

  it('does not delete dist/ first, and on an unchanged tree rewrites no file', async () => {
    const marker = join(DIST, 'kept-by-the-build.txt');
    writeFileSync(marker, 'a file a running process might hold');
    try {
      const before = filesWithTimes(DIST);
      const again = await build();
      expect(again.code).toBe(0);
      expect(readFileSync(marker, 'utf8')).toBe('a file a running process might hold');
      const after = filesWithTimes(DIST);
      const changed = [...before].filter(([path, time]) => after.get(path) !== time).map(([path]) => path);
      expect(changed).toEqual([]);
    } finally {
      rmSync(marker, { force: true });
    }
  }, 120_000);

  it('two builds at once both succeed, and neither rewrites an up-to-date tree', async () => {
    const before = filesWithTimes(DIST);
    const results = await Promise.all([build(), build()]);
    expect(results.map((result) => result.code)).toEqual([0, 0]);
    const after = filesWithTimes(DIST);
    expect([...before].filter(([path, time]) => after.get(path) !== time)).toEqual([]);
  }, 120_000);

  it('two `npm start` at once both come up', async () => {
    const dirs = [makeTempDir('start-a'), makeTempDir('start-b')];
    try {
      const started = await Promise.all(
        dirs.map((dir) =>
          run('npm', ['start', '--silent'], { PORT: '0', HOST: '127.0.0.1', KEYLEDGER_DATA_DIR: dir.path, KEYLEDGER_BOOTSTRAP_TOKEN: ROOT_SECRET }, /"keyledger listening"/),
        ),
      );
      for (const { code, output } of started) {
        expect({ code, listening: /"keyledger listening"/.test(output) }).toEqual({ code: 0, listening: true });
      }
    } finally {
      dirs.forEach((dir) => dir.remove());
    }
  }, 180_000);
});
