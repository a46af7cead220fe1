/**
 * The shape every benchmark module in `bench/` exports. `bench/run.ts` loads each module,
 * runs it, and prints every figure beside the baseline measured in the same run.
 */
export interface BenchOptions {
  /** `npm run bench -- --quick`: smaller inputs so the whole run stays under two minutes. */
  quick: boolean;
  /** A fresh temporary directory this benchmark may use; removed afterwards. */
  workDir: string;
}

export interface Figure {
  /** What was measured, e.g. `verifyToken req/s (1k tokens)`. */
  name: string;
  value: number;
  unit: string;
  /** The baseline measured in the same run, or null for an absolute target (events/s, ms, MiB). */
  baseline: { name: string; value: number } | null;
  /**
   * The target: for a ratio figure, the minimum ratio `value / baseline.value`;
   * for an absolute figure, a bound on `value` in `unit`.
   */
  target: { kind: 'ratio-at-least'; ratio: number } | { kind: 'at-least'; value: number } | { kind: 'at-most'; value: number };
  /** Optional extra facts printed beside the figure (p50/p99, sample sizes). */
  detail?: Record<string, number | string>;
}

export interface Benchmark {
  /** Short id, used by `npm run bench -- <id>` to run one benchmark. */
  id: string;
  title: string;
  run(options: BenchOptions): Promise<Figure[]>;
}
