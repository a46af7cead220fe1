import { join } from 'node:path';
import { cachedReadModels, copyDataDir, dataset } from './lib/store/dataset';
import { startBareApollo } from './lib/bare-apollo';
import { newGatewayCredentials, startGateway } from './lib/gateway';
import { graphqlRequest as graphql } from './lib/graphql';
import type { ServerProcess } from './lib/server-process';
import { round } from './lib/stats';
import { residentMiB } from './lib/store/resident';
import type { Benchmark } from './types';

/*
 * Resident memory of a gateway process holding a million active tokens (quick: 100,000), once
 * it has started on read models the real rebuild built from its log, caught up with the log
 * (its own start-up events) and verified a sample of those tokens through `verifyToken`,
 * beside the bare Apollo process's in the same run.
 */

const VERIFY_TOKEN = `query Verify($token: String!) { verifyToken(token: $token) { valid code token { id } } }`;

interface Verification {
  verifyToken: { valid: boolean; code: string; token: { id: string } | null };
}

export const memoryBenchmark: Benchmark = {
  id: 'memory',
  title: 'Gateway RSS with 1M active tokens (quick: 100k) against the bare Apollo process',
  async run({ quick, workDir }) {
    const log = (line: string) => process.stderr.write(`  memory: ${line}\n`);
    const data = await dataset('tokens', quick ? 100_000 : 1_000_000, { log });
    const dataDir = join(workDir, 'data');
    copyDataDir(data, dataDir, await cachedReadModels(data, log));
    const sample = quick ? data.verifiable.slice(0, 200) : data.verifiable;

    const credentials = { ...newGatewayCredentials(), masterKey: data.masterKey };
    let gateway: ServerProcess | null = null;
    let bare: ServerProcess | null = null;
    try {
      const started = Date.now();
      gateway = await startGateway(dataDir, credentials);
      const readySeconds = (Date.now() - started) / 1000;
      for (const token of sample) {
        const { verifyToken } = await graphql<Verification>(gateway.url, VERIFY_TOKEN, { token: token.secret }, credentials.rootSecret);
        if (!verifyToken.valid || verifyToken.code !== 'VALID' || verifyToken.token?.id !== token.tokenId) {
          throw new Error(`token ${token.tokenId} did not verify: ${JSON.stringify(verifyToken)}`);
        }
      }
      const memory = residentMiB(gateway.pid);
      await gateway.stop();
      gateway = null;

      bare = await startBareApollo();
      for (let i = 0; i < sample.length; i++) await graphql(bare.url, '{ __typename }', {});
      const baseline = residentMiB(bare.pid);

      return [
        {
          name: `gateway RSS with ${data.events} active tokens`,
          value: memory.rss,
          unit: 'MiB',
          baseline: { name: 'bare Apollo process RSS', value: baseline.rss },
          target: { kind: 'at-most', value: 1024 },
          detail: {
            'peak RSS MiB': round(memory.peak, 1),
            'ready after s': round(readySeconds, 1),
            verified: sample.length,
          },
        },
      ];
    } finally {
      await gateway?.stop();
      await bare?.stop();
    }
  },
};
