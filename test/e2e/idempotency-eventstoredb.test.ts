import { startGatewayOnFreshDouble } from '../helpers/esdb-gateway';
import { describeIdempotency } from './suites/idempotency.suite';

describeIdempotency('eventstoredb double', (options) => startGatewayOnFreshDouble(options));
