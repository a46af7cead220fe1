export * from './revocation-notice';
export * from './notice-stream';
export * from './revocation-feed';
export * from './revocation-notice-service';
