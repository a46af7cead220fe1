import { FormActions } from '../components/FormActions';
import { useState } from 'preact/hooks';
import { Dialog } from '../components/Dialog';
import { Pager } from '../components/Pager';
import { SecretDialog } from '../components/SecretDialog';
import { Empty, ErrorNote, Loading } from '../components/status';
import { CREATE_PARTNER, PARTNERS, REVOKE_PARTNER, type Page, type PartnerNode } from '../documents';
import { commaList, when } from '../format';
import { useSession } from '../session';
import { useAction, useLoad } from '../useLoad';

interface Created {
  apiKey: string;
  apiSecret: string;
  credential: PartnerNode;
}

/** Zipteams partner credentials: an API key and secret handed over at onboarding, revocable. */
export function PartnersPage() {
  const { api, can } = useSession();
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<Created | null>(null);
  const [revoking, setRevoking] = useState<PartnerNode | null>(null);
  const [notice, setNotice] = useState('');
  const after = cursors[cursors.length - 1];
  const partners = useLoad(
    () => api.query<{ partnerCredentials: Page<PartnerNode> }>(PARTNERS, { first: 20, after }).then((data) => data.partnerCredentials),
    [after],
  );

  return (
    <>
      <div class="page-head">
        <h1>Partners</h1>
        {can.writeTokens && (
          <div class="actions">
            <button type="button" class="primary" onClick={() => setCreating(true)}>
              New partner credential
            </button>
          </div>
        )}
      </div>
      <p class="note">A partner exchanges its API key and secret for 24-hour access tokens for one tenant and subtenant.</p>
      <p role="status" class="note">
        {notice}
      </p>
      <ErrorNote error={partners.error} />
      {partners.loading && !partners.data && <Loading what="partner credentials" />}
      {partners.data && partners.data.edges.length === 0 && <Empty>No partner credentials yet.</Empty>}
      {partners.data && partners.data.edges.length > 0 && (
        <div class="table-wrap" tabIndex={0} role="region" aria-label="Partner credentials">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">API key</th>
                <th scope="col">Secret starts with</th>
                <th scope="col">Subtenants</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                {can.writeTokens && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {partners.data.edges.map(({ node }) => (
                <tr key={node.id}>
                  <td>{node.name}</td>
                  <td>
                    <code>{node.apiKey}</code>
                  </td>
                  <td>
                    <code>{node.secretDisplay}</code>
                  </td>
                  <td>{node.subTenantIds.join(', ') || 'Every subtenant'}</td>
                  <td>
                    <span class={`status status-${node.status.toLowerCase()}`}>{node.status === 'ACTIVE' ? 'Active' : 'Revoked'}</span>
                  </td>
                  <td>{when(node.createdAt)}</td>
                  {can.writeTokens && (
                    <td>
                      {node.status === 'ACTIVE' && (
                        <button type="button" class="danger" aria-label={`Revoke ${node.name}`} onClick={() => setRevoking(node)}>
                          Revoke
                        </button>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {partners.data && (
        <Pager
          page={cursors.length}
          total={partners.data.totalCount}
          hasNext={partners.data.pageInfo.hasNextPage}
          onPrevious={() => setCursors(cursors.slice(0, -1))}
          onNext={() => setCursors([...cursors, partners.data!.pageInfo.endCursor])}
        />
      )}
      {creating && (
        <CreatePartnerDialog
          onClose={() => setCreating(false)}
          onCreated={(result) => {
            setCreating(false);
            setCreated(result);
            partners.reload();
          }}
        />
      )}
      {created && (
        <SecretDialog
          title={`Partner credential “${created.credential.name}” created`}
          values={[
            { label: 'API key', value: created.apiKey, secret: true },
            { label: 'API secret', value: created.apiSecret, secret: true },
          ]}
          onDone={() => setCreated(null)}
        />
      )}
      {revoking && (
        <RevokePartnerDialog
          partner={revoking}
          onClose={() => setRevoking(null)}
          onRevoked={() => {
            setRevoking(null);
            setNotice(`${revoking.name} is revoked.`);
            partners.reload();
          }}
        />
      )}
    </>
  );
}

function CreatePartnerDialog({ onClose, onCreated }: { onClose(): void; onCreated(result: Created): void }) {
  const { api } = useSession();
  const action = useAction();

  async function submit(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const input = { name: String(form.get('name') ?? '').trim(), subTenantIds: commaList(String(form.get('subTenantIds') ?? '')) };
    const result = await action.run(() => api.mutate<{ createPartnerCredential: Created }>(CREATE_PARTNER, { input }));
    if (result) onCreated(result.createPartnerCredential);
  }

  return (
    <Dialog title="New partner credential" onClose={onClose}>
      <form onSubmit={submit} class="form">
        <div class="field">
          <label for="partner-name">Name</label>
          <input id="partner-name" name="name" required maxLength={200} autoComplete="off" />
        </div>
        <div class="field">
          <label for="partner-subtenants">Subtenant IDs</label>
          <input id="partner-subtenants" name="subTenantIds" autoComplete="off" aria-describedby="partner-subtenants-help" />
          <p id="partner-subtenants-help" class="note">
            Separated by commas. Leave empty to allow every subtenant.
          </p>
        </div>
        <FormActions error={action.error} busy={action.busy} onCancel={onClose} submit="Create" />
      </form>
    </Dialog>
  );
}

function RevokePartnerDialog({ partner, onClose, onRevoked }: { partner: PartnerNode; onClose(): void; onRevoked(): void }) {
  const { api } = useSession();
  const action = useAction();

  async function submit(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const reason = String(form.get('reason') ?? '').trim();
    const result = await action.run(() => api.mutate(REVOKE_PARTNER, { input: { id: partner.id, reason: reason || undefined } }));
    if (result) onRevoked();
  }

  return (
    <Dialog
      title={`Revoke “${partner.name}”?`}
      description="The partner can no longer exchange it, and the access tokens it obtained stop verifying."
      onClose={onClose}
    >
      <form onSubmit={submit} class="form">
        <div class="field">
          <label for="partner-revoke-reason">Reason</label>
          <input id="partner-revoke-reason" name="reason" maxLength={500} autoComplete="off" />
        </div>
        <FormActions error={action.error} busy={action.busy} onCancel={onClose} submit="Revoke" tone="danger" />
      </form>
    </Dialog>
  );
}
