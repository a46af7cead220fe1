import { createHash, timingSafeEqual } from 'node:crypto';
import { Role } from '../../domain/access/roles';
import {
  CONNECTION_NOT_FOUND,
  connectionStreamId,
  decide,
  evolve,
  initialConnectionState,
  requireAllowedUrl,
  requireApiKey,
  requireConnectionName,
  requireIntegration,
  type ConnectionEvent,
  type ConnectionState,
} from '../../domain/connections';
import { conflict, KeyledgerError, notFound } from '../../domain/errors';
import type { SealedSecret } from '../../domain/tokens/events';
import { randomBase62 } from '../../crypto/base62';
import type { SecretSealer } from '../../crypto/envelope';
import { WrongExpectedRevisionError } from '../../eventstore/port';
import type { ConnectionPage, ConnectionQueries, ConnectionRecord } from '../../../projections/connections';
import type { Logger } from '../../logger';
import type { Clock } from '../clock';
import type { EventWriter } from '../event-writer';
import { actorOf, eventMetadata, type Principal, type RequestContext } from '../request-context';
import { requireRole, targetTenant } from '../tenant-access';
import type { ConnectionAccessRecorder } from './access-recorder';
import type { DataKeyLifecycle } from '../data-keys/data-key-lifecycle';


/** Where a connection is: the caller's tenant unless root names another. */
export interface ConnectionAddress {
  integration: string;
  name: string;
  tenantId?: string | null;
}

export interface CreateConnectionInput extends ConnectionAddress {
  headerName: string;
  apiKey: string;
  allowedDomain: string;
}

export interface UpdateConnectionInput extends ConnectionAddress {
  headerName?: string | null;
  apiKey?: string | null;
  allowedDomain?: string | null;
}

export interface ListConnectionsInput {
  integration: string;
  first: number;
  afterSeq: number | null;
  tenantId?: string | null;
}

/** What a caller with `keyledger:connections:use` gets: the header to send, and the key. */
export interface ConnectionCredential {
  headerName: string;
  apiKey: string;
}

export interface ConnectionServiceDependencies {
  sealer: SecretSealer;
  /** Makes, destroys and sweeps the data keys the API keys are sealed under. */
  dataKeys: DataKeyLifecycle;
  access: ConnectionAccessRecorder;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
}

const newConnectionId = () => `con_${randomBase62(22)}`;
const newDataKeyId = () => `cdk_${randomBase62(22)}`;
/** Stands in for the sealed key when input is checked before any data key exists. */
const UNSEALED: SealedSecret = { dataKeyId: 'cdk_pending', ciphertext: 'pending' };

/**
 * API-key connections: create, update, delete, read, and hand the key to callers allowed to
 * use it against an allowed URL. Every operation checks roles and tenant here, so transports
 * stay thin.
 *
 * Each key is sealed under a data key of its own, made for it: replacing the key makes a new
 * data key and destroys the old one once the replacement is recorded; deleting the
 * connection destroys its data key. What stays in the log is ciphertext nothing can open.
 */
export class ConnectionService {
  private readonly sealer: SecretSealer;
  private readonly dataKeys: DataKeyLifecycle;
  private readonly access: ConnectionAccessRecorder;
  private readonly logger: ConnectionServiceDependencies['logger'];

  constructor(
    private readonly writer: EventWriter,
    private readonly queries: ConnectionQueries,
    private readonly clock: Clock,
    dependencies: ConnectionServiceDependencies,
  ) {
    ({ sealer: this.sealer, dataKeys: this.dataKeys, access: this.access, logger: this.logger } = dependencies);
  }

  async create(ctx: RequestContext, input: CreateConnectionInput): Promise<ConnectionRecord> {
    const caller = await requireRole(ctx, Role.connectionsWrite);
    const tenantId = targetTenant(caller, input.tenantId);
    const now = this.clock.now();
    const command = {
      type: 'CreateConnection' as const,
      connectionId: newConnectionId(),
      tenantId,
      integration: input.integration,
      name: input.name,
      headerName: input.headerName,
      allowedDomain: input.allowedDomain,
      sealedApiKey: UNSEALED,
    };
    // Bad input is refused before a data key is made for it.
    decide(command, initialConnectionState, now);
    const apiKey = requireApiKey(input.apiKey);
    const sealedApiKey = await this.sealNew(command.connectionId, apiKey);
    try {
      await this.run(ctx, caller, command, now, { retryOnConflict: false, decide: (state) => decide({ ...command, sealedApiKey }, state, now) });
    } catch (error) {
      await this.discardUnrecorded(sealedApiKey.dataKeyId, error);
      if (error instanceof WrongExpectedRevisionError) throw conflict(`A connection named ${command.name} already exists in integration ${command.integration}`);
      throw error;
    }
    return this.readBack(tenantId, command.integration, command.name);
  }

