import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';

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
}
registerEnumType(VerificationCode, {
  name: 'VerificationCode',
  description: 'Outcome of verifying a credential; only VALID means it may be used',
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

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  expiresAt!: Date | null;

  @Field(() => Date, { nullable: true })
  revokedAt!: Date | null;
}

@ObjectType({ description: 'A newly issued token and its secret. This is the only time the secret is shown.' })
export class IssuedToken {
  @Field(() => ApiToken)
  token!: ApiToken;

  @Field(() => String)
  secret!: string;
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

  @Field(() => String, { nullable: true, description: 'Case-insensitive substring of the name' })
  search?: string | null;

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
