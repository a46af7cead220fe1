import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLResolveInfo } from 'graphql';
import type { Clock } from '../app/clock';
import { requireIdempotencyKey, type IdempotentHandlers, type IdempotentRequests } from '../app/idempotency/idempotent-requests';
import type { Principal, RequestContext } from '../app/request-context';
import { requireRole } from '../app/tenant-access';
import { Role, type KeyledgerRole } from '../domain/access/roles';
import type { IdempotentOutcome } from '../domain/idempotency';
import type { GraphQLContext } from './context';

export const IDEMPOTENCY_KEY_DESCRIPTION =
  'Makes retries safe (1-255 printable ASCII characters): the same key and arguments again replay the first outcome instead of executing; other arguments are CONFLICT';

export const REEXECUTED_IDEMPOTENCY_KEY_DESCRIPTION =
  'Checked (1-255 printable ASCII characters) but not recorded: a retry executes again, since its answer is a fresh credential a replay could not show';

/** What `extensions.idempotency.<response key>` says about one mutation run under a key. */
export interface IdempotencyNote {
  key: string;
  replayed: boolean;
  /** When the request that executed completed. */
  originalAt: string;
}

const notesByRequest = new WeakMap<object, Record<string, IdempotencyNote>>();

function note(ctx: GraphQLContext, info: GraphQLResolveInfo, value: IdempotencyNote): void {
  const notes = notesByRequest.get(ctx) ?? {};
  notes[info.path.key] = value;
  notesByRequest.set(ctx, notes);
}

/** The recorded outcome, narrowed to the type the mutation records; another type is a bug. */
export function outcomeOf<Type extends IdempotentOutcome['type']>(outcome: IdempotentOutcome, type: Type): Extract<IdempotentOutcome, { type: Type }> {
  if (outcome.type !== type) throw new Error(`Expected an idempotent outcome of type ${type}, found ${outcome.type}`);
  return outcome as Extract<IdempotentOutcome, { type: Type }>;
}

/**
 * The role each recorded mutation needs. It is checked before the key is claimed, so a
 * caller that can never run the mutation (a token without the role, a partner access token)
 * appends nothing, not even a claim and its release.
 */
const ROLE_OF_RECORDED_MUTATION: Readonly<Record<string, KeyledgerRole>> = {
  issueToken: Role.tokensWrite,
  importToken: Role.tokensWrite,
  updateToken: Role.tokensWrite,
  rotateToken: Role.tokensWrite,
  revokeToken: Role.tokensWrite,
  createPartnerCredential: Role.tokensWrite,
  revokePartnerCredential: Role.tokensWrite,
  createApiKeyConnection: Role.connectionsWrite,
  updateApiKeyConnection: Role.connectionsWrite,
  deleteApiKeyConnection: Role.connectionsWrite,
  signAuditHead: Role.auditRead,
};

/**
 * The secret arguments of recorded mutations. Their values stay out of the request
 * fingerprint; a replay compares them with the secret's own storage instead.
 */
const SECRET_ARGUMENTS_OF_RECORDED_MUTATION: Readonly<Record<string, readonly string[]>> = {
  importToken: ['input.secret'],
  createApiKeyConnection: ['input.apiKey'],
  updateApiKeyConnection: ['input.apiKey'],
};

/**
 * How resolvers run a mutation with its optional `idempotencyKey`: without one, exactly as
 * before; with one, through `IdempotentRequests`, noting for the response's extensions
 * whether it was replayed. The operation is the mutation's field name.
 */
export class IdempotentMutations {
  constructor(
    private readonly requests: IdempotentRequests,
    private readonly clock: Clock,
  ) {}

  async run<T>(
    ctx: GraphQLContext,
    info: GraphQLResolveInfo,
    key: string | null | undefined,
    args: Record<string, unknown>,
    handlers: IdempotentHandlers<T>,
    /** For mutations whose callers are not one role's holders: refuses those that could never run it. */
    authorize?: () => Promise<Principal>,
  ): Promise<T> {
    if (key == null) return (await handlers.execute()).value;
    requireIdempotencyKey(key);
    const role = ROLE_OF_RECORDED_MUTATION[info.fieldName];
    if (!role) throw new Error(`No role is declared for the recorded mutation ${info.fieldName}`);
    const principal = authorize ? await authorize() : await requireRole(ctx, role);
    const secretPaths = SECRET_ARGUMENTS_OF_RECORDED_MUTATION[info.fieldName] ?? [];
    const result = await this.requests.run(ctx, { principal, key, operation: info.fieldName, args, secretPaths }, handlers);
    note(ctx, info, { key, replayed: result.replayed, originalAt: result.originalAt.toISOString() });
    return result.value;
  }

  /** For mutations whose retry must execute again: the key is checked and echoed, never recorded. */
  async reexecute<T>(ctx: GraphQLContext, info: GraphQLResolveInfo, key: string | null | undefined, execute: () => Promise<T>): Promise<T> {
    if (key != null) requireIdempotencyKey(key);
    const value = await execute();
    if (key != null) note(ctx, info, { key, replayed: false, originalAt: this.clock.now().toISOString() });
    return value;
  }
}

/** What the request's mutations add to its response's extensions: `{ idempotency }` once one ran under a key. */
export function idempotencyExtensionsOf(contextValue: unknown): { idempotency: Record<string, IdempotencyNote> } | undefined {
  const notes = typeof contextValue === 'object' && contextValue !== null ? notesByRequest.get(contextValue) : undefined;
  return notes ? { idempotency: notes } : undefined;
}

/** Puts the notes of the request's mutations into `extensions.idempotency`. */
export function idempotencyExtensionsPlugin(): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue }) {
          const added = idempotencyExtensionsOf(contextValue);
          if (!added || response.body.kind !== 'single') return;
          response.body.singleResult.extensions = { ...response.body.singleResult.extensions, ...added };
        },
      };
    },
  };
}
