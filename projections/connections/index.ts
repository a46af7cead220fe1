export * from './connections-projection';
export * from './connection-queries';
