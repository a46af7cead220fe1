/**
 * The deployment secret: 32 random bytes generated once for the whole deployment, from which
 * the keys that must never change (lookup pepper, audit key, signing-key wrapping key) are
 * derived. It is kept only wrapped by the master key, so the log can be copied or backed up
 * without it, and re-wrapped (a new event) when the master key is rotated.
 */
export interface WrappedDeploymentSecret {
  /** Id of the master-derived key that wrapped it (see `wrappingKeyId`). */
  wrappingKeyId: string;
  /** base64url of the wrapped blob, which names the same key in its header. */
  blob: string;
}

export interface DeploymentSecretGenerated {
  type: 'DeploymentSecretGenerated';
  data: { wrapped: WrappedDeploymentSecret; generatedAt: string };
}

export interface DeploymentSecretRewrapped {
  type: 'DeploymentSecretRewrapped';
  data: { wrapped: WrappedDeploymentSecret; previousWrappingKeyId: string; rewrappedAt: string };
}

export type DeploymentKeyEvent = DeploymentSecretGenerated | DeploymentSecretRewrapped;
export const DEPLOYMENT_KEY_EVENT_TYPES: readonly DeploymentKeyEvent['type'][] = ['DeploymentSecretGenerated', 'DeploymentSecretRewrapped'];

/**
 * One stream for the deployment. The first secret is appended expecting `no_stream`, so
 * processes starting at once on an empty log (or EventStoreDB replicas) agree on one.
 */
export const DEPLOYMENT_KEYS_STREAM = 'deployment-keys';
