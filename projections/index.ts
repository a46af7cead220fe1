import type { AuditFingerprints } from '../src/domain/audit/mappings';
import { auditProjection, type AuditReplaySource } from './audit';
import type { Projection } from './projection';
import { connectionsProjection } from './connections';
import { partnersProjection } from './partners';
import { signingKeysProjection } from './signing-keys';
import { tokenControlsProjection, tokensProjection, tokenVerificationCountsProjection } from './tokens';

/** Every read model the gateway keeps, in the order the runner applies them. */
export const allProjections: readonly Projection[] = [
  tokensProjection,
  partnersProjection,
  signingKeysProjection,
  connectionsProjection,
  tokenControlsProjection,
  tokenVerificationCountsProjection,
];

/**
 * Every read model of a running deployment: the audit history needs the deployment's
 * audit key to fingerprint secrets, so it exists only once the key ring is open. With an
 * `auditReplay` source (see `auditReplaySource`), a replay from empty computes the audit
 * entries on a worker thread beside it.
 */
export function readModelProjections(fingerprints: AuditFingerprints, auditReplay?: AuditReplaySource): readonly Projection[] {
  return [...allProjections, auditProjection(fingerprints, auditReplay)];
}

export * from './projection';
export * from './runner';
export * from './database';
export * from './rebuild';
