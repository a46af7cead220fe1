import type { Figure } from '../../bench/types';
import type { Environment } from '../../bench/lib/environment';
import { formatMarkdown, formatTable, ratioOf, verdictOf, type BenchmarkOutcome } from '../../bench/lib/report';

const throughput = (value: number, baseline: number): Figure => ({
  name: 'verifyToken req/s',
  value,
  unit: 'req/s',
  baseline: { name: 'bare req/s', value: baseline },
  target: { kind: 'ratio-at-least', ratio: 0.7 },
  detail: { 'p99 ms': 12 },
});

const environment: Environment = {
  date: '2026-11-23T04:00:00.000Z',
  cores: 2,
  cpuModel: 'Test CPU',
  totalMemoryGiB: 8,
  node: 'v20.20.2',
  versions: { keyledger: '0.1.0' },
};

describe('benchmark verdicts', () => {
  it('compares a ratio figure with its baseline, a ratio equal to the target passing', () => {
    expect(ratioOf(throughput(700, 1000))).toBeCloseTo(0.7);
    expect(verdictOf(throughput(700, 1000))).toBe('PASS');
    expect(verdictOf(throughput(699, 1000))).toBe('MISS');
  });

  it('misses a ratio target when the baseline is missing or zero', () => {
    expect(verdictOf({ ...throughput(700, 0) })).toBe('MISS');
    expect(verdictOf({ ...throughput(700, 1000), baseline: null })).toBe('MISS');
  });

  it('checks absolute bounds on the value, whatever the baseline', () => {
    const latency: Figure = { name: 'p99', value: 100, unit: 'ms', baseline: { name: 'bare p99', value: 1 }, target: { kind: 'at-most', value: 100 } };
    expect(verdictOf(latency)).toBe('PASS');
    expect(verdictOf({ ...latency, value: 100.1 })).toBe('MISS');
    const rate: Figure = { name: 'events/s', value: 5000, unit: 'events/s', baseline: null, target: { kind: 'at-least', value: 5000 } };
    expect(verdictOf(rate)).toBe('PASS');
    expect(verdictOf({ ...rate, value: 4999 })).toBe('MISS');
  });
});

describe('benchmark tables', () => {
  const outcomes: BenchmarkOutcome[] = [
    { id: 'verify-token', title: 'verify', seconds: 3, figures: [throughput(600, 1000)], error: null },
    { id: 'broken', title: 'broken', seconds: 1, figures: [], error: 'Error: gateway exited\nstack line' },
  ];

  it('prints each figure with its baseline, ratio, target and verdict, and a failed benchmark by its first error line', () => {
    const lines = formatTable(outcomes).split('\n');
    const figure = lines.find((line) => line.startsWith('verifyToken req/s'));
    expect(figure).toMatch(/600 req\/s\s+bare req\/s: 1,000 req\/s\s+0\.60\s+ratio ≥ 0\.7\s+MISS\s+p99 ms 12/);
    const failed = lines.find((line) => line.startsWith('broken'));
    expect(failed).toContain('Error: gateway exited');
    expect(failed).not.toContain('stack line');
  });

  it('prints the README table with the date and machine on every figure row', () => {
    const rows = formatMarkdown(outcomes, environment).split('\n');
    expect(rows[0]).toBe('| figure | value | baseline | ratio / target | date | machine |');
    expect(rows).toHaveLength(3);
    expect(rows[2].split('|').map((cell) => cell.trim())).toEqual([
      '',
      'verifyToken req/s',
      '600 req/s',
      'bare req/s: 1,000 req/s',
      '0.60 / ratio ≥ 0.7 (MISS)',
      '2026-11-23',
      '2 × Test CPU, 8 GiB, Node v20.20.2',
      '',
    ]);
  });
});
