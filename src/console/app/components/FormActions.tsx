import type { ConsoleError } from '../errors';
import { ErrorNote } from './status';

interface FormActionsProps {
  error: ConsoleError | null;
  busy: boolean;
  onCancel(): void;
  /** The submit button's words, which the person reads as the action. */
  submit: string;
  /** `danger` for what cannot be undone. */
  tone?: 'primary' | 'danger';
}

/** The end of every dialog's form: what went wrong, if anything, then Cancel and the action. */
export function FormActions({ error, busy, onCancel, submit, tone = 'primary' }: FormActionsProps) {
  return (
    <>
      <ErrorNote error={error} />
      <div class="actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" class={tone} disabled={busy}>
          {submit}
        </button>
      </div>
    </>
  );
}
