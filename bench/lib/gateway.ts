import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { graphqlRequest } from './graphql';
import { freePort, startServerProcess, type ServerProcess } from './server-process';

/** The compiled gateway entry point, as `npm start` runs it. */
export const GATEWAY_MAIN = join(__dirname, '../../src/main.js');

/**
 * What every gateway a benchmark starts runs with: production mode, warnings only (a log line
 * per request would be measured too), and the rate limits off, since a benchmark is one
 * principal on one address sending thousands of requests a second.
 */
export const BENCH_GATEWAY_ENV: Readonly<Record<string, string>> = {
  NODE_ENV: 'production',
  LOG_LEVEL: 'warn',
  KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_MINUTE: '0',
  KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_IP_PER_MINUTE: '0',
  KEYLEDGER_RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '0',
};

/** The secrets gateways sharing one data directory must agree on. */
export interface GatewayCredentials {
  /** Bootstrap `keyledger:root` token. */
  rootSecret: string;
  masterKey: string;
}

export function newGatewayCredentials(): GatewayCredentials {
  return { rootSecret: `klbench-${randomBytes(24).toString('hex')}`, masterKey: randomBytes(32).toString('base64') };
}

/**
 * `node dist/src/main.js` on an ephemeral port, on the embedded store in `dataDir`. A gateway
 * that has a long log to project first needs a longer `readyTimeoutMs`.
 */
export async function startGateway(
  dataDir: string,
  credentials: GatewayCredentials,
  options: { readyTimeoutMs?: number; env?: Record<string, string> } = {},
): Promise<ServerProcess> {
  const port = await freePort();
  return startServerProcess(
    GATEWAY_MAIN,
    {
      ...BENCH_GATEWAY_ENV,
      ...options.env,
      KEYLEDGER_DATA_DIR: dataDir,
      KEYLEDGER_BOOTSTRAP_TOKEN: credentials.rootSecret,
      KEYLEDGER_MASTER_KEY: credentials.masterKey,
      KEYLEDGER_PUBLIC_URL: `http://127.0.0.1:${port}`,
    },
    '/readyz',
    port,
    options,
  );
}

/** `issueToken`, answering the new token's id and its secret. */
export const ISSUE_TOKEN = `mutation Issue($input: IssueTokenInput!) { issueToken(input: $input) { secret token { id } } }`;

export interface IssuedToken {
  id: string;
  secret: string;
}

/** Issues a token through the public API. */
export async function issueToken(url: string, bearer: string, input: Record<string, unknown>): Promise<IssuedToken> {
  const data = await graphqlRequest<{ issueToken: { secret: string; token: { id: string } } }>(url, ISSUE_TOKEN, { input }, bearer);
  return { id: data.issueToken.token.id, secret: data.issueToken.secret };
}
