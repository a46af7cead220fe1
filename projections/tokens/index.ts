export * from './tokens-projection';
export * from './token-queries';
