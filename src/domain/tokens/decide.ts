import { requireGrantableRoles } from '../access/roles';
import { badInput, conflict, notFound } from '../errors';
import {
  LIMITS,
  optionalText,
  requireCode,
  requireFutureInstant,
  requireHttpsUrl,
  requireIntegrationId,
  requireName,
  requireOwnerId,
  requireRoles,
  requireTenantId,
  requireExternalId,
} from '../validation';
import { canonicalJson } from '../canonical-json';
import { requireMeta } from './meta';
import type {
  LeakLocation,
  SealedSecret,
  SecretOrigin,
  TokenChanges,
  TokenDisabled,
  TokenEnabled,
  TokenEvent,
  TokenIssueAbandoned,
  TokenIssued,
  TokenKind,
  TokenRevoked,
  TokenRotated,
  TokenUpdated,
} from './events';
import { TokenKinds } from './events';
import { requireCredits, requireIdentityForSharedLimits, requireRateLimits, sameRateLimits, type Credits, type TokenRateLimit } from './usage-controls';
import { type TokenFacts, type TokenState } from './state';
import { isExpired } from './status';

/** A rotated-out secret may stay valid for at most this long. */
export const MAX_GRACE_PERIOD_SECONDS = 30 * 24 * 3600;

export interface IssueToken {
  type: 'IssueToken';
  tokenId: string;
  tenantId: string;
  kind: TokenKind;
  name: string;
  roles: readonly string[];
  expiresAt: Date | null;
  display: string;
  secretHash: string;
  lookupTag: string | null;
  origin: SecretOrigin;
  code?: string | null;
  botName?: string | null;
  avatarUrl?: string | null;
  ownerId?: string | null;
  integrationId?: string | null;
  sealedSecret?: SealedSecret | null;
  // Usage controls, for every kind.
  meta?: Record<string, unknown> | null;
  externalId?: string | null;
  credits?: Credits | null;
  rateLimits?: readonly TokenRateLimit[] | null;
}

export interface UpdateToken {
  type: 'UpdateToken';
  tokenId: string;
  /** Undefined leaves a field alone; null clears botName, avatarUrl or expiresAt. */
  changes: {
    name?: string;
    roles?: readonly string[];
    botName?: string | null;
    avatarUrl?: string | null;
    expiresAt?: Date | null;
    /** False pauses the token (`TokenDisabled`), true resumes it (`TokenEnabled`). */
    enabled?: boolean;
    /** Null clears meta or externalId. */
    meta?: Record<string, unknown> | null;
    externalId?: string | null;
    /** Null removes the credits. */
    credits?: Credits | null;
    /** The whole new list; empty removes every limit. */
    rateLimits?: readonly TokenRateLimit[];
  };
  /** Roles of the caller: keyledger roles it does not hold it can neither add nor remove. */
  grantorRoles: readonly string[];
}

export interface RotateToken {
  type: 'RotateToken';
  tokenId: string;
  gracePeriodSeconds: number;
  display: string;
  secretHash: string;
  /** Required for an INTEGRATION_KEY, refused for any other kind. */
  sealedSecret: SealedSecret | null;
}

export interface RevokeToken {
  type: 'RevokeToken';
  tokenId: string;
  reason: string | null;
  /** Set by a leak report: the revocation then carries the reason `leaked` and where the secret was found. */
  leak?: LeakLocation | null;
}

export interface AbandonTokenIssue {
  type: 'AbandonTokenIssue';
  tokenId: string;
  tenantId: string;
}

export type TokenCommand = IssueToken | UpdateToken | RotateToken | RevokeToken | AbandonTokenIssue;

/** Pure: the events a command produces against the current state, or a KeyledgerError. */
export function decide(command: TokenCommand, state: TokenState, now: Date): TokenEvent[] {
  switch (command.type) {
    case 'IssueToken':
      return [issue(command, state, now)];
    case 'UpdateToken':
      return update(command, state, now);
    case 'RotateToken':
      return [rotate(command, state, now)];
    case 'RevokeToken':
      return revoke(command, state, now);
    case 'AbandonTokenIssue':
      return abandon(command, state, now);
  }
}

