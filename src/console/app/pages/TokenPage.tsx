import { FormActions } from '../components/FormActions';
import { useState } from 'preact/hooks';
import { AuditTable, Pairs } from '../components/AuditTable';
import { Dialog } from '../components/Dialog';
import { SecretDialog } from '../components/SecretDialog';
import { Empty, ErrorNote, Loading } from '../components/status';
import { AUDIT_LOG, REVOKE_TOKEN, ROTATE_TOKEN, TOKEN, UPDATE_TOKEN, type AuditEntryNode, type Page, type TokenNode } from '../documents';
import { commaList, isoToLocal, KIND_LABELS, localToIso, STATUS_LABELS, when } from '../format';
import { ConsoleError } from '../errors';
import { useSession } from '../session';
import { useAction, useLoad } from '../useLoad';
import { previewable, RolesField, type Issued } from './TokensPage';
import { CreditsDetails, LimitsDialog, RateLimitTable, UsageSection } from './TokenUsage';

type Open = 'edit' | 'limits' | 'rotate' | 'revoke' | null;

export function TokenPage({ id }: { id: string }) {
  const { api, can } = useSession();
  const [open, setOpen] = useState<Open>(null);
  const [rotated, setRotated] = useState<Issued | null>(null);
  const [notice, setNotice] = useState('');
  const token = useLoad(() => api.query<{ token: TokenNode | null }>(TOKEN, { id }).then((data) => data.token), [id]);
  const history = useLoad(
    () =>
      can.readAudit
        ? api
            .query<{ auditLog: Page<AuditEntryNode> }>(AUDIT_LOG, { first: 50, filter: { resourceType: 'token', resourceId: id } })
            .then((data) => data.auditLog.edges.map((edge) => edge.node))
        : Promise.resolve(null),
    [id],
  );
  const done = (message: string) => {
    setOpen(null);
    setNotice(message);
    token.reload();
    history.reload();
  };

  if (token.loading && !token.data) return <Loading what="the token" />;
  if (token.error) return <ErrorNote error={token.error} />;
  const current = token.data;
  if (!current) {
    return (
      <>
        <h1>No such token</h1>
        <p>
          There is no token with this id in your tenant. <a href="#/tokens">Back to the tokens</a>.
        </p>
      </>
    );
  }
  const writable = can.writeTokens && current.status !== 'REVOKED';

  return (
    <>
      <p>
        <a href="#/tokens">All tokens</a>
      </p>
      <div class="page-head">
        <h1>{current.name}</h1>
        {writable && (
          <div class="actions">
            <button type="button" onClick={() => setOpen('edit')}>
              Edit
            </button>
            <button type="button" onClick={() => setOpen('limits')}>
              Usage limits
            </button>
            <EnableButton token={current} onChanged={done} />
            <button type="button" onClick={() => setOpen('rotate')}>
              Rotate
            </button>
            <button type="button" class="danger" onClick={() => setOpen('revoke')}>
              Revoke
            </button>
          </div>
        )}
      </div>
      <p role="status" class="note">
        {notice}
      </p>
      <section aria-labelledby="token-details">
        <h2 id="token-details">Details</h2>
        <TokenDetails token={current} />
      </section>
      <section aria-labelledby="token-credits">
        <h2 id="token-credits">Credits</h2>
        <CreditsDetails credits={current.credits} />
      </section>
      <section aria-labelledby="token-rate-limits">
        <h2 id="token-rate-limits">Rate limits</h2>
        <RateLimitTable limits={current.rateLimits} />
      </section>
      <section aria-labelledby="token-usage">
        <h2 id="token-usage">Usage</h2>
        <UsageSection id={current.id} onRefresh={token.reload} />
      </section>
      <section aria-labelledby="token-history">
        <h2 id="token-history">History</h2>
        {!can.readAudit && <p class="note">Your roles do not include reading the audit history.</p>}
        <ErrorNote error={history.error} />
        {history.loading && !history.data && <Loading what="the history" />}
        {history.data && history.data.length === 0 && <Empty>No history yet.</Empty>}
        {history.data && history.data.length > 0 && <AuditTable entries={history.data} caption="Token history" />}
      </section>
      {open === 'edit' && <EditDialog token={current} onClose={() => setOpen(null)} onSaved={() => done('Changes saved.')} />}
      {open === 'limits' && <LimitsDialog token={current} onClose={() => setOpen(null)} onSaved={() => done('Usage limits saved.')} />}
      {open === 'rotate' && (
        <RotateDialog
          token={current}
          onClose={() => setOpen(null)}
          onRotated={(result) => {
            done('The token has a new secret.');
            setRotated(result);
          }}
        />
      )}
      {open === 'revoke' && <RevokeDialog token={current} onClose={() => setOpen(null)} onRevoked={() => done('The token is revoked.')} />}
      {rotated && (
        <SecretDialog
          title={`New secret for “${rotated.token.name}”`}
          values={[{ label: 'Secret', value: rotated.secret, secret: true }]}
          onDone={() => setRotated(null)}
        />
      )}
    </>
  );
}

