import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compactVerify, type CompactVerifyGetKey } from 'jose';
import type { PeriodicAuditHeadClaims } from '../../domain/audit/events';

export type { PeriodicAuditHeadClaims };

export const AUDIT_HEAD_JWS_TYPE = 'keyledger-audit-head+jws';

/**
 * One line of an anchor: a signed head as published outside the store. The claims are
 * repeated for people reading the file; only those inside `jws` count. `eventPosition` is
 * where the log recorded the head as `AuditHeadSigned`.
 */
export interface AnchoredHeadLine extends PeriodicAuditHeadClaims {
  jws: string;
  eventPosition: string;
}

/** An anchored head whose signature verified: its signed claims, and where the log recorded it. */
export interface AnchoredHead extends PeriodicAuditHeadClaims {
  jws: string;
  eventPosition: string | null;
  /** 1-based line of the anchor file. */
  line: number;
}

export interface AnchorReading {
  heads: AnchoredHead[];
  /** Lines that are not a head signed with the given keys. */
  invalid: Array<{ line: number; problem: string }>;
  /** Lines that are valid heads of other tenants. */
  foreign: number[];
}

export interface AuditAnchorSettings {
  /** Directory holding one append-only NDJSON file of signed heads per tenant; null: none. */
  dir: string | null;
  /** URL each signed head is POSTed to as JSON; null: none. */
  witnessUrl: string | null;
}

const WITNESS_TIMEOUT_MS = 5000;

/** The anchor file of a tenant inside the anchor directory; the name cannot leave the directory. */
export function anchorFileName(tenantId: string): string {
  return `${encodeURIComponent(tenantId)}.ndjson`;
}

/**
 * Reads a tenant's anchor (NDJSON of `AnchoredHeadLine`), keeping only heads whose JWS
 * verifies with `keys`, has the audit head type, and names `tenantId`.
 */
export async function readAnchor(text: string, tenantId: string, keys: CompactVerifyGetKey): Promise<AnchorReading> {
  const reading: AnchorReading = { heads: [], invalid: [], foreign: [] };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    if (lines[i].trim() === '') continue;
    let parsed: Partial<AnchoredHeadLine>;
    try {
      parsed = JSON.parse(lines[i]) as Partial<AnchoredHeadLine>;
    } catch {
      reading.invalid.push({ line, problem: 'not JSON' });
      continue;
    }
    if (typeof parsed?.jws !== 'string') {
      reading.invalid.push({ line, problem: 'no jws' });
      continue;
    }
    let claims: PeriodicAuditHeadClaims;
    try {
      const verified = await compactVerify(parsed.jws, keys, { algorithms: ['ES256'] });
      if (verified.protectedHeader.typ !== AUDIT_HEAD_JWS_TYPE) throw new Error('not an audit head signature');
      claims = JSON.parse(new TextDecoder().decode(verified.payload)) as PeriodicAuditHeadClaims;
    } catch (error) {
      reading.invalid.push({ line, problem: `the signature does not verify (${(error as Error).message})` });
      continue;
    }
    if (typeof claims.position !== 'string' || !/^\d{1,30}$/.test(claims.position) || typeof claims.hash !== 'string' || !Number.isSafeInteger(claims.entries)) {
      reading.invalid.push({ line, problem: 'the signed claims are not an audit head' });
      continue;
    }
    if (claims.tenantId !== tenantId) {
      reading.foreign.push(line);
      continue;
    }
    const eventPosition = typeof parsed.eventPosition === 'string' && /^\d{1,30}$/.test(parsed.eventPosition) ? parsed.eventPosition : null;
    reading.heads.push({ ...claims, jws: parsed.jws, eventPosition, line });
  }
  return reading;
}

/**
 * Publishes each signed head outside the store, where a writer of the data directory cannot
 * reach it: appended to the tenant's file in the anchor directory (synced before the round
 * goes on) and POSTed to a witness. Either place can later prove that the log once held a
 * chain with that head.
 */
export class AuditAnchor {
  constructor(readonly settings: AuditAnchorSettings) {}

  get publishes(): boolean {
    return this.settings.dir !== null || this.settings.witnessUrl !== null;
  }

  /** Throws when a configured place did not take the head (after trying every place). */
  async publish(head: AnchoredHeadLine): Promise<void> {
    const failures: string[] = [];
    if (this.settings.dir !== null) {
      try {
        const file = await open(join(this.settings.dir, anchorFileName(head.tenantId)), 'a', 0o644);
        try {
          await file.appendFile(`${JSON.stringify(head)}\n`);
          await file.sync();
        } finally {
          await file.close();
        }
      } catch (error) {
        failures.push(`the anchor directory: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
    }
    if (this.settings.witnessUrl !== null) {
      try {
        const response = await fetch(this.settings.witnessUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(head),
          signal: AbortSignal.timeout(WITNESS_TIMEOUT_MS),
        });
        await response.arrayBuffer().catch(() => undefined);
        if (!response.ok) failures.push(`the witness answered ${response.status}`);
      } catch (error) {
        failures.push(`the witness: ${(error as Error).name}`);
      }
    }
    if (failures.length > 0) throw new Error(`A signed audit head was not published to ${failures.join('; ')}`);
  }

  /** The tenant's anchor file, or null when no anchor directory is configured; empty when nothing was anchored yet. */
  async read(tenantId: string, keys: CompactVerifyGetKey): Promise<AnchorReading | null> {
    if (this.settings.dir === null) return null;
    let text: string;
    try {
      text = await readFile(join(this.settings.dir, anchorFileName(tenantId)), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { heads: [], invalid: [], foreign: [] };
      throw error;
    }
    return readAnchor(text, tenantId, keys);
  }
}
