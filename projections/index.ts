import type { Projection } from './projection';
import { connectionsProjection } from './connections';
import { partnersProjection } from './partners';
import { signingKeysProjection } from './signing-keys';
import { tokensProjection } from './tokens';

/** Every read model the gateway keeps, in the order the runner applies them. */
export const allProjections: readonly Projection[] = [tokensProjection, partnersProjection, signingKeysProjection, connectionsProjection];

export * from './projection';
export * from './runner';
export * from './database';
export * from './rebuild';
