import { ACCESS_EVENT_TYPES } from '../access/events';
import { AUDIT_HEAD_EVENT_TYPES } from './events';
import { CONNECTION_EVENT_TYPES } from '../connections/events';
import { DEPLOYMENT_KEY_EVENT_TYPES } from '../deployment-keys/events';
import { IDEMPOTENCY_EVENT_TYPES } from '../idempotency/events';
import { LEAK_EVENT_TYPES } from '../leaks/events';
import { ACCESS_TOKEN_EVENT_TYPES, PARTNER_CREDENTIAL_EVENT_TYPES } from '../partners/events';
import { SIGNING_KEY_EVENT_TYPES } from '../signing-keys/events';
import { SSF_DELIVERY_EVENT_TYPES, SSF_STREAM_EVENT_TYPES } from '../ssf/events';
import { IMPORTED_SECRET_CLAIM_EVENT_TYPES, TOKEN_CLAIM_EVENT_TYPES } from '../token-claims/events';
import { TOKEN_EVENT_TYPES } from '../tokens/events';
import { TOKEN_USAGE_EVENT_TYPES } from '../token-usage/events';

/**
 * Every event type keyledger writes, from each domain's own registry. The audit mappings are
 * typed against this union, so a type added to a registry without a mapping does not compile,
 * and a test checks that every event interface in the domain is in some registry.
 */
export const ALL_EVENT_TYPES = [
  ...TOKEN_EVENT_TYPES,
  ...TOKEN_USAGE_EVENT_TYPES,
  ...TOKEN_CLAIM_EVENT_TYPES,
  ...IMPORTED_SECRET_CLAIM_EVENT_TYPES,
  ...CONNECTION_EVENT_TYPES,
  ...ACCESS_EVENT_TYPES,
  ...PARTNER_CREDENTIAL_EVENT_TYPES,
  ...ACCESS_TOKEN_EVENT_TYPES,
  ...SIGNING_KEY_EVENT_TYPES,
  ...DEPLOYMENT_KEY_EVENT_TYPES,
  ...AUDIT_HEAD_EVENT_TYPES,
  ...IDEMPOTENCY_EVENT_TYPES,
  ...LEAK_EVENT_TYPES,
  ...SSF_STREAM_EVENT_TYPES,
  ...SSF_DELIVERY_EVENT_TYPES,
] as const;

export type KeyledgerEventType = (typeof ALL_EVENT_TYPES)[number];
