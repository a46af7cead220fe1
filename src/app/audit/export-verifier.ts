import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { canonicalJson, chainHash } from '../../../projections/audit/audit-entry';
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
}

/**
 * Checks an NDJSON audit export with nothing but the gateway's public keys: every entry's
 * hash from the previous one, and the signature over the stretch of chain the export
 * claims (first previous hash, last hash, count). Reads line by line, so any size verifies
 * in constant memory.
 */
export async function verifyAuditExport(lines: AsyncIterable<string>, jwks: JSONWebKeySet): Promise<AuditExportVerification> {
  let header: { tenantId: string; from: string | null; to: string | null; previousHash: string } | null = null;
  let hash: string | null = null;
  let entries = 0;
  let lineNumber = 0;
  const result = (problem: string | null, kid: string | null = null): AuditExportVerification => ({
    ok: problem === null,
    tenantId: header?.tenantId ?? null,
    entries,
    hash,
    kid,
    problem,
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
  return result(null, signature.kid);
}
