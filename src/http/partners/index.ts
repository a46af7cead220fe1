export * from './http-context';
export * from './source-auth-token-route';
export * from './oauth-routes';
