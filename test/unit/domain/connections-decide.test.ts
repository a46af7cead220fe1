import { KeyledgerError, type ErrorCode } from '../../../src/domain/errors';
import {
  decide,
  foldConnectionEvents,
  type ConnectionCommand,
  type ConnectionCreated,
  type ConnectionDeleted,
  type ConnectionEvent,
  type ConnectionUpdated,
  type CreateConnection,
} from '../../../src/domain/connections';

const NOW = new Date('2030-01-15T10:00:00.000Z');
const SEALED = { dataKeyId: 'cdk_1', ciphertext: 'v1.c2VhbGVk' };
const RESEALED = { dataKeyId: 'cdk_2', ciphertext: 'v1.bmV3' };

const createCommand = (overrides: Partial<CreateConnection> = {}): CreateConnection => ({
  type: 'CreateConnection',
  connectionId: 'con_1',
  tenantId: 'acme',
  integration: 'crm',
  name: 'stripe_live',
  headerName: 'x-api-key',
  allowedDomain: 'api.example.com',
  sealedApiKey: SEALED,
  ...overrides,
});

const created = (overrides: Partial<ConnectionCreated['data']> = {}): ConnectionCreated => ({
  type: 'ConnectionCreated',
  data: {
    connectionId: 'con_1',
    generation: 1,
    tenantId: 'acme',
    integration: 'crm',
    name: 'stripe_live',
    headerName: 'x-api-key',
    allowedDomain: 'api.example.com',
    sealedApiKey: SEALED,
    createdAt: '2030-01-01T00:00:00.000Z',
    ...overrides,
  },
});

const deleted = (overrides: Partial<ConnectionDeleted['data']> = {}): ConnectionDeleted => ({
  type: 'ConnectionDeleted',
  data: { connectionId: 'con_1', tenantId: 'acme', integration: 'crm', name: 'stripe_live', dataKeyId: 'cdk_1', deletedAt: '2030-01-02T00:00:00.000Z', ...overrides },
});

const updated = (changes: ConnectionUpdated['data']['changes']): ConnectionUpdated => ({
  type: 'ConnectionUpdated',
  data: { connectionId: 'con_1', tenantId: 'acme', integration: 'crm', name: 'stripe_live', changes, updatedAt: '2030-01-03T00:00:00.000Z' },
});

/** Given these past events, when this command: the new events. */
const given = (events: ConnectionEvent[]) => ({
  when: (command: ConnectionCommand) => decide(command, foldConnectionEvents(events), NOW),
});

function expectError(run: () => unknown, code: ErrorCode, message?: RegExp, field?: string): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(KeyledgerError);
    expect((error as KeyledgerError).code).toBe(code);
    if (message) expect((error as KeyledgerError).message).toMatch(message);
    if (field) expect((error as KeyledgerError).details.field).toBe(field);
    return;
  }
  throw new Error(`expected ${code}`);
}

