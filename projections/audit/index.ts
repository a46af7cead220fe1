export { auditReplaySource, type AuditReplaySource } from './audit-entries-ahead';
export * from './audit-entry';
export * from './audit-projection';
export * from './audit-queries';
