import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { CreditsInput, RateLimitInput, VerificationRateLimit } from './usage-types';

export enum TokenKind {
  API_TOKEN = 'API_TOKEN',
  WEBHOOK_TOKEN = 'WEBHOOK_TOKEN',
  INTEGRATION_KEY = 'INTEGRATION_KEY',
}
registerEnumType(TokenKind, {
  name: 'TokenKind',
  description: 'What a token is for',
  valuesConfig: {
    API_TOKEN: { description: 'Admin-created token with roles and an optional bot identity' },
    WEBHOOK_TOKEN: { description: 'Personal webhook token bound to a user' },
    INTEGRATION_KEY: { description: 'Integration key whose secret also signs HS256 JWTs' },
  },
});

export enum TokenStatus {
  ACTIVE = 'ACTIVE',
  REVOKED = 'REVOKED',
  EXPIRED = 'EXPIRED',
}
registerEnumType(TokenStatus, { name: 'TokenStatus' });

export enum VerificationCode {
  VALID = 'VALID',
  NOT_FOUND = 'NOT_FOUND',
  MALFORMED = 'MALFORMED',
  REVOKED = 'REVOKED',
  EXPIRED = 'EXPIRED',
  INSUFFICIENT_ROLES = 'INSUFFICIENT_ROLES',
  DISABLED = 'DISABLED',
  USAGE_EXCEEDED = 'USAGE_EXCEEDED',
  RATE_LIMITED = 'RATE_LIMITED',
}
registerEnumType(VerificationCode, {
  name: 'VerificationCode',
  description: 'Outcome of verifying a credential; only VALID means it may be used',
  valuesConfig: {
    DISABLED: { description: 'The token is paused (updateToken enabled: false); it verifies again once enabled' },
    USAGE_EXCEEDED: { description: 'The token has fewer credits left than the verification costs; nothing was spent' },
    RATE_LIMITED: { description: 'One of the token’s rate limits is exceeded; no credits were spent' },
  },
});

@ObjectType({ description: 'A machine credential. The secret itself is never part of it.' })
export class ApiToken {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  tenantId!: string;

  @Field(() => TokenKind)
  kind!: TokenKind;

  @Field(() => String)
  name!: string;

  @Field(() => [String])
  roles!: string[];

  @Field(() => TokenStatus, { description: 'Derived at read time, so expiry needs no background job' })
  status!: TokenStatus;

  @Field(() => String, { description: 'The prefix and first four characters of the secret, for recognising a token' })
  display!: string;

  @Field(() => String, { nullable: true, description: 'API_TOKEN: unique in the tenant, compared case-insensitively' })
  code!: string | null;

  @Field(() => String, { nullable: true, description: 'API_TOKEN: name of the bot identity the token acts as' })
  botName!: string | null;

  @Field(() => String, { nullable: true, description: "API_TOKEN: https URL of the bot identity's avatar" })
  avatarUrl!: string | null;

  @Field(() => ID, { nullable: true, description: 'WEBHOOK_TOKEN: the user the token belongs to' })
  ownerId!: string | null;

  @Field(() => ID, { nullable: true, description: 'INTEGRATION_KEY: the integration the key authenticates' })
  integrationId!: string | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { description: 'Last change of any kind: issue, update, rotation or revocation' })
  updatedAt!: Date;

  @Field(() => Date, { nullable: true, description: 'When the secret was last rotated' })
  rotatedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  expiresAt!: Date | null;

  @Field(() => Date, { nullable: true })
  revokedAt!: Date | null;

  @Field(() => Boolean, { description: 'False while the token is paused: every check answers DISABLED until it is enabled again' })
  enabled!: boolean;

  @Field(() => GraphQLJSONObject, {
    nullable: true,
    description: "The tenant's own data about the token, as given (at most 16 KB). Returned by verifyToken; never holds secrets; never affects roles or any check",
  })
  meta!: Record<string, unknown> | null;

  @Field(() => String, { nullable: true, description: 'The customer the token belongs to, in your own terms' })
  externalId!: string | null;

  @Field(() => Date, {
    nullable: true,
    description: 'Last successful verification or authentication. Recorded in batches: it may lag by a few seconds, and across gateways',
  })
  lastUsedAt!: Date | null;
}

