import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { canonicalJson, chainHash } from '../../../projections/audit/audit-entry';
import { GENESIS_HASH } from '../../../projections/audit/audit-entry';
import { readAnchor, type AnchoredHead } from './audit-anchor';
import { AUDIT_EXPORT_JWS_TYPE, type AuditExportClaims } from './audit-service';

export interface AuditExportVerification {
  ok: boolean;
  tenantId: string | null;
  entries: number;
  /** Hash of the last entry that verified. */
  hash: string | null;
  /** The signing key of a valid signature. */
  kid: string | null;
  /** Why the export does not verify, naming the line. */
  problem: string | null;
  /** Anchored heads of the tenant the export was compared with (null without an anchor). */
  anchoredHeadsChecked: number | null;
}

/**
 * Checks an NDJSON audit export with nothing but the gateway's public keys: every entry's
 * hash from the previous one, and the signature over the stretch of chain the export
 * claims (first previous hash, last hash, count). Reads line by line, so any size verifies
 * in constant memory.
 *
 * With `anchor` (the text of the tenant's anchor file: heads the gateway published outside
 * its store), the export must also agree with every anchored head it covers: the same hash
 * and, for an export from the start of the chain, the same number of entries at the head's
 * position; no anchored head may fall between two exported entries, and an export to the
 * end of the chain may not end before a head anchored before it was signed. A rewritten
 * history fails this even when it was re-signed by the gateway after the fact.
 */
export async function verifyAuditExport(lines: AsyncIterable<string>, jwks: JSONWebKeySet, anchor?: string): Promise<AuditExportVerification> {
  let header: { tenantId: string; from: string | null; to: string | null; previousHash: string } | null = null;
  let hash: string | null = null;
  let entries = 0;
  let lineNumber = 0;
  let anchored: Array<{ position: bigint; heads: AnchoredHead[] }> | null = null;
  let nextAnchored = 0;
  let anchoredHeadsChecked = 0;
  let lastPosition: bigint | null = null;
  const result = (problem: string | null, kid: string | null = null): AuditExportVerification => ({
    ok: problem === null,
    tenantId: header?.tenantId ?? null,
    entries,
    hash,
    kid,
    problem,
    anchoredHeadsChecked: anchor === undefined ? null : anchoredHeadsChecked,
  });
  let signature: (AuditExportClaims & { jws: string; kid: string }) | null = null;
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === '') continue;
    if (signature) return result(`line ${lineNumber}: content after the signature`);
    let parsed: Record<string, any>;
    try {
      parsed = JSON.parse(line) as Record<string, any>;
    } catch {
      return result(`line ${lineNumber}: not JSON`);
    }
    if (lineNumber === 1) {
      if (!parsed.header || typeof parsed.header.previousHash !== 'string') return result('line 1: no export header');
      header = parsed.header;
      hash = header!.previousHash;
      if (anchor !== undefined) {
        const reading = await readAnchor(anchor, header!.tenantId, createLocalJWKSet(jwks));
        if (reading.invalid.length > 0) return result(`anchor line ${reading.invalid[0].line}: ${reading.invalid[0].problem}`);
        const byPosition = new Map<string, AnchoredHead[]>();
        for (const head of reading.heads) byPosition.set(head.position, [...(byPosition.get(head.position) ?? []), head]);
        anchored = [...byPosition].map(([position, heads]) => ({ position: BigInt(position), heads }));
        anchored.sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
      }
      continue;
    }
    if (parsed.signature) {
      signature = parsed.signature;
      continue;
    }
    if (!parsed.entry || typeof parsed.hash !== 'string') return result(`line ${lineNumber}: neither an entry nor the signature`);
    const expected = chainHash(hash!, canonicalJson(parsed.entry));
    if (expected !== parsed.hash) return result(`line ${lineNumber}: entry ${String(parsed.entry.id)} does not match its hash`);
    if (parsed.entry.tenantId !== header!.tenantId) return result(`line ${lineNumber}: entry of another tenant`);
    hash = parsed.hash;
    entries++;
    if (anchored) {
      const position = typeof parsed.entry.position === 'string' && /^\d{1,30}$/.test(parsed.entry.position) ? BigInt(parsed.entry.position) : null;
      if (position === null || (lastPosition !== null && position <= lastPosition)) return result(`line ${lineNumber}: entry out of log order`);
      // The anchored heads in position order; `nextAnchored` is the first the export has not passed yet.
      while (nextAnchored < anchored.length && anchored[nextAnchored].position <= position) {
        const { position: at, heads } = anchored[nextAnchored++];
        // A head the export passed without an entry at its position: an entry was removed.
        if (at < position) {
          // Before the first entry of an export that starts mid-chain: outside what it covers.
          if (lastPosition === null && header!.previousHash !== GENESIS_HASH) continue;
          return result(`line ${lineNumber}: the export has no entry at position ${at}, where the anchor (line ${heads[0].line}) has a signed head`);
        }
        for (const head of heads) {
          if (head.hash !== parsed.hash) return result(`line ${lineNumber}: the hash differs from the anchored head (anchor line ${head.line})`);
          if (header!.previousHash === GENESIS_HASH && head.entries !== entries) {
            return result(`line ${lineNumber}: ${entries} entries up to here, the anchored head (anchor line ${head.line}) counts ${head.entries}`);
          }
          anchoredHeadsChecked++;
        }
      }
      lastPosition = position;
    }
  }
  if (!header) return result('empty export');
  if (!signature) return result('no signature line: the export is incomplete');
  let claims: AuditExportClaims;
  try {
    const verified = await compactVerify(signature.jws, createLocalJWKSet(jwks), { algorithms: ['ES256'] });
    if (verified.protectedHeader.typ !== AUDIT_EXPORT_JWS_TYPE) return result(`the signature is not of an audit export`);
    claims = JSON.parse(new TextDecoder().decode(verified.payload)) as AuditExportClaims;
  } catch (error) {
    return result(`the signature does not verify with the given keys (${(error as Error).message})`);
  }
  if (claims.tenantId !== header.tenantId || claims.previousHash !== header.previousHash || claims.from !== header.from || claims.to !== header.to) {
    return result('the signature covers another export (tenant, range or starting hash)');
  }
  if (claims.hash !== hash || claims.entries !== entries) return result('the signature covers other entries than the file holds');
  if (anchored && header.to === null) {
    for (const { position: at, heads } of anchored.slice(nextAnchored)) {
      const signedBefore = heads.find((head) => head.signedAt <= claims.signedAt);
      if (signedBefore) return result(`the export ends before position ${at}, which the anchor (line ${signedBefore.line}) signed before the export was made`);
    }
  }
  return result(null, signature.kid);
}
