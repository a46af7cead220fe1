import { startTestGateway } from '../helpers/gateway';
import { describeTokenLifecycle } from './suites/token-lifecycle.suite';
import { describeTokenSecurity } from './suites/token-security.suite';

describeTokenLifecycle('sqlite', (options) => startTestGateway(options));
describeTokenSecurity('sqlite', (options) => startTestGateway(options));