function issue(command: IssueToken, state: TokenState, now: Date): TokenIssued {
  if (state.status !== 'absent') throw conflict(`Token ${command.tokenId} already exists`);
  if (!TokenKinds.includes(command.kind)) throw badInput(`Unknown token kind ${command.kind}`, 'kind');
  const expiresAt = command.expiresAt ? requireFutureInstant(command.expiresAt, now, 'expiresAt') : null;
  return {
    type: 'TokenIssued',
    data: {
      tokenId: command.tokenId,
      tenantId: requireTenantId(command.tenantId),
      kind: command.kind,
      name: requireName(command.name),
      roles: requireRoles(command.roles),
      expiresAt: expiresAt ? expiresAt.toISOString() : null,
      display: command.display,
      secretHash: command.secretHash,
      lookupTag: command.lookupTag,
      origin: command.origin,
      issuedAt: now.toISOString(),
      ...kindFields(command),
      ...controlFields(command),
    },
  };
}

/** Usage controls apply to every kind; like kind fields, they are in the event only when set. */
function controlFields(command: IssueToken): Partial<TokenIssued['data']> {
  const fields: Partial<TokenIssued['data']> = {};
  if (command.meta !== undefined && command.meta !== null) fields.meta = requireMeta(command.meta);
  if (command.externalId !== undefined && command.externalId !== null) fields.externalId = requireExternalId(command.externalId);
  if (command.credits) fields.credits = requireCredits(command.credits);
  if (command.rateLimits && command.rateLimits.length > 0) fields.rateLimits = requireRateLimits(command.rateLimits);
  requireIdentityForSharedLimits(fields.rateLimits ?? [], fields.externalId);
  return fields;
}

/** Each kind takes its own fields and refuses the others', so a field never means nothing. */
function kindFields(command: IssueToken): Partial<TokenIssued['data']> {
  const given = (value: unknown) => value !== undefined && value !== null;
  const refuse = (field: keyof IssueToken, kinds: string) => {
    if (given(command[field])) throw badInput(`${field} applies only to ${kinds}`, field);
  };
  switch (command.kind) {
    case 'API_TOKEN': {
      refuse('ownerId', 'WEBHOOK_TOKEN');
      refuse('integrationId', 'INTEGRATION_KEY');
      if (given(command.sealedSecret)) throw new Error('Only integration keys carry a sealed secret');
      const fields: Partial<TokenIssued['data']> = {};
      if (given(command.code)) fields.code = requireCode(command.code!);
      if (given(command.botName)) fields.botName = requireBotName(command.botName!);
      if (given(command.avatarUrl)) fields.avatarUrl = requireHttpsUrl(command.avatarUrl!, 'avatarUrl');
      return fields;
    }
    case 'WEBHOOK_TOKEN': {
      for (const field of ['code', 'botName', 'avatarUrl'] as const) refuse(field, 'API_TOKEN');
      refuse('integrationId', 'INTEGRATION_KEY');
      if (given(command.sealedSecret)) throw new Error('Only integration keys carry a sealed secret');
      if (!given(command.ownerId)) throw badInput('ownerId is required for a WEBHOOK_TOKEN: it is the user the token belongs to', 'ownerId');
      return { ownerId: requireOwnerId(command.ownerId!) };
    }
    case 'INTEGRATION_KEY': {
      for (const field of ['code', 'botName', 'avatarUrl'] as const) refuse(field, 'API_TOKEN');
      refuse('ownerId', 'WEBHOOK_TOKEN');
      if (!given(command.integrationId)) throw badInput('integrationId is required for an INTEGRATION_KEY', 'integrationId');
      if (!command.sealedSecret) throw new Error('An integration key needs its sealed secret');
      return { integrationId: requireIntegrationId(command.integrationId!), sealedSecret: command.sealedSecret };
    }
  }
}

