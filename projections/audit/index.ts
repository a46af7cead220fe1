export * from './audit-entry';
export * from './audit-projection';
export * from './audit-queries';
