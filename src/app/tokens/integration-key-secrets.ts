import { KeyledgerError } from '../../domain/errors';
import type { SealedSecret } from '../../domain/tokens';
import type { SecretSealer } from '../../crypto/envelope';
import type { TokenQueries } from '../../../projections/tokens';
import type { Logger } from '../../logger';
import type { Clock } from '../clock';
import type { DataKeyLifecycle } from '../data-keys/data-key-lifecycle';

/**
 * The secrets of integration keys, which must stay recoverable to check the JWTs signed with
 * them: each key's secrets are sealed under a data key of its own (named by the token id),
 * destroyed when the key is revoked, and swept at start-up after a failed issue or shredding.
 */
export class IntegrationKeySecrets {
  constructor(
    private readonly sealer: SecretSealer,
    private readonly dataKeys: DataKeyLifecycle,
    private readonly queries: TokenQueries,
    private readonly clock: Clock,
    private readonly logger: Pick<Logger, 'error'>,
  ) {}

  /** The first secret of a new key, under a new data key. */
  sealFirst(tokenId: string, secret: string): Promise<SealedSecret> {
    return this.dataKeys.sealUnderNewKey(tokenId, tokenId, secret);
  }

  /** Undoes `sealFirst` for an issue that certainly did not happen. */
  discard(tokenId: string): Promise<void> {
    return this.dataKeys.destroyQuietly(tokenId);
  }

  /** The key's data key lives in this machine's keys.db; a key created elsewhere cannot be re-sealed here. */
  async sealRotated(tokenId: string, secret: string): Promise<SealedSecret> {
    try {
      return await this.sealer.seal(tokenId, tokenId, secret);
    } catch (error) {
      this.logger.error({ err: error, tokenId }, 'could not seal the new secret of an integration key');
      throw new KeyledgerError(
        'UNAVAILABLE',
        'The key material of this integration key is not available on this gateway; nothing was changed. Rotate it on the gateway that created it.',
      );
    }
  }

  /** After a revocation: nothing can open the key's secrets any more. */
  async shred(tokenId: string): Promise<void> {
    try {
      await this.sealer.destroyDataKey(tokenId);
    } catch (error) {
      this.logger.error({ err: error, tokenId }, 'could not destroy the data key of a revoked integration key');
      throw new KeyledgerError('UNAVAILABLE', 'The key is revoked, but its secret could not be destroyed yet; revoke it again to finish');
    }
  }

  /**
   * Destroys data keys whose secrets can no longer be needed: those of revoked keys (a
   * revocation whose shredding failed) and those of issues that never completed. Run once
   * the read models have caught up.
   */
  sweepOrphans(): Promise<number> {
    return this.dataKeys.sweepOrphans((tokenId) => {
      const record = this.queries.byId(tokenId);
      if (!record) return 'unrecorded';
      return record.revokedAt !== null ? 'dead' : 'live';
    }, this.clock.now());
  }
}
