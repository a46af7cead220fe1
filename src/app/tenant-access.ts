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

/**
 * How far a caller's power over tokens reaches: every token of its tenant, its tenant's
 * webhook tokens only (keyledger:webhook-tokens:write, an extension backend issuing tokens
 * for its users), or, for a token acting on its own id, itself (a webhook token's holder sees,
 * rotates and revokes it). `TokenService` applies the kind rule once the token is loaded.
 */
export type TokenReach = 'all' | 'webhook-tokens' | 'self';

/** The reach of a caller changing tokens (`tokenId`: the one it names, if any); null when it has none. */
export function tokenWriteReach(caller: Principal, tokenId?: unknown): TokenReach | null {
  if (holdsRole(caller.roles, Role.tokensWrite)) return 'all';
  if (holdsRole(caller.roles, Role.webhookTokensWrite)) return 'webhook-tokens';
  return isSelf(caller, tokenId) ? 'self' : null;
}

/** The reach of a caller reading tokens; null when it has none. */
export function tokenReadReach(caller: Principal, tokenId?: unknown): TokenReach | null {
  if (holdsRole(caller.roles, Role.tokensRead)) return 'all';
  if (holdsRole(caller.roles, Role.webhookTokensWrite)) return 'webhook-tokens';
  return isSelf(caller, tokenId) ? 'self' : null;
}

function isSelf(caller: Principal, tokenId: unknown): boolean {
  return caller.type === 'token' && typeof tokenId === 'string' && tokenId === caller.id;
}
