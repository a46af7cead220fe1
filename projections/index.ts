import type { Projection } from './projection';
import { tokensProjection } from './tokens';

/** Every read model the gateway keeps, in the order the runner applies them. */
export const allProjections: readonly Projection[] = [tokensProjection];

export * from './projection';
export * from './runner';
export * from './database';
export * from './rebuild';