  async update(ctx: RequestContext, input: UpdateConnectionInput): Promise<ConnectionRecord> {
    const caller = await requireRole(ctx, Role.connectionsWrite);
    const { tenantId, integration, name } = resolve(caller, input);
    const now = this.clock.now();
    const command = {
      type: 'UpdateConnection' as const,
      headerName: input.headerName ?? undefined,
      allowedDomain: input.allowedDomain ?? undefined,
    };
    const apiKey = input.apiKey == null ? undefined : requireApiKey(input.apiKey);
    if (apiKey === undefined) {
      await this.run(ctx, caller, { ...command, tenantId, integration, name }, now, { decide: (state) => decide(command, state, now) });
      return this.readBack(tenantId, integration, name);
    }

    // The new key is sealed for the connection as it is now; if it is replaced meanwhile, the update fails rather than cross over.
    const { state } = await this.writer.load<ConnectionState, ConnectionEvent>(connectionStreamId(tenantId, integration, name), initialConnectionState, evolve);
    decide({ ...command, sealedApiKey: UNSEALED }, state, now);
    if (state.status !== 'active') throw notFound(CONNECTION_NOT_FOUND);
    const sealedFor = state.connectionId;
    const sealedApiKey = await this.sealNew(sealedFor, apiKey);
    let events: ConnectionEvent[];
    try {
      ({ events } = await this.run(ctx, caller, { ...command, tenantId, integration, name }, now, {
        decide: (current) => {
          if (current.status === 'active' && current.connectionId !== sealedFor) throw conflict('The connection was deleted and created again meanwhile; retry');
          return decide({ ...command, sealedApiKey }, current, now);
        },
      }));
    } catch (error) {
      await this.discardUnrecorded(sealedApiKey.dataKeyId, error);
      throw error;
    }
    for (const event of events) {
      if (event.type === 'ConnectionUpdated' && event.data.supersededDataKeyId) await this.destroyRecorded(event.data.supersededDataKeyId, event.data.connectionId);
    }
    return this.readBack(tenantId, integration, name);
  }

  async delete(ctx: RequestContext, address: ConnectionAddress): Promise<void> {
    const caller = await requireRole(ctx, Role.connectionsWrite);
    const { tenantId, integration, name } = resolve(caller, address);
    const now = this.clock.now();
    const { events } = await this.run(ctx, caller, { tenantId, integration, name }, now, {
      decide: (state) => decide({ type: 'DeleteConnection' }, state, now),
    });
    for (const event of events) {
      if (event.type === 'ConnectionDeleted') await this.destroyRecorded(event.data.dataKeyId, event.data.connectionId);
    }
  }

  /** Null when there is none by that name in the caller's tenant (or the named one, for root). */
  async get(ctx: RequestContext, address: ConnectionAddress): Promise<ConnectionRecord | null> {
    const caller = await requireRole(ctx, Role.connectionsRead);
    const { tenantId, integration, name } = resolve(caller, address);
    return this.queries.byName(tenantId, integration, name);
  }

  async list(ctx: RequestContext, input: ListConnectionsInput): Promise<ConnectionPage> {
    const caller = await requireRole(ctx, Role.connectionsRead);
    const tenantId = targetTenant(caller, input.tenantId);
    return this.queries.page(tenantId, requireIntegration(input.integration), input.first, input.afterSeq);
  }

  /**
   * The key, for a request to `url`, if the URL is allowed (see `requireAllowedUrl`). The use
   * is queued for the audit history before the key is returned; recording it happens later,
   * off this request's path.
   */
  async use(ctx: RequestContext, input: ConnectionAddress & { url: string }): Promise<ConnectionCredential> {
    const caller = await requireRole(ctx, Role.connectionsUse);
    const { tenantId, integration, name } = resolve(caller, input);
    let record = this.queries.byName(tenantId, integration, name);
    if (!record) throw notFound(CONNECTION_NOT_FOUND);
    const host = requireAllowedUrl(record.allowedDomain, input.url);
    let outcome = await this.unseal(record);
    if (outcome.status === 'shredded') {
      // The read model may trail a replacement or deletion whose data key is already gone: ask the log.
      const { state } = await this.writer.load<ConnectionState, ConnectionEvent>(connectionStreamId(tenantId, integration, name), initialConnectionState, evolve);
      if (state.status !== 'active') throw notFound(CONNECTION_NOT_FOUND);
      if (state.sealedApiKey.dataKeyId !== record.sealedApiKey.dataKeyId) {
        record = { ...record, connectionId: state.connectionId, headerName: state.headerName, allowedDomain: state.allowedDomain, sealedApiKey: state.sealedApiKey };
        requireAllowedUrl(record.allowedDomain, input.url);
        outcome = await this.unseal(record);
      }
    }
    if (outcome.status === 'shredded') {
      this.logger.error({ connectionId: record.connectionId, dataKeyId: record.sealedApiKey.dataKeyId }, 'the data key of a live connection is missing from the data key store');
      throw new KeyledgerError(
        'INTERNAL_SERVER_ERROR',
        "This connection's API key is not available on this gateway: its data key is missing from the key store. Replace the key with updateApiKeyConnection.",
      );
    }
    if (outcome.status === 'corrupt') {
      this.logger.error({ connectionId: record.connectionId, dataKeyId: record.sealedApiKey.dataKeyId }, 'the ciphertext of a connection key does not open under its data key');
      throw undecryptable();
    }
    this.access.record(
      { connectionId: record.connectionId, tenantId, integration, name, host, usedAt: this.clock.now().toISOString() },
      eventMetadata(ctx, actorOf(caller), this.clock.now()),
    );
    return { headerName: record.headerName, apiKey: outcome.secret };
  }

