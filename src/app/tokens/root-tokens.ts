import { Role } from '../../domain/access/roles';
import { KeyledgerError } from '../../domain/errors';
import type { SecretHasher } from '../../crypto/secret-hash';
import { displayOf, generateToken } from '../../crypto/token-format';
import type { TokenQueries } from '../../../projections/tokens';
import { SYSTEM_ACTOR, type RequestContext } from '../request-context';
import { newTokenId, TOKEN_PREFIXES, type TokenIssuer } from './token-issuer';
import type { IssuedToken } from './token-service';

/** The tenant that holds the root token(s). */
export const SYSTEM_TENANT = 'system';
export const BOOTSTRAP_TOKEN_ID = 'tok_bootstrap';

/** Root tokens, made by the operator rather than by a caller: the bootstrap secret and the `bootstrap` CLI. */
export class RootTokens {
  constructor(
    private readonly issuer: TokenIssuer,
    private readonly queries: TokenQueries,
    private readonly hasher: SecretHasher,
  ) {}

  /**
   * Creates the root token from a secret an operator chose (KEYLEDGER_BOOTSTRAP_TOKEN), once.
   * Call it once the read models have caught up with the log.
   * The token's stream id is fixed, so the event store's no-stream check makes this
   * idempotent across restarts and across processes starting at once.
   */
  async ensureBootstrapToken(secret: string, ctx: Pick<RequestContext, 'requestId'>): Promise<'created' | 'exists' | 'exists-different'> {
    const existing = this.queries.byId(BOOTSTRAP_TOKEN_ID);
    if (existing) {
      return (await this.hasher.argon2Verify(existing.secretHash, secret)) ? 'exists' : 'exists-different';
    }
    try {
      await this.issuer.createWithChosenSecret(
        ctx,
        SYSTEM_ACTOR,
        { tokenId: BOOTSTRAP_TOKEN_ID, tenantId: SYSTEM_TENANT, kind: 'API_TOKEN', name: 'bootstrap root', roles: [Role.root] },
        secret,
        'bootstrap',
      );
      return 'created';
    } catch (error) {
      if (error instanceof KeyledgerError && error.code === 'CONFLICT') return 'exists';
      throw error;
    }
  }

  /** Issues a new root token with a generated secret (the `bootstrap` CLI). */
  async issueRootToken(ctx: Pick<RequestContext, 'requestId'>, name: string): Promise<IssuedToken> {
    const secret = generateToken(TOKEN_PREFIXES.API_TOKEN);
    const record = await this.issuer.create(ctx, SYSTEM_ACTOR, {
      tokenId: newTokenId(),
      tenantId: SYSTEM_TENANT,
      kind: 'API_TOKEN',
      name,
      roles: [Role.root],
      expiresAt: null,
      display: displayOf(TOKEN_PREFIXES.API_TOKEN, secret),
      secretHash: this.hasher.lookupHash(secret),
      lookupTag: null,
      origin: 'generated',
    });
    return { record, secret };
  }
}
