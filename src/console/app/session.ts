import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { holdsRole, Role, type KeyledgerRole } from '../../domain/access/roles';
import type { Api } from './api';

export interface Viewer {
  id: string;
  tenantId: string;
  roles: string[];
}

/** Issues personal webhook tokens only; a token holding it alone manages no other kind. */
const WEBHOOK_TOKENS_WRITE = 'keyledger:webhook-tokens:write';

/**
 * What the signed-in roles allow, with the gateway's own role implications. It only decides
 * which actions the console offers: the gateway checks every request again.
 */
export function permissionsOf(roles: readonly string[]) {
  const holds = (role: KeyledgerRole) => holdsRole(roles, role);
  return {
    readTokens: holds(Role.tokensRead),
    writeTokens: holds(Role.tokensWrite),
    writeWebhookTokens: holds(Role.tokensWrite) || roles.includes(WEBHOOK_TOKENS_WRITE),
    readConnections: holds(Role.connectionsRead),
    writeConnections: holds(Role.connectionsWrite),
    readAudit: holds(Role.auditRead),
  };
}
export type Permissions = ReturnType<typeof permissionsOf>;

export interface Session {
  api: Api;
  viewer: Viewer;
  can: Permissions;
  signOut(): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in console');
  return session;
}
