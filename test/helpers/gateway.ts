import { Writable } from 'node:stream';
import pino from 'pino';
import { loadConfig } from '../../src/config';
import { startGateway, type Gateway } from '../../src/gateway';
import { createLogger } from '../../src/logger';
import type { Clock } from '../../src/app/clock';
import { graphql, ISSUE_TOKEN } from './graphql-client';
import { makeTempDir } from './temp-dir';

export const ROOT_SECRET = 'root-secret-for-tests-0123456789-abcdefghijklmnop';

export interface TestGateway {
  gateway: Gateway;
  url: string;
  dataDir: string;
  /** Everything the gateway logged, as raw text. */
  logs(): string;
  stop(): Promise<void>;
}

/**
 * A real gateway on an ephemeral port, on the embedded store in a temp directory, with
 * `ROOT_SECRET` as its bootstrap root token.
 */
export async function startTestGateway(
  options: { env?: Record<string, string>; dataDir?: string; clock?: Clock } = {},
): Promise<TestGateway> {
  const temp = options.dataDir ? null : makeTempDir();
  const dataDir = options.dataDir ?? temp!.path;
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    KEYLEDGER_DATA_DIR: dataDir,
    KEYLEDGER_BOOTSTRAP_TOKEN: ROOT_SECRET,
    ...options.env,
  });
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  const logger = createLogger({ level: config.logLevel, destination: destination as unknown as pino.DestinationStream });
  const gateway = await startGateway({ config, logger, clock: options.clock });
  await waitForReady(gateway.url);
  return {
    gateway,
    url: gateway.url,
    dataDir,
    logs: () => chunks.join(''),
    async stop() {
      await gateway.stop();
      temp?.remove();
    },
  };
}

export async function waitForReady(url: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(`${url}/readyz`);
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not become ready`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Issues a token through the public API and returns its secret and id. */
export async function issueToken(
  url: string,
  bearer: string,
  input: Record<string, unknown>,
): Promise<{ secret: string; id: string; token: Record<string, any> }> {
  const response = await graphql(url, ISSUE_TOKEN, { input }, bearer);
  if (response.errors) throw new Error(`issueToken failed: ${JSON.stringify(response.errors)}`);
  const issued = response.data!.issueToken;
  return { secret: issued.secret, id: issued.token.id, token: issued.token };
}

export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 5000, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * The log's head once the access records queued so far (connection uses, failed
 * authentications of earlier requests, counted verifications) are appended: they are written in the background,
 * so a test that checks an operation writes nothing measures from here.
 */
export async function settledHeadPosition(gateway: Gateway): Promise<bigint | null> {
  await gateway.connections.access.flush();
  await gateway.verificationCounts.flush();
  return gateway.store.headPosition();
}
