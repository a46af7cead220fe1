import { connectionsProjection } from '../../../projections/connections';
import type { ConnectionCreated, ConnectionDeleted, ConnectionUpdated } from '../../../src/domain/connections/events';
import { given } from './projection-given';

const SEALED = { dataKeyId: 'cdk_1', ciphertext: 'v1.a2V5' };
const RESEALED = { dataKeyId: 'cdk_2', ciphertext: 'v1.bmV3' };
const address = { tenantId: 'acme', integration: 'zendesk', name: 'crm' };

const created = (overrides: Partial<ConnectionCreated['data']> = {}) => ({
  type: 'ConnectionCreated',
  streamId: 'connection-acme-zendesk-crm',
  data: {
    connectionId: 'con_1',
    generation: 1,
    ...address,
    headerName: 'X-Api-Key',
    allowedDomain: 'api.example.com',
    sealedApiKey: SEALED,
    createdAt: '2030-01-01T00:00:00.000Z',
    ...overrides,
  } satisfies ConnectionCreated['data'],
});

const updated = (changes: ConnectionUpdated['data']['changes'], updatedAt = '2030-01-02T00:00:00.000Z') => ({
  type: 'ConnectionUpdated',
  streamId: 'connection-acme-zendesk-crm',
  data: { connectionId: 'con_1', ...address, changes, updatedAt } satisfies ConnectionUpdated['data'],
});

const deleted = (connectionId = 'con_1') => ({
  type: 'ConnectionDeleted',
  streamId: 'connection-acme-zendesk-crm',
  data: { connectionId, ...address, dataKeyId: 'cdk_1', deletedAt: '2030-01-03T00:00:00.000Z' } satisfies ConnectionDeleted['data'],
});

const COLUMNS = ['connection_id', 'tenant_id', 'integration', 'name', 'header_name', 'allowed_domain', 'sealed_api_key', 'created_at', 'updated_at'];

describe('connections projection', () => {
  it('given ConnectionCreated, then one row with the sealed key as stored JSON', () => {
    given(connectionsProjection, [created()]).then('api_key_connections', COLUMNS, [
      {
        connection_id: 'con_1',
        tenant_id: 'acme',
        integration: 'zendesk',
        name: 'crm',
        header_name: 'X-Api-Key',
        allowed_domain: 'api.example.com',
        sealed_api_key: JSON.stringify(SEALED),
        created_at: '2030-01-01T00:00:00.000Z',
        updated_at: '2030-01-01T00:00:00.000Z',
      },
    ]);
  });

  it('given ConnectionUpdated with a new key only, then the other columns keep their values', () => {
    given(connectionsProjection, [created(), updated({ sealedApiKey: RESEALED })]).then(
      'api_key_connections',
      ['header_name', 'allowed_domain', 'sealed_api_key', 'updated_at'],
      [{ header_name: 'X-Api-Key', allowed_domain: 'api.example.com', sealed_api_key: JSON.stringify(RESEALED), updated_at: '2030-01-02T00:00:00.000Z' }],
    );
  });

  it('given ConnectionUpdated with a header and a domain, then both change and the key stays', () => {
    given(connectionsProjection, [created(), updated({ headerName: 'Authorization', allowedDomain: 'eu.example.com' })]).then(
      'api_key_connections',
      ['header_name', 'allowed_domain', 'sealed_api_key'],
      [{ header_name: 'Authorization', allowed_domain: 'eu.example.com', sealed_api_key: JSON.stringify(SEALED) }],
    );
  });

  it('given ConnectionDeleted, then no row', () => {
    given(connectionsProjection, [created(), deleted()]).then('api_key_connections', ['connection_id'], []);
  });

  it('given the name created again after a deletion, then one row, the new connection', () => {
    given(connectionsProjection, [created(), deleted(), created({ connectionId: 'con_2', generation: 2, createdAt: '2030-01-04T00:00:00.000Z' })]).then(
      'api_key_connections',
      ['connection_id', 'created_at'],
      [{ connection_id: 'con_2', created_at: '2030-01-04T00:00:00.000Z' }],
    );
  });

  it('given ConnectionCreated twice (a replay), then still one row', () => {
    given(connectionsProjection, [created(), created()]).then('api_key_connections', ['connection_id'], [{ connection_id: 'con_1' }]);
  });
});
