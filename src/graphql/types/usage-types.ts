import { Field, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';

export enum RefillInterval {
  DAILY = 'DAILY',
  MONTHLY = 'MONTHLY',
}
registerEnumType(RefillInterval, {
  name: 'RefillInterval',
  description: 'When credits refill: at the start of each UTC day or UTC month',
});

@InputType()
export class CreditRefillInput {
  @Field(() => Int, { description: 'The balance each period starts with, 1-1000000000 (the balance is set to it, not added to)' })
  amount!: number;

  @Field(() => RefillInterval)
  interval!: RefillInterval;
}

@InputType({ description: 'Credits each verification spends from (verifyToken `cost`, 1 by default)' })
export class CreditsInput {
  @Field(() => Int, { description: 'The balance, 0-1000000000; setting credits again sets the balance again' })
  remaining!: number;

  @Field(() => CreditRefillInput, { nullable: true, description: 'Without it the credits never refill' })
  refill?: CreditRefillInput | null;
}

@InputType({ description: 'A named limit on verifications of the token: at most `limit` points per `durationSeconds`' })
export class RateLimitInput {
  @Field(() => String, { description: '1-64 letters, digits or . _ : -; unique among the token’s limits' })
  name!: string;

  @Field(() => Int, { description: '1-1000000000 points per window' })
  limit!: number;

  @Field(() => Int, { description: 'The window, 1-604800 seconds (a week)' })
  durationSeconds!: number;

  @Field(() => Boolean, {
    nullable: true,
    defaultValue: false,
    description:
      "Shared by the tokens of the token's identity: counted in one window for the tenant, externalId and name, each token's own limit deciding its verifications. Needs an externalId",
  })
  shared?: boolean | null;
}

@ObjectType()
export class CreditRefill {
  @Field(() => Int)
  amount!: number;

  @Field(() => RefillInterval)
  interval!: RefillInterval;
}

@ObjectType({ description: "A token's credits" })
export class TokenCredits {
  @Field(() => Int, { description: 'The balance now' })
  remaining!: number;

  @Field(() => CreditRefill, { nullable: true })
  refill!: CreditRefill | null;

  @Field(() => Date, { nullable: true, description: 'When the balance is next set to the refill amount' })
  refillsAt!: Date | null;
}

@ObjectType({ description: 'A named rate limit of a token' })
export class TokenRateLimit {
  @Field(() => String)
  name!: string;

  @Field(() => Int)
  limit!: number;

  @Field(() => Int)
  durationSeconds!: number;

  @Field(() => Boolean, { description: 'Counted for the identity (tenant and externalId), in one window with its other tokens’ limit of this name' })
  shared!: boolean;
}

@InputType({ description: 'A rate limit of the token a verification charges, and how many points' })
export class RateLimitUseInput {
  @Field(() => String)
  name!: string;

  @Field(() => Int, { defaultValue: 1, description: '0-1000000; 0 only checks the limit' })
  cost!: number;
}

@ObjectType({ description: 'Where a rate limit of the token stands after this verification' })
export class VerificationRateLimit {
  @Field(() => String)
  name!: string;

  @Field(() => Int)
  limit!: number;

  @Field(() => Int, { description: 'Points left in the current window' })
  remaining!: number;

  @Field(() => Date, { description: 'When the current window ends' })
  resetAt!: Date;

  @Field(() => Boolean, { description: 'True when this limit refused the verification' })
  exceeded!: boolean;
}
