import type { AuthenticationFailed } from '../../domain/access/events';
import type { EventMetadata } from '../../eventstore/port';
import type { Clock } from '../clock';
import type { ConnectionAccessRecorder } from '../connections/access-recorder';
import type { PresentedWith } from './credential-verifier';

/** Who a failed authentication is recorded as: the caller proved nothing, so no identity is claimed for it. */
const UNAUTHENTICATED_ACTOR = { type: 'system', id: 'unauthenticated', tenantId: null } as const;

const RECORDED_CODES: ReadonlySet<string> = new Set(['REVOKED', 'EXPIRED', 'MALFORMED', 'DISABLED']);

export type AuthenticationFailure = Omit<AuthenticationFailed['data'], 'code' | 'failedAt'> & { code: string };

/** Failed authentications of credentials that name a tenant, as access records of that tenant. */
export class AuthenticationFailures {
  constructor(
    private readonly recorder: Pick<ConnectionAccessRecorder, 'recordIfRoom'>,
    private readonly clock: Clock,
  ) {}

  record(failure: AuthenticationFailure, ip: string | undefined, request: PresentedWith | undefined): void {
    // A credential that is no one's names no tenant to record it for, and anyone can make up
    // such credentials at line rate: recording them would let anonymous callers grow the log.
    if (failure.tenantId === null) return;
    const code = RECORDED_CODES.has(failure.code) ? (failure.code as AuthenticationFailed['data']['code']) : 'NOT_FOUND';
    const now = this.clock.now();
    const metadata: EventMetadata = { actor: UNAUTHENTICATED_ACTOR, requestId: request?.requestId ?? 'unknown', occurredAt: now.toISOString() };
    if (ip) metadata.ip = ip;
    if (request?.userAgent) metadata.userAgent = request.userAgent.slice(0, 512);
    this.recorder.recordIfRoom<AuthenticationFailed>('AuthenticationFailed', { ...failure, code, failedAt: now.toISOString() }, metadata);
  }
}
