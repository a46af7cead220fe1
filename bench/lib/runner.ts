import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Benchmark } from '../types';
import type { BenchmarkOutcome } from './report';

function isBenchmark(value: unknown): value is Benchmark {
  const candidate = value as Partial<Benchmark> | null;
  return typeof candidate === 'object' && candidate !== null && typeof candidate.id === 'string' && typeof candidate.run === 'function';
}

/** Every Benchmark the modules export, whatever they named the export. */
export function benchmarksOf(modules: readonly object[]): Benchmark[] {
  return modules.flatMap((module) => Object.values(module).filter(isBenchmark));
}

/**
 * Runs one benchmark in a fresh temporary directory, removed afterwards whatever happens.
 * A benchmark that throws becomes an outcome carrying the error, so the next one still runs.
 */
export async function runBenchmark(benchmark: Benchmark, quick: boolean): Promise<BenchmarkOutcome> {
  const workDir = mkdtempSync(join(tmpdir(), `keyledger-bench-${benchmark.id}-`));
  const started = performance.now();
  const seconds = () => Math.round((performance.now() - started) / 100) / 10;
  try {
    const figures = await benchmark.run({ quick, workDir });
    return { id: benchmark.id, title: benchmark.title, seconds: seconds(), figures, error: null };
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { id: benchmark.id, title: benchmark.title, seconds: seconds(), figures: [], error: message };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
