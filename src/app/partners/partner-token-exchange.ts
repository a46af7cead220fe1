import { KeyledgerError } from '../../domain/errors';
import {
  accessTokenStreamId,
  decideAccessToken,
  evolveAccessToken,
  evolveCredential,
  initialAccessTokenState,
  initialPartnerCredentialState,
  partnerCredentialStreamId,
  type AccessTokenEvent,
  type AccessTokenState,
  type PartnerCredentialEvent,
  type PartnerCredentialState,
} from '../../domain/partners';
import { randomBase62 } from '../../crypto/base62';
import type { Clock } from '../clock';
import type { EventWriter } from '../event-writer';
import { eventMetadata, type RequestContext } from '../request-context';
import type { SigningKeyService } from '../signing-keys/signing-key-service';
import type { PartnerAccessTokenService } from './partner-access-tokens';
import type { PartnerClientAuthenticator } from './partner-client-authenticator';

export interface ExchangeInput {
  apiKey: string;
  apiSecret: string;
  tenantId: string | null | undefined;
  subTenantId: string | null | undefined;
}

export interface ExchangedAccessToken {
  accessToken: string;
  tokenType: 'Bearer';
  jti: string;
  expiresAt: Date;
  /** The token's lifetime in seconds, as OAuth's `expires_in`. */
  expiresIn: number;
}

/** A missing tenant or subtenant, told apart from a malformed one: each door has its own words for it. */
export function missingInput(message: string, field: 'tenantId' | 'subTenantId'): KeyledgerError {
  return new KeyledgerError('BAD_USER_INPUT', message, { field, reason: 'REQUIRED' });
}

export function isMissingInput(error: unknown, field: 'tenantId' | 'subTenantId'): boolean {
  return error instanceof KeyledgerError && error.details.reason === 'REQUIRED' && error.details.field === field;
}

/** Checked first and in this order, as the source system reports them, before any credential work. */
export function requireTenantPair(input: Pick<ExchangeInput, 'tenantId' | 'subTenantId'>): { tenantId: string; subTenantId: string } {
  const tenantId = input.tenantId?.trim();
  if (!tenantId) throw missingInput('Tenant ID is required', 'tenantId');
  const subTenantId = input.subTenantId?.trim();
  if (!subTenantId) throw missingInput('Subtenant ID is required', 'subTenantId');
  return { tenantId, subTenantId };
}

/**
 * `exchangePartnerCredential`: one command behind three doors (GraphQL, the source system's
 * REST shape, OAuth client_credentials). Authenticates the partner, records
 * `AccessTokenIssued`, then signs the 24-hour JWT the event describes.
 */
export class PartnerTokenExchange {
  constructor(
    private readonly writer: EventWriter,
    private readonly authenticator: PartnerClientAuthenticator,
    private readonly accessTokens: PartnerAccessTokenService,
    private readonly signingKeys: SigningKeyService,
    private readonly clock: Clock,
  ) {}

  async exchangePartnerCredential(ctx: Pick<RequestContext, 'requestId' | 'ip' | 'userAgent'>, input: ExchangeInput): Promise<ExchangedAccessToken> {
    const { tenantId, subTenantId } = requireTenantPair(input);
    const record = await this.authenticator.authenticate(input.apiKey, input.apiSecret, ctx.ip);
    // The credential's own stream, not the read model, decides: a revocation appended a
    // moment ago on another replica is already there.
    const { state: credential } = await this.writer.load<PartnerCredentialState, PartnerCredentialEvent>(
      partnerCredentialStreamId(record.id),
      initialPartnerCredentialState,
      evolveCredential,
    );
    const key = this.signingKeys.activeKey();
    const jti = newJti();
    const now = this.clock.now();
    const { events } = await this.writer.execute<AccessTokenState, AccessTokenEvent>({
      streamId: accessTokenStreamId(jti),
      initial: initialAccessTokenState,
      evolve: evolveAccessToken,
      metadata: eventMetadata(ctx, { type: 'partner', id: record.id, tenantId: record.tenantId }, now),
      retryOnConflict: false,
      decide: (state) => decideAccessToken({ type: 'IssueAccessToken', jti, kid: key.kid, issuer: this.accessTokens.issuer, tenantId, subTenantId, credential }, state, now),
    });
    const issued = events[0];
    if (issued?.type !== 'AccessTokenIssued') throw new Error('The exchange recorded no AccessTokenIssued event');
    const accessToken = await this.accessTokens.sign(issued.data, record.apiKey, key);
    const expiresAt = new Date(issued.data.expiresAt);
    return {
      accessToken,
      tokenType: 'Bearer',
      jti,
      expiresAt,
      expiresIn: (expiresAt.getTime() - new Date(issued.data.issuedAt).getTime()) / 1000,
    };
  }
}

export function newJti(): string {
  return `at_${randomBase62(22)}`;
}