  /**
   * Whether `apiKey` is the key sealed under `dataKeyId` for the connection `connectionId`:
   * null once that key is no longer the connection's (replaced or deleted, so its data key
   * is destroyed or about to be) and cannot be told any more.
   */
  async apiKeyMatches(address: { tenantId: string; integration: string; name: string }, connectionId: string, dataKeyId: string, apiKey: string): Promise<boolean | null> {
    const record = this.queries.byName(address.tenantId, address.integration, address.name);
    if (!record || record.connectionId !== connectionId || record.sealedApiKey.dataKeyId !== dataKeyId) return null;
    const outcome = await this.unseal(record);
    if (outcome.status !== 'opened') return null;
    const [given, stored] = [createHash('sha256').update(apiKey).digest(), createHash('sha256').update(outcome.secret).digest()];
    return timingSafeEqual(given, stored);
  }

  /**
   * Destroys connection data keys no live connection holds: those of replacements or
   * deletions whose shredding failed, and of writes that never completed. Run once the read
   * models have caught up.
   */
  async shredOrphanedDataKeys(): Promise<number> {
    const inUse = this.queries.dataKeyIdsInUse();
    return this.dataKeys.sweepOrphans((dataKeyId) => (inUse.has(dataKeyId) ? 'live' : 'unrecorded'), new Date());
  }

  private async unseal(record: ConnectionRecord) {
    try {
      return await this.sealer.unseal(record.sealedApiKey, record.connectionId);
    } catch (error) {
      // The data key itself does not unwrap: another master key, or an altered key store.
      this.logger.error({ err: error, connectionId: record.connectionId, dataKeyId: record.sealedApiKey.dataKeyId }, 'a connection data key cannot be unwrapped');
      throw undecryptable();
    }
  }

  private sealNew(connectionId: string, apiKey: string): Promise<SealedSecret> {
    return this.dataKeys.sealUnderNewKey(newDataKeyId(), connectionId, apiKey);
  }

  private run(
    ctx: RequestContext,
    caller: Principal,
    address: { tenantId: string; integration: string; name: string },
    now: Date,
    options: { decide: (state: ConnectionState) => ConnectionEvent[]; retryOnConflict?: boolean },
  ) {
    return this.writer.execute<ConnectionState, ConnectionEvent>({
      streamId: connectionStreamId(address.tenantId, requireIntegration(address.integration), requireConnectionName(address.name)),
      initial: initialConnectionState,
      evolve,
      metadata: eventMetadata(ctx, actorOf(caller), now),
      retryOnConflict: options.retryOnConflict,
      decide: options.decide,
    });
  }

  /**
   * After a failed write, the new data key goes, unless the store may have recorded the
   * write without confirming it (UNAVAILABLE): then the start-up sweep decides later.
   */
  private async discardUnrecorded(dataKeyId: string, error: unknown): Promise<void> {
    if (error instanceof KeyledgerError && error.code === 'UNAVAILABLE') return;
    await this.dataKeys.destroyQuietly(dataKeyId);
  }

  private async destroyRecorded(dataKeyId: string, connectionId: string): Promise<void> {
    try {
      await this.sealer.destroyDataKey(dataKeyId);
    } catch (error) {
      this.logger.error({ err: error, connectionId, dataKeyId }, 'could not destroy a superseded connection data key; the start-up sweep will');
    }
  }

  private readBack(tenantId: string, integration: string, name: string): ConnectionRecord {
    const record = this.queries.byName(tenantId, integration, name);
    if (!record) throw new KeyledgerError('UNAVAILABLE', 'The change was recorded but the read models are behind; query it again shortly');
    return record;
  }
}

/** The connection an address names, checked, in the caller's tenant unless root names another. */
function resolve(caller: Principal, address: ConnectionAddress): { tenantId: string; integration: string; name: string } {
  return { tenantId: targetTenant(caller, address.tenantId), integration: requireIntegration(address.integration), name: requireConnectionName(address.name) };
}

function undecryptable(): KeyledgerError {
  return new KeyledgerError(
    'INTERNAL_SERVER_ERROR',
    "This connection's API key cannot be decrypted, so it was not used. Check KEYLEDGER_MASTER_KEY, or replace the key with updateApiKeyConnection.",
  );
}

