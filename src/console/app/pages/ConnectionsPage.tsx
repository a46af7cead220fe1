import { FormActions } from '../components/FormActions';
import { useState } from 'preact/hooks';
import { Dialog } from '../components/Dialog';
import { IntegrationPicker } from '../components/IntegrationPicker';
import { Empty, ErrorNote, Loading } from '../components/status';
import { CONNECTIONS, CREATE_CONNECTION, DELETE_CONNECTION, UPDATE_CONNECTION, type ConnectionNode, type Page } from '../documents';
import { when } from '../format';
import { useSession } from '../session';
import { useAction, useLoad } from '../useLoad';

type Open = { kind: 'create' } | { kind: 'edit'; connection: ConnectionNode } | { kind: 'delete'; connection: ConnectionNode } | null;

/** Zendesk ZIS API-key connections per integration: the key is write-only and always reads *****. */
export function ConnectionsPage() {
  const { api, can } = useSession();
  const [integration, setIntegration] = useState('');
  const [open, setOpen] = useState<Open>(null);
  const [notice, setNotice] = useState('');
  const connections = useLoad(
    () =>
      integration
        ? api
            .query<{ apiKeyConnections: Page<ConnectionNode> }>(CONNECTIONS, { integration, first: 100 })
            .then((data) => data.apiKeyConnections.edges.map((edge) => edge.node))
        : Promise.resolve(null),
    [integration],
  );
  const done = (message: string, shown?: string) => {
    setOpen(null);
    setNotice(message);
    if (shown !== undefined && shown !== integration) setIntegration(shown);
    else connections.reload();
  };

  return (
    <>
      <div class="page-head">
        <h1>Connections</h1>
        {can.writeConnections && (
          <div class="actions">
            <button type="button" class="primary" onClick={() => setOpen({ kind: 'create' })}>
              New connection
            </button>
          </div>
        )}
      </div>
      <p class="note">Third-party API keys kept encrypted for an integration. A key is only ever handed out for a request to its allowed domain.</p>
      <IntegrationPicker id="connections-integration" value={integration} onPick={setIntegration} />
      <p role="status" class="note">
        {notice}
      </p>
      <ErrorNote error={connections.error} />
      {!integration && <Empty>Name an integration to see its connections.</Empty>}
      {integration && connections.loading && <Loading what="connections" />}
      {connections.data && connections.data.length === 0 && <Empty>{`No connections for ${integration} yet.`}</Empty>}
      {connections.data && connections.data.length > 0 && (
        <div class="table-wrap" tabIndex={0} role="region" aria-label={`Connections of ${integration}`}>
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Header</th>
                <th scope="col">API key</th>
                <th scope="col">Allowed domain</th>
                <th scope="col">Updated</th>
                {can.writeConnections && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {connections.data.map((connection) => (
                <tr key={connection.name}>
                  <td>{connection.name}</td>
                  <td>
                    <code>{connection.headerName}</code>
                  </td>
                  <td>
                    <code>{connection.apiKey}</code>
                  </td>
                  <td>{connection.allowedDomain}</td>
                  <td>{when(connection.updatedAt)}</td>
                  {can.writeConnections && (
                    <td class="row-actions">
                      <button type="button" aria-label={`Edit ${connection.name}`} onClick={() => setOpen({ kind: 'edit', connection })}>
                        Edit
                      </button>
                      <button type="button" class="danger" aria-label={`Delete ${connection.name}`} onClick={() => setOpen({ kind: 'delete', connection })}>
                        Delete
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {open?.kind === 'create' && (
        <ConnectionDialog integration={integration} onClose={() => setOpen(null)} onSaved={(shown) => done('Connection created.', shown)} />
      )}
      {open?.kind === 'edit' && (
        <ConnectionDialog
          integration={integration}
          connection={open.connection}
          onClose={() => setOpen(null)}
          onSaved={() => done('Connection saved.')}
        />
      )}
      {open?.kind === 'delete' && <DeleteDialog connection={open.connection} onClose={() => setOpen(null)} onDeleted={() => done('Connection deleted.')} />}
    </>
  );
}

interface ConnectionDialogProps {
  integration: string;
  connection?: ConnectionNode;
  onClose(): void;
  onSaved(integration: string): void;
}

function ConnectionDialog({ integration, connection, onClose, onSaved }: ConnectionDialogProps) {
  const { api } = useSession();
  const action = useAction();
  const editing = connection !== undefined;

  async function submit(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    // The key is never trimmed: its exact bytes are what the third party expects.
    const raw = (name: string) => String(form.get(name) ?? '');
    const text = (name: string) => raw(name).trim();
    if (!editing) {
      const input = { integration: text('integration'), name: text('name'), headerName: text('headerName'), apiKey: raw('apiKey'), allowedDomain: text('allowedDomain') };
      const result = await action.run(() => api.mutate(CREATE_CONNECTION, { input }));
      if (result) onSaved(input.integration);
      return;
    }
    const input: Record<string, unknown> = { integration: connection.integration, name: connection.name };
    if (text('headerName') !== connection.headerName) input.headerName = text('headerName');
    if (text('allowedDomain') !== connection.allowedDomain) input.allowedDomain = text('allowedDomain');
    if (raw('apiKey')) input.apiKey = raw('apiKey');
    const result = await action.run(() => api.mutate(UPDATE_CONNECTION, { input }));
    if (result) onSaved(connection.integration);
  }

  return (
    <Dialog title={editing ? `Edit “${connection.name}”` : 'New connection'} onClose={onClose}>
      <form onSubmit={submit} class="form">
        {!editing && (
          <>
            <div class="field">
              <label for="connection-integration">Integration</label>
              <input id="connection-integration" name="integration" required defaultValue={integration} autoComplete="off" />
            </div>
            <div class="field">
              <label for="connection-name">Name</label>
              <input id="connection-name" name="name" required autoComplete="off" />
            </div>
          </>
        )}
        <div class="field">
          <label for="connection-header">Header name</label>
          <input id="connection-header" name="headerName" required defaultValue={connection?.headerName ?? 'x-api-key'} autoComplete="off" />
        </div>
        <div class="field">
          <label for="connection-key">API key</label>
          <input
            id="connection-key"
            name="apiKey"
            type="password"
            required={!editing}
            autoComplete="off"
            aria-describedby="connection-key-help"
          />
          <p id="connection-key-help" class="note">
            {editing ? 'Leave empty to keep the current key. Changing the header name or the allowed domain needs the key again, so a stored key is never sent somewhere new without it.' : 'Stored encrypted and never shown again.'}
          </p>
        </div>
        <div class="field">
          <label for="connection-domain">Allowed domain</label>
          <input id="connection-domain" name="allowedDomain" required defaultValue={connection?.allowedDomain} placeholder="api.example.com" autoComplete="off" />
        </div>
        <FormActions error={action.error} busy={action.busy} onCancel={onClose} submit={editing ? 'Save' : 'Create'} />
      </form>
    </Dialog>
  );
}

function DeleteDialog({ connection, onClose, onDeleted }: { connection: ConnectionNode; onClose(): void; onDeleted(): void }) {
  const { api } = useSession();
  const action = useAction();
  return (
    <Dialog title={`Delete “${connection.name}”?`} description="Its key is destroyed for good; the name can be used again." onClose={onClose}>
      <ErrorNote error={action.error} />
      <div class="actions">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button
          type="button"
          class="danger"
          disabled={action.busy}
          onClick={async () => {
            const result = await action.run(() => api.mutate(DELETE_CONNECTION, { integration: connection.integration, name: connection.name }));
            if (result) onDeleted();
          }}
        >
          Delete
        </button>
      </div>
    </Dialog>
  );
}
