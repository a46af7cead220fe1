import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Benchmark, Figure } from './types';
import { startBareApollo } from './lib/bare-apollo';
import { issueToken, newGatewayCredentials, startGateway } from './lib/gateway';
import { hasNoGraphQLErrors } from './lib/load';
import { ProcessGroup } from './lib/server-process';
import { round } from './lib/stats';
import { BASELINE_NAME, compareWithBareApollo, comparisonDetail } from './lib/throughput';

const TENANT = 'bench';
const ISSUE = 'mutation Issue($input: IssueTokenInput!) { issueToken(input: $input) { secret token { id } } }';

/**
 * `issueToken` over HTTP: every request issues a new API token with a name of its own,
 * called by a `keyledger:tokens:write` token of the tenant. Each answer must hold a secret.
 */
export const issueTokenBenchmark: Benchmark = {
  id: 'issue-token',
  title: 'issueToken throughput over HTTP',
  async run({ quick, workDir }) {
    const credentials = newGatewayCredentials();
    const processes = new ProcessGroup();
    try {
      const bare = processes.add(startBareApollo());
      const gateway = await processes.add(startGateway(join(workDir, 'data'), credentials));
      const caller = await issueToken(gateway.url, credentials.rootSecret, {
        name: 'bench issuer',
        tenantId: TENANT,
        roles: ['keyledger:tokens:write'],
      });
      const run = randomBytes(4).toString('hex');
      let issued = 0;
      const comparison = await compareWithBareApollo(quick, await bare, {
        url: gateway.url,
        server: gateway,
        bearer: caller.secret,
        nextBody: () => JSON.stringify({ query: ISSUE, variables: { input: { name: `bench ${run} ${issued++}`, roles: ['deploy'] } } }),
        accept: (body) => hasNoGraphQLErrors(body) && body.includes('"secret":"klt_'),
      });

      const figure: Figure = {
        name: 'issueToken req/s',
        value: round(comparison.measured.requestsPerSecond, 0),
        unit: 'req/s',
        baseline: { name: BASELINE_NAME, value: round(comparison.baseline.requestsPerSecond, 0) },
        target: { kind: 'ratio-at-least', ratio: 0.5 },
        detail: { ...comparisonDetail(comparison), 'tokens issued': issued },
      };
      return [figure];
    } finally {
      await processes.stopAll();
    }
  },
};
