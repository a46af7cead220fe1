import { startGatewayOnFreshDouble } from '../helpers/esdb-gateway';
import { describePartnerExchange, type PartnerGatewayFactory } from './suites/partner-exchange.suite';

const onFreshDouble: PartnerGatewayFactory = (options) => startGatewayOnFreshDouble(options);

describePartnerExchange('eventstoredb double', onFreshDouble);
