import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { PageInfo } from './token-types';

export enum PartnerCredentialStatus {
  ACTIVE = 'ACTIVE',
  REVOKED = 'REVOKED',
}
registerEnumType(PartnerCredentialStatus, { name: 'PartnerCredentialStatus' });

export enum PartnerAccessTokenCode {
  VALID = 'VALID',
  NOT_FOUND = 'NOT_FOUND',
  MALFORMED = 'MALFORMED',
  REVOKED = 'REVOKED',
  EXPIRED = 'EXPIRED',
  WRONG_TENANT = 'WRONG_TENANT',
}
registerEnumType(PartnerAccessTokenCode, {
  name: 'PartnerAccessTokenCode',
  description: 'Outcome of verifying a partner access token for a tenant pair; only VALID means it may be used',
  valuesConfig: {
    REVOKED: { description: 'The token, or the partner credential it was obtained with, has been revoked' },
    WRONG_TENANT: { description: 'A valid token, but issued for another tenant or subtenant than the one it was presented for' },
  },
});

@ObjectType({ description: 'A partner credential: an API key and secret a partner exchanges for 24-hour access tokens. The secret is never part of it.' })
export class PartnerCredential {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  tenantId!: string;

  @Field(() => String)
  name!: string;

  @Field(() => [ID], { description: 'Subtenants it may obtain tokens for; empty means every subtenant of the tenant' })
  subTenantIds!: string[];

  @Field(() => String, { description: 'The public identifier (x-api-key, OAuth client_id)' })
  apiKey!: string;

  @Field(() => String, { description: 'The prefix and first four characters of the secret, for recognising it' })
  secretDisplay!: string;

  @Field(() => PartnerCredentialStatus)
  status!: PartnerCredentialStatus;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  revokedAt!: Date | null;
}

@ObjectType({ description: 'A newly created partner credential with its API key and secret. This is the only time the secret is shown.' })
export class CreatedPartnerCredential {
  @Field(() => PartnerCredential)
  credential!: PartnerCredential;

  @Field(() => String)
  apiKey!: string;

  @Field(() => String, {
    nullable: true,
    description: 'The secret; null only when replayed is true: a retry under an idempotency key never shows it again',
  })
  apiSecret!: string | null;

  @Field(() => Boolean, { description: 'True when this answers a retry under an idempotency key from the recorded outcome' })
  replayed!: boolean;
}

@InputType()
export class CreatePartnerCredentialInput {
  @Field(() => String, { description: '1-200 characters' })
  name!: string;

  @Field(() => ID, { nullable: true, description: "Defaults to the caller's tenant; only keyledger:root may name another" })
  tenantId?: string | null;

  @Field(() => [ID], { description: 'Subtenants it may obtain tokens for (at most 100); an empty list means every subtenant' })
  subTenantIds!: string[];
}

@InputType()
export class RevokePartnerCredentialInput {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true, description: 'Up to 500 characters, kept in the audit history' })
  reason?: string | null;
}

@ObjectType()
export class PartnerCredentialEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => PartnerCredential)
  node!: PartnerCredential;
}

@ObjectType()
export class PartnerCredentialConnection {
  @Field(() => [PartnerCredentialEdge])
  edges!: PartnerCredentialEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

@ObjectType({ description: 'An access token from the partner exchange: a JWT valid for 24 hours for one tenant and subtenant' })
export class PartnerAccessToken {
  @Field(() => String, { description: 'The signed JWT; verify it with the keys at /.well-known/jwks.json' })
  accessToken!: string;

  @Field(() => Date)
  expiresAt!: Date;

  @Field(() => String, { description: 'Always "Bearer"' })
  tokenType!: string;
}

@ObjectType()
export class PartnerAccessTokenVerification {
  @Field(() => Boolean)
  valid!: boolean;

  @Field(() => PartnerAccessTokenCode)
  code!: PartnerAccessTokenCode;

  @Field(() => ID, { nullable: true, description: 'The partner credential the token was obtained with, when it exists in your tenant' })
  credentialId!: string | null;

  @Field(() => ID, { nullable: true })
  tenantId!: string | null;

  @Field(() => ID, { nullable: true })
  subTenantId!: string | null;

  @Field(() => Date, { nullable: true })
  expiresAt!: Date | null;
}
