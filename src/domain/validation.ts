import { badInput } from './errors';

/** Shared input rules. Each throws BAD_USER_INPUT naming the field and the rule it broke. */

export const LIMITS = {
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
} as const;

const TENANT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
const ROLE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/*-]*$/;
const CODE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Wide enough for user ids and e-mail addresses, which is how chat platforms name a webhook token's owner. */
const OWNER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@+-]*$/;
/** The customer a token belongs to, as the tenant's own systems name it: user and org ids, e-mail addresses, URNs. */
const EXTERNAL_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@+/|=-]*$/;

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

/** A token's code: short, case-insensitively unique in its tenant, safe inside a stream id. */
export function requireCode(value: string, field = 'code'): string {
  if (value.length === 0 || value.length > LIMITS.codeLength || !CODE_PATTERN.test(value)) {
    throw badInput(`${field} must be 1-${LIMITS.codeLength} characters of letters, digits, '.', '_' or '-', starting with a letter or digit`, field);
  }
  return value;
}

export function requireExternalId(value: string, field = 'externalId'): string {
  if (value.length === 0 || value.length > LIMITS.externalIdLength || !EXTERNAL_ID_PATTERN.test(value)) {
    throw badInput(
      `${field} must be 1-${LIMITS.externalIdLength} characters of letters, digits and . _ : @ + / | = -, starting with a letter or digit`,
      field,
    );
  }
  return value;
}

export function requireOwnerId(value: string, field = 'ownerId'): string {
  if (value.length === 0 || value.length > LIMITS.ownerIdLength || !OWNER_ID_PATTERN.test(value)) {
    throw badInput(
      `${field} must be 1-${LIMITS.ownerIdLength} characters of letters, digits and . _ : @ + -, starting with a letter or digit`,
      field,
    );
  }
  return value;
}

/** Integration ids follow the tenant id rules: both end up inside stream ids and URL paths. */
export function requireIntegrationId(value: string, field = 'integrationId'): string {
  if (value.length === 0 || value.length > LIMITS.integrationIdLength || !TENANT_ID_PATTERN.test(value)) {
    throw badInput(
      `${field} must be 1-${LIMITS.integrationIdLength} characters of letters, digits, '.', '_', ':' or '-', starting with a letter or digit`,
      field,
    );
  }
  return value;
}

/**
 * An https URL a client will fetch and show (a bot's avatar). Plain http would let a network
 * attacker swap the picture; embedded credentials would be published to every viewer.
 */
export function requireHttpsUrl(value: string, field: string): string {
  const text = value.trim();
  if (text.length === 0 || text.length > LIMITS.urlLength) throw badInput(`${field} must be an https URL of at most ${LIMITS.urlLength} characters`, field);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw badInput(`${field} must be an absolute https URL`, field);
  }
  if (url.protocol !== 'https:') throw badInput(`${field} must use https`, field);
  if (url.username || url.password) throw badInput(`${field} must not contain credentials`, field);
  if (url.hostname.length === 0) throw badInput(`${field} must name a host`, field);
  return url.href;
}
