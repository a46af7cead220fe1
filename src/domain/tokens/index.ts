export * from './events';
export * from './state';
export * from './decide';
export * from './status';
export * from './meta';
export * from './usage-controls';
