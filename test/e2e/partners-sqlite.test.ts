import { startTestGateway } from '../helpers/gateway';
import { describePartnerExchange } from './suites/partner-exchange.suite';

describePartnerExchange('sqlite', (options) => startTestGateway(options));
