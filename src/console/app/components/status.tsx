import type { ConsoleError } from '../errors';

export function ErrorNote({ error }: { error: ConsoleError | null }) {
  if (!error) return null;
  return (
    <p role="alert" class="error">
      {error.sentence}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p role="status" class="note">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: string }) {
  return <p class="note empty">{children}</p>;
}
