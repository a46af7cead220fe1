import { useState } from 'preact/hooks';
import { Pairs } from '../components/AuditTable';
import { Dialog } from '../components/Dialog';
import { FormActions } from '../components/FormActions';
import { Empty, ErrorNote, Loading } from '../components/status';
import { TOKEN_USAGE, UPDATE_TOKEN, type RateLimit, type RefillInterval, type TokenCredits, type TokenNode, type UsageBucket } from '../documents';
import type { ConsoleError } from '../errors';
import { when } from '../format';
import { useSession } from '../session';
import { useAction, useLoad } from '../useLoad';

const REFILLS: Record<RefillInterval, string> = { DAILY: 'each day (at UTC midnight)', MONTHLY: 'each month (on the 1st, UTC)' };

export function CreditsDetails({ credits }: { credits: TokenCredits | null | undefined }) {
  if (!credits) return <p class="note">None: verifications spend nothing.</p>;
  const { refill } = credits;
  return (
    <Pairs
      rows={[
        ['Remaining', credits.remaining.toLocaleString()],
        ['Refill', refill ? `${refill.amount.toLocaleString()} ${REFILLS[refill.interval]}` : 'Never'],
        ['Next refill', refill ? when(credits.refillsAt) : '—'],
      ]}
    />
  );
}

/** 86400 → "1 day", 90 → "90 seconds": the largest unit the window is a whole number of. */
export function windowText(seconds: number): string {
  for (const [size, unit] of [[86400, 'day'], [3600, 'hour'], [60, 'minute'], [1, 'second']] as const) {
    if (seconds % size === 0) return `${seconds / size} ${unit}${seconds === size ? '' : 's'}`;
  }
  return `${seconds} seconds`;
}

