import { holdsRole, Role } from '../../domain/access/roles';
import { badInput, forbidden } from '../../domain/errors';
import { requireTenantId } from '../../domain/validation';
import { parsePosition, type EventStore } from '../../eventstore/port';
import type { Principal, RequestContext } from '../request-context';
import type { RevocationFeed } from './revocation-feed';
import type { NoticeStream } from './notice-stream';

export interface TokenRevokedRequest {
  tenantId?: string | null;
  /** Decimal log position of the last notice the subscriber saw. */
  afterPosition?: string | null;
}

export interface NoticeSubscriber {
  /** The subscriber fell too far behind to be kept; drop its connection. */
  onOverflow(): void;
}

/** Who may subscribe to which notices; the transport only carries them. */
export class RevocationNoticeService {
  constructor(
    private readonly feed: RevocationFeed,
    private readonly store: Pick<EventStore, 'headPosition'>,
  ) {}

  /** A subscriber must be able to read tokens; this check is shared by connect and subscribe. */
  requireSubscriber(caller: Principal): void {
    if (!holdsRole(caller.roles, Role.tokensRead)) throw forbidden(`Revocation notices require the ${Role.tokensRead} role`);
  }

  async tokenRevoked(ctx: RequestContext, request: TokenRevokedRequest, subscriber: NoticeSubscriber): Promise<NoticeStream> {
    const caller = await ctx.principal();
    this.requireSubscriber(caller);
    const tenantId = this.scope(caller, request.tenantId);
    const afterPosition = await this.resumePosition(request.afterPosition);
    return this.feed.open({ tenantId, afterPosition, onOverflow: () => subscriber.onOverflow() });
  }

  /** Non-root subscribers hear their own tenant only; root names one, or none for all tenants. */
  private scope(caller: Principal, requested: string | null | undefined): string | null {
    const root = holdsRole(caller.roles, Role.root);
    if (requested == null) return root ? null : caller.tenantId;
    if (requested === caller.tenantId) return requested;
    if (!root) throw forbidden('Only keyledger:root may subscribe to another tenant');
    return requireTenantId(requested);
  }

  private async resumePosition(value: string | null | undefined): Promise<bigint | null> {
    if (value == null) return null;
    let position: bigint;
    try {
      position = parsePosition(value);
    } catch {
      throw badInput('afterPosition must be the decimal position of a notice, such as "1234"', 'afterPosition');
    }
    // A position from another deployment (or a typo) would silently suppress live notices.
    const head = await this.store.headPosition();
    if (position > 0n && (head === null || position > head)) {
      throw badInput('afterPosition is beyond the end of the event log; pass the position of a notice you received', 'afterPosition');
    }
    return position;
  }
}