describe('connection decider', () => {
  describe('CreateConnection', () => {
    it('given nothing, creates generation 1 with the sealed key only', () => {
      expect(given([]).when(createCommand())).toEqual([
        {
          type: 'ConnectionCreated',
          data: {
            connectionId: 'con_1',
            generation: 1,
            tenantId: 'acme',
            integration: 'crm',
            name: 'stripe_live',
            headerName: 'x-api-key',
            allowedDomain: 'api.example.com',
            sealedApiKey: SEALED,
            createdAt: NOW.toISOString(),
          },
        },
      ]);
    });

    it('normalises the allowed domain', () => {
      const [event] = given([]).when(createCommand({ allowedDomain: 'API.Example.COM' })) as ConnectionCreated[];
      expect(event.data.allowedDomain).toBe('api.example.com');
    });

    it('given a live connection of that name, is a CONFLICT', () => {
      expectError(() => given([created()]).when(createCommand({ connectionId: 'con_2' })), 'CONFLICT', /stripe_live already exists in integration crm/);
    });

    it('given a deleted connection of that name, creates the next generation', () => {
      const [event] = given([created(), deleted()]).when(createCommand({ connectionId: 'con_2' })) as ConnectionCreated[];
      expect(event.data).toMatchObject({ connectionId: 'con_2', generation: 2 });
      const [third] = given([created(), deleted(), created({ connectionId: 'con_2', generation: 2 }), deleted({ connectionId: 'con_2' })]).when(
        createCommand({ connectionId: 'con_3' }),
      ) as ConnectionCreated[];
      expect(third.data.generation).toBe(3);
    });

    it('refuses bad input before looking at state, naming the field', () => {
      expectError(() => given([]).when(createCommand({ name: 'x' })), 'BAD_USER_INPUT', /name must be 3-64/, 'name');
      expectError(() => given([]).when(createCommand({ integration: '' })), 'BAD_USER_INPUT', undefined, 'integration');
      expectError(() => given([]).when(createCommand({ headerName: 'keep-alive' })), 'BAD_USER_INPUT', /reserved/, 'headerName');
      expectError(() => given([]).when(createCommand({ allowedDomain: '*.co.uk' })), 'BAD_USER_INPUT', /public suffix/, 'allowedDomain');
      expectError(() => given([]).when(createCommand({ tenantId: 'bad tenant' })), 'BAD_USER_INPUT', undefined, 'tenantId');
      expectError(() => given([]).when(createCommand({ sealedApiKey: { dataKeyId: '', ciphertext: '' } })), 'BAD_USER_INPUT', /not sealed/, 'apiKey');
    });

    it('copies only the sealed fields, so nothing a caller adds reaches the event', () => {
      const [event] = given([]).when(createCommand({ sealedApiKey: { ...SEALED, plaintext: 'oops' } as never })) as ConnectionCreated[];
      expect(event.data.sealedApiKey).toEqual(SEALED);
    });
  });

  describe('UpdateConnection', () => {
    it('given a live connection, records only what changed', () => {
      expect(given([created()]).when({ type: 'UpdateConnection', headerName: 'Authorization', allowedDomain: 'api.example.com', sealedApiKey: RESEALED })).toEqual([
        {
          type: 'ConnectionUpdated',
          data: {
            connectionId: 'con_1',
            tenantId: 'acme',
            integration: 'crm',
            name: 'stripe_live',
            changes: { headerName: 'Authorization', sealedApiKey: RESEALED },
            supersededDataKeyId: SEALED.dataKeyId,
            updatedAt: NOW.toISOString(),
          },
        },
      ]);
    });

    it('a new key names the data key it supersedes', () => {
      const [event] = given([created(), updated({ sealedApiKey: { dataKeyId: 'cdk_9', ciphertext: 'v1.eA' } })]).when({
        type: 'UpdateConnection',
        sealedApiKey: RESEALED,
      }) as ConnectionUpdated[];
      expect(event.data.changes).toEqual({ sealedApiKey: RESEALED });
      expect(event.data.supersededDataKeyId).toBe('cdk_9');
    });

    it('changing the allowed domain requires a new key', () => {
      expectError(() => given([created()]).when({ type: 'UpdateConnection', allowedDomain: 'evil.example.net' }), 'BAD_USER_INPUT', /requires giving apiKey again/, 'apiKey');
      const [event] = given([created()]).when({ type: 'UpdateConnection', allowedDomain: 'api.example.org', sealedApiKey: RESEALED }) as ConnectionUpdated[];
      expect(event.data.changes).toEqual({ allowedDomain: 'api.example.org', sealedApiKey: RESEALED });
    });

    it('changing the header name requires a new key', () => {
      expectError(() => given([created()]).when({ type: 'UpdateConnection', headerName: 'x-logged-by-the-site' }), 'BAD_USER_INPUT', /requires giving apiKey again/, 'apiKey');
      const [event] = given([created()]).when({ type: 'UpdateConnection', headerName: 'Authorization', sealedApiKey: RESEALED }) as ConnectionUpdated[];
      expect(event.data.changes).toEqual({ headerName: 'Authorization', sealedApiKey: RESEALED });
    });

    it('a change to nothing records nothing; naming no field is bad input', () => {
      expect(given([created()]).when({ type: 'UpdateConnection', headerName: 'x-api-key' })).toEqual([]);
      expectError(() => given([created()]).when({ type: 'UpdateConnection' }), 'BAD_USER_INPUT', /at least one/);
    });

    it('given no connection, or a deleted one, is NOT_FOUND', () => {
      expectError(() => given([]).when({ type: 'UpdateConnection', headerName: 'x-key' }), 'NOT_FOUND', /Connection does not exist/);
      expectError(() => given([created(), deleted()]).when({ type: 'UpdateConnection', headerName: 'x-key' }), 'NOT_FOUND');
    });

    it('refuses a reserved header or a bad domain', () => {
      expectError(() => given([created()]).when({ type: 'UpdateConnection', headerName: 'Cookie' }), 'BAD_USER_INPUT', /reserved/, 'headerName');
      expectError(() => given([created()]).when({ type: 'UpdateConnection', allowedDomain: 'localhost', sealedApiKey: RESEALED }), 'BAD_USER_INPUT', undefined, 'allowedDomain');
    });
  });

  describe('DeleteConnection', () => {
    it('given a live connection, deletes it naming its current data key', () => {
      const events = given([created(), updated({ sealedApiKey: RESEALED })]).when({ type: 'DeleteConnection' });
      expect(events).toEqual([
        {
          type: 'ConnectionDeleted',
          data: { connectionId: 'con_1', tenantId: 'acme', integration: 'crm', name: 'stripe_live', dataKeyId: 'cdk_2', deletedAt: NOW.toISOString() },
        },
      ]);
    });

    it('given no connection, or a deleted one, is NOT_FOUND', () => {
      expectError(() => given([]).when({ type: 'DeleteConnection' }), 'NOT_FOUND');
      expectError(() => given([created(), deleted()]).when({ type: 'DeleteConnection' }), 'NOT_FOUND');
    });
  });

  describe('evolve', () => {
    it('folds creation, updates and deletion; events of an earlier generation do not touch a later one', () => {
      const state = foldConnectionEvents([created(), deleted(), created({ connectionId: 'con_2', generation: 2 }), updated({ headerName: 'stale' })]);
      expect(state).toMatchObject({ status: 'active', connectionId: 'con_2', generation: 2, headerName: 'x-api-key' });
      expect(foldConnectionEvents([created(), updated({ headerName: 'x-new', sealedApiKey: RESEALED })])).toMatchObject({
        headerName: 'x-new',
        sealedApiKey: RESEALED,
        updatedAt: '2030-01-03T00:00:00.000Z',
      });
    });
  });
});
