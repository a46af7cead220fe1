import type { ReadModelDatabase } from '../../../projections/database';
import { PartnerQueries } from '../../../projections/partners';
import { SigningKeyQueries } from '../../../projections/signing-keys';
import type { KeyRing } from '../../crypto/keyring';
import { SecretHasher } from '../../crypto/secret-hash';
import type { Clock } from '../clock';
import type { EventWriter } from '../event-writer';
import { PublicUrl } from '../public-url';
import { SigningKeyService } from '../signing-keys/signing-key-service';
import type { LimiterFactory } from '../rate-limits';
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
}

export interface PartnerModuleOptions {
  keys: KeyRing;
  readModels: ReadModelDatabase;
  writer: EventWriter;
  clock: Clock;
  publicUrl: string | null;
  attemptLimits: AttemptLimits;
  /** Where the attempt counters live; in this process when not given. */
  limiters?: LimiterFactory;
}

/** Partner credentials, the token exchange and its OAuth surroundings, and the signing keys they use. */
export function openPartnerModule(options: PartnerModuleOptions): PartnerModule {
  const { writer, clock } = options;
  const publicUrl = new PublicUrl(options.publicUrl);
  const partnerQueries = new PartnerQueries(options.readModels);
  const hasher = new SecretHasher(options.keys.lookupPepper);
  const signingKeys = new SigningKeyService(writer, new SigningKeyQueries(options.readModels), options.keys.signingKeyWrappingKey, clock);
  const authenticator = new PartnerClientAuthenticator(partnerQueries, hasher, new AttemptLimiter(options.attemptLimits, options.limiters));
  const accessTokens = new PartnerAccessTokenService(writer, partnerQueries, signingKeys, publicUrl, clock);
  return {
    publicUrl,
    signingKeys,
    credentials: new PartnerCredentialService(writer, partnerQueries, hasher, clock),
    authenticator,
    accessTokens,
    exchange: new PartnerTokenExchange(writer, authenticator, accessTokens, signingKeys, clock),
  };
}
