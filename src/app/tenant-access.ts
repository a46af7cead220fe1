import { holdsRole, Role, type KeyledgerRole } from '../domain/access/roles';
import { forbidden } from '../domain/errors';
import { requireTenantId } from '../domain/validation';
import type { Principal, RequestContext } from './request-context';

/**
 * The tenant rules every service applies: keyledger roles gate operations, callers act in
 * their own tenant, and only keyledger:root reaches into another one.
 */
export async function requireRole(ctx: Pick<RequestContext, 'principal'>, role: KeyledgerRole): Promise<Principal> {
  const caller = await ctx.principal();
  if (!holdsRole(caller.roles, role)) throw forbidden(`This operation requires the ${role} role`);
  return caller;
}

/** Non-root callers act in their own tenant only; root names the tenant or acts in its own. */
export function targetTenant(caller: Principal, requested: string | null | undefined): string {
  if (requested == null || requested === caller.tenantId) return caller.tenantId;
  if (!holdsRole(caller.roles, Role.root)) throw forbidden('Only keyledger:root may act in another tenant');
  return requireTenantId(requested);
}

/** A resource of another tenant is invisible (reads as missing), except to root. */
export function visibleTo(caller: Principal, tenantId: string): boolean {
  return tenantId === caller.tenantId || holdsRole(caller.roles, Role.root);
}
