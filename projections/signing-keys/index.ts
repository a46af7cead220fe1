export * from './signing-keys-projection';
export * from './signing-key-queries';
