export * from './tokens-projection';
export * from './token-queries';
export * from './token-usage';
export * from './token-controls-projection';
export * from './token-verification-counts-projection';
