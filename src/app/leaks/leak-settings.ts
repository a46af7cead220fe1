import { TokenKinds, type TokenKind } from '../../domain/tokens/events';

/** What a confirmed leak of a token does: revoke it, or only record the report for its owners. */
export type LeakPolicy = 'revoke' | 'notify';

export interface LeakSettings {
  /**
   * Where GitHub's secret-scanning public keys are read from: an http(s) URL, or a file
   * holding the same document. Null leaves the secret-scanning endpoint unconfigured.
   */
  githubKeys: { url: string } | { file: string } | null;
  /** The policy per token kind; every kind keyledger generates defaults to `revoke`. */
  policy: Record<TokenKind, LeakPolicy>;
  /** Public revocation requests per client address per minute (0 disables the limit). */
  publicRevocationsPerMinute: number;
}

export const DEFAULT_LEAK_POLICY: Record<TokenKind, LeakPolicy> = { API_TOKEN: 'revoke', WEBHOOK_TOKEN: 'revoke', INTEGRATION_KEY: 'revoke' };
const DEFAULT_PUBLIC_REVOCATIONS_PER_MINUTE = 10;

/**
 * Reads `KEYLEDGER_SECRET_SCANNING_GITHUB_KEYS`, `KEYLEDGER_LEAK_POLICY` (such as
 * `WEBHOOK_TOKEN=notify,API_TOKEN=revoke`) and `KEYLEDGER_PUBLIC_REVOCATIONS_PER_MINUTE`;
 * the problems name each bad variable, for the configuration error.
 */
export function parseLeakSettings(env: NodeJS.ProcessEnv): { settings: LeakSettings; problems: string[] } {
  const problems: string[] = [];
  const keys = env.KEYLEDGER_SECRET_SCANNING_GITHUB_KEYS?.trim() || null;
  let githubKeys: LeakSettings['githubKeys'] = null;
  if (keys !== null) {
    if (/^https?:\/\//i.test(keys)) {
      if (!/^https?:\/\/[^\s/?#@]+(\/[^\s#]*)?$/i.test(keys)) {
        problems.push('KEYLEDGER_SECRET_SCANNING_GITHUB_KEYS: must be an http(s) URL without credentials or fragment, or a file path');
      }
      githubKeys = { url: keys };
    } else {
      githubKeys = { file: keys };
    }
  }

  const policy = { ...DEFAULT_LEAK_POLICY };
  const policyText = env.KEYLEDGER_LEAK_POLICY?.trim();
  if (policyText) {
    for (const entry of policyText.split(',').map((part) => part.trim()).filter(Boolean)) {
      const match = /^([A-Z_]+)=(revoke|notify)$/.exec(entry);
      if (!match || !(TokenKinds as readonly string[]).includes(match[1])) {
        problems.push(`KEYLEDGER_LEAK_POLICY: "${entry.slice(0, 64)}" is not KIND=revoke or KIND=notify, with KIND one of ${TokenKinds.join(', ')}`);
        continue;
      }
      policy[match[1] as TokenKind] = match[2] as LeakPolicy;
    }
  }

  let publicRevocationsPerMinute = DEFAULT_PUBLIC_REVOCATIONS_PER_MINUTE;
  const perMinute = env.KEYLEDGER_PUBLIC_REVOCATIONS_PER_MINUTE?.trim();
  if (perMinute) {
    if (!/^\d{1,7}$/.test(perMinute)) problems.push('KEYLEDGER_PUBLIC_REVOCATIONS_PER_MINUTE: must be a whole number from 0 to 9999999');
    else publicRevocationsPerMinute = Number(perMinute);
  }
  return { settings: { githubKeys, policy, publicRevocationsPerMinute }, problems };
}
