import { EsdbDouble } from '../helpers/esdb-double';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { describeConnections, type ConnectionGatewayFactory } from './suites/connections.suite';

const MASTER_KEY = Buffer.alloc(32, 7).toString('base64');

/** A gateway on the EventStoreDB adapter against a fresh double, which it closes when it stops. */
const onFreshDouble: ConnectionGatewayFactory = async ({ clock, env }) => {
  const double = await EsdbDouble.start();
  let gateway: TestGateway;
  try {
    gateway = await startTestGateway({
      env: { EVENTSTORE_CONNECTION_STRING: double.connectionString, KEYLEDGER_MASTER_KEY: MASTER_KEY, ...env },
      clock,
    });
  } catch (error) {
    await double.close();
    throw error;
  }
  return {
    ...gateway,
    async stop() {
      try {
        await gateway.stop();
      } finally {
        await double.close();
      }
    },
  };
};

describeConnections('eventstoredb double', onFreshDouble);
