import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

/**
 * Summarises `.cpuprofile` files written by server processes run with
 * `KEYLEDGER_BENCH_CPU_PROF=<dir>`: where the CPU went while the process was saturated, by
 * module and by function, as self time and as inclusive time.
 *
 *   node dist/bench/profile-summary.js [--seconds N] [--top N] file.cpuprofile ...
 *
 * Only the last N seconds (default 3, a quick load phase) of the process's saturated time are
 * counted: 100 ms slices in which nearly every sample was busy, so start-up, idle waits and
 * the set-up requests before a measured phase stay out as far as possible. The last half
 * second of the profile, the process's shutdown, is left out too.
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const SLICE_US = 100_000;
const SATURATED = 0.9;
const SHUTDOWN_US = 500_000;
const ROOT = process.cwd();
const NON_WORK = new Set(['(idle)', '(program)', '(root)']);

/** The package a script belongs to, or its path in this repository, or the Node built-in group. */
function moduleOf(frame: CallFrame): string {
  const url = frame.url.replace(/^file:\/\//, '');
  if (url === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (inPackage) return inPackage[1];
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  return relative(ROOT, url);
}

function functionOf(frame: CallFrame): string {
  return `${frame.functionName || '(anonymous)'} ${moduleOf(frame)}:${frame.lineNumber + 1}`;
}

export function summarise(file: string, seconds: number, top: number): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  // Each sample stands for the time until the next one.
  const count = profile.samples.length;
  const at: number[] = [];
  let clock = 0;
  for (let i = 0; i < count; i++) at.push((clock += profile.timeDeltas[i]));
  const duration = (i: number) => (i + 1 < count ? profile.timeDeltas[i + 1] : 0);
  const isWork = (i: number) => !NON_WORK.has(byId.get(profile.samples[i])!.callFrame.functionName);

  const slices = new Map<number, { work: number; all: number }>();
  const end = count > 0 ? at[count - 1] - SHUTDOWN_US : 0;
  for (let i = 0; i < count && at[i] < end; i++) {
    const slice = Math.floor(at[i] / SLICE_US);
    const totals = slices.get(slice) ?? { work: 0, all: 0 };
    totals.all += duration(i);
    if (isWork(i)) totals.work += duration(i);
    slices.set(slice, totals);
  }
  const saturated = [...slices.entries()]
    .filter(([, totals]) => totals.all > 0 && totals.work / totals.all >= SATURATED)
    .map(([slice]) => slice)
    .sort((a, b) => b - a)
    .slice(0, Math.round((seconds * 1e6) / SLICE_US));
  const chosen = new Set(saturated);

  const self = new Map<string, number>();
  const selfModules = new Map<string, number>();
  const inclusiveModules = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us);
  for (let i = 0; i < count; i++) {
    if (!chosen.has(Math.floor(at[i] / SLICE_US))) continue;
    const us = duration(i);
    const leaf = byId.get(profile.samples[i])!;
    total += us;
    add(self, functionOf(leaf.callFrame), us);
    add(selfModules, moduleOf(leaf.callFrame), us);
    const modules = new Set<string>();
    const functions = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame;
      if (frame.functionName === '(root)') continue;
      modules.add(moduleOf(frame));
      functions.add(functionOf(frame));
    }
    for (const module of modules) add(inclusiveModules, module, us);
    for (const name of functions) add(inclusive, name, us);
  }

  const table = (title: string, map: Map<string, number>) => {
    const rows = [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
    return [
      `  ${title}`,
      ...rows.map(([key, us]) => `    ${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}`),
    ].join('\n');
  };
  return [
    `${file}: ${(total / 1e6).toFixed(2)} s counted in ${saturated.length} saturated slices of ${SLICE_US / 1000} ms`,
    table('self time by module', selfModules),
    table('inclusive time by module', inclusiveModules),
    table('self time by function', self),
    table('inclusive time by function', inclusive),
  ].join('\n');
}

function main(argv: string[]): number {
  let seconds = 3;
  let top = 25;
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--seconds') seconds = Number(argv[++i]);
    else if (argv[i] === '--top') top = Number(argv[++i]);
    else files.push(argv[i]);
  }
  if (files.length === 0 || !(seconds > 0) || !(top > 0)) {
    process.stderr.write('usage: node dist/bench/profile-summary.js [--seconds N] [--top N] file.cpuprofile ...\n');
    return 2;
  }
  for (const file of files) process.stdout.write(`${summarise(file, seconds, top)}\n\n`);
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
