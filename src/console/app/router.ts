import { useEffect, useState } from 'preact/hooks';

/**
 * Routes live in the URL fragment, so the gateway serves one page at /console and moving
 * between pages never reloads it (which would drop the credential held in memory).
 */
export type Route =
  | { page: 'tokens' }
  | { page: 'token'; id: string }
  | { page: 'integration-keys' }
  | { page: 'connections' }
  | { page: 'partners' }
  | { page: 'audit' }
  | { page: 'revocations' };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#\/?/, '');
  const [first, second] = path.split('/');
  if (first === 'tokens' && second) return { page: 'token', id: decodeURIComponent(second) };
  if (first === 'integration-keys' || first === 'connections' || first === 'partners' || first === 'audit' || first === 'revocations') return { page: first };
  return { page: 'tokens' };
}

export const tokenHref = (id: string) => `#/tokens/${encodeURIComponent(id)}`;

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
