import type { Clock } from '../../src/app/clock';
import { startGatewayOnFreshDouble, TEST_MASTER_KEY } from '../helpers/esdb-gateway';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { describeTokenLifecycle } from './suites/token-lifecycle.suite';
import { describeTokenSecurity } from './suites/token-security.suite';
import { describeIntegrationKeysRest } from './suites/integration-keys-rest.suite';
import { describeTokenImport } from './suites/token-import.suite';
import { describeTokenUsageControls } from './suites/token-usage-controls.suite';
import { describeTokenKinds } from './suites/token-kinds.suite';
import { describeTokenUpdateAndRotation } from './suites/token-update-rotate.suite';

type Factory = (options: { clock?: Clock }) => Promise<TestGateway>;
const onFreshDouble: Factory = (options) => startGatewayOnFreshDouble(options);

describeTokenLifecycle('eventstoredb double', onFreshDouble);
describeTokenSecurity('eventstoredb double', onFreshDouble);
describeTokenKinds('eventstoredb double', onFreshDouble);
describeTokenUpdateAndRotation('eventstoredb double', onFreshDouble);
describeTokenImport('eventstoredb double', onFreshDouble);
describeIntegrationKeysRest('eventstoredb double', onFreshDouble);
describeTokenUsageControls('eventstoredb double', onFreshDouble);

const live = process.env.EVENTSTORE_CONNECTION_STRING;
/**
 * startTestGateway gives each suite its own temp data directory, so every run replays the
 * whole shared log into fresh read models; the suites' tenants are unique per run, so a
 * server holding earlier runs' events does not disturb them.
 */
const onLiveServer: Factory = ({ clock }) =>
  startTestGateway({ env: { EVENTSTORE_CONNECTION_STRING: live ?? '', KEYLEDGER_MASTER_KEY: TEST_MASTER_KEY }, clock });
// Without a server the suites are still declared, skipped, so the run reports how many did not run and why.
(live ? describe : describe.skip)(
  live ? 'token suites on a live EventStoreDB' : 'token suites on a live EventStoreDB (skipped: EVENTSTORE_CONNECTION_STRING is not set)',
  () => {
    describeTokenLifecycle('eventstoredb live server', onLiveServer);
    describeTokenSecurity('eventstoredb live server', onLiveServer);
    describeTokenKinds('eventstoredb live server', onLiveServer);
    describeTokenUpdateAndRotation('eventstoredb live server', onLiveServer);
    describeTokenImport('eventstoredb live server', onLiveServer);
    describeIntegrationKeysRest('eventstoredb live server', onLiveServer);
    describeTokenUsageControls('eventstoredb live server', onLiveServer);
  },
);
