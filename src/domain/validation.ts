import { badInput } from './errors';

/** Shared input rules. Each throws BAD_USER_INPUT naming the field and the rule it broke. */

export const LIMITS = {
  nameLength: 200,
  reasonLength: 500,
  roleLength: 100,
  rolesPerToken: 50,
  tenantIdLength: 128,
} as const;

const TENANT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
const ROLE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/*-]*$/;

export function requireName(value: string, field = 'name'): string {
  const name = value.trim();
  if (name.length === 0) throw badInput(`${field} must not be empty`, field);
  if (name.length > LIMITS.nameLength) throw badInput(`${field} must be at most ${LIMITS.nameLength} characters`, field);
  // C0/C1 controls can drive terminals that print logs; bidirectional overrides can disguise a name.
  if (/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(name)) {
    throw badInput(`${field} must not contain control characters`, field);
  }
  return name;
}

export function optionalText(value: string | null | undefined, field: string, max: number): string | null {
  if (value == null) return null;
  const text = value.trim();
  if (text.length > max) throw badInput(`${field} must be at most ${max} characters`, field);
  return text.length === 0 ? null : text;
}

export function requireTenantId(value: string, field = 'tenantId'): string {
  if (value.length === 0 || value.length > LIMITS.tenantIdLength || !TENANT_ID_PATTERN.test(value)) {
    throw badInput(
      `${field} must be 1-${LIMITS.tenantIdLength} characters of letters, digits, '.', '_', ':' or '-', starting with a letter or digit`,
      field,
    );
  }
  return value;
}

export function requireRoles(values: readonly string[], field = 'roles'): string[] {
  if (values.length > LIMITS.rolesPerToken) throw badInput(`${field} may hold at most ${LIMITS.rolesPerToken} roles`, field);
  const roles = new Set<string>();
  for (const role of values) {
    if (role.length === 0 || role.length > LIMITS.roleLength || !ROLE_PATTERN.test(role)) {
      throw badInput(
        `Each role must be 1-${LIMITS.roleLength} characters of letters, digits and . _ : / * -, starting with a letter or digit`,
        field,
      );
    }
    roles.add(role);
  }
  return [...roles].sort();
}

export function requireFutureInstant(value: Date, now: Date, field: string): Date {
  if (Number.isNaN(value.getTime())) throw badInput(`${field} is not a valid instant`, field);
  if (value.getTime() <= now.getTime()) throw badInput(`${field} must be in the future`, field);
  return value;
}