function requireBotName(value: string): string {
  const botName = requireName(value, 'botName');
  if (botName.length > LIMITS.botNameLength) throw badInput(`botName must be at most ${LIMITS.botNameLength} characters`, 'botName');
  return botName;
}

function requireChangeable(state: TokenState, tokenId: string, now: Date): TokenFacts {
  if (state.status === 'absent' || state.status === 'abandoned') throw notFound(`Token ${tokenId} not found`);
  if (state.status === 'revoked') throw conflict(`Token ${tokenId} is revoked and can no longer be changed`);
  // An expired token stays expired: extending it would revive a credential that clients were told is dead.
  if (isExpired(state, now)) throw conflict(`Token ${tokenId} has expired and can no longer be changed`);
  return state;
}

/**
 * Only fields that differ from the state become part of the event; no difference, no event.
 * Pausing and resuming are events of their own, so that every reader of the log (caches,
 * notice feeds, open sockets) can act on them without looking inside a `TokenUpdated`.
 */
function update(command: UpdateToken, state: TokenState, now: Date): Array<TokenUpdated | TokenDisabled | TokenEnabled> {
  const token = requireChangeable(state, command.tokenId, now);
  const requested = command.changes;
  const changes: TokenChanges = {};

  if (requested.name !== undefined) {
    const name = requireName(requested.name);
    if (name !== token.name) changes.name = name;
  }
  if (requested.roles !== undefined) {
    const roles = requireGrantableRoles(command.grantorRoles, requested.roles, token.roles);
    const added = roles.filter((role) => !token.roles.includes(role));
    const removed = token.roles.filter((role) => !roles.includes(role));
    if (added.length > 0 || removed.length > 0) changes.roles = roles;
  }
  if (requested.botName !== undefined || requested.avatarUrl !== undefined) {
    if (token.kind !== 'API_TOKEN') {
      throw badInput('botName and avatarUrl apply only to API_TOKEN', requested.botName !== undefined ? 'botName' : 'avatarUrl');
    }
  }
  if (requested.botName !== undefined) {
    const botName = requested.botName === null ? null : requireBotName(requested.botName);
    if (botName !== token.botName) changes.botName = botName;
  }
  if (requested.avatarUrl !== undefined) {
    const avatarUrl = requested.avatarUrl === null ? null : requireHttpsUrl(requested.avatarUrl, 'avatarUrl');
    if (avatarUrl !== token.avatarUrl) changes.avatarUrl = avatarUrl;
  }
  if (requested.expiresAt !== undefined) {
    const expiresAt = requested.expiresAt === null ? null : requireFutureInstant(requested.expiresAt, now, 'expiresAt').toISOString();
    if (expiresAt !== token.expiresAt) changes.expiresAt = expiresAt;
  }
  // Credits are recorded whenever given: setting them sets the balance, which spends have moved since.
  if (requested.credits === null) {
    if (token.credits !== null) changes.credits = null;
  } else if (requested.credits !== undefined) {
    changes.credits = requireCredits(requested.credits);
  }
  if (requested.rateLimits !== undefined) {
    const rateLimits = requireRateLimits(requested.rateLimits);
    if (!sameRateLimits(rateLimits, token.rateLimits)) changes.rateLimits = rateLimits;
  }

  if (requested.meta !== undefined) {
    const meta = requested.meta === null ? null : requireMeta(requested.meta);
    const same = meta === null || token.meta === null ? meta === token.meta : canonicalJson(meta) === canonicalJson(token.meta);
    if (!same) changes.meta = meta;
  }
  if (requested.externalId !== undefined) {
    const externalId = requested.externalId === null ? null : requireExternalId(requested.externalId);
    if (externalId !== token.externalId) changes.externalId = externalId;
  }
  // Checked on the token as the update leaves it: neither side may drop the identity a shared limit counts for.
  requireIdentityForSharedLimits(changes.rateLimits ?? token.rateLimits, changes.externalId !== undefined ? changes.externalId : token.externalId);

  const events: Array<TokenUpdated | TokenDisabled | TokenEnabled> = [];
  if (Object.keys(changes).length > 0) {
    events.push({ type: 'TokenUpdated', data: { tokenId: token.tokenId, tenantId: token.tenantId, changes, updatedAt: now.toISOString() } });
  }
  events.push(...switchEnabled(token, requested.enabled, now));
  return events;
}

