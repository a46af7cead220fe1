import { useEffect, useRef, useState } from 'preact/hooks';
import type { Api } from '../api';
import { ErrorNote } from '../components/status';
import { VIEWER } from '../documents';
import { toConsoleError, type ConsoleError } from '../errors';
import type { Viewer } from '../session';

interface SignInProps {
  createApi(bearer: string): Api;
  onSignedIn(api: Api, viewer: Viewer): void;
}

export function SignInPage({ createApi, onSignedIn }: SignInProps) {
  const [error, setError] = useState<ConsoleError | null>(null);
  const [busy, setBusy] = useState(false);
  const field = useRef<HTMLInputElement>(null);

  useEffect(() => {
    document.title = 'Sign in · keyledger console';
  }, []);

  async function submit(event: Event) {
    event.preventDefault();
    const input = field.current!;
    const bearer = input.value.trim();
    if (!bearer) {
      input.focus();
      return;
    }
    setBusy(true);
    setError(null);
    const api = createApi(bearer);
    try {
      const { viewer } = await api.query<{ viewer: Viewer }>(VIEWER);
      // The field no longer holds it; only the API client does, in memory.
      input.value = '';
      onSignedIn(api, viewer);
    } catch (caught) {
      api.close();
      setError(toConsoleError(caught));
      setBusy(false);
      input.focus();
    }
  }

  return (
    <main class="sign-in" id="main">
      <h1>keyledger console</h1>
      <p>Manage API tokens, webhook tokens, integration keys, connections and partner credentials, and read the audit history.</p>
      <form onSubmit={submit} class="card">
        <label for="sign-in-token">Token</label>
        <input id="sign-in-token" ref={field} type="password" autoComplete="off" spellcheck={false} required aria-describedby="sign-in-help" />
        <p id="sign-in-help" class="note">
          A keyledger token. It stays in this tab's memory only: reloading or closing the tab signs you out.
        </p>
        <ErrorNote error={error} />
        <button type="submit" class="primary" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
