import { useState } from 'preact/hooks';
import { AuditTable } from '../components/AuditTable';
import { Pager } from '../components/Pager';
import { Empty, ErrorNote, Loading } from '../components/status';
import { AUDIT_FINGERPRINT, AUDIT_INTEGRITY, AUDIT_LOG, type AuditEntryNode, type Page } from '../documents';
import { commaList, localToIso } from '../format';
import { useSession } from '../session';
import { useAction, useLoad } from '../useLoad';

interface Filter {
  eventTypes?: string[];
  resourceType?: string;
  resourceId?: string;
  actorId?: string;
  from?: string;
  to?: string;
}

const RESOURCE_TYPES = ['token', 'token-code', 'integration', 'connection', 'partner-credential', 'partner-access-token', 'signing-key', 'deployment-secret', 'audit-head', 'idempotency-key'];

export function AuditPage() {
  const { api } = useSession();
  const [filter, setFilter] = useState<Filter>({});
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const after = cursors[cursors.length - 1];
  const log = useLoad(
    () => api.query<{ auditLog: Page<AuditEntryNode> }>(AUDIT_LOG, { first: 50, after, filter }).then((data) => data.auditLog),
    [filter, after],
  );

  function apply(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const text = (name: string) => String(form.get(name) ?? '').trim();
    const eventTypes = commaList(text('eventTypes'));
    setFilter({
      eventTypes: eventTypes.length > 0 ? eventTypes : undefined,
      resourceType: text('resourceType') || undefined,
      resourceId: text('resourceId') || undefined,
      actorId: text('actorId') || undefined,
      from: localToIso(text('from')) ?? undefined,
      to: localToIso(text('to')) ?? undefined,
    });
    setCursors([null]);
  }

  return (
    <>
      <h1>Audit</h1>
      <Integrity />
      <section aria-labelledby="audit-entries">
        <h2 id="audit-entries">Entries</h2>
        <form class="filters" aria-label="Filter the audit log" onSubmit={apply}>
          <div class="field">
            <label for="audit-event-type">Event type</label>
            <input id="audit-event-type" name="eventTypes" placeholder="TokenRevoked" autoComplete="off" />
          </div>
          <div class="field">
            <label for="audit-resource-type">Resource type</label>
            <select id="audit-resource-type" name="resourceType">
              <option value="">Any</option>
              {RESOURCE_TYPES.map((type) => (
                <option key={type} value={type}>
                  {type}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="audit-resource-id">Resource ID</label>
            <input id="audit-resource-id" name="resourceId" autoComplete="off" />
          </div>
          <div class="field">
            <label for="audit-actor">Actor ID</label>
            <input id="audit-actor" name="actorId" autoComplete="off" />
          </div>
          <div class="field">
            <label for="audit-from">From</label>
            <input id="audit-from" name="from" type="datetime-local" />
          </div>
          <div class="field">
            <label for="audit-to">To</label>
            <input id="audit-to" name="to" type="datetime-local" />
          </div>
          <button type="submit">Apply filters</button>
        </form>
        <ErrorNote error={log.error} />
        {log.loading && !log.data && <Loading what="the audit log" />}
        {log.data && log.data.edges.length === 0 && <Empty>No entries match.</Empty>}
        {log.data && log.data.edges.length > 0 && <AuditTable entries={log.data.edges.map((edge) => edge.node)} caption="Audit entries" />}
        {log.data && (
          <Pager
            page={cursors.length}
            hasNext={log.data.pageInfo.hasNextPage}
            onPrevious={() => setCursors(cursors.slice(0, -1))}
            onNext={() => setCursors([...cursors, log.data!.pageInfo.endCursor])}
          />
        )}
      </section>
      <Export filter={filter} />
      <FingerprintLookup />
    </>
  );
}

interface IntegrityReport {
  ok: boolean;
  entries: number;
  head: string;
  signedHeadsChecked: number;
  firstBreak: { position: string; reason: string; eventId: string } | null;
  brokenSignedHeads: Array<{ position: string; hash: string }>;
}

function Integrity() {
  const { api } = useSession();
  const report = useLoad(() => api.query<{ auditIntegrity: IntegrityReport }>(AUDIT_INTEGRITY).then((data) => data.auditIntegrity), []);
  const data = report.data;
  return (
    <section aria-labelledby="audit-integrity">
      <h2 id="audit-integrity">Integrity</h2>
      <ErrorNote error={report.error} />
      {report.loading && <Loading what="the integrity check" />}
      {data && data.ok && (
        <p class="ok">
          The audit chain is intact: all {data.entries} entries verify
          {data.signedHeadsChecked > 0 ? `, and the ${data.signedHeadsChecked} signed heads match it.` : '. No signed head has been recorded yet.'}
        </p>
      )}
      {data && !data.ok && (
        <p class="error" role="alert">
          The audit chain does not verify.
          {data.firstBreak && ` The first entry that fails is at position ${data.firstBreak.position}: ${data.firstBreak.reason}.`}
          {data.brokenSignedHeads.length > 0 && ` ${data.brokenSignedHeads.length} signed heads no longer match the chain.`}
        </p>
      )}
      <button type="button" onClick={report.reload} disabled={report.loading}>
        Check again
      </button>
    </section>
  );
}

/** The export streams from /audit/export with the bearer; a link could not send it, so the page fetches and saves. */
function Export({ filter }: { filter: Filter }) {
  const { api } = useSession();
  const action = useAction();
  const [format, setFormat] = useState<'ndjson' | 'csv'>('ndjson');

  async function download() {
    const params = new URLSearchParams({ format });
    if (filter.from) params.set('from', filter.from);
    if (filter.to) params.set('to', filter.to);
    const blob = await action.run(() => api.download(`/audit/export?${params}`));
    if (!blob) return;
    const url = URL.createObjectURL(blob);
    const link = document.createElement('a');
    link.href = url;
    link.download = `audit.${format}`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 0);
  }

  return (
    <section aria-labelledby="audit-export">
      <h2 id="audit-export">Export</h2>
      <p class="note">The whole history in the From–To range of the filters above, with a signature line to check it offline.</p>
      <div class="filters">
        <div class="field">
          <label for="audit-format">Format</label>
          <select id="audit-format" value={format} onChange={(event) => setFormat(event.currentTarget.value as 'ndjson' | 'csv')}>
            <option value="ndjson">NDJSON</option>
            <option value="csv">CSV</option>
          </select>
        </div>
        <button type="button" onClick={download} disabled={action.busy}>
          Download export
        </button>
      </div>
      <ErrorNote error={action.error} />
    </section>
  );
}

/** "Was this secret ever seen here?": the entries holding its fingerprint. The value goes to the gateway only. */
function FingerprintLookup() {
  const { api } = useSession();
  const action = useAction();
  const [found, setFound] = useState<AuditEntryNode[] | null>(null);

  async function submit(event: Event) {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const field = form.elements.namedItem('value') as HTMLInputElement;
    const value = field.value;
    if (!value) return;
    const entries = await action.run(async () => {
      const { auditFingerprint } = await api.query<{ auditFingerprint: string }>(AUDIT_FINGERPRINT, { value });
      const { auditLog } = await api.query<{ auditLog: Page<AuditEntryNode> }>(AUDIT_LOG, { first: 100, filter: { fingerprint: auditFingerprint } });
      return auditLog.edges.map((edge) => edge.node);
    });
    // The looked-up value leaves the page once it is answered.
    field.value = '';
    if (entries) setFound(entries);
  }

  return (
    <section aria-labelledby="audit-fingerprint">
      <h2 id="audit-fingerprint">Was this secret ever seen here?</h2>
      <form class="filters" onSubmit={submit}>
        <div class="field">
          <label for="fingerprint-value">Secret or API key</label>
          <input id="fingerprint-value" name="value" type="password" required autoComplete="off" />
        </div>
        <button type="submit" disabled={action.busy}>
          Look up
        </button>
      </form>
      <ErrorNote error={action.error} />
      <div role="status">
        {found && found.length === 0 && <p class="note">No entry holds this value.</p>}
        {found && found.length > 0 && <p class="note">{`${found.length} ${found.length === 1 ? 'entry holds' : 'entries hold'} this value.`}</p>}
      </div>
      {found && found.length > 0 && <AuditTable entries={found} caption="Entries holding the value" />}
    </section>
  );
}
