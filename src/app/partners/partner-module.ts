import type { ReadModelDatabase } from '../../../projections/database';
import { PartnerQueries } from '../../../projections/partners';
import { SigningKeyQueries } from '../../../projections/signing-keys';
import type { KeyRing } from '../../crypto/keyring';
import { SecretHasher } from '../../crypto/secret-hash';
import type { Clock } from '../clock';
import { CredentialVerifier } from '../credentials/credential-verifier';
import type { EventWriter } from '../event-writer';
import { TokenIntrospection } from '../oauth/token-introspection';
import { TokenRevocation } from '../oauth/token-revocation';
import { PublicUrl } from '../public-url';
import { SigningKeyService } from '../signing-keys/signing-key-service';
import type { LimiterFactory } from '../rate-limits';
import type { TokenService } from '../tokens/token-service';
import { AttemptLimiter, type AttemptLimits } from './attempt-limiter';
import { PartnerAccessTokenService } from './partner-access-tokens';
import { PartnerClientAuthenticator } from './partner-client-authenticator';
import { PartnerCredentialService } from './partner-credential-service';
import { PartnerTokenExchange } from './partner-token-exchange';

export interface PartnerModule {
  publicUrl: PublicUrl;
  signingKeys: SigningKeyService;
  credentials: PartnerCredentialService;
  authenticator: PartnerClientAuthenticator;
  accessTokens: PartnerAccessTokenService;
  exchange: PartnerTokenExchange;
  /** Bearer authentication for every credential shape: API tokens and partner access JWTs. */
  verifier: CredentialVerifier;
  introspection: TokenIntrospection;
  revocation: TokenRevocation;
}

export interface PartnerModuleOptions {
  keys: KeyRing;
  readModels: ReadModelDatabase;
  writer: EventWriter;
  clock: Clock;
  tokens: TokenService;
  publicUrl: string | null;
  attemptLimits: AttemptLimits;
  /** Where the attempt counters live; in this process when not given. */
  limiters?: LimiterFactory;
}

/** Partner credentials, the token exchange and its OAuth surroundings, and the signing keys they use. */
export function openPartnerModule(options: PartnerModuleOptions): PartnerModule {
  const { writer, clock, tokens } = options;
  const publicUrl = new PublicUrl(options.publicUrl);
  const partnerQueries = new PartnerQueries(options.readModels);
  const hasher = new SecretHasher(options.keys.lookupPepper);
  const signingKeys = new SigningKeyService(writer, new SigningKeyQueries(options.readModels), options.keys.signingKeyWrappingKey, clock);
  const authenticator = new PartnerClientAuthenticator(partnerQueries, hasher, new AttemptLimiter(options.attemptLimits, options.limiters));
  const accessTokens = new PartnerAccessTokenService(writer, partnerQueries, signingKeys, publicUrl, clock);
  const verifier = new CredentialVerifier(tokens, accessTokens);
  tokens.verifyOtherCredentialsWith(verifier);
  return {
    publicUrl,
    signingKeys,
    credentials: new PartnerCredentialService(writer, partnerQueries, hasher, clock),
    authenticator,
    accessTokens,
    exchange: new PartnerTokenExchange(writer, authenticator, accessTokens, signingKeys, clock),
    verifier,
    introspection: new TokenIntrospection(tokens, accessTokens),
    revocation: new TokenRevocation(tokens, accessTokens),
  };
}