@ObjectType({ description: 'A newly issued token and its secret. This is the only time the secret is shown.' })
export class IssuedToken {
  @Field(() => ApiToken)
  token!: ApiToken;

  @Field(() => String, {
    nullable: true,
    description: 'The secret; null only when replayed is true: a retry under an idempotency key never shows it again',
  })
  secret!: string | null;

  @Field(() => Boolean, { description: 'True when this answers a retry under an idempotency key from the recorded outcome' })
  replayed!: boolean;
}

@InputType()
export class IssueTokenInput {
  @Field(() => String, { description: '1-200 characters' })
  name!: string;

  @Field(() => TokenKind, { defaultValue: TokenKind.API_TOKEN })
  kind!: TokenKind;

  @Field(() => [String], { nullable: true, description: 'Tenant roles are free strings; keyledger:* roles must be held by the caller' })
  roles?: string[] | null;

  @Field(() => Date, { nullable: true })
  expiresAt?: Date | null;

  @Field(() => ID, { nullable: true, description: "Defaults to the caller's tenant; only keyledger:root may name another" })
  tenantId?: string | null;

  @Field(() => String, { nullable: true, description: 'API_TOKEN only: 1-64 of letters, digits . _ -; unique in the tenant (CONFLICT otherwise)' })
  code?: string | null;

  @Field(() => String, { nullable: true, description: 'API_TOKEN only: the bot identity, 1-100 characters' })
  botName?: string | null;

  @Field(() => String, { nullable: true, description: 'API_TOKEN only: https URL of the bot identity avatar' })
  avatarUrl?: string | null;

  @Field(() => ID, { nullable: true, description: 'WEBHOOK_TOKEN: required, the user the token belongs to' })
  ownerId?: string | null;

  @Field(() => ID, { nullable: true, description: 'INTEGRATION_KEY: required; an integration holds at most 10 active keys' })
  integrationId?: string | null;
  @Field(() => GraphQLJSONObject, {
    nullable: true,
    description: 'A JSON object of at most 16 KB, returned with the token and by verifyToken. Must not hold secrets (keyledger credentials are refused)',
  })
  meta?: Record<string, unknown> | null;

  @Field(() => String, { nullable: true, description: 'The customer the token belongs to: 1-256 of letters, digits . _ : @ + / | = -' })
  externalId?: string | null;

  @Field(() => CreditsInput, { nullable: true, description: 'Credits verifications spend; without them verifications are not counted' })
  credits?: CreditsInput | null;

  @Field(() => [RateLimitInput], { nullable: true, description: 'At most 10 named rate limits on verifications of the token' })
  rateLimits?: RateLimitInput[] | null;
}

@InputType({ description: 'Takes over an existing secret. It is hashed with argon2id and never stored or shown.' })
export class ImportTokenInput {
  @Field(() => String, { description: '1-200 characters' })
  name!: string;

  @Field(() => TokenKind, { defaultValue: TokenKind.API_TOKEN, description: 'API_TOKEN or WEBHOOK_TOKEN; integration keys cannot be imported' })
  kind!: TokenKind;

  @Field(() => String, { description: '16-512 printable ASCII characters without spaces' })
  secret!: string;

  @Field(() => [String], { nullable: true })
  roles?: string[] | null;

  @Field(() => Date, { nullable: true })
  expiresAt?: Date | null;

  @Field(() => ID, { nullable: true })
  tenantId?: string | null;

  @Field(() => String, { nullable: true })
  code?: string | null;

  @Field(() => String, { nullable: true })
  botName?: string | null;

  @Field(() => String, { nullable: true })
  avatarUrl?: string | null;

  @Field(() => ID, { nullable: true, description: 'WEBHOOK_TOKEN: required' })
  ownerId?: string | null;
  @Field(() => GraphQLJSONObject, {
    nullable: true,
    description: 'A JSON object of at most 16 KB, returned with the token and by verifyToken. Must not hold secrets (keyledger credentials are refused)',
  })
  meta?: Record<string, unknown> | null;

