import type { Clock } from '../../src/app/clock';
import { EsdbDouble } from './esdb-double';
import { startTestGateway, type TestGateway } from './gateway';

/**
 * Fixed so that runs against a live server agree with the tokens earlier runs left there:
 * the bootstrap root token's lookup tag is derived from it.
 */
export const TEST_MASTER_KEY = Buffer.alloc(32, 7).toString('base64');

/** A test gateway on the EventStoreDB adapter, with the double holding its log. */
export interface EsdbTestGateway extends TestGateway {
  double: EsdbDouble;
}

/** A gateway on the EventStoreDB adapter against a fresh double, which it closes when it stops. */
export async function startGatewayOnFreshDouble(options: { clock?: Clock; env?: Record<string, string> } = {}): Promise<EsdbTestGateway> {
  const double = await EsdbDouble.start();
  let gateway: TestGateway;
  try {
    gateway = await startTestGateway({
      env: { EVENTSTORE_CONNECTION_STRING: double.connectionString, KEYLEDGER_MASTER_KEY: TEST_MASTER_KEY, ...options.env },
      clock: options.clock,
    });
  } catch (error) {
    await double.close();
    throw error;
  }
  return {
    ...gateway,
    double,
    async stop() {
      try {
        await gateway.stop();
      } finally {
        await double.close();
      }
    },
  };
}
