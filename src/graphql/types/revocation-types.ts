import { ArgsType, Field, ID, ObjectType, registerEnumType } from 'type-graphql';

export enum RevocationKind {
  REVOKED = 'REVOKED',
  ROTATED = 'ROTATED',
  PARTNER_TOKEN_REVOKED = 'PARTNER_TOKEN_REVOKED',
  PARTNER_CREDENTIAL_REVOKED = 'PARTNER_CREDENTIAL_REVOKED',
  DISABLED = 'DISABLED',
}
registerEnumType(RevocationKind, {
  name: 'RevocationKind',
  description: 'Why a credential stops being accepted',
  valuesConfig: {
    REVOKED: { description: 'Revoked: refused from effectiveAt, which is the revocation instant' },
    ROTATED: { description: 'Rotated: the previous secret is refused from effectiveAt, the end of the grace period' },
    PARTNER_TOKEN_REVOKED: { description: 'A partner access token revoked: tokenId is its jti, refused from effectiveAt' },
    PARTNER_CREDENTIAL_REVOKED: {
      description: 'A partner credential revoked: tokenId is the credential id; every access token it obtained (sub = tokenId) is refused from effectiveAt',
    },
    DISABLED: { description: 'A token paused (updateToken enabled: false): refused from effectiveAt until it is enabled again, which is not announced' },
  },
});

@ObjectType({ description: 'Who caused an event' })
export class NoticeActor {
  @Field(() => String, { description: 'user, token, partner or system' })
  type!: string;

  @Field(() => ID)
  id!: string;
}

@ObjectType({ description: 'A credential stopped (or, for a rotation, will stop) being accepted. Drop it from any cache.' })
export class RevocationNotice {
  @Field(() => ID)
  tokenId!: string;

  @Field(() => ID)
  tenantId!: string;

  @Field(() => RevocationKind)
  kind!: RevocationKind;

  @Field(() => String, { nullable: true })
  reason!: string | null;

  @Field(() => Date, { description: 'From this instant the credential (for a rotation: its previous secret) is refused' })
  effectiveAt!: Date;

  @Field(() => NoticeActor)
  actor!: NoticeActor;

  @Field(() => ID, { description: 'Id of the event in the log' })
  eventId!: string;

  @Field(() => String, { description: 'Log position, a decimal string: pass the last one seen as afterPosition to resume' })
  position!: string;
}

@ArgsType()
export class TokenRevokedArgs {
  @Field(() => ID, { nullable: true, description: 'keyledger:root only: the tenant to watch; omitted, root hears every tenant' })
  tenantId?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Resume after this notice position: every notice missed since is replayed, in order, before live ones',
  })
  afterPosition?: string | null;
}
