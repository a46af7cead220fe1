import { badInput, forbidden } from '../errors';
import { requireRoles } from '../validation';

/**
 * keyledger's own permissions are the roles in the `keyledger:` namespace. Any other role
 * is a tenant's own and never grants power here.
 */
export const Role = {
  root: 'keyledger:root',
  admin: 'keyledger:admin',
  tokensRead: 'keyledger:tokens:read',
  tokensWrite: 'keyledger:tokens:write',
  /** Issue, list, rotate and revoke the tenant's WEBHOOK_TOKENs, without keyledger roles: an extension backend's role. */
  webhookTokensWrite: 'keyledger:webhook-tokens:write',
  connectionsRead: 'keyledger:connections:read',
  connectionsWrite: 'keyledger:connections:write',
  connectionsUse: 'keyledger:connections:use',
  auditRead: 'keyledger:audit:read',
  /** Receive the tenant's Security Event Tokens as a Shared Signals Framework receiver. */
  eventsRead: 'keyledger:events:read',
} as const;
export type KeyledgerRole = (typeof Role)[keyof typeof Role];

export const KEYLEDGER_NAMESPACE = 'keyledger:';
export const KEYLEDGER_ROLES: readonly string[] = Object.values(Role);

/** What each role implies beyond itself. */
const IMPLIES: Record<string, readonly string[]> = {
  [Role.root]: [Role.admin],
  [Role.admin]: [Role.tokensWrite, Role.connectionsWrite, Role.connectionsUse, Role.auditRead, Role.eventsRead],
  [Role.tokensWrite]: [Role.tokensRead, Role.webhookTokensWrite],
  [Role.connectionsWrite]: [Role.connectionsRead],
};

export function isKeyledgerRole(role: string): boolean {
  return role.startsWith(KEYLEDGER_NAMESPACE);
}

/** The keyledger roles a set of roles amounts to, with implications followed. */
export function effectiveRoles(roles: readonly string[]): Set<string> {
  const result = new Set<string>();
  const pending = roles.filter(isKeyledgerRole);
  while (pending.length > 0) {
    const role = pending.pop()!;
    if (result.has(role)) continue;
    result.add(role);
    pending.push(...(IMPLIES[role] ?? []));
  }
  return result;
}

export function holdsRole(roles: readonly string[], role: KeyledgerRole): boolean {
  return effectiveRoles(roles).has(role);
}

/** Unknown `keyledger:` roles are refused so that a typo cannot look like a grant. */
export function unknownKeyledgerRoles(roles: readonly string[]): string[] {
  return roles.filter((role) => isKeyledgerRole(role) && !KEYLEDGER_ROLES.includes(role));
}

/**
 * No escalation: a caller may grant (or manage a token holding) only keyledger roles it
 * holds itself. Tenant roles are free. Returns the roles the caller lacks.
 */
export function rolesBeyondCaller(callerRoles: readonly string[], roles: readonly string[]): string[] {
  const held = effectiveRoles(callerRoles);
  return roles.filter((role) => isKeyledgerRole(role) && !held.has(role));
}

/**
 * The rule for giving a token roles, at issue (`held` null: a new token) and at update
 * (`held`: the roles it has): the roles must be well formed, name no unknown keyledger role,
 * and every keyledger role granted or withdrawn must be one the grantor holds. Returns the
 * roles, normalized.
 */
export function requireGrantableRoles(grantorRoles: readonly string[], requested: readonly string[], held: readonly string[] | null): string[] {
  const roles = requireRoles(requested);
  const unknown = unknownKeyledgerRoles(roles);
  if (unknown.length > 0) throw badInput(`Unknown keyledger role(s): ${unknown.join(', ')}`, 'roles');
  const changed = held === null ? roles : [...roles.filter((role) => !held.includes(role)), ...held.filter((role) => !roles.includes(role))];
  const beyond = rolesBeyondCaller(grantorRoles, changed.filter(isKeyledgerRole));
  if (beyond.length > 0) {
    throw forbidden(`You cannot ${held === null ? 'grant' : 'grant or withdraw'} role(s) you do not hold: ${beyond.join(', ')}`);
  }
  return roles;
}
