import type { Benchmark, Figure } from './types';
import { issueToken } from './lib/gateway';
import { graphqlRequest, mapConcurrently } from './lib/graphql';
import { hasNoGraphQLErrors } from './lib/load';
import { ProcessGroup } from './lib/server-process';
import { round } from './lib/stats';
import { BASELINE_NAME, compareWithBareApollo, comparisonDetail, startComparedGateway } from './lib/throughput';

/** Distinct tokens verified in turn; fewer with `--quick`, where issuing them would take much of the budget. */
const tokenCount = (quick: boolean) => (quick ? 500 : 1000);
const TENANT = 'bench';
const VERIFY = 'query Verify($token: String!) { verifyToken(token: $token) { valid code token { id tenantId roles } } }';

/**
 * `verifyToken` over HTTP, warm, rotating through 1,000 distinct valid tokens (500 quick),
 * called by a `keyledger:tokens:read` token of their tenant. Every answer must be `valid: true`.
 */
export const verifyTokenBenchmark: Benchmark = {
  id: 'verify-token',
  title: 'verifyToken throughput over HTTP, rotating through distinct tokens',
  async run({ quick, workDir }) {
    const processes = new ProcessGroup();
    try {
      const { bare, gateway, credentials, caller } = await startComparedGateway(processes, workDir, {
        name: 'bench verifier',
        tenantId: TENANT,
        roles: ['keyledger:tokens:read'],
      });
      const count = tokenCount(quick);
      const tokens = await mapConcurrently(Array.from({ length: count }, (_, i) => i), 16, (i) =>
        issueToken(gateway.url, credentials.rootSecret, { name: `verified ${i}`, tenantId: TENANT, roles: ['deploy'] }),
      );

      const probe = await graphqlRequest<{ verifyToken: { valid: boolean; code: string; token: { id: string } | null } }>(
        gateway.url,
        VERIFY,
        { token: tokens[0].secret },
        caller.secret,
      );
      if (!probe.verifyToken.valid || probe.verifyToken.token?.id !== tokens[0].id) {
        throw new Error(`a freshly issued token does not verify: ${JSON.stringify(probe.verifyToken)}`);
      }

      const bodies = tokens.map((token) => JSON.stringify({ query: VERIFY, variables: { token: token.secret } }));
      let next = 0;
      const comparison = await compareWithBareApollo(quick, bare, {
        url: gateway.url,
        server: gateway,
        bearer: caller.secret,
        nextBody: () => bodies[next++ % bodies.length],
        accept: (body) => hasNoGraphQLErrors(body) && body.includes('"valid":true') && body.includes(`"tenantId":"${TENANT}"`),
      });

      const figure: Figure = {
        name: `verifyToken req/s (${count.toLocaleString('en-US')} tokens)`,
        value: round(comparison.measured.requestsPerSecond, 0),
        unit: 'req/s',
        baseline: { name: BASELINE_NAME, value: round(comparison.baseline.requestsPerSecond, 0) },
        target: { kind: 'ratio-at-least', ratio: 0.8 },
        detail: { ...comparisonDetail(comparison), tokens: count },
      };
      return [figure];
    } finally {
      await processes.stopAll();
    }
  },
};
