import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_EVENT_TYPES, AUDIT_MAPPINGS, redact, type AuditFieldRules } from '../../../src/domain/audit';
import { AuditFingerprinter } from '../../../src/crypto/audit-fingerprint';
import { SecretHasher } from '../../../src/crypto/secret-hash';

const DOMAIN = join(__dirname, '../../../src/domain');

/** Every `type: 'SomeEvent'` literal an event interface declares in src/domain/<aggregate>/events.ts. */
function declaredEventTypes(): string[] {
  const found = new Set<string>();
  for (const aggregate of readdirSync(DOMAIN, { withFileTypes: true })) {
    if (!aggregate.isDirectory()) continue;
    let source: string;
    try {
      source = readFileSync(join(DOMAIN, aggregate.name, 'events.ts'), 'utf8');
    } catch {
      continue;
    }
    for (const match of source.matchAll(/^\s+type: '([A-Za-z]+)';$/gm)) found.add(match[1]);
  }
  return [...found].sort();
}

describe('audit mappings', () => {
  it('the registry holds every event type the domain declares', () => {
    const declared = declaredEventTypes();
    expect(declared.length).toBeGreaterThanOrEqual(20);
    expect(declared).toContain('ConnectionUsed');
    expect([...ALL_EVENT_TYPES].sort()).toEqual(declared);
  });

  it('every event type has a mapping, and every mapping an event type', () => {
    const unmapped = ALL_EVENT_TYPES.filter((type) => !Object.prototype.hasOwnProperty.call(AUDIT_MAPPINGS, type));
    expect(unmapped).toEqual([]);
    expect(Object.keys(AUDIT_MAPPINGS).sort()).toEqual([...ALL_EVENT_TYPES].sort());
  });

  it('no secret-bearing field is shown as it is', () => {
    const secretish = /hash|tag|ciphertext|blob|secret$|apikey$|private|iv$/i;
    const shown: string[] = [];
    const walk = (rules: AuditFieldRules, path: string) => {
      for (const [field, rule] of Object.entries(rules)) {
        // A signed audit head's `hash` is a chain hash, which every audit entry shows anyway.
        const publicByDesign = field === 'secretDisplay' || `${path}.${field}` === 'AuditHeadSigned.hash';
        if (rule === 'show' && secretish.test(field) && !publicByDesign) shown.push(`${path}.${field}`);
        if (typeof rule === 'object') walk(rule, `${path}.${field}`);
      }
    };
    for (const [type, mapping] of Object.entries(AUDIT_MAPPINGS)) walk(mapping.fields, type);
    expect(shown).toEqual([]);
  });
});

describe('redact', () => {
  const pepper = Buffer.alloc(32, 1);
  const fingerprinter = new AuditFingerprinter(Buffer.alloc(32, 2), pepper);

  it('drops fields that are not listed and fingerprints stored secrets', () => {
    const secret = 'klt_example-secret';
    const secretHash = new SecretHasher(pepper).lookupHash(secret);
    const out = redact(
      { tokenId: 't1', tenantId: 'a', secretHash, sealedSecret: { dataKeyId: 'k1', ciphertext: 'CIPHER' }, somethingNew: 'x' },
      AUDIT_MAPPINGS.TokenIssued.fields,
      fingerprinter,
    );
    expect(out).toEqual({
      tokenId: 't1',
      tenantId: 'a',
      secretHash: fingerprinter.ofSecret(secret),
      sealedSecret: { dataKeyId: 'k1', ciphertext: fingerprinter.ofStored('CIPHER') },
    });
    expect(JSON.stringify(out)).not.toContain(secretHash);
    expect(out.secretHash).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
  });

  it('drops a nested rule applied to something other than an object', () => {
    expect(redact({ sealedApiKey: 'not-an-object' }, AUDIT_MAPPINGS.ConnectionCreated.fields, fingerprinter)).toEqual({});
  });
});
