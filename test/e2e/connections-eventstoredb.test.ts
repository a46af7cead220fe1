import { startGatewayOnFreshDouble } from '../helpers/esdb-gateway';
import { describeConnections, type ConnectionGatewayFactory } from './suites/connections.suite';

const onFreshDouble: ConnectionGatewayFactory = (options) => startGatewayOnFreshDouble(options);

describeConnections('eventstoredb double', onFreshDouble);
