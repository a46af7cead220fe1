import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import type { AuditEntryNode } from '../documents';
import { when } from '../format';

/** Audit entries, each with its details a click away. Event types are shown as the log writes them. */
export function AuditTable({ entries, caption }: { entries: AuditEntryNode[]; caption: string }) {
  const [open, setOpen] = useState<string | null>(null);
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={caption}>
      <table>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Event</th>
            <th scope="col">Resource</th>
            <th scope="col">Actor</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((entry) => (
            <Fragment key={entry.id}>
              <tr>
                <td>{when(entry.occurredAt)}</td>
                <td>
                  <code>{entry.eventType}</code>
                </td>
                <td>
                  {entry.resource.type} <code>{entry.resource.id}</code>
                </td>
                <td>
                  {entry.actor.type} <code>{entry.actor.id}</code>
                </td>
                <td>
                  <button
                    type="button"
                    aria-expanded={open === entry.id}
                    aria-controls={`entry-${entry.id}`}
                    aria-label={`${open === entry.id ? 'Hide' : 'Show'} the details of entry ${entry.position}`}
                    onClick={() => setOpen(open === entry.id ? null : entry.id)}
                  >
                    {open === entry.id ? 'Hide' : 'Show'}
                  </button>
                </td>
              </tr>
              {open === entry.id && (
                <tr id={`entry-${entry.id}`} class="details-row">
                  <td colSpan={5}>
                    <EntryDetails entry={entry} />
                  </td>
                </tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function EntryDetails({ entry }: { entry: AuditEntryNode }) {
  const rows: Array<[string, string]> = [
    ['Position', entry.position],
    ['Event id', entry.id],
    ...Object.entries(entry.changes).map(([field, value]): [string, string] => [field, typeof value === 'string' ? value : JSON.stringify(value)]),
  ];
  if (entry.requestId) rows.push(['Request', entry.requestId]);
  if (entry.ip) rows.push(['Address', entry.ip]);
  if (entry.userAgent) rows.push(['Client', entry.userAgent]);
  rows.push(['Chain hash', entry.hash]);
  return <Pairs rows={rows} monospace />;
}

/** A definition list of label and value pairs; identifiers and hashes read best in monospace. */
export function Pairs({ rows, monospace = false }: { rows: Array<[string, string]>; monospace?: boolean }) {
  return (
    <dl class="details">
      {rows.map(([label, value]) => (
        <div key={label} class="pair">
          <dt>{label}</dt>
          <dd>{monospace ? <code class="wrap">{value}</code> : value}</dd>
        </div>
      ))}
    </dl>
  );
}
