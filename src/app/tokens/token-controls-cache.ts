import type { TokenControls, TokenControlsQueries } from '../../../projections/tokens';
import { ReadModelCache } from '../credentials/read-model-version';

/**
 * A token's usage controls as the read models hold them, kept per process while they are
 * unchanged (see `ReadModelCache`), so that a verification of a token verified before reads
 * no row. Most tokens have no controls: that answer is kept too. Only tokens that have just
 * verified are asked about, so the keys are bounded by the tokens in use, and by the cache's
 * size. Every spend of credits is an event whose projection changes the read models, so a
 * token with credits is read again after each; the ledger reads its own fresh row anyway.
 * What is kept is frozen: it is shared by every verification until the next change.
 */
export class TokenControlsCache implements Pick<TokenControlsQueries, 'of'> {
  private readonly cache: ReadModelCache<string, TokenControls | null>;

  constructor(
    private readonly controls: Pick<TokenControlsQueries, 'of'>,
    readModelVersion: () => string,
    maxEntries?: number,
  ) {
    this.cache = new ReadModelCache(readModelVersion, maxEntries);
  }

  of(tokenId: string): TokenControls | null {
    return this.cache.get(tokenId, (id) => frozen(this.controls.of(id)));
  }
}

function frozen(controls: TokenControls | null): TokenControls | null {
  if (!controls) return null;
  if (controls.credits?.refill) Object.freeze(controls.credits.refill);
  if (controls.credits) Object.freeze(controls.credits);
  for (const limit of controls.rateLimits) Object.freeze(limit);
  Object.freeze(controls.rateLimits);
  return Object.freeze(controls);
}
