export * from './event-types';
export * from './mappings';
export * from './events';
