import { Role } from '../../domain/access/roles';
import { KeyledgerError, notFound } from '../../domain/errors';
import {
  decideCredential,
  evolveCredential,
  initialPartnerCredentialState,
  partnerCredentialStreamId,
  type PartnerCredentialCommand,
  type PartnerCredentialEvent,
  type PartnerCredentialState,
} from '../../domain/partners';
import { randomBase62 } from '../../crypto/base62';
import type { SecretHasher } from '../../crypto/secret-hash';
import { displayOf, generateToken } from '../../crypto/token-format';
import { WrongExpectedRevisionError } from '../../eventstore/port';
import type { PartnerCredentialPage, PartnerCredentialRecord, PartnerQueries } from '../../../projections/partners';
import type { Clock } from '../clock';
import type { EventWriter } from '../event-writer';
import { actorOf, eventMetadata, type Principal, type RequestContext } from '../request-context';
import { requireRole, targetTenant, visibleTo } from '../tenant-access';
import { API_KEY_PREFIX, API_SECRET_PREFIX } from './partner-client-authenticator';

export interface CreatePartnerCredentialInput {
  name: string;
  tenantId?: string | null;
  subTenantIds: readonly string[];
}

export interface CreatedPartnerCredential {
  record: PartnerCredentialRecord;
  apiKey: string;
  /** Shown once, never stored. */
  apiSecret: string;
}

/**
 * Creates, revokes and reads partner credentials. Managing them takes the same roles as
 * managing tokens, in the caller's own tenant (root: any).
 */
export class PartnerCredentialService {
  constructor(
    private readonly writer: EventWriter,
    private readonly queries: PartnerQueries,
    private readonly hasher: SecretHasher,
    private readonly clock: Clock,
  ) {}

  async createPartnerCredential(ctx: RequestContext, input: CreatePartnerCredentialInput): Promise<CreatedPartnerCredential> {
    const caller = await requireRole(ctx, Role.tokensWrite);
    const tenantId = targetTenant(caller, input.tenantId);
    const credentialId = newPartnerCredentialId();
    const apiKey = generateToken(API_KEY_PREFIX);
    const apiSecret = generateToken(API_SECRET_PREFIX);
    const secretHash = await this.hasher.argon2Hash(apiSecret);
    try {
      await this.run(ctx, caller, credentialId, false, {
        type: 'CreatePartnerCredential',
        credentialId,
        tenantId,
        name: input.name,
        subTenantIds: input.subTenantIds,
        apiKey,
        secretDisplay: displayOf(API_SECRET_PREFIX, apiSecret),
        secretHash,
      });
    } catch (error) {
      if (error instanceof WrongExpectedRevisionError) throw new KeyledgerError('CONFLICT', `Partner credential ${credentialId} already exists`);
      throw error;
    }
    return { record: this.readBack(credentialId), apiKey, apiSecret };
  }

  /** Ends the credential's ability to exchange; the access tokens it already obtained stop verifying too. */
  async revokePartnerCredential(ctx: RequestContext, input: { id: string; reason?: string | null }): Promise<PartnerCredentialRecord> {
    const caller = await requireRole(ctx, Role.tokensWrite);
    // An id newPartnerCredentialId could not have made names no credential (nor a stream the store would take).
    if (!PARTNER_CREDENTIAL_ID_PATTERN.test(input.id)) throw notFound('Partner credential not found');
    await this.run(ctx, caller, input.id, true, { type: 'RevokePartnerCredential', credentialId: input.id, reason: input.reason ?? null });
    return this.readBack(input.id);
  }

  async getPartnerCredential(ctx: RequestContext, id: string): Promise<PartnerCredentialRecord | null> {
    const caller = await requireRole(ctx, Role.tokensRead);
    const record = this.queries.byId(id);
    return record && visibleTo(caller, record.tenantId) ? record : null;
  }

  async listPartnerCredentials(
    ctx: RequestContext,
    input: { first: number; afterSeq: number | null; tenantId?: string | null },
  ): Promise<PartnerCredentialPage> {
    const caller = await requireRole(ctx, Role.tokensRead);
    return this.queries.list(targetTenant(caller, input.tenantId), input.first, input.afterSeq);
  }

  private async run(ctx: RequestContext, caller: Principal, credentialId: string, retryOnConflict: boolean, command: PartnerCredentialCommand) {
    const now = this.clock.now();
    return this.writer.execute<PartnerCredentialState, PartnerCredentialEvent>({
      streamId: partnerCredentialStreamId(credentialId),
      initial: initialPartnerCredentialState,
      evolve: evolveCredential,
      metadata: eventMetadata(ctx, actorOf(caller), now),
      retryOnConflict,
      decide: (state) => {
        // Another tenant's credential reads as missing, never as forbidden.
        if (state.status !== 'absent' && !visibleTo(caller, state.tenantId)) throw notFound(`Partner credential ${credentialId} not found`);
        return decideCredential(command, state, now);
      },
    });
  }

  private readBack(credentialId: string): PartnerCredentialRecord {
    const record = this.queries.byId(credentialId);
    if (!record) {
      throw new KeyledgerError('UNAVAILABLE', 'The change was recorded but the read models are behind; query it again shortly');
    }
    return record;
  }
}

const PARTNER_CREDENTIAL_ID_PATTERN = /^pc_[0-9A-Za-z]{1,64}$/;

export function newPartnerCredentialId(): string {
  return `pc_${randomBase62(22)}`;
}
