import { hash } from 'node:crypto';
import { AUDIT_MAPPINGS, redact, type AuditFingerprints, type AuditResource } from '../../src/domain/audit/mappings';
import type { KeyledgerEventType } from '../../src/domain/audit/event-types';
import { formatPosition, type RecordedEvent } from '../../src/eventstore/port';
import { AUDIT_FINGERPRINT_PREFIX } from '../../src/crypto/audit-fingerprint';
import { canonicalJson } from '../../src/domain/canonical-json';

export { canonicalJson };

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

/** Characters of a chain hash: SHA-256 in hex. */
export const CHAIN_HASH_LENGTH = 64;

/** The hash a chain starts from. */
export const GENESIS_HASH = '0'.repeat(CHAIN_HASH_LENGTH);

/** Chain of the events that belong to no tenant (signing keys, the deployment secret). */
export const DEPLOYMENT_CHAIN = '';

export function isAuditedEventType(type: string): type is KeyledgerEventType {
  return Object.prototype.hasOwnProperty.call(AUDIT_MAPPINGS, type);
}

export function toAuditEntry(event: RecordedEvent, fingerprints: AuditFingerprints): AuditEntry {
  const mapping = mappingOf(event);
  const data = event.data as Record<string, unknown>;
  const metadata = event.metadata;
  // Keys in code-unit order, so the canonical form needs no sorted copy (see canonicalJson).
  return {
    actor: { id: metadata.actor.id, type: metadata.actor.type },
    changes: redact(data, mapping.fields, fingerprints),
    eventType: event.type,
    id: event.id,
    ip: typeof metadata.ip === 'string' ? metadata.ip : null,
    occurredAt: metadata.occurredAt,
    position: formatPosition(event.position),
    requestId: requestIdOf(event),
    resource: mapping.resource(data),
    subTenantId: typeof data.subTenantId === 'string' ? data.subTenantId : null,
    tenantId: tenantIdOf(event),
    userAgent: typeof metadata.userAgent === 'string' ? metadata.userAgent : null,
  };
}

function mappingOf(event: RecordedEvent): (typeof AUDIT_MAPPINGS)[KeyledgerEventType] {
  if (!isAuditedEventType(event.type)) throw new Error(`No audit mapping for event type ${event.type}`);
  return AUDIT_MAPPINGS[event.type];
}

function tenantIdOf(event: RecordedEvent): string | null {
  const { tenantId } = event.data as Record<string, unknown>;
  return typeof tenantId === 'string' ? tenantId : null;
}

function requestIdOf(event: RecordedEvent): string | null {
  return event.metadata.requestId ?? null;
}

/** Every fingerprint an entry holds, so a leaked secret's fingerprint finds its entries. */
export function fingerprintsIn(value: unknown, found: Set<string> = new Set()): Set<string> {
  if (typeof value === 'string' && value.startsWith(AUDIT_FINGERPRINT_PREFIX)) found.add(value);
  else if (Array.isArray(value)) for (const item of value) fingerprintsIn(item, found);
  else if (value !== null && typeof value === 'object') for (const item of Object.values(value)) fingerprintsIn(item, found);
  return found;
}

/** `SHA-256(previous hash ‖ canonical entry)`, hex: each entry commits to the whole chain before it. */
export function chainHash(previousHash: string, canonicalEntry: string): string {
  // One call instead of a Hash object per entry: the replay computes one per event.
  return hash('sha256', previousHash + canonicalEntry, 'hex');
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

/**
 * An entry's row of `audit_entries`, in the insert's column order: event_id, position,
 * stream_id, revision, chain, occurred_at, event_type, resource_type, resource_id, actor_id,
 * request_id, hash.
 */
export type EntryColumns = [string, string, string, number, string, string, string, string, string, string, string | null, string];

/**
 * An entry's canonical text: a string, or its UTF-8 bytes as a replay's worker thread sent them,
 * which the audit tables store as the same text without the replay's thread decoding them.
 */
export type CanonicalText = string | Uint8Array;

/** An entry as the audit tables store it: its row, its canonical text and its fingerprints. */
export interface StoredEntry {
  columns: EntryColumns;
  chain: string;
  hash: string;
  canonical: CanonicalText;
  fingerprints: string[];
}

/** An entry's row: the columns read from its event, with its chain, its resource and its hash. */
function entryColumns(event: RecordedEvent, chain: string, resource: AuditResource, hash: string): EntryColumns {
  return [
    event.id,
    formatPosition(event.position),
    event.streamId,
    event.revision,
    chain,
    event.metadata.occurredAt,
    event.type,
    resource.type,
    resource.id,
    event.metadata.actor.id,
    requestIdOf(event),
    hash,
  ];
}

/**
 * The stored entry of `event`, given its chain hash, canonical text and fingerprints. Its row
 * is read from the event as toAuditEntry reads it, so an entry computed elsewhere (on the
 * replay's worker thread) needs only those three besides the event.
 */
export function storedEntryOf(event: RecordedEvent, hash: string, canonical: CanonicalText, fingerprints: string[]): StoredEntry {
  const chain = chainOf({ eventType: event.type, tenantId: tenantIdOf(event) });
  const resource = mappingOf(event).resource(event.data as Record<string, unknown>);
  return { columns: entryColumns(event, chain, resource, hash), chain, hash, canonical, fingerprints };
}

/** An entry as computed from its event: with the event, all that its stored row and text need. */
export interface EntryText {
  chain: string;
  resource: AuditResource;
  /** Chained to the hash of its chain's last entry. */
  hash: string;
  canonical: string;
  fingerprints: string[];
}

/**
 * What `event`'s entry holds beyond its row: its chain, its resource, its canonical text, its
 * fingerprints, and its hash chained to `headOf(chain)` (the hash of its chain's last entry, or
 * GENESIS_HASH).
 */
export function entryText(event: RecordedEvent, fingerprints: AuditFingerprints, headOf: (chain: string) => string): EntryText {
  const entry = toAuditEntry(event, fingerprints);
  const chain = chainOf(entry);
  const canonical = canonicalJson(entry);
  return { chain, resource: entry.resource, hash: chainHash(headOf(chain), canonical), canonical, fingerprints: [...fingerprintsIn(entry.changes)] };
}

/** The stored entry of `event`, chained to `headOf(chain)` (see entryText). */
export function storedEntry(event: RecordedEvent, fingerprints: AuditFingerprints, headOf: (chain: string) => string): StoredEntry {
  const { chain, resource, hash, canonical, fingerprints: held } = entryText(event, fingerprints, headOf);
  return { columns: entryColumns(event, chain, resource, hash), chain, hash, canonical, fingerprints: held };
}
