import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

/** Packages whose versions decide the figures, printed with every run. */
const MEASURED_PACKAGES = ['@apollo/server', 'graphql', 'type-graphql', 'better-sqlite3', 'graphql-ws', 'autocannon'] as const;

export interface Environment {
  date: string;
  cores: number;
  cpuModel: string;
  totalMemoryGiB: number;
  node: string;
  versions: Record<string, string>;
}

function versionOf(packageJson: string): string {
  try {
    return (JSON.parse(readFileSync(packageJson, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'not installed';
  }
}

/** The machine and the versions a run measured, read from the repository at `root`. */
export function describeEnvironment(root: string): Environment {
  const processors = cpus();
  const versions: Record<string, string> = { keyledger: versionOf(join(root, 'package.json')) };
  for (const name of MEASURED_PACKAGES) versions[name] = versionOf(join(root, 'node_modules', name, 'package.json'));
  return {
    date: new Date().toISOString(),
    cores: processors.length,
    cpuModel: processors[0]?.model.trim() ?? 'unknown',
    totalMemoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    versions,
  };
}

/** One line naming the machine, as the README table's machine column shows it. */
export function machineSummary(environment: Environment): string {
  return `${environment.cores} × ${environment.cpuModel}, ${environment.totalMemoryGiB} GiB, Node ${environment.node}`;
}
