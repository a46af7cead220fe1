/**
 * keyledger's own roles imply others (keyledger:root holds keyledger:admin, which holds
 * keyledger:tokens:write, …). The table mirrors the gateway's so that a verdict cached once
 * answers every `requiredRoles` the way `verifyToken` would. Tenant roles imply nothing.
 */
const IMPLIES: Readonly<Record<string, readonly string[]>> = {
  'keyledger:root': ['keyledger:admin'],
  'keyledger:admin': ['keyledger:tokens:write', 'keyledger:connections:write', 'keyledger:connections:use', 'keyledger:audit:read', 'keyledger:events:read'],
  'keyledger:tokens:write': ['keyledger:tokens:read', 'keyledger:webhook-tokens:write'],
  'keyledger:connections:write': ['keyledger:connections:read'],
};

export function heldRoles(roles: readonly string[]): ReadonlySet<string> {
  const held = new Set<string>();
  const pending = [...roles];
  while (pending.length > 0) {
    const role = pending.pop()!;
    if (held.has(role)) continue;
    held.add(role);
    pending.push(...(IMPLIES[role] ?? []));
  }
  return held;
}