function TokenDetails({ token }: { token: TokenNode }) {
  const rows: Array<[string, string]> = [
    ['Id', token.id],
    ['Kind', KIND_LABELS[token.kind]],
    ['Status', STATUS_LABELS[token.status]],
    ['Starts with', token.display],
    ['Roles', token.roles.join(', ') || '—'],
  ];
  if (token.kind === 'API_TOKEN') rows.push(['Code', token.code ?? '—'], ['Bot name', token.botName ?? '—'], ['Avatar URL', token.avatarUrl ?? '—']);
  rows.push(['Enabled', token.enabled ? 'Yes' : 'No: paused, every check refuses it until it is enabled']);
  rows.push(['External id', token.externalId ?? '—'], ['Meta', token.meta ? JSON.stringify(token.meta) : '—']);
  if (token.ownerId) rows.push(['User', token.ownerId]);
  if (token.integrationId) rows.push(['Integration', token.integrationId]);
  rows.push(
    ['Created', when(token.createdAt)],
    ['Last changed', when(token.updatedAt)],
    ['Expires', token.expiresAt ? when(token.expiresAt) : 'Never'],
    ['Last rotated', when(token.rotatedAt)],
    ['Last used', when(token.lastUsedAt)],
  );
  if (token.revokedAt) rows.push(['Revoked', when(token.revokedAt)]);
  return (
    <>
      {token.avatarUrl && <img class="avatar" src={token.avatarUrl} alt={`Avatar of ${token.botName ?? token.name}`} referrerpolicy="no-referrer" width={48} height={48} />}
      <Pairs rows={rows} />
    </>
  );
}

interface TokenDialogProps {
  token: TokenNode;
  onClose(): void;
}

function EditDialog({ token, onClose, onSaved }: TokenDialogProps & { onSaved(): void }) {
  const { api } = useSession();
  const action = useAction();
  const [avatarPreview, setAvatarPreview] = useState<string | null>(token.avatarUrl);
  const apiToken = token.kind === 'API_TOKEN';

  async function submit(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const text = (name: string) => String(form.get(name) ?? '').trim();
    // Only what changed is sent, so an unchanged form records nothing.
    const input: Record<string, unknown> = { id: token.id };
    if (text('name') !== token.name) input.name = text('name');
    const roles = commaList(text('roles'));
    if (roles.join(',') !== token.roles.join(',')) input.roles = roles;
    if (apiToken) {
      if (text('botName') !== (token.botName ?? '')) input.botName = text('botName') || null;
      if (text('avatarUrl') !== (token.avatarUrl ?? '')) input.avatarUrl = text('avatarUrl') || null;
    }
    if (text('expiresAt') !== isoToLocal(token.expiresAt)) input.expiresAt = localToIso(text('expiresAt'));
    if (text('externalId') !== (token.externalId ?? '')) input.externalId = text('externalId') || null;
    if (text('meta') !== metaText(token.meta)) input.meta = text('meta') ? parseMeta(text('meta')) : null;
    const result = await action.run(() => {
      if (input.meta instanceof ConsoleError) throw input.meta;
      return api.mutate(UPDATE_TOKEN, { input });
    });
    if (result) onSaved();
  }

  return (
    <Dialog title={`Edit “${token.name}”`} onClose={onClose}>
      <form onSubmit={submit} class="form">
        <div class="field">
          <label for="edit-name">Name</label>
          <input id="edit-name" name="name" required maxLength={200} defaultValue={token.name} autoComplete="off" />
        </div>
        <RolesField id="edit-roles" value={token.roles.join(', ')} />
        {apiToken && (
          <>
            <div class="field">
              <label for="edit-bot-name">Bot name</label>
              <input id="edit-bot-name" name="botName" maxLength={100} defaultValue={token.botName ?? ''} autoComplete="off" />
            </div>
            <div class="field">
              <label for="edit-avatar">Avatar URL</label>
              <input
                id="edit-avatar"
                name="avatarUrl"
                type="url"
                defaultValue={token.avatarUrl ?? ''}
                autoComplete="off"
                onChange={(event) => setAvatarPreview(previewable(event.currentTarget.value))}
              />
              {avatarPreview && <img class="avatar" src={avatarPreview} alt="Avatar preview" referrerpolicy="no-referrer" width={48} height={48} />}
            </div>
          </>
        )}
        <div class="field">
          <label for="edit-expires">Expires</label>
          <input id="edit-expires" name="expiresAt" type="datetime-local" defaultValue={isoToLocal(token.expiresAt)} />
        </div>
        <div class="field">
          <label for="edit-external-id">External id</label>
          <input id="edit-external-id" name="externalId" maxLength={256} defaultValue={token.externalId ?? ''} autoComplete="off" aria-describedby="edit-external-id-help" />
          <p id="edit-external-id-help" class="note">
            Optional. The customer the token belongs to, in your own terms.
          </p>
        </div>
        <div class="field">
          <label for="edit-meta">Meta</label>
          <textarea id="edit-meta" name="meta" rows={5} defaultValue={metaText(token.meta)} aria-describedby="edit-meta-help" />
          <p id="edit-meta-help" class="note">
            Optional. A JSON object of at most 16 KB, returned whenever the token is verified: never put secrets in it.
          </p>
        </div>
        <FormActions error={action.error} busy={action.busy} onCancel={onClose} submit="Save" />
      </form>
    </Dialog>
  );
}