function switchEnabled(token: TokenFacts, enabled: boolean | undefined, now: Date): Array<TokenDisabled | TokenEnabled> {
  if (enabled === undefined || enabled === token.enabled) return [];
  if (typeof enabled !== 'boolean') throw badInput('enabled must be true or false', 'enabled');
  const { tokenId, tenantId } = token;
  return enabled
    ? [{ type: 'TokenEnabled', data: { tokenId, tenantId, enabledAt: now.toISOString() } }]
    : [{ type: 'TokenDisabled', data: { tokenId, tenantId, disabledAt: now.toISOString() } }];
}

function rotate(command: RotateToken, state: TokenState, now: Date): TokenRotated {
  const token = requireChangeable(state, command.tokenId, now);
  const grace = command.gracePeriodSeconds;
  if (!Number.isInteger(grace) || grace < 0 || grace > MAX_GRACE_PERIOD_SECONDS) {
    throw badInput(
      `gracePeriodSeconds must be a whole number from 0 to ${MAX_GRACE_PERIOD_SECONDS} (30 days)`,
      'gracePeriodSeconds',
    );
  }
  if ((token.kind === 'INTEGRATION_KEY') !== (command.sealedSecret !== null)) {
    throw new Error('An integration key, and only an integration key, rotates to a sealed secret');
  }
  return {
    type: 'TokenRotated',
    data: {
      tokenId: token.tokenId,
      tenantId: token.tenantId,
      display: command.display,
      secretHash: command.secretHash,
      lookupTag: null,
      origin: 'generated',
      ...(command.sealedSecret ? { sealedSecret: command.sealedSecret } : {}),
      previousSecretsValidUntil: new Date(now.getTime() + grace * 1000).toISOString(),
      rotatedAt: now.toISOString(),
    },
  };
}

/** Revoking a revoked token changes nothing and is not an error, so retries are safe. */
function revoke(command: RevokeToken, state: TokenState, now: Date): TokenRevoked[] {
  if (state.status === 'absent' || state.status === 'abandoned') throw notFound(`Token ${command.tokenId} not found`);
  const reason = optionalText(command.reason, 'reason', LIMITS.reasonLength);
  if (state.status === 'revoked') return [];
  const leak = command.leak ? { leak: requireLeakLocation(command.leak) } : {};
  return [
    {
      type: 'TokenRevoked',
      data: { tokenId: state.tokenId, tenantId: state.tenantId, reason: leak.leak ? LEAKED_REASON : reason, revokedAt: now.toISOString(), ...leak },
    },
  ];
}

/** The reason of every revocation caused by a leak report. */
export const LEAKED_REASON = 'leaked';

const LEAK_SOURCE_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

/** A location is kept only as a printable http(s) URL of bounded length: the audit history shows it as given. */
export function isLeakUrl(value: string): boolean {
  return value.length <= LIMITS.urlLength && /^https?:\/\/[\x21-\x7e]+$/.test(value);
}

export function requireLeakLocation(leak: LeakLocation): LeakLocation {
  if (!LEAK_SOURCE_PATTERN.test(leak.source)) throw badInput('A leak source is 1-32 lowercase letters, digits or dashes', 'source');
  if (leak.url !== null && !isLeakUrl(leak.url)) throw badInput(`A leak location is an http(s) URL of at most ${LIMITS.urlLength} printable characters`, 'url');
  return { source: leak.source, url: leak.url };
}

/** Only a stream that was never written can be abandoned; anything else means the issue happened. */
function abandon(command: AbandonTokenIssue, state: TokenState, now: Date): TokenIssueAbandoned[] {
  if (state.status !== 'absent') return [];
  return [{ type: 'TokenIssueAbandoned', data: { tokenId: command.tokenId, tenantId: command.tenantId, abandonedAt: now.toISOString() } }];
}
