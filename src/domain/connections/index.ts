export * from './events';
export * from './state';
export * from './rules';
export * from './allowed-domain';
export * from './decide';
