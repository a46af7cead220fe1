import { readFileSync } from 'node:fs';
import { startBareApollo } from '../bare-apollo';
import { startGateway, type GatewayCredentials } from '../gateway';
import { graphqlRequest as graphql } from '../graphql';
import type { ServerProcess } from '../server-process';
import type { IssuedSample } from './dataset';

/** Resident set size of a process and its peak so far, in MiB, from /proc (Linux). */
export function residentMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!match) throw new Error(`/proc/${pid}/status has no ${name}`);
    return Number(match[1]) / 1024;
  };
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

export interface GatewayMemory {
  /** Seconds from spawning the gateway to `/readyz`. */
  readySeconds: number;
  /** The gateway's memory once it has verified the sample. */
  memory: { rss: number; peak: number };
  /** A bare Apollo process's memory after as many requests. */
  baseline: { rss: number; peak: number };
}

const VERIFY_TOKEN = `query Verify($token: String!) { verifyToken(token: $token) { valid code token { id } } }`;

/**
 * Starts a gateway on `dataDir`, verifies every sampled token through it (each must be
 * `VALID`), reads its memory and stops it; then does the same for a bare Apollo process
 * answering as many `{ __typename }` requests. Both processes are stopped whatever happens.
 */
export async function gatewayMemoryAfterVerifying(
  dataDir: string,
  credentials: GatewayCredentials,
  sample: readonly IssuedSample[],
  options: { readyTimeoutMs?: number } = {},
): Promise<GatewayMemory> {
  let gateway: ServerProcess | null = null;
  let bare: ServerProcess | null = null;
  try {
    const started = Date.now();
    gateway = await startGateway(dataDir, credentials, options);
    const readySeconds = (Date.now() - started) / 1000;
    for (const token of sample) {
      const { verifyToken } = await graphql<{ verifyToken: { valid: boolean; code: string; token: { id: string } | null } }>(
        gateway.url,
        VERIFY_TOKEN,
        { token: token.secret },
        credentials.rootSecret,
      );
      if (!verifyToken.valid || verifyToken.code !== 'VALID' || verifyToken.token?.id !== token.tokenId) {
        throw new Error(`token ${token.tokenId} did not verify: ${JSON.stringify(verifyToken)}`);
      }
    }
    const memory = residentMiB(gateway.pid);
    await gateway.stop();
    gateway = null;

    bare = await startBareApollo();
    for (let i = 0; i < sample.length; i++) await graphql(bare.url, '{ __typename }', {});
    return { readySeconds, memory, baseline: residentMiB(bare.pid) };
  } finally {
    await gateway?.stop();
    await bare?.stop();
  }
}
