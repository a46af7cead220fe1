import { KeyledgerError } from '../../../src/domain/errors';
import {
  LIMITS,
  optionalText,
  requireFutureInstant,
  requireName,
  requireRoles,
  requireTenantId,
} from '../../../src/domain/validation';

/** Runs `fn`, expecting a BAD_USER_INPUT naming `field`; returns the message for finer checks. */
function badInputMessage(fn: () => unknown, field: string): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(KeyledgerError);
    expect((error as KeyledgerError).code).toBe('BAD_USER_INPUT');
    expect((error as KeyledgerError).details).toEqual({ field });
    return (error as KeyledgerError).message;
  }
  throw new Error('expected BAD_USER_INPUT, but nothing was thrown');
}

describe('LIMITS', () => {
  it('holds the documented bounds', () => {
    expect(LIMITS).toEqual({
      nameLength: 200,
      reasonLength: 500,
      roleLength: 100,
      rolesPerToken: 50,
      tenantIdLength: 128,
      codeLength: 64,
      ownerIdLength: 254,
      integrationIdLength: 128,
      botNameLength: 100,
      urlLength: 2048,
      externalIdLength: 256,
    });
  });
});

describe('requireName', () => {
  it('accepts exactly 200 characters and rejects 201', () => {
    expect(requireName('x'.repeat(200))).toBe('x'.repeat(200));
    expect(badInputMessage(() => requireName('x'.repeat(201)), 'name')).toBe('name must be at most 200 characters');
  });

  it('measures the length after trimming', () => {
    expect(requireName(`   ${'x'.repeat(200)}   `)).toBe('x'.repeat(200));
  });

  it('trims surrounding whitespace and keeps inner spaces', () => {
    expect(requireName('  billing   bot  ')).toBe('billing   bot');
  });

  it('rejects empty and blank names', () => {
    expect(badInputMessage(() => requireName(''), 'name')).toBe('name must not be empty');
    expect(badInputMessage(() => requireName(' \n\t '), 'name')).toBe('name must not be empty');
  });

  it.each(['\u0000', '\u0001', '\u0008', '\u000b', '\u001b', '\u001f', '\u007f', '\r', '\n'])(
    'rejects control character %j inside a name',
    (control) => {
      expect(badInputMessage(() => requireName(`a${control}b`), 'name')).toMatch(/control characters/);
    },
  );

  // Known gap: the check covers C0 and DEL only. U+009B is the 8-bit CSI, which some
  // terminals honour as an escape sequence when a name is printed in logs or the CLI.
  it.each(['\u0085', '\u009b'])('rejects C1 control character %j inside a name', (control) => {
    expect(badInputMessage(() => requireName(`a${control}[31mb`), 'name')).toMatch(/control characters/);
  });

  it('accepts non-ASCII printable names', () => {
    expect(requireName('Zahlungs-Bot für Café ☕')).toBe('Zahlungs-Bot für Café ☕');
  });

  it('names the field it was given', () => {
    expect(badInputMessage(() => requireName('', 'displayName'), 'displayName')).toBe('displayName must not be empty');
  });
});

describe('optionalText', () => {
  it('maps null, undefined, empty and blank to null', () => {
    expect(optionalText(null, 'reason', 10)).toBeNull();
    expect(optionalText(undefined, 'reason', 10)).toBeNull();
    expect(optionalText('', 'reason', 10)).toBeNull();
    expect(optionalText('   ', 'reason', 10)).toBeNull();
  });

  it('trims and enforces the maximum after trimming', () => {
    expect(optionalText('  0123456789  ', 'reason', 10)).toBe('0123456789');
    expect(badInputMessage(() => optionalText('01234567890', 'reason', 10), 'reason')).toBe('reason must be at most 10 characters');
  });
});

describe('requireTenantId', () => {
  it.each(['a', 'acme', 'A1', '0', 'acme.eu-1', 'org_42', 'tenant:sub', 'x'.repeat(128)])('accepts %s', (tenantId) => {
    expect(requireTenantId(tenantId)).toBe(tenantId);
  });

  it.each([
    ['empty', ''],
    ['129 characters', 'x'.repeat(129)],
    ['a leading dot', '.acme'],
    ['a leading dash', '-acme'],
    ['a leading underscore', '_acme'],
    ['a leading colon', ':acme'],
    ['a space', 'ac me'],
    ['a leading space', ' acme'],
    ['a trailing newline', 'acme\n'],
    ['a slash', 'acme/x'],
    ['a percent sign', 'acme%20'],
    ['a wildcard', 'acme*'],
    ['non-ASCII letters', 'acmé'],
  ])('rejects %s', (_label, tenantId) => {
    expect(badInputMessage(() => requireTenantId(tenantId), 'tenantId')).toMatch(/^tenantId must be 1-128 characters/);
  });
});

describe('requireRoles', () => {
  it('deduplicates and sorts', () => {
    expect(requireRoles(['b', 'a', 'b', 'C'])).toEqual(['C', 'a', 'b']);
  });

  it('does not modify its argument', () => {
    const roles = ['b', 'a'];
    requireRoles(roles);
    expect(roles).toEqual(['b', 'a']);
  });

  it.each(['a', 'billing:read', 'files/*', 'x.y_z-1', 'keyledger:tokens:read', 'r'.repeat(100)])('accepts %s', (role) => {
    expect(requireRoles([role])).toEqual([role]);
  });

  it.each([
    ['empty', ''],
    ['101 characters', 'r'.repeat(101)],
    ['a leading *', '*'],
    ['a leading /', '/files'],
    ['a space', 'billing read'],
    ['a trailing newline', 'billing\n'],
    ['a comma', 'a,b'],
    ['non-ASCII', 'rôle'],
  ])('rejects a role with %s', (_label, role) => {
    expect(badInputMessage(() => requireRoles([role]), 'roles')).toMatch(/^Each role must be 1-100 characters/);
  });

  it('accepts 50 roles and rejects 51', () => {
    const roles = Array.from({ length: 51 }, (_, i) => `r${i}`);
    expect(requireRoles(roles.slice(0, 50))).toHaveLength(50);
    expect(badInputMessage(() => requireRoles(roles), 'roles')).toBe('roles may hold at most 50 roles');
  });
});

describe('requireFutureInstant', () => {
  const now = new Date('2030-06-01T12:00:00.000Z');

  it('accepts an instant one millisecond after now and returns it unchanged', () => {
    const value = new Date(now.getTime() + 1);
    expect(requireFutureInstant(value, now, 'expiresAt')).toBe(value);
  });

  it('rejects now itself and the past', () => {
    expect(badInputMessage(() => requireFutureInstant(new Date(now.getTime()), now, 'expiresAt'), 'expiresAt')).toBe('expiresAt must be in the future');
    expect(badInputMessage(() => requireFutureInstant(new Date(now.getTime() - 1), now, 'expiresAt'), 'expiresAt')).toBe('expiresAt must be in the future');
  });

  it('rejects an invalid Date', () => {
    expect(badInputMessage(() => requireFutureInstant(new Date('garbage'), now, 'expiresAt'), 'expiresAt')).toBe('expiresAt is not a valid instant');
    expect(badInputMessage(() => requireFutureInstant(new Date(Number.NaN), now, 'validUntil'), 'validUntil')).toBe('validUntil is not a valid instant');
  });
});
