import type { Figure } from '../types';
import { machineSummary, type Environment } from './environment';

export type Verdict = 'PASS' | 'MISS';

/** `value / baseline`, or null for a figure without a baseline. */
export function ratioOf(figure: Figure): number | null {
  return figure.baseline && figure.baseline.value !== 0 ? figure.value / figure.baseline.value : null;
}

export function verdictOf(figure: Figure): Verdict {
  const { target } = figure;
  switch (target.kind) {
    case 'ratio-at-least': {
      const ratio = ratioOf(figure);
      return ratio !== null && ratio >= target.ratio ? 'PASS' : 'MISS';
    }
    case 'at-least':
      return figure.value >= target.value ? 'PASS' : 'MISS';
    case 'at-most':
      return figure.value <= target.value ? 'PASS' : 'MISS';
  }
}

export function targetText(figure: Figure): string {
  const { target } = figure;
  switch (target.kind) {
    case 'ratio-at-least':
      return `ratio ≥ ${target.ratio}`;
    case 'at-least':
      return `≥ ${target.value} ${figure.unit}`;
    case 'at-most':
      return `≤ ${target.value} ${figure.unit}`;
  }
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

/** What one benchmark produced: its figures, or why it produced none. */
export interface BenchmarkOutcome {
  id: string;
  title: string;
  seconds: number;
  figures: Figure[];
  error: string | null;
}

function tableRows(outcomes: readonly BenchmarkOutcome[]): string[][] {
  const rows: string[][] = [];
  for (const outcome of outcomes) {
    if (outcome.error !== null) {
      rows.push([outcome.id, 'FAILED', '', '', '', 'FAILED', outcome.error.split('\n')[0]]);
      continue;
    }
    for (const figure of outcome.figures) {
      const ratio = ratioOf(figure);
      rows.push([
        figure.name,
        `${formatNumber(figure.value)} ${figure.unit}`,
        figure.baseline ? `${figure.baseline.name}: ${formatNumber(figure.baseline.value)} ${figure.unit}` : '-',
        ratio === null ? '-' : ratio.toFixed(2),
        targetText(figure),
        verdictOf(figure),
        Object.entries(figure.detail ?? {})
          .map(([key, value]) => `${key} ${typeof value === 'number' ? formatNumber(value) : value}`)
          .join(', '),
      ]);
    }
  }
  return rows;
}

/** The results as an aligned plain-text table. */
export function formatTable(outcomes: readonly BenchmarkOutcome[]): string {
  const header = ['figure', 'value', 'baseline', 'ratio', 'target', 'result', 'details'];
  const rows = [header, ...tableRows(outcomes)];
  const widths = header.map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const line = (row: string[]) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  ').slice(0, 160), ...rows.slice(1).map(line)].join('\n');
}

/** The README's table of figures: one row per figure, with the date and machine of this run. */
export function formatMarkdown(outcomes: readonly BenchmarkOutcome[], environment: Environment): string {
  const date = environment.date.slice(0, 10);
  const machine = machineSummary(environment);
  const lines = ['| figure | value | baseline | ratio / target | date | machine |', '|---|---|---|---|---|---|'];
  for (const outcome of outcomes) {
    for (const figure of outcome.figures) {
      const ratio = ratioOf(figure);
      const baseline = figure.baseline ? `${figure.baseline.name}: ${formatNumber(figure.baseline.value)} ${figure.unit}` : '-';
      const ratioCell = `${ratio === null ? '' : `${ratio.toFixed(2)} / `}${targetText(figure)} (${verdictOf(figure)})`;
      lines.push(`| ${figure.name} | ${formatNumber(figure.value)} ${figure.unit} | ${baseline} | ${ratioCell} | ${date} | ${machine} |`);
    }
  }
  return lines.join('\n');
}
