export * from './events';
export * from './credential';
export * from './access-token';
