#!/usr/bin/env node
/*
 * The one build entry point (`npm run build`, and so `npm start`, `npm test`, `npm run bootstrap`).
 * TypeScript compiles only what changed: `tsc --build` keeps its record in
 * dist/tsconfig.build.tsbuildinfo, so an unchanged tree is checked in a moment and nothing is
 * written. dist/ is never deleted, since a running gateway may still load files from it.
 * Builds started at once take turns through a lock file: the second finds the first one's
 * output up to date and writes nothing while the first one's gateway starts.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const lockPath = path.join(root, 'dist', '.build.lock');
const WAIT_LIMIT_MS = 15 * 60_000;

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function holderAlive(file) {
  let pid;
  try {
    pid = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
  } catch {
    // Being written this instant: its holder is alive.
    return true;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

function acquireLock() {
  fs.mkdirSync(path.dirname(lockPath), { recursive: true });
  const deadline = Date.now() + WAIT_LIMIT_MS;
  let announced = false;
  for (;;) {
    try {
      fs.writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
      return;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    if (!holderAlive(lockPath)) {
      // Left by a build that died: whoever removes it first retries the exclusive create.
      fs.rmSync(lockPath, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another build has held ${lockPath} for too long; remove it if no build is running`);
    if (!announced) {
      process.stderr.write('waiting for another build of this tree to finish\n');
      announced = true;
    }
    sleep(200);
  }
}

function releaseLock() {
  try {
    if (fs.readFileSync(lockPath, 'utf8') === String(process.pid)) fs.rmSync(lockPath, { force: true });
  } catch {
    // Already gone.
  }
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

/** The steps, in order: the verifier library (the benchmarks load it), the gateway, the console (skipped when its inputs are older than its last build). */
function build() {
  const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
  const verifier = path.join(root, 'packages', 'verifier');
  let status = run(process.execPath, [tsc, '--build', path.join(verifier, 'tsconfig.cjs.json'), path.join(verifier, 'tsconfig.esm.json')]);
  if (status !== 0) return status;
  // The package is CommonJS by default; its ES module build says so to Node.
  fs.writeFileSync(path.join(verifier, 'dist', 'esm', 'package.json'), `${JSON.stringify({ type: 'module' }, null, 2)}\n`);
  status = run(process.execPath, [tsc, '--build', 'tsconfig.build.json']);
  if (status !== 0 || consoleUpToDate()) return status;
  const npm = process.env.npm_execpath;
  status = npm ? run(process.execPath, [npm, 'run', 'build:console']) : run('npm', ['run', 'build:console']);
  if (status === 0) fs.writeFileSync(consoleStamp, '');
  return status;
}

/** What the console bundle is made of: its own sources and the role table it shares with the gateway. */
const consoleInputs = [path.join(root, 'src', 'console'), path.join(root, 'src', 'domain', 'access'), path.join(root, 'package-lock.json')];
const consoleStamp = path.join(root, 'dist', 'console', '.built');

function newestChange(entry) {
  const stat = fs.statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return fs.readdirSync(entry).reduce((newest, name) => Math.max(newest, newestChange(path.join(entry, name))), stat.mtimeMs);
}

function consoleUpToDate() {
  let built;
  try {
    built = fs.statSync(consoleStamp).mtimeMs;
  } catch {
    return false;
  }
  return consoleInputs.every((input) => newestChange(input) <= built);
}

acquireLock();
let status;
try {
  status = build();
} finally {
  releaseLock();
}
process.exit(status);