  @Field(() => String, { nullable: true, description: 'The customer the token belongs to: 1-256 of letters, digits . _ : @ + / | = -' })
  externalId?: string | null;
}

@InputType({ description: 'Fields left out stay as they are. Changing nothing records nothing.' })
export class UpdateTokenInput {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => [String], { nullable: true, description: 'The whole new set; keyledger:* roles added or removed must be held by the caller' })
  roles?: string[] | null;

  @Field(() => String, { nullable: true, description: 'API_TOKEN only; null removes it' })
  botName?: string | null;

  @Field(() => String, { nullable: true, description: 'API_TOKEN only; null removes it' })
  avatarUrl?: string | null;

  @Field(() => Date, { nullable: true, description: 'Must be in the future; null removes the expiry' })
  expiresAt?: Date | null;

  @Field(() => Boolean, {
    nullable: true,
    description: 'false pauses the token without revoking it (verifyToken answers DISABLED, authentication is refused); true resumes it',
  })
  enabled?: boolean | null;

  @Field(() => GraphQLJSONObject, { nullable: true, description: 'Replaces the whole object; at most 16 KB, no secrets; null removes it' })
  meta?: Record<string, unknown> | null;

  @Field(() => String, { nullable: true, description: 'null removes it' })
  externalId?: string | null;
  @Field(() => CreditsInput, { nullable: true, description: 'Sets the credits and their balance, even to the same numbers; null removes them' })
  credits?: CreditsInput | null;

  @Field(() => [RateLimitInput], { nullable: true, description: 'The whole new list of rate limits; [] removes them all' })
  rateLimits?: RateLimitInput[] | null;
}

@InputType()
export class RotateTokenInput {
  @Field(() => ID)
  id!: string;

  @Field(() => Int, { description: 'How long the previous secret(s) keep verifying, 0 (end at once) to 2592000 (30 days)' })
  gracePeriodSeconds!: number;
}

@InputType()
export class RevokeTokenInput {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true, description: 'Up to 500 characters, kept in the audit history' })
  reason?: string | null;
}

@InputType()
export class TokenFilter {
  @Field(() => TokenKind, { nullable: true })
  kind?: TokenKind | null;

  @Field(() => TokenStatus, { nullable: true })
  status?: TokenStatus | null;

  @Field(() => ID, { nullable: true, description: 'WEBHOOK_TOKEN owner' })
  ownerId?: string | null;

  @Field(() => String, { nullable: true, description: 'Tokens holding exactly this role' })
  role?: string | null;

  @Field(() => String, { nullable: true, description: 'API_TOKEN code, compared case-insensitively' })
  code?: string | null;

  @Field(() => ID, { nullable: true, description: 'INTEGRATION_KEY integration' })
  integrationId?: string | null;

  @Field(() => String, { nullable: true, description: 'Case-insensitive substring of the name' })
  search?: string | null;

  @Field(() => String, { nullable: true, description: 'Tokens of this customer (externalId), compared exactly' })
  externalId?: string | null;

  @Field(() => ID, { nullable: true, description: 'keyledger:root only: the tenant to list' })
  tenantId?: string | null;
}

@ObjectType()
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

@ObjectType()
export class ApiTokenEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => ApiToken)
  node!: ApiToken;
}

@ObjectType()
export class ApiTokenConnection {
  @Field(() => [ApiTokenEdge])
  edges!: ApiTokenEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

@ObjectType()
export class TokenVerification {
  @Field(() => Boolean)
  valid!: boolean;

  @Field(() => VerificationCode)
  code!: VerificationCode;

  @Field(() => ApiToken, { nullable: true, description: 'The token, when it exists in your tenant' })
  token!: ApiToken | null;

  @Field(() => Int, { nullable: true, description: 'Credits left after this verification; null when the token has no credits' })
  remaining!: number | null;

  @Field(() => [VerificationRateLimit], { description: "The token's rate limits this verification was counted against" })
  rateLimits!: VerificationRateLimit[];
}

@ObjectType({ description: 'The authenticated caller' })
export class Principal {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  tenantId!: string;

  @Field(() => [String])
  roles!: string[];
}
