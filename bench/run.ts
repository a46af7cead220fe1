import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as append from './append.bench';
import * as auditLog from './audit-log.bench';
import * as coldStart from './cold-start.bench';
import * as eventStoreDbCatchUp from './eventstoredb-catch-up.bench';
import * as issueToken from './issue-token.bench';
import { describeEnvironment, machineSummary } from './lib/environment';
import { BENCH_GATEWAY_ENV } from './lib/gateway';
import { formatMarkdown, formatTable, verdictOf, type BenchmarkOutcome } from './lib/report';
import { benchmarksOf, runBenchmark } from './lib/runner';
import * as memory from './memory.bench';
import * as rebuild from './rebuild.bench';
import * as revocationFanout from './revocation-fanout.bench';
import * as ssfPush from './ssf-push.bench';
import * as verifierMiddleware from './verifier-middleware.bench';
import * as verifyToken from './verify-token.bench';

/** The benchmark modules, in the order they run. */
const MODULES: readonly object[] = [
  verifyToken,
  issueToken,
  revocationFanout,
  ssfPush,
  verifierMiddleware,
  append,
  rebuild,
  auditLog,
  memory,
  coldStart,
  eventStoreDbCatchUp,
];

const ROOT = join(__dirname, '../..');
const RESULTS_FILE = join(ROOT, 'bench/results/latest.json');
const USAGE = [
  'usage: npm run bench -- [--quick] [--markdown] [id ...]',
  '  --quick     smaller inputs and shorter load phases (the whole run stays under two minutes)',
  '  --markdown  also print the README table of figures',
].join('\n');

interface Arguments {
  help: boolean;
  quick: boolean;
  markdown: boolean;
  ids: string[];
}

function parseArguments(argv: readonly string[]): Arguments {
  const parsed: Arguments = { help: false, quick: false, markdown: false, ids: [] };
  for (const argument of argv) {
    if (argument === '--help') parsed.help = true;
    else if (argument === '--quick') parsed.quick = true;
    else if (argument === '--markdown') parsed.markdown = true;
    else if (argument.startsWith('-')) throw new UsageError(`unknown option ${argument}`);
    else parsed.ids.push(argument);
  }
  return parsed;
}

class UsageError extends Error {}

async function main(): Promise<number> {
  let args: Arguments;
  const benchmarks = benchmarksOf(MODULES);
  try {
    args = parseArguments(process.argv.slice(2));
    const unknown = args.ids.filter((id) => !benchmarks.some((benchmark) => benchmark.id === id));
    if (unknown.length > 0) throw new UsageError(`unknown benchmark ${unknown.join(', ')}; known: ${benchmarks.map((b) => b.id).join(', ')}`);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\nbenchmarks: ${benchmarks.map((benchmark) => benchmark.id).join(', ')}\n`);
    return 0;
  }
  const selected = args.ids.length > 0 ? benchmarks.filter((benchmark) => args.ids.includes(benchmark.id)) : benchmarks;

  const environment = describeEnvironment(ROOT);
  const settings = Object.entries(BENCH_GATEWAY_ENV)
    .filter(([name]) => !name.startsWith('KEYLEDGER_RATE_LIMIT_'))
    .map(([name, value]) => `${name}=${value}`);
  const header = [
    `keyledger benchmarks ${args.quick ? '(quick)' : '(full)'}, ${environment.date}`,
    `machine: ${machineSummary(environment)}`,
    `versions: ${Object.entries(environment.versions)
      .map(([name, version]) => `${name} ${version}`)
      .join(', ')}`,
    `gateways: ${settings.join(' ')}, rate limits off, embedded SQLite store`,
  ];
  process.stdout.write(`${header.join('\n')}\n\n`);

  const outcomes: BenchmarkOutcome[] = [];
  for (const benchmark of selected) {
    process.stdout.write(`running ${benchmark.id}: ${benchmark.title}…\n`);
    const outcome = await runBenchmark(benchmark, args.quick);
    process.stdout.write(outcome.error === null ? `  done in ${outcome.seconds} s\n` : `  FAILED after ${outcome.seconds} s: ${outcome.error}\n`);
    outcomes.push(outcome);
  }

  process.stdout.write(`\n${formatTable(outcomes)}\n`);
  if (args.markdown) process.stdout.write(`\n${formatMarkdown(outcomes, environment)}\n`);

  mkdirSync(join(RESULTS_FILE, '..'), { recursive: true });
  const results = outcomes.map((outcome) => ({
    ...outcome,
    figures: outcome.figures.map((figure) => ({ ...figure, result: verdictOf(figure) })),
  }));
  writeFileSync(RESULTS_FILE, `${JSON.stringify({ quick: args.quick, environment, results }, null, 2)}\n`);
  process.stdout.write(`\nresults written to ${RESULTS_FILE}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`benchmark runner failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
