import { useState } from 'preact/hooks';

/** Integrations have no list of their own in the API: a person names the one to show. */
export function IntegrationPicker({ id, value, onPick }: { id: string; value: string; onPick(integration: string): void }) {
  const [draft, setDraft] = useState(value);
  return (
    <form
      class="filters"
      onSubmit={(event) => {
        event.preventDefault();
        onPick(draft.trim());
      }}
    >
      <div class="field">
        <label for={id}>Integration</label>
        <input id={id} value={draft} onInput={(event) => setDraft(event.currentTarget.value)} required autoComplete="off" />
      </div>
      <button type="submit">Show</button>
    </form>
  );
}
