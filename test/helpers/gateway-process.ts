import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT_SECRET, waitForReady } from './gateway';
import { makeTempDir } from './temp-dir';

export const MAIN_JS = join(__dirname, '../../dist/src/main.js');
export const CLI_JS = join(__dirname, '../../dist/src/cli/main.js');

export interface GatewayProcess {
  url: string;
  process: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Sends a signal and resolves with the exit code (or signal name). */
  kill(signal: NodeJS.Signals): Promise<number | string>;
}

function requireBuild(): void {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run \`npm run build\` (npm test does it first)`);
}

/**
 * Starts `node dist/src/main.js` as a real OS process on an ephemeral port and waits until it
 * is ready, or with `ready: false` only until it listens.
 */
export async function spawnGateway(dataDir: string, env: Record<string, string> = {}, options: { ready?: boolean } = {}): Promise<GatewayProcess> {
  requireBuild();
  const child = spawn(process.execPath, [MAIN_JS], {
    env: {
      PATH: process.env.PATH,
      PORT: '0',
      HOST: '127.0.0.1',
      KEYLEDGER_DATA_DIR: dataDir,
      KEYLEDGER_BOOTSTRAP_TOKEN: ROOT_SECRET,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gateway did not start:\n${output}`));
    }, 30_000);
    const onData = () => {
      const match = /"url":"(http:\/\/[^"]+)\/graphql"/.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve(match[1]);
      }
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited (${code}) before listening:\n${output}`));
    });
  });
  if (options.ready !== false) await waitForReady(url);
  return {
    url,
    process: child,
    output: () => output,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs the CLI to completion. */
export function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  requireBuild();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI_JS, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * The gateway processes and data directories a test starts, so that one `stop()` in its
 * teardown kills every process and removes every directory.
 */
export class GatewayFleet {
  private readonly running: GatewayProcess[] = [];
  private readonly temps: Array<{ remove(): void }> = [];

  constructor(private readonly label = 'keyledger') {}

  tempDir(): string {
    const temp = makeTempDir(this.label);
    this.temps.push(temp);
    return temp.path;
  }

  async start(dataDir: string, env: Record<string, string> = {}, options: { ready?: boolean } = {}): Promise<GatewayProcess> {
    const gateway = await spawnGateway(dataDir, env, options);
    this.running.push(gateway);
    return gateway;
  }

  /** SIGKILLs the processes, then removes the directories. */
  async stop(): Promise<void> {
    await Promise.all(this.running.splice(0).map((gateway) => gateway.kill('SIGKILL')));
    this.temps.splice(0).forEach((temp) => temp.remove());
  }
}
