import { randomBytes } from 'node:crypto';
import { auditProjection, chainHash, GENESIS_HASH } from '../../../projections/audit';
import { AuditFingerprinter } from '../../../src/crypto/audit-fingerprint';
import { HASH, issued, revoked } from '../domain/token-given';
import { given } from './projection-given';

const projection = auditProjection(new AuditFingerprinter(randomBytes(32), randomBytes(32)));
const tokenStream = (tokenId: string) => `token-${tokenId}`;
const acmeIssued = { ...issued(), streamId: tokenStream('tok_1'), id: '00000000-0000-4000-8000-000000000001' };
const acmeRevoked = { ...revoked({ reason: 'leaked' }), streamId: tokenStream('tok_1'), id: '00000000-0000-4000-8000-000000000002' };
const globexIssued = {
  ...issued({ tokenId: 'tok_2', tenantId: 'globex', secretHash: 'hmac-sha256$' + 'cd'.repeat(32) }),
  streamId: tokenStream('tok_2'),
  id: '00000000-0000-4000-8000-000000000003',
  metadata: { actor: { type: 'token', id: 'tok_globex_admin', tenantId: 'globex' }, requestId: 'req-2' },
};

interface EntryRow {
  chain: string;
  event_type: string;
  resource_type: string;
  resource_id: string;
  actor_id: string;
  request_id: string;
  entry: string;
  hash: string;
}

const readEntries = (events: Parameters<typeof given>[1]) =>
  given(projection, events).read((db) => db.prepare('SELECT chain, event_type, resource_type, resource_id, actor_id, request_id, entry, hash FROM audit_records ORDER BY seq').all() as EntryRow[]);

describe('audit projection', () => {
  it('given token events of two tenants, then one entry each, in a chain per tenant', () => {
    const rows = readEntries([acmeIssued, globexIssued, acmeRevoked]);
    expect(rows.map(({ entry: _entry, hash: _hash, ...row }) => row)).toEqual([
      { chain: 'acme', event_type: 'TokenIssued', resource_type: 'token', resource_id: 'tok_1', actor_id: 'tok_admin', request_id: 'req-1' },
      { chain: 'globex', event_type: 'TokenIssued', resource_type: 'token', resource_id: 'tok_2', actor_id: 'tok_globex_admin', request_id: 'req-2' },
      { chain: 'acme', event_type: 'TokenRevoked', resource_type: 'token', resource_id: 'tok_1', actor_id: 'tok_admin', request_id: 'req-1' },
    ]);
    const [first, other, second] = rows;
    expect(first.hash).toBe(chainHash(GENESIS_HASH, first.entry));
    expect(other.hash).toBe(chainHash(GENESIS_HASH, other.entry));
    expect(second.hash).toBe(chainHash(first.hash, second.entry));
  });

  it('given a token issued, then its entry shows what changed and never the stored secret hash', () => {
    const [row] = readEntries([acmeIssued]);
    const entry = JSON.parse(row.entry) as { changes: Record<string, unknown> };
    expect(entry.changes).toMatchObject({ tokenId: 'tok_1', tenantId: 'acme', name: 'billing bot', roles: ['billing:read'] });
    expect(row.entry).not.toContain(HASH);
    expect(row.entry).not.toContain('ab'.repeat(32));
  });

  it('given the same event twice (a replay), then one entry and the chain does not fork', () => {
    const rows = readEntries([acmeIssued, acmeIssued, acmeRevoked]);
    expect(rows.map((row) => row.event_type)).toEqual(['TokenIssued', 'TokenRevoked']);
    expect(rows[1].hash).toBe(chainHash(rows[0].hash, rows[1].entry));
  });

  it('given a token issued, then its secret hash is findable only as a fingerprint', () => {
    const fingerprints = given(projection, [acmeIssued]).read((db) => db.prepare('SELECT chain, fingerprint FROM audit_fingerprints').all() as Array<{ chain: string; fingerprint: string }>);
    expect(fingerprints.length).toBeGreaterThan(0);
    for (const { chain, fingerprint } of fingerprints) {
      expect(chain).toBe('acme');
      expect(fingerprint).not.toContain('ab'.repeat(32));
    }
  });
});