export function RateLimitTable({ limits }: { limits: RateLimit[] | undefined }) {
  if (!limits?.length) return <p class="note">None: verifications are not rate limited.</p>;
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label="Rate limits table">
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Limit</th>
            <th scope="col">Window</th>
          </tr>
        </thead>
        <tbody>
          {limits.map((limit) => (
            <tr key={limit.name}>
              <th scope="row">{limit.name}</th>
              <td>{limit.limit.toLocaleString()}</td>
              <td>{windowText(limit.durationSeconds)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The gateway's refusal when it names `field` (or a field under it), shown beside that field. */
function FieldError({ error, field, id }: { error: ConsoleError | null; field: string; id: string }) {
  if (!error?.field?.startsWith(field)) return null;
  return (
    <p id={id} role="alert" class="error">
      {error.sentence}
    </p>
  );
}

interface Row {
  key: number;
  name: string;
  limit: string;
  durationSeconds: string;
}

let rowKeys = 0;
const row = (limit?: RateLimit): Row => ({
  key: rowKeys++,
  name: limit?.name ?? '',
  limit: limit ? String(limit.limit) : '',
  durationSeconds: limit ? String(limit.durationSeconds) : '60',
});

/** Credits and rate limits; only what changed is sent, since setting credits sets the balance. */
export function LimitsDialog({ token, onClose, onSaved }: { token: TokenNode; onClose(): void; onSaved(): void }) {
  const { api } = useSession();
  const action = useAction();
  const [metered, setMetered] = useState(!!token.credits);
  const [interval, setRefill] = useState<string>(token.credits?.refill?.interval ?? '');
  const [rows, setRows] = useState<Row[]>(() => (token.rateLimits ?? []).map(row));
  const error = action.error;
  const beside = !!error?.field && /^(credits|rateLimits)/.test(error.field);
  const invalid = (field: string) => (error?.field?.startsWith(field) ? true : undefined);
  const describe = (help: string | null, field: string, id: string) => [help, invalid(field) && id].filter(Boolean).join(' ') || undefined;
  const edit = (key: number, change: Partial<Row>) => setRows(rows.map((r) => (r.key === key ? { ...r, ...change } : r)));

  async function submit(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const input: Record<string, unknown> = { id: token.id };
    const credits = metered
      ? { remaining: Number(form.get('remaining')), refill: interval ? { amount: Number(form.get('amount')), interval } : null }
      : null;
    const current = token.credits ? { remaining: token.credits.remaining, refill: token.credits.refill } : null;
    if (JSON.stringify(credits) !== JSON.stringify(current)) input.credits = credits;
    const limits = rows.map((r) => ({ name: r.name.trim(), limit: Number(r.limit), durationSeconds: Number(r.durationSeconds) }));
    if (JSON.stringify(limits) !== JSON.stringify(token.rateLimits ?? [])) input.rateLimits = limits;
    const result = await action.run(() => (Object.keys(input).length > 1 ? api.mutate(UPDATE_TOKEN, { input }) : Promise.resolve(true)));
    if (result) onSaved();
  }

  return (
    <Dialog title={`Usage limits of “${token.name}”`} onClose={onClose}>
      <form onSubmit={submit} class="form">
        <fieldset>
          <legend>Credits</legend>
          <label class="check">
            <input type="checkbox" checked={metered} onChange={(event) => setMetered(event.currentTarget.checked)} /> Each verification spends credits
          </label>
          {metered && (
            <>
              <div class="field">
                <label for="credits-remaining">Balance</label>
                <input
                  id="credits-remaining"
                  name="remaining"
                  type="number"
                  required
                  min={0}
                  defaultValue={String(token.credits?.remaining ?? 1000)}
                  aria-invalid={invalid('credits.remaining')}
                  aria-describedby={describe('credits-remaining-help', 'credits.remaining', 'credits-remaining-error')}
                />
                <p id="credits-remaining-help" class="note">
                  Saving sets the balance to this number.
                </p>
                <FieldError error={error} field="credits.remaining" id="credits-remaining-error" />
              </div>
              <div class="field">
                <label for="credits-interval">Refill</label>
                <select id="credits-interval" value={interval} onChange={(event) => setRefill(event.currentTarget.value)}>
                  <option value="">Never</option>
                  <option value="DAILY">Daily, at UTC midnight</option>
                  <option value="MONTHLY">Monthly, on the 1st (UTC)</option>
                </select>
              </div>
              {interval && (
                <div class="field">
                  <label for="credits-amount">Refill amount</label>
                  <input
                    id="credits-amount"
                    name="amount"
                    type="number"
                    required
                    min={1}
                    defaultValue={String(token.credits?.refill?.amount ?? 1000)}
                    aria-invalid={invalid('credits.refill')}
                    aria-describedby={describe('credits-amount-help', 'credits.refill', 'credits-amount-error')}
                  />
                  <p id="credits-amount-help" class="note">
                    The balance each period starts with.
                  </p>
                  <FieldError error={error} field="credits.refill" id="credits-amount-error" />
                </div>
              )}
            </>
          )}
        </fieldset>
        <fieldset>
          <legend>Rate limits</legend>
          <FieldError error={error} field="rateLimits" id="limits-error" />
          {rows.length === 0 && <p class="note">None.</p>}
          {rows.map((r, i) => (
            <fieldset key={r.key} class="limit-row">
              <legend>Rate limit {i + 1}</legend>
              {(
                [
                  ['name', 'Name', 'text'],
                  ['limit', 'Limit', 'number'],
                  ['durationSeconds', 'Window (seconds)', 'number'],
                ] as const
              ).map(([field, label, type]) => (
                <div class="field" key={field}>
                  <label for={`limit-${r.key}-${field}`}>{label}</label>
                  <input
                    id={`limit-${r.key}-${field}`}
                    type={type as 'text'}
                    required
                    autoComplete="off"
                    value={r[field]}
                    aria-invalid={invalid(`rateLimits.${field}`)}
                    aria-describedby={describe(null, `rateLimits.${field}`, 'limits-error')}
                    onInput={(event) => edit(r.key, { [field]: event.currentTarget.value })}
                  />
                </div>
              ))}
              <button type="button" onClick={() => setRows(rows.filter((other) => other !== r))}>
                Remove rate limit {i + 1}
              </button>
            </fieldset>
          ))}
          <button type="button" onClick={() => setRows([...rows, row()])}>
            Add rate limit
          </button>
        </fieldset>
        <FormActions error={beside ? null : error} busy={action.busy} onCancel={onClose} submit="Save" />
      </form>
    </Dialog>
  );
}

const CODES = ['VALID', 'USAGE_EXCEEDED', 'RATE_LIMITED', 'DISABLED', 'INSUFFICIENT_ROLES', 'EXPIRED', 'REVOKED'];
const HOUR = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const DAY = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' });

/** Verification outcomes by code, per hour over the last 24 hours or per day over the last 30. */
export function UsageSection({ id, onRefresh }: { id: string; onRefresh(): void }) {
  const { api } = useSession();
  const [days, setDays] = useState(false);
  const usage = useLoad(() => {
    const to = new Date();
    const from = new Date(to.getTime() - (days ? 30 : 1) * 86_400_000);
    const variables = { id, from: from.toISOString(), to: to.toISOString(), granularity: days ? 'DAY' : 'HOUR' };
    return api.query<{ tokenUsage: UsageBucket[] }>(TOKEN_USAGE, variables).then((data) => data.tokenUsage.slice().reverse());
  }, [id, days]);
  const buckets = usage.data;
  const codes = CODES.filter((code) => buckets?.some((bucket) => bucket.outcomes.some((outcome) => outcome.code === code)));
  const caption = days ? 'Verifications per day, last 30 days' : 'Verifications per hour, last 24 hours';

  return (
    <>
      <div class="actions" role="group" aria-label="Usage period">
        <button type="button" aria-pressed={!days} onClick={() => setDays(false)}>
          Last 24 hours
        </button>
        <button type="button" aria-pressed={days} onClick={() => setDays(true)}>
          Last 30 days
        </button>
        <button
          type="button"
          onClick={() => {
            usage.reload();
            onRefresh();
          }}
        >
          Refresh
        </button>
      </div>
      <p class="note">Counts arrive within seconds of a verification.</p>
      <ErrorNote error={usage.error} />
      {usage.loading && !buckets && <Loading what="the usage" />}
      {buckets?.length === 0 && <Empty>{days ? 'No verifications in the last 30 days.' : 'No verifications in the last 24 hours.'}</Empty>}
      {!!buckets?.length && (
        <div class="table-wrap" tabIndex={0} role="region" aria-label={caption}>
          <table>
            <caption>{caption}</caption>
            <thead>
              <tr>
                <th scope="col">{days ? 'Day (UTC)' : 'Hour from'}</th>
                <th scope="col">Total</th>
                {codes.map((code) => (
                  <th scope="col" key={code}>
                    {code}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {buckets.map((bucket) => (
                <tr key={bucket.start}>
                  <th scope="row">{(days ? DAY : HOUR).format(new Date(bucket.start))}</th>
                  <td>{bucket.total}</td>
                  {codes.map((code) => (
                    <td key={code}>{bucket.outcomes.find((outcome) => outcome.code === code)?.count ?? 0}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
