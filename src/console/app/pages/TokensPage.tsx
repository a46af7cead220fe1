import { FormActions } from '../components/FormActions';
import { useState } from 'preact/hooks';
import { Dialog } from '../components/Dialog';
import { Pager } from '../components/Pager';
import { SecretDialog } from '../components/SecretDialog';
import { Empty, ErrorNote, Loading } from '../components/status';
import { ISSUE_TOKEN, TOKENS, type Page, type TokenNode } from '../documents';
import { commaList, KIND_LABELS, localToIso, STATUS_LABELS, when } from '../format';
import { tokenHref } from '../router';
import { useSession } from '../session';
import { useAction, useLoad } from '../useLoad';

const PAGE_SIZE = 20;

export interface Issued {
  secret: string;
  token: TokenNode;
}

export function TokensPage() {
  const { api, can } = useSession();
  const [search, setSearch] = useState('');
  // What is typed stays a draft until Enter: a list that re-renders while someone types keeps their text.
  const [searchDraft, setSearchDraft] = useState('');
  const [kind, setKind] = useState('');
  const [status, setStatus] = useState('');
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const [dialog, setDialog] = useState<'issue' | 'webhook' | null>(null);
  const [issued, setIssued] = useState<Issued | null>(null);

  const filter = { search: search || undefined, kind: kind || undefined, status: status || undefined };
  const after = cursors[cursors.length - 1];
  const tokens = useLoad(
    () =>
      can.readTokens
        ? api.query<{ tokens: Page<TokenNode> }>(TOKENS, { first: PAGE_SIZE, after, filter }).then((data) => data.tokens)
        : Promise.resolve(null),
    [search, kind, status, after],
  );
  const restart = (apply: () => void) => {
    apply();
    setCursors([null]);
  };

  const onIssued = (result: Issued) => {
    setDialog(null);
    setIssued(result);
    tokens.reload();
  };

  return (
    <>
      <div class="page-head">
        <h1>Tokens</h1>
        <div class="actions">
          {can.writeTokens && (
            <button type="button" class="primary" onClick={() => setDialog('issue')}>
              Issue token
            </button>
          )}
          {can.writeWebhookTokens && (
            <button type="button" onClick={() => setDialog('webhook')}>
              Generate webhook token
            </button>
          )}
        </div>
      </div>
      {!can.readTokens && <p class="note">Your roles allow generating personal webhook tokens, not reading the token list.</p>}
      {can.readTokens && (
        <form class="filters" role="search" aria-label="Filter tokens" onSubmit={(event) => {
            event.preventDefault();
            if (searchDraft !== search) restart(() => setSearch(searchDraft));
          }}
        >
          <div class="field">
            <label for="tokens-search">Search</label>
            <input
              id="tokens-search"
              type="search"
              value={searchDraft}
              onInput={(event) => setSearchDraft(event.currentTarget.value)}
              onChange={(event) => event.currentTarget.value !== search && restart(() => setSearch(event.currentTarget.value))}
            />
          </div>
          <div class="field">
            <label for="tokens-kind">Kind</label>
            <select id="tokens-kind" value={kind} onChange={(event) => restart(() => setKind(event.currentTarget.value))}>
              <option value="">Any kind</option>
              {Object.entries(KIND_LABELS).map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="tokens-status">Status</label>
            <select id="tokens-status" value={status} onChange={(event) => restart(() => setStatus(event.currentTarget.value))}>
              <option value="">Any status</option>
              {Object.entries(STATUS_LABELS).map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          </div>
        </form>
      )}
      <ErrorNote error={tokens.error} />
      {can.readTokens && tokens.loading && !tokens.data && <Loading what="tokens" />}
      {tokens.data && tokens.data.edges.length === 0 && <Empty>No tokens match.</Empty>}
      {tokens.data && tokens.data.edges.length > 0 && <TokenTable tokens={tokens.data.edges.map((edge) => edge.node)} caption="Tokens" />}
      {tokens.data && (
        <Pager
          page={cursors.length}
          total={tokens.data.totalCount}
          hasNext={tokens.data.pageInfo.hasNextPage}
          onPrevious={() => setCursors(cursors.slice(0, -1))}
          onNext={() => setCursors([...cursors, tokens.data!.pageInfo.endCursor])}
        />
      )}
      {dialog === 'issue' && <IssueTokenDialog onClose={() => setDialog(null)} onIssued={onIssued} />}
      {dialog === 'webhook' && <WebhookTokenDialog onClose={() => setDialog(null)} onIssued={onIssued} />}
      {issued && (
        <SecretDialog
          title={`Token “${issued.token.name}” issued`}
          values={[{ label: 'Secret', value: issued.secret, secret: true }]}
          onDone={() => setIssued(null)}
        />
      )}
    </>
  );
}

export function TokenTable({ tokens, caption }: { tokens: TokenNode[]; caption: string }) {
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={caption}>
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Kind</th>
            <th scope="col">Status</th>
            <th scope="col">Starts with</th>
            <th scope="col">Roles</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {tokens.map((token) => (
            <tr key={token.id}>
              <td>
                <a href={tokenHref(token.id)}>{token.name}</a>
              </td>
              <td>{KIND_LABELS[token.kind]}</td>
              <td>
                <span class={`status status-${token.status.toLowerCase()}`}>{STATUS_LABELS[token.status]}</span>
              </td>
              <td>
                <code>{token.display}</code>
              </td>
              <td>{token.roles.join(', ') || '—'}</td>
              <td>{when(token.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

interface IssueDialogProps {
  onClose(): void;
  onIssued(result: Issued): void;
}

/** The Cotalker settings panel: name, code, bot identity, access roles, expiry. */
function IssueTokenDialog({ onClose, onIssued }: IssueDialogProps) {
  const { api } = useSession();
  const action = useAction();
  const [avatarPreview, setAvatarPreview] = useState<string | null>(null);

  async function submit(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const text = (name: string) => String(form.get(name) ?? '').trim();
    const input = {
      kind: 'API_TOKEN',
      name: text('name'),
      code: text('code') || undefined,
      botName: text('botName') || undefined,
      avatarUrl: text('avatarUrl') || undefined,
      roles: commaList(text('roles')),
      expiresAt: localToIso(text('expiresAt')) ?? undefined,
    };
    const result = await action.run(() => api.mutate<{ issueToken: Issued }>(ISSUE_TOKEN, { input }));
    if (result) onIssued(result.issueToken);
  }

  return (
    <Dialog title="Issue an API token" onClose={onClose}>
      <form onSubmit={submit} class="form">
        <div class="field">
          <label for="issue-name">Name</label>
          <input id="issue-name" name="name" required maxLength={200} autoComplete="off" />
        </div>
        <div class="field">
          <label for="issue-code">Code</label>
          <input id="issue-code" name="code" maxLength={64} autoComplete="off" aria-describedby="issue-code-help" />
          <p id="issue-code-help" class="note">
            Optional. Letters, digits, dots, dashes and underscores; unique in your tenant.
          </p>
        </div>
        <div class="field">
          <label for="issue-bot-name">Bot name</label>
          <input id="issue-bot-name" name="botName" maxLength={100} autoComplete="off" />
        </div>
        <div class="field">
          <label for="issue-avatar">Avatar URL</label>
          <input
            id="issue-avatar"
            name="avatarUrl"
            type="url"
            placeholder="https://"
            autoComplete="off"
            onChange={(event) => setAvatarPreview(previewable(event.currentTarget.value))}
          />
          {avatarPreview && <img class="avatar" src={avatarPreview} alt="Avatar preview" referrerpolicy="no-referrer" width={48} height={48} />}
        </div>
        <RolesField id="issue-roles" />
        <div class="field">
          <label for="issue-expires">Expires</label>
          <input id="issue-expires" name="expiresAt" type="datetime-local" aria-describedby="issue-expires-help" />
          <p id="issue-expires-help" class="note">
            Optional. Leave empty for a token that does not expire.
          </p>
        </div>
        <FormActions error={action.error} busy={action.busy} onCancel={onClose} submit="Issue" />
      </form>
    </Dialog>
  );
}

export function RolesField({ id, value }: { id: string; value?: string }) {
  return (
    <div class="field">
      <label for={id}>Roles</label>
      <input id={id} name="roles" autoComplete="off" defaultValue={value} aria-describedby={`${id}-help`} />
      <p id={`${id}-help`} class="note">
        Separated by commas, such as <code>orders:read, orders:write</code>. keyledger roles (<code>keyledger:…</code>) must be ones you hold.
      </p>
    </div>
  );
}

/** Only an https URL is shown, as the gateway accepts only those. */
export function previewable(value: string): string | null {
  try {
    const url = new URL(value.trim());
    return url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/**
 * Zoho Cliq's token generation prompt: a confirm dialog with a title and a description, then
 * the personal webhook token for the user is generated.
 */
function WebhookTokenDialog({ onClose, onIssued }: IssueDialogProps) {
  const { api } = useSession();
  const action = useAction();

  async function submit(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const text = (name: string) => String(form.get(name) ?? '').trim();
    const input = { kind: 'WEBHOOK_TOKEN', ownerId: text('ownerId'), name: text('name'), roles: commaList(text('roles')) };
    const result = await action.run(() => api.mutate<{ issueToken: Issued }>(ISSUE_TOKEN, { input }));
    if (result) onIssued(result.issueToken);
  }

  return (
    <Dialog
      title="Generate a personal webhook token"
      description="The token lets a webhook post on behalf of one user. Its secret is shown once, right after you generate it."
      onClose={onClose}
    >
      <form onSubmit={submit} class="form">
        <div class="field">
          <label for="webhook-owner">User ID</label>
          <input id="webhook-owner" name="ownerId" required autoComplete="off" />
        </div>
        <div class="field">
          <label for="webhook-name">Name</label>
          <input id="webhook-name" name="name" required maxLength={200} defaultValue="Webhook" autoComplete="off" />
        </div>
        <RolesField id="webhook-roles" />
        <FormActions error={action.error} busy={action.busy} onCancel={onClose} submit="Generate" />
      </form>
    </Dialog>
  );
}