function metaText(meta: Record<string, unknown> | null): string {
  return meta ? JSON.stringify(meta, null, 2) : '';
}

/** The meta typed in, or the error to show when it is no JSON object; the server checks the rest. */
function parseMeta(text: string): unknown {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed;
  } catch {
    // reported below
  }
  return new ConsoleError('BAD_USER_INPUT', 'meta must be a JSON object, such as {"plan": "pro"}');
}

/** Pausing is undone by enabling, so it needs no confirmation. */
function EnableButton({ token, onChanged }: { token: TokenNode; onChanged(message: string): void }) {
  const { api } = useSession();
  const action = useAction();
  async function toggle() {
    const enabled = !token.enabled;
    const result = await action.run(() => api.mutate(UPDATE_TOKEN, { input: { id: token.id, enabled } }));
    if (result) onChanged(enabled ? 'The token is enabled again.' : 'The token is disabled: every check refuses it until you enable it.');
  }
  return (
    <>
      <button type="button" onClick={toggle} disabled={action.busy}>
        {token.enabled ? 'Disable' : 'Enable'}
      </button>
      <ErrorNote error={action.error} />
    </>
  );
}

const GRACE_PERIODS: Array<[number, string]> = [
  [0, 'None: the old secret stops at once'],
  [3600, '1 hour'],
  [86400, '1 day'],
  [604800, '7 days'],
  [2592000, '30 days'],
];

function RotateDialog({ token, onClose, onRotated }: TokenDialogProps & { onRotated(result: Issued): void }) {
  const { api } = useSession();
  const action = useAction();

  async function submit(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const input = { id: token.id, gracePeriodSeconds: Number(form.get('grace')) };
    const result = await action.run(() => api.mutate<{ rotateToken: Issued }>(ROTATE_TOKEN, { input }));
    if (result) onRotated(result.rotateToken);
  }

  return (
    <Dialog
      title={`Rotate “${token.name}”`}
      description="The token gets a new secret, shown once. The current secret keeps working for the grace period, then stops."
      onClose={onClose}
    >
      <form onSubmit={submit} class="form">
        <div class="field">
          <label for="rotate-grace">Grace period</label>
          <select id="rotate-grace" name="grace" defaultValue="86400">
            {GRACE_PERIODS.map(([seconds, label]) => (
              <option key={seconds} value={String(seconds)}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <FormActions error={action.error} busy={action.busy} onCancel={onClose} submit="Rotate" />
      </form>
    </Dialog>
  );
}

function RevokeDialog({ token, onClose, onRevoked }: TokenDialogProps & { onRevoked(): void }) {
  const { api } = useSession();
  const action = useAction();

  async function submit(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const reason = String(form.get('reason') ?? '').trim();
    const result = await action.run(() => api.mutate(REVOKE_TOKEN, { input: { id: token.id, reason: reason || undefined } }));
    if (result) onRevoked();
  }

  return (
    <Dialog title={`Revoke “${token.name}”?`} description="Every service refuses the token from now on. This cannot be undone." onClose={onClose}>
      <form onSubmit={submit} class="form">
        <div class="field">
          <label for="revoke-reason">Reason</label>
          <input id="revoke-reason" name="reason" maxLength={500} autoComplete="off" aria-describedby="revoke-reason-help" />
          <p id="revoke-reason-help" class="note">
            Optional. Kept in the audit history.
          </p>
        </div>
        <FormActions error={action.error} busy={action.busy} onCancel={onClose} submit="Revoke" tone="danger" />
      </form>
    </Dialog>
  );
}
