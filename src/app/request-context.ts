import type { Actor, EventMetadata } from '../eventstore/port';

/** An authenticated caller. */
export interface Principal {
  /** Id of the credential that authenticated the request. */
  id: string;
  tenantId: string;
  roles: string[];
  type: Actor['type'];
}

/** What a command needs to know about the request that caused it. */
export interface RequestContext {
  requestId: string;
  ip?: string;
  userAgent?: string;
  /** Resolves the caller; throws UNAUTHENTICATED when there is no valid credential. */
  principal(): Promise<Principal>;
}

export function eventMetadata(ctx: Pick<RequestContext, 'requestId' | 'ip' | 'userAgent'>, actor: Actor, occurredAt: Date): EventMetadata {
  const metadata: EventMetadata = { actor, requestId: ctx.requestId, occurredAt: occurredAt.toISOString() };
  if (ctx.ip) metadata.ip = ctx.ip;
  if (ctx.userAgent) metadata.userAgent = ctx.userAgent.slice(0, 512);
  return metadata;
}

export function actorOf(principal: Principal): Actor {
  return { type: principal.type, id: principal.id, tenantId: principal.tenantId };
}

export const SYSTEM_ACTOR: Actor = { type: 'system', id: 'keyledger', tenantId: null };
