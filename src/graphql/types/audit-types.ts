import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { PageInfo } from './token-types';

@ObjectType({ description: 'What an audit entry is about' })
export class AuditResource {
  @Field(() => String, { description: 'token, token-code, integration, connection, partner-credential, partner-access-token, signing-key, deployment-secret, audit-head, idempotency-key' })
  type!: string;

  @Field(() => String)
  id!: string;
}

@ObjectType({ description: 'Who caused an audited event' })
export class AuditActor {
  @Field(() => String, { description: 'user, token, partner or system' })
  type!: string;

  @Field(() => String)
  id!: string;
}

@ObjectType({
  description:
    'One event of the log, redacted: only allow-listed fields, secrets and their stored forms only as hmac-sha256:<hex> fingerprints under the audit key',
})
export class AuditEntry {
  @Field(() => ID, { description: 'The event id' })
  id!: string;

  @Field(() => String, { description: 'The event position in the log (decimal)' })
  position!: string;

  @Field(() => Date)
  occurredAt!: Date;

  @Field(() => String)
  eventType!: string;

  @Field(() => ID, { nullable: true })
  tenantId!: string | null;

  @Field(() => ID, { nullable: true })
  subTenantId!: string | null;

  @Field(() => AuditResource)
  resource!: AuditResource;

  @Field(() => AuditActor)
  actor!: AuditActor;

  @Field(() => String, { nullable: true })
  requestId!: string | null;

  @Field(() => String, { nullable: true })
  ip!: string | null;

  @Field(() => String, { nullable: true })
  userAgent!: string | null;

  @Field(() => GraphQLJSONObject, { description: "The event's allow-listed fields" })
  changes!: Record<string, unknown>;

  @Field(() => String, { description: "SHA-256 of the previous entry's hash and this entry's canonical JSON (hex)" })
  hash!: string;
}

@ObjectType()
export class AuditEntryEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => AuditEntry)
  node!: AuditEntry;
}

@ObjectType()
export class AuditEntryConnection {
  @Field(() => [AuditEntryEdge])
  edges!: AuditEntryEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@InputType()
export class AuditLogFilter {
  @Field(() => String, { nullable: true })
  resourceType?: string | null;

  @Field(() => String, { nullable: true })
  resourceId?: string | null;

  @Field(() => String, { nullable: true })
  actorId?: string | null;

  @Field(() => [String], { nullable: true, description: 'Any of these event types' })
  eventTypes?: string[] | null;

  @Field(() => Date, { nullable: true, description: 'Inclusive' })
  from?: Date | null;

  @Field(() => Date, { nullable: true, description: 'Exclusive' })
  to?: Date | null;

  @Field(() => String, { nullable: true })
  requestId?: string | null;

  @Field(() => String, { nullable: true, description: 'An hmac-sha256: fingerprint, as auditFingerprint returns' })
  fingerprint?: string | null;
}

@ObjectType()
export class AuditChainBreak {
  @Field(() => String)
  eventId!: string;

  @Field(() => String)
  position!: string;

  @Field(() => String)
  reason!: string;
}

@ObjectType({ description: "A tenant's audit chain head signed by the gateway's periodic round and recorded in the log (AuditHeadSigned)" })
export class AuditSignedHead {
  @Field(() => ID, { description: 'The AuditHeadSigned event' })
  id!: string;

  @Field(() => ID)
  tenantId!: string;

  @Field(() => String, { description: 'Log position of the head entry (decimal)' })
  position!: string;

  @Field(() => String, { description: 'Chain hash of the head entry' })
  hash!: string;

  @Field(() => Int, { description: 'Entries in the chain up to and including the head' })
  entries!: number;

  @Field(() => Date)
  signedAt!: Date;

  @Field(() => String)
  kid!: string;

  @Field(() => String, { description: 'Compact JWS (typ keyledger-audit-head+jws) over the canonical JSON of {tenantId, position, hash, entries, signedAt, kid}' })
  jws!: string;
}

@ObjectType()
export class AuditSignedHeadEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => AuditSignedHead)
  node!: AuditSignedHead;
}

@ObjectType()
export class AuditSignedHeadConnection {
  @Field(() => [AuditSignedHeadEdge])
  edges!: AuditSignedHeadEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@ObjectType({ description: 'A signed head from the anchor the store no longer agrees with, or an anchor line that is not a valid signed head' })
export class AuditBrokenAnchoredHead {
  @Field(() => Int, { description: 'Line of the anchor file' })
  line!: number;

  @Field(() => String, { nullable: true })
  position!: string | null;

  @Field(() => String, { nullable: true })
  hash!: string | null;

  @Field(() => Int, { nullable: true })
  entries!: number | null;

  @Field(() => Date, { nullable: true })
  signedAt!: Date | null;

  @Field(() => String)
  reason!: string;
}

@ObjectType()
export class AuditIntegrityReport {
  @Field(() => Boolean)
  ok!: boolean;

  @Field(() => Int, { description: 'Entries checked' })
  entries!: number;

  @Field(() => String, { description: 'Hash of the last entry that verified' })
  head!: string;

  @Field(() => AuditChainBreak, { nullable: true, description: 'The first entry, in log order, that does not verify' })
  firstBreak!: AuditChainBreak | null;

  @Field(() => Int, { description: 'Periodically signed heads compared with the chain' })
  signedHeadsChecked!: number;

  @Field(() => [AuditSignedHead], { description: 'Signed heads whose hash the chain no longer gives at their position; any makes ok false' })
  brokenSignedHeads!: AuditSignedHead[];

  @Field(() => Int, { description: 'Entries this check compared with their events in the log' })
  comparedWithLog!: number;

  @Field(() => String, {
    nullable: true,
    description: 'Log position of the last entry an earlier check verified against the log; only later entries were compared. Null when the whole chain was',
  })
  comparedFrom!: string | null;

  @Field(() => Boolean, { description: 'Whether the gateway has an anchor directory, so that anchored heads were checked' })
  anchored!: boolean;

  @Field(() => Int, { description: 'Signed heads read from the anchor and compared with the chain and the log' })
  anchoredHeadsChecked!: number;

  @Field(() => [AuditBrokenAnchoredHead], { description: 'Anchored heads the chain or the log no longer agrees with; any makes ok false' })
  brokenAnchoredHeads!: AuditBrokenAnchoredHead[];
}

@ObjectType({ description: "A tenant's audit chain head, signed with the gateway's JWT signing key (see /.well-known/jwks.json)" })
export class SignedAuditHead {
  @Field(() => ID)
  tenantId!: string;

  @Field(() => String, { nullable: true })
  position!: string | null;

  @Field(() => String, { nullable: true })
  eventId!: string | null;

  @Field(() => String)
  hash!: string;

  @Field(() => Int)
  entries!: number;

  @Field(() => Date)
  signedAt!: Date;

  @Field(() => String, { description: 'Compact JWS (typ keyledger-audit-head+jws) over the canonical JSON of the other fields' })
  jws!: string;

  @Field(() => String)
  kid!: string;
}
