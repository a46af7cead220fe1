import type { TokenKind } from '../../domain/tokens/events';
import { TOKEN_CHECKSUM_LENGTH, TOKEN_RANDOM_LENGTH } from '../../crypto/token-format';
import { TOKEN_PREFIXES } from '../tokens/token-issuer';

/** What an operator registers with a code host's secret scanning, per token kind keyledger generates. */
export interface ScanPattern {
  kind: TokenKind;
  prefix: string;
  /** The `type` name to register; the code host sends it back with each match. */
  tokenType: string;
  /** The token as a regular expression: the prefix, `_`, then random and checksum characters in base62. */
  regex: string;
}

const TOKEN_TYPES: Record<TokenKind, string> = {
  API_TOKEN: 'keyledger_api_token',
  WEBHOOK_TOKEN: 'keyledger_webhook_token',
  INTEGRATION_KEY: 'keyledger_integration_key',
};

export const SCAN_PATTERNS: readonly ScanPattern[] = (Object.keys(TOKEN_PREFIXES) as TokenKind[]).map((kind) => ({
  kind,
  prefix: TOKEN_PREFIXES[kind],
  tokenType: TOKEN_TYPES[kind],
  regex: `\\b${TOKEN_PREFIXES[kind]}_[0-9A-Za-z]{${TOKEN_RANDOM_LENGTH + TOKEN_CHECKSUM_LENGTH}}\\b`,
}));
