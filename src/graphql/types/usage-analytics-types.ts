import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import { VerificationCode } from './token-types';

export enum UsageGranularity {
  HOUR = 'HOUR',
  DAY = 'DAY',
}
registerEnumType(UsageGranularity, { name: 'UsageGranularity', description: 'The size of a usage bucket: a UTC hour or a UTC day' });

@ObjectType()
export class VerificationOutcomeCount {
  @Field(() => VerificationCode)
  code!: VerificationCode;

  @Field(() => Int)
  count!: number;
}

@ObjectType({ description: 'Verifications of a token in one bucket of time, by outcome' })
export class TokenUsageBucket {
  @Field(() => Date, { description: "The bucket's start (a UTC hour, or a UTC midnight)" })
  start!: Date;

  @Field(() => Int)
  total!: number;

  @Field(() => [VerificationOutcomeCount], { description: 'Only the codes that occurred' })
  outcomes!: VerificationOutcomeCount[];
}
