import { useState } from 'preact/hooks';
import { Dialog } from './Dialog';

export interface ShownValue {
  label: string;
  value: string;
  /** The value the warning is about; Copy copies it. */
  secret?: boolean;
}

interface SecretDialogProps {
  title: string;
  values: ShownValue[];
  /** Closing drops the values: the caller forgets them, so they leave the page. */
  onDone(): void;
}

/** Shows a secret once, with Copy and the warning that it will not be shown again. */
export function SecretDialog({ title, values, onDone }: SecretDialogProps) {
  const [copied, setCopied] = useState<string | null>(null);
  const [copyFailed, setCopyFailed] = useState(false);
  const copyable = values.filter((value) => value.secret);

  async function copy(value: ShownValue) {
    try {
      await navigator.clipboard.writeText(value.value);
      setCopied(value.label);
      setCopyFailed(false);
    } catch {
      setCopyFailed(true);
    }
  }

  return (
    <Dialog title={title} description="Copy it now: it will not be shown again. keyledger keeps only a hash of it." onClose={onDone}>
      <dl class="secret-values">
        {values.map((value) => (
          <div key={value.label}>
            <dt>{value.label}</dt>
            <dd>
              <code class="secret">{value.value}</code>
            </dd>
          </div>
        ))}
      </dl>
      <div class="actions">
        {copyable.map((value) => (
          <button key={value.label} type="button" onClick={() => copy(value)}>
            {copyable.length === 1 ? 'Copy' : `Copy ${value.label.toLowerCase()}`}
          </button>
        ))}
        <button type="button" class="primary" onClick={onDone}>
          Done
        </button>
      </div>
      <p role="status" class="note">
        {copied ? `${copied} copied to the clipboard.` : copyFailed ? 'The browser did not allow copying: select the text and copy it yourself.' : ''}
      </p>
    </Dialog>
  );
}
