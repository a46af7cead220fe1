import { createHash } from 'node:crypto';
import { AUDIT_MAPPINGS, redact, type AuditFingerprints, type AuditResource } from '../../src/domain/audit/mappings';
import type { KeyledgerEventType } from '../../src/domain/audit/event-types';
import { formatPosition, type RecordedEvent } from '../../src/eventstore/port';
import { AUDIT_FINGERPRINT_PREFIX } from '../../src/crypto/audit-fingerprint';

/** One audit entry: what an event did, to what, by whom, from where; secrets only as fingerprints. */
export interface AuditEntry {
  id: string;
  position: string;
  occurredAt: string;
  eventType: string;
  tenantId: string | null;
  subTenantId: string | null;
  resource: AuditResource;
  actor: { type: string; id: string };
  requestId: string | null;
  ip: string | null;
  userAgent: string | null;
  changes: Record<string, unknown>;
}

/** The hash a chain starts from. */
export const GENESIS_HASH = '0'.repeat(64);

/** Chain of the events that belong to no tenant (signing keys, the deployment secret). */
export const DEPLOYMENT_CHAIN = '';

export function isAuditedEventType(type: string): type is KeyledgerEventType {
  return Object.prototype.hasOwnProperty.call(AUDIT_MAPPINGS, type);
}

export function toAuditEntry(event: RecordedEvent, fingerprints: AuditFingerprints): AuditEntry {
  if (!isAuditedEventType(event.type)) throw new Error(`No audit mapping for event type ${event.type}`);
  const mapping = AUDIT_MAPPINGS[event.type];
  const data = event.data as Record<string, unknown>;
  const metadata = event.metadata;
  return {
    id: event.id,
    position: formatPosition(event.position),
    occurredAt: metadata.occurredAt,
    eventType: event.type,
    tenantId: typeof data.tenantId === 'string' ? data.tenantId : null,
    subTenantId: typeof data.subTenantId === 'string' ? data.subTenantId : null,
    resource: mapping.resource(data),
    actor: { type: metadata.actor.type, id: metadata.actor.id },
    requestId: metadata.requestId ?? null,
    ip: typeof metadata.ip === 'string' ? metadata.ip : null,
    userAgent: typeof metadata.userAgent === 'string' ? metadata.userAgent : null,
    changes: redact(data, mapping.fields, fingerprints),
  };
}

/** Every fingerprint an entry holds, so a leaked secret's fingerprint finds its entries. */
export function fingerprintsIn(value: unknown, found: Set<string> = new Set()): Set<string> {
  if (typeof value === 'string' && value.startsWith(AUDIT_FINGERPRINT_PREFIX)) found.add(value);
  else if (Array.isArray(value)) for (const item of value) fingerprintsIn(item, found);
  else if (value !== null && typeof value === 'object') for (const item of Object.values(value)) fingerprintsIn(item, found);
  return found;
}

/** JSON with object keys sorted at every level, so the same entry always hashes the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

/*
 * Every entry of the log goes through here, so it builds the copy in plain loops. The copy has
 * no prototype, so a `__proto__` key stays an ordinary key, as `Object.fromEntries` keeps it.
 */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) {
    const copy = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) copy[i] = sortKeys(value[i]);
    return copy;
  }
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = Object.create(null);
    for (const key of Object.keys(value).sort()) copy[key] = sortKeys((value as Record<string, unknown>)[key]);
    return copy;
  }
  return value;
}

/** `SHA-256(previous hash ‖ canonical entry)`, hex: each entry commits to the whole chain before it. */
export function chainHash(previousHash: string, canonicalEntry: string): string {
  return createHash('sha256').update(previousHash).update(canonicalEntry).digest('hex');
}

/**
 * Tenants' entries form one chain each, so a tenant's export verifies without anyone else's
 * entries. A signed head goes to the deployment chain although it names a tenant: in the
 * tenant's chain it would move the very head it signs, and the periodic round would find
 * that head changed and sign again forever.
 */
export function chainOf(entry: Pick<AuditEntry, 'tenantId' | 'eventType'>): string {
  if (entry.eventType === 'AuditHeadSigned') return DEPLOYMENT_CHAIN;
  return entry.tenantId ?? DEPLOYMENT_CHAIN;
}
