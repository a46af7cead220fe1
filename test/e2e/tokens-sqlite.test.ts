import { startTestGateway } from '../helpers/gateway';
import { describeTokenLifecycle } from './suites/token-lifecycle.suite';
import { describeTokenSecurity } from './suites/token-security.suite';
import { describeTokenKinds } from './suites/token-kinds.suite';
import { describeTokenUpdateAndRotation } from './suites/token-update-rotate.suite';
import { describeTokenImport } from './suites/token-import.suite';
import { describeTokenUsageControls } from './suites/token-usage-controls.suite';
import { describeIntegrationKeysRest } from './suites/integration-keys-rest.suite';

describeTokenLifecycle('sqlite', (options) => startTestGateway(options));
describeTokenSecurity('sqlite', (options) => startTestGateway(options));
describeTokenKinds('sqlite', (options) => startTestGateway(options));
describeTokenUpdateAndRotation('sqlite', (options) => startTestGateway(options));
describeTokenImport('sqlite', (options) => startTestGateway(options));
describeIntegrationKeysRest('sqlite', (options) => startTestGateway(options));
describeTokenUsageControls('sqlite', (options) => startTestGateway(options));
