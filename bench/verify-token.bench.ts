import type { Benchmark, Figure } from './types';
import { issueToken } from './lib/gateway';
import { graphqlRequest, mapConcurrently } from './lib/graphql';
import { hasNoGraphQLErrors, runLoad } from './lib/load';
import { ProcessGroup } from './lib/server-process';
import { round } from './lib/stats';
import { BASELINE_NAME, compareWithBareApollo, comparisonDetail, LOAD_CONNECTIONS, loadPhaseSeconds, startComparedGateway } from './lib/throughput';

/** Distinct tokens verified in turn; fewer with `--quick`, where issuing them would take much of the budget. */
const tokenCount = (quick: boolean) => (quick ? 500 : 1000);
const TENANT = 'bench';
const VERIFY = 'query Verify($token: String!) { verifyToken(token: $token) { valid code token { id tenantId roles } } }';
const VERIFY_METERED = 'query Verify($token: String!) { verifyToken(token: $token) { valid code remaining token { id tenantId roles } } }';
/** Tokens with credits verified in turn: each verification is a spend, appended to the token's own stream. */
const meteredCount = (quick: boolean) => (quick ? 100 : 200);
/** More than any run spends, so every answer is VALID. */
const CREDITS = 1_000_000_000;

/**
 * `verifyToken` over HTTP, warm, rotating through 1,000 distinct valid tokens (500 quick),
 * called by a `keyledger:tokens:read` token of their tenant. Every answer must be `valid: true`.
 * Beside it, the same for tokens with credits, where each verification spends one credit
 * (an append with an expected revision): its baseline is the plain verification of this run.
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

      const metered = await mapConcurrently(Array.from({ length: meteredCount(quick) }, (_, i) => i), 16, (i) =>
        issueToken(gateway.url, credentials.rootSecret, { name: `metered ${i}`, tenantId: TENANT, roles: ['deploy'], credits: { remaining: CREDITS } }),
      );
      const meteredBodies = metered.map((token) => JSON.stringify({ query: VERIFY_METERED, variables: { token: token.secret } }));
      let nextMetered = 0;
      const meteredLoad = {
        url: gateway.url,
        server: gateway,
        bearer: caller.secret,
        nextBody: () => meteredBodies[nextMetered++ % meteredBodies.length],
        accept: (body: string) => hasNoGraphQLErrors(body) && body.includes('"valid":true') && body.includes('"remaining":'),
        connections: LOAD_CONNECTIONS,
      };
      const seconds = loadPhaseSeconds(quick);
      await runLoad({ ...meteredLoad, durationSeconds: seconds.warmup });
      const spending = await runLoad({ ...meteredLoad, durationSeconds: seconds.measure });
      const withCredits: Figure = {
        name: `verifyToken req/s, tokens with credits (${metered.length} tokens)`,
        value: round(spending.requestsPerSecond, 0),
        unit: 'req/s',
        baseline: { name: 'verifyToken, tokens without credits (this run)', value: figure.value },
        // Each answer waits for a durable append; the figure is for reading beside the plain one, with a floor.
        target: { kind: 'ratio-at-least', ratio: 0.2 },
        detail: { 'p50 ms': spending.p50Ms, 'p99 ms': spending.p99Ms, requests: spending.requests, tokens: metered.length },
      };
      return [figure, withCredits];
    } finally {
      await processes.stopAll();
    }
  },
};
