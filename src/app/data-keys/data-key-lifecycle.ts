import type { SealedSecret } from '../../domain/tokens/events';
import type { SecretSealer } from '../../crypto/envelope';
import type { Logger } from '../../logger';

/** A data key with no record this long after it was made belongs to a write that failed. */
export const ORPHANED_DATA_KEY_AGE_MS = 3600_000;

/** What the records say of a data key: held by a live record, dead (its record revoked), or named by no record. */
export type DataKeyFate = 'live' | 'dead' | 'unrecorded';

/**
 * The life of data keys that each seal one secret (an integration key's, a connection's API
 * key): made with the secret they seal, destroyed when their record ends, and swept at
 * start-up when a write failed between the two. Every store of sealed secrets uses this one.
 */
export class DataKeyLifecycle {
  constructor(
    private readonly sealer: SecretSealer,
    private readonly logger: Pick<Logger, 'warn'>,
  ) {}

  /** A new data key sealing `secret` for `recordId`; the key is destroyed again when sealing fails. */
  async sealUnderNewKey(dataKeyId: string, recordId: string, secret: string): Promise<SealedSecret> {
    await this.sealer.createDataKey(dataKeyId);
    try {
      return await this.sealer.seal(dataKeyId, recordId, secret);
    } catch (error) {
      await this.destroyQuietly(dataKeyId);
      throw error;
    }
  }

  /** For a data key no record holds; a failure is left to the start-up sweep. */
  async destroyQuietly(dataKeyId: string): Promise<void> {
    try {
      await this.sealer.destroyDataKey(dataKeyId);
    } catch (error) {
      this.logger.warn({ err: error, dataKeyId }, 'could not destroy the data key of a failed write; the start-up sweep will');
    }
  }

  /**
   * Destroys the data keys whose secrets can no longer be needed: those `fateOf` calls dead,
   * and those no record names once they are older than a write could take. Run once the read
   * models have caught up.
   */
  async sweepOrphans(fateOf: (dataKeyId: string) => DataKeyFate, now: Date): Promise<number> {
    let destroyed = 0;
    for (const { id, createdAt } of await this.sealer.listDataKeys()) {
      const fate = fateOf(id);
      const orphaned = fate === 'dead' || (fate === 'unrecorded' && now.getTime() - createdAt.getTime() > ORPHANED_DATA_KEY_AGE_MS);
      if (!orphaned) continue;
      await this.sealer.destroyDataKey(id);
      destroyed++;
    }
    return destroyed;
  }
}
