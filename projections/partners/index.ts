export * from './partners-projection';
export * from './partner-queries';
