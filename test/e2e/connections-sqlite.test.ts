import { startTestGateway } from '../helpers/gateway';
import { describeConnections } from './suites/connections.suite';

describeConnections('sqlite', (options) => startTestGateway(options));
