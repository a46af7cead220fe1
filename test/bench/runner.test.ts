import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Benchmark, Figure } from '../../bench/types';
import { benchmarksOf, runBenchmark } from '../../bench/lib/runner';

const figure: Figure = { name: 'n', value: 1, unit: 'ms', baseline: null, target: { kind: 'at-most', value: 2 } };

describe('running a benchmark', () => {
  it('gives it a fresh directory, returns its figures and removes the directory', async () => {
    let seen = '';
    const benchmark: Benchmark = {
      id: 'ok',
      title: 'ok',
      async run({ quick, workDir }) {
        expect(quick).toBe(true);
        seen = workDir;
        writeFileSync(join(workDir, 'data'), 'x');
        return [figure];
      },
    };
    const outcome = await runBenchmark(benchmark, true);
    expect(outcome).toMatchObject({ id: 'ok', figures: [figure], error: null });
    expect(seen).not.toBe('');
    expect(existsSync(seen)).toBe(false);
  });

  it('turns a failure into an outcome naming the error, and still removes the directory', async () => {
    let seen = '';
    const benchmark: Benchmark = {
      id: 'broken',
      title: 'broken',
      async run({ workDir }) {
        seen = workDir;
        writeFileSync(join(workDir, 'data'), 'x');
        throw new RangeError('the gateway exited');
      },
    };
    const outcome = await runBenchmark(benchmark, false);
    expect(outcome).toMatchObject({ id: 'broken', figures: [], error: 'RangeError: the gateway exited' });
    expect(existsSync(seen)).toBe(false);
  });

  it('finds the benchmarks a module exports under any name, and nothing else', () => {
    const one: Benchmark = { id: 'one', title: 'one', run: async () => [] };
    const two: Benchmark = { id: 'two', title: 'two', run: async () => [] };
    const found = benchmarksOf([{ oneBenchmark: one, TENANT: 'bench', helper: () => 1 }, { default: two }, {}]);
    expect(found.map((benchmark) => benchmark.id)).toEqual(['one', 'two']);
  });
});

describe('npm run bench', () => {
  const RUN_JS = join(__dirname, '../../dist/bench/run.js');

  function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    if (!existsSync(RUN_JS)) throw new Error(`${RUN_JS} is missing: run \`npm run build\` (npm test does it first)`);
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [RUN_JS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk) => (stderr += chunk.toString()));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
  }

  it('lists its options and benchmark ids on --help', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('--quick');
    expect(stdout).toMatch(/benchmarks: .*verify-token.*issue-token.*revocation-fanout/);
  });

  it('refuses an unknown id or option without running anything, naming the known ids', async () => {
    const unknownId = await run(['--quick', 'verify-tokens']);
    expect(unknownId.code).toBe(2);
    expect(unknownId.stderr).toContain('unknown benchmark verify-tokens; known: verify-token, issue-token, revocation-fanout');
    expect(unknownId.stdout).toBe('');
    const unknownOption = await run(['--fast']);
    expect(unknownOption.code).toBe(2);
    expect(unknownOption.stderr).toContain('unknown option --fast');
  });
});
