import { FormActions } from '../components/FormActions';
import { useState } from 'preact/hooks';
import { Dialog } from '../components/Dialog';
import { IntegrationPicker } from '../components/IntegrationPicker';
import { SecretDialog } from '../components/SecretDialog';
import { Empty, ErrorNote, Loading } from '../components/status';
import { ISSUE_TOKEN, TOKENS, type Page, type TokenNode } from '../documents';
import { useSession } from '../session';
import { useAction, useLoad } from '../useLoad';
import { TokenTable, type Issued } from './TokensPage';

/** Sunshine Conversations' integration keys: per integration, a display name, the secret shown once. */
export function IntegrationKeysPage() {
  const { api, can } = useSession();
  const [integration, setIntegration] = useState('');
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<Issued | null>(null);
  const keys = useLoad(
    () =>
      integration
        ? api
            .query<{ tokens: Page<TokenNode> }>(TOKENS, { first: 50, filter: { kind: 'INTEGRATION_KEY', integrationId: integration } })
            .then((data) => data.tokens.edges.map((edge) => edge.node))
        : Promise.resolve(null),
    [integration],
  );

  return (
    <>
      <div class="page-head">
        <h1>Integration keys</h1>
        {can.writeTokens && (
          <div class="actions">
            <button type="button" class="primary" onClick={() => setCreating(true)}>
              Create key
            </button>
          </div>
        )}
      </div>
      <p class="note">Keys an integration authenticates with: its id and secret, or a JWT signed with the secret. An integration holds at most 10 active keys.</p>
      <IntegrationPicker id="keys-integration" value={integration} onPick={setIntegration} />
      <ErrorNote error={keys.error} />
      {!integration && <Empty>Name an integration to see its keys.</Empty>}
      {integration && keys.loading && <Loading what="keys" />}
      {keys.data && keys.data.length === 0 && <Empty>{`No keys for ${integration} yet.`}</Empty>}
      {keys.data && keys.data.length > 0 && <TokenTable tokens={keys.data} caption={`Keys of ${integration}`} />}
      {creating && (
        <CreateKeyDialog
          integration={integration}
          onClose={() => setCreating(false)}
          onCreated={(result) => {
            setCreating(false);
            setCreated(result);
            if (result.token.integrationId === integration) keys.reload();
            else setIntegration(result.token.integrationId ?? '');
          }}
        />
      )}
      {created && (
        <SecretDialog
          title={`Key “${created.token.name}” created`}
          values={[
            { label: 'Key id', value: created.token.id },
            { label: 'Secret', value: created.secret, secret: true },
          ]}
          onDone={() => setCreated(null)}
        />
      )}
    </>
  );
}

function CreateKeyDialog({ integration, onClose, onCreated }: { integration: string; onClose(): void; onCreated(result: Issued): void }) {
  const { api } = useSession();
  const action = useAction();

  async function submit(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const text = (name: string) => String(form.get(name) ?? '').trim();
    const input = { kind: 'INTEGRATION_KEY', integrationId: text('integration'), name: text('name') };
    const result = await action.run(() => api.mutate<{ issueToken: Issued }>(ISSUE_TOKEN, { input }));
    if (result) onCreated(result.issueToken);
  }

  return (
    <Dialog title="Create an integration key" onClose={onClose}>
      <form onSubmit={submit} class="form">
        <div class="field">
          <label for="key-integration">Integration</label>
          <input id="key-integration" name="integration" required defaultValue={integration} autoComplete="off" />
        </div>
        <div class="field">
          <label for="key-name">Name</label>
          <input id="key-name" name="name" required maxLength={200} autoComplete="off" />
        </div>
        <FormActions error={action.error} busy={action.busy} onCancel={onClose} submit="Create" />
      </form>
    </Dialog>
  );
}
