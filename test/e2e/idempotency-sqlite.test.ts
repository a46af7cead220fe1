import { startTestGateway } from '../helpers/gateway';
import { describeIdempotency } from './suites/idempotency.suite';

describeIdempotency('sqlite', (options) => startTestGateway(options));
