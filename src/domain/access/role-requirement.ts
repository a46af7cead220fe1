import { badInput } from '../errors';
import { LIMITS } from '../validation';

/** Most alternatives one check may name. */
export const MAX_ANY_OF_GROUPS = 16;

/**
 * What a check asks of a credential's roles: every role of `allOf`, and, when `anyOf` is
 * given, every role of at least one of its groups ("admin, or both read and write" is
 * `anyOf: [[admin], [read, write]]`).
 */
export interface RoleRequirement {
  allOf: readonly string[];
  anyOf: ReadonlyArray<readonly string[]> | null;
}

/** `anyOf` as asked: null when not asked; an empty list or an empty group would be satisfied by nothing or everything, and is refused. */
export function requireAnyOf(groups: ReadonlyArray<readonly string[]> | null | undefined, field = 'anyOf'): ReadonlyArray<readonly string[]> | null {
  if (groups === null || groups === undefined) return null;
  if (groups.length === 0 || groups.length > MAX_ANY_OF_GROUPS) throw badInput(`${field} must hold 1-${MAX_ANY_OF_GROUPS} groups of roles`, field);
  for (const group of groups) {
    if (group.length === 0 || group.length > LIMITS.rolesPerToken) throw badInput(`each group of ${field} must hold 1-${LIMITS.rolesPerToken} roles`, field);
  }
  return groups;
}

/** Whether roles `held` (implied ones included) meet the requirement. */
export function meetsRequirement(held: ReadonlySet<string>, requirement: RoleRequirement): boolean {
  if (requirement.allOf.some((role) => !held.has(role))) return false;
  return requirement.anyOf === null || requirement.anyOf.some((group) => group.every((role) => held.has(role)));
}

/** Whether the requirement asks for any role at all. */
export function asksForRoles(requirement: RoleRequirement): boolean {
  return requirement.allOf.length > 0 || requirement.anyOf !== null;
}
