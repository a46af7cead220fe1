import { randomBytes } from 'node:crypto';
import type { Benchmark, Figure } from './types';
import { ISSUE_TOKEN } from './lib/gateway';
import { hasNoGraphQLErrors } from './lib/load';
import { ProcessGroup } from './lib/server-process';
import { round } from './lib/stats';
import { BASELINE_NAME, compareWithBareApollo, comparisonDetail, startComparedGateway } from './lib/throughput';

const TENANT = 'bench';

/**
 * `issueToken` over HTTP: every request issues a new API token with a name of its own,
 * called by a `keyledger:tokens:write` token of the tenant. Each answer must hold a secret.
 */
export const issueTokenBenchmark: Benchmark = {
  id: 'issue-token',
  title: 'issueToken throughput over HTTP',
  async run({ quick, workDir }) {
    const processes = new ProcessGroup();
    try {
      const { bare, gateway, caller } = await startComparedGateway(processes, workDir, {
        name: 'bench issuer',
        tenantId: TENANT,
        roles: ['keyledger:tokens:write'],
      });
      const run = randomBytes(4).toString('hex');
      let issued = 0;
      const comparison = await compareWithBareApollo(quick, bare, {
        url: gateway.url,
        server: gateway,
        bearer: caller.secret,
        nextBody: () => JSON.stringify({ query: ISSUE_TOKEN, variables: { input: { name: `bench ${run} ${issued++}`, roles: ['deploy'] } } }),
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
