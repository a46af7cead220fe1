import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../helpers/temp-dir';

const ROOT = join(__dirname, '../..');
const PACKAGE_DIR = join(ROOT, 'packages/verifier');
const RUNTIME_DEPENDENCIES = ['graphql-ws', 'jose', 'ws'];

function node(cwd: string, args: string[]): string {
  return execFileSync(process.execPath, args, { cwd, encoding: 'utf8', env: { PATH: process.env.PATH } });
}

/**
 * `npm pack` of @keyledger/verifier gives a tarball that a project outside this repository
 * can install (here offline: unpacked, with its three dependencies linked) and load both as
 * CommonJS and as an ES module, each entry point with its types.
 */
describe('the @keyledger/verifier tarball', () => {
  const temp = makeTempDir('keyledger-verifier-pack');
  let project: string;
  let files: string[];

  beforeAll(() => {
    if (!existsSync(join(PACKAGE_DIR, 'dist/cjs/index.js'))) throw new Error('packages/verifier is not built: run `npm run build` (npm test does it first)');
    // The build already ran (npm test builds first); packing again must not rebuild under other tests' feet.
    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', temp.path], { cwd: PACKAGE_DIR, encoding: 'utf8' }),
    ) as Array<{ filename: string; files: Array<{ path: string }> }>;
    files = packed.files.map((file) => file.path).sort();
    project = join(temp.path, 'project');
    const installed = join(project, 'node_modules/@keyledger/verifier');
    mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['-xzf', join(temp.path, packed.filename), '-C', installed, '--strip-components=1']);
    for (const dependency of RUNTIME_DEPENDENCIES) symlinkSync(join(ROOT, 'node_modules', dependency), join(project, 'node_modules', dependency));
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'resource-server', private: true }));
  });

  afterAll(() => temp.remove());

  it('holds the two builds, their types, the README and the manifest, and no sources', () => {
    expect(files).toEqual(expect.arrayContaining(['README.md', 'package.json', 'dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/esm/index.js', 'dist/esm/index.d.ts', 'dist/esm/package.json']));
    for (const entry of ['express', 'fastify', 'hono']) {
      expect(files).toEqual(expect.arrayContaining([`dist/cjs/${entry}.js`, `dist/cjs/${entry}.d.ts`, `dist/esm/${entry}.js`, `dist/esm/${entry}.d.ts`]));
    }
    expect(files.filter((file) => file.startsWith('src/') || file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(project, 'node_modules/@keyledger/verifier/package.json'), 'utf8'));
    expect(manifest).toMatchObject({ name: '@keyledger/verifier', version: expect.stringMatching(/^\d+\.\d+\.\d+$/) });
    expect(Object.keys(manifest.dependencies).sort()).toEqual(RUNTIME_DEPENDENCIES);
    expect(Object.keys(manifest.exports)).toEqual(['.', './express', './fastify', './hono', './package.json']);
  });

  it('loads with require: every entry point, with no framework installed', () => {
    const script = `
      const { createVerifier, bearerOf } = require('@keyledger/verifier');
      const names = ['express', 'fastify', 'hono'].map((entry) => typeof require('@keyledger/verifier/' + entry).requireCredential);
      console.log(JSON.stringify([typeof createVerifier, bearerOf('Bearer abc'), ...names]));`;
    expect(JSON.parse(node(project, ['-e', script]))).toEqual(['function', 'abc', 'function', 'function', 'function']);
  });

  it('loads with import: every entry point, as ES modules', () => {
    const script = `
      const { createVerifier, bearerOf } = await import('@keyledger/verifier');
      const names = [];
      for (const entry of ['express', 'fastify', 'hono']) names.push(typeof (await import('@keyledger/verifier/' + entry)).requireCredential);
      const resolved = import.meta.resolve('@keyledger/verifier');
      console.log(JSON.stringify([typeof createVerifier, bearerOf('Bearer abc'), ...names, resolved.includes('/dist/esm/')]));`;
    expect(JSON.parse(node(project, ['--input-type=module', '-e', script]))).toEqual(['function', 'abc', 'function', 'function', 'function', true]);
  });

  it('a verifier made from the installed package refuses a malformed credential without a gateway, and closes', () => {
    const script = `
      const { createVerifier } = require('@keyledger/verifier');
      const verifier = createVerifier({ url: 'http://127.0.0.1:9', token: 'unused', retryDelayMs: { min: 10, max: 10 } });
      verifier.verify('').then(async (verdict) => { await verifier.close(); console.log(JSON.stringify(verdict)); });`;
    expect(JSON.parse(node(project, ['-e', script]))).toMatchObject({ valid: false, code: 'MALFORMED' });
  });
});
