import { isKeyledgerRole } from '../../domain/access/roles';
import type { PrivilegedTokenVerified } from '../../domain/access/events';
import type { RoleRequirement } from '../../domain/access/role-requirement';
import type { Clock } from '../clock';
import type { ConnectionAccessRecorder } from '../connections/access-recorder';
import { actorOf, eventMetadata, type Principal, type RequestContext } from '../request-context';
import type { Verification } from './verification';

/** `verifyToken` checks of credentials holding keyledger roles, as access records: such a check is a probe worth seeing. */
export class PrivilegedVerifications {
  constructor(
    private readonly recorder: Pick<ConnectionAccessRecorder, 'recordIfRoom'>,
    private readonly clock: Clock,
  ) {}

  record(ctx: RequestContext, caller: Principal, outcome: Verification, requirement: RoleRequirement): void {
    const record = outcome.record;
    if (!record || !record.roles.some(isKeyledgerRole)) return;
    const code = outcome.code;
    if (code !== 'VALID' && code !== 'REVOKED' && code !== 'EXPIRED' && code !== 'INSUFFICIENT_ROLES' && code !== 'DISABLED') return;
    const now = this.clock.now();
    this.recorder.recordIfRoom<PrivilegedTokenVerified>(
      'PrivilegedTokenVerified',
      {
        tenantId: record.tenantId,
        tokenId: record.id,
        code,
        requiredRoles: [...requirement.allOf],
        ...(requirement.anyOf ? { anyOf: requirement.anyOf.map((group) => [...group]) } : {}),
        verifiedAt: now.toISOString(),
      },
      eventMetadata(ctx, actorOf(caller), now),
    );
  }
}
