import { useEffect, useMemo, useState } from 'preact/hooks';
import { createApi, type Api } from './api';
import { AuditPage } from './pages/AuditPage';
import { ConnectionsPage } from './pages/ConnectionsPage';
import { IntegrationKeysPage } from './pages/IntegrationKeysPage';
import { PartnersPage } from './pages/PartnersPage';
import { RevocationsPage } from './pages/RevocationsPage';
import { SignInPage } from './pages/SignInPage';
import { TokenPage } from './pages/TokenPage';
import { TokensPage } from './pages/TokensPage';
import { useRoute, type Route } from './router';
import { permissionsOf, SessionContext, type Session, type Viewer } from './session';

interface Signed {
  api: Api;
  viewer: Viewer;
}

/** The signed-in console, or the sign-in page. The credential lives only in this component's state. */
export function App() {
  const [signed, setSigned] = useState<Signed | null>(null);
  const session = useMemo<Session | null>(() => {
    if (!signed) return null;
    return {
      ...signed,
      can: permissionsOf(signed.viewer.roles),
      signOut() {
        signed.api.close();
        setSigned(null);
        window.location.hash = '';
      },
    };
  }, [signed]);

  if (!session) return <SignInPage onSignedIn={(api, viewer) => setSigned({ api, viewer })} createApi={createApi} />;
  return (
    <SessionContext.Provider value={session}>
      <Shell session={session} />
    </SessionContext.Provider>
  );
}

const NAVIGATION: Array<{ page: Route['page']; label: string; allowed(session: Session): boolean }> = [
  { page: 'tokens', label: 'Tokens', allowed: (s) => s.can.readTokens || s.can.writeWebhookTokens },
  { page: 'integration-keys', label: 'Integration keys', allowed: (s) => s.can.readTokens },
  { page: 'connections', label: 'Connections', allowed: (s) => s.can.readConnections },
  { page: 'partners', label: 'Partners', allowed: (s) => s.can.readTokens },
  { page: 'audit', label: 'Audit', allowed: (s) => s.can.readAudit },
  { page: 'revocations', label: 'Revocations', allowed: (s) => s.can.readTokens },
];

function Shell({ session }: { session: Session }) {
  const route = useRoute();
  const entries = NAVIGATION.filter((entry) => entry.allowed(session));
  const current = route.page === 'token' ? 'tokens' : route.page;
  const permitted = entries.some((entry) => entry.page === current);

  useEffect(() => {
    const entry = NAVIGATION.find((candidate) => candidate.page === current);
    document.title = `${route.page === 'token' ? 'Token' : (entry?.label ?? 'Console')} · keyledger console`;
  }, [route, current]);

  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">keyledger</span>
        <nav aria-label="Console">
          <ul>
            {entries.map((entry) => (
              <li key={entry.page}>
                <a href={`#/${entry.page}`} aria-current={entry.page === current ? 'page' : undefined}>
                  {entry.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span class="note">
            {session.viewer.id} · tenant {session.viewer.tenantId}
          </span>
          <button type="button" onClick={session.signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {permitted ? <Page route={route} /> : <NotAllowed />}
      </main>
    </div>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'tokens':
      return <TokensPage />;
    case 'token':
      return <TokenPage id={route.id} />;
    case 'integration-keys':
      return <IntegrationKeysPage />;
    case 'connections':
      return <ConnectionsPage />;
    case 'partners':
      return <PartnersPage />;
    case 'audit':
      return <AuditPage />;
    case 'revocations':
      return <RevocationsPage />;
  }
}

function NotAllowed() {
  return (
    <>
      <h1>Not available</h1>
      <p>Your token's roles do not allow this page. Choose another page above.</p>
    </>
  );
}
