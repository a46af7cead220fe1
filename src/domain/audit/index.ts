export * from './event-types';
export * from './mappings';
