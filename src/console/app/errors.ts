import type { CombinedError } from '@urql/core';

/** What went wrong, as a person should read it: a sentence per code, never a body or a stack. */
const SENTENCES: Record<string, string> = {
  UNAUTHENTICATED: 'The gateway did not accept your token. It may have been revoked or have expired: sign in again.',
  FORBIDDEN: 'Your token is not allowed to do this.',
  BAD_USER_INPUT: 'The gateway did not accept what was entered.',
  NOT_FOUND: 'That does not exist, or is not in your tenant.',
  CONFLICT: 'That clashes with something that already exists.',
  RATE_LIMITED: 'Too many requests in a short time. Wait a moment and try again.',
  UNAVAILABLE: 'The gateway cannot save changes right now. Try again shortly.',
  INTERNAL_SERVER_ERROR: 'Something went wrong in the gateway. Try again; if it keeps happening, tell its operator.',
  GRAPHQL_VALIDATION_FAILED: 'The console sent a request this gateway does not understand. Reload the page.',
  NETWORK: 'The gateway could not be reached. Check your connection and try again.',
};

/** Codes whose server message says which field or rule, in words safe to show. */
const DETAILED = new Set(['BAD_USER_INPUT', 'CONFLICT', 'NOT_FOUND', 'FORBIDDEN', 'UNAUTHENTICATED']);

export class ConsoleError extends Error {
  constructor(
    readonly code: string,
    readonly detail?: string,
    readonly retryAfter?: number,
    /** The input field the gateway named (`extensions.field`), for showing the error beside it. */
    readonly field?: string,
  ) {
    super(SENTENCES[code] ?? SENTENCES.INTERNAL_SERVER_ERROR);
  }

  /** One or two plain sentences for the page. */
  get sentence(): string {
    let text = this.message;
    if (this.retryAfter !== undefined && this.code === 'RATE_LIMITED') text = `Too many requests in a short time. Try again in ${this.retryAfter} seconds.`;
    if (this.detail && DETAILED.has(this.code)) text += ` ${sentenceCase(this.detail)}`;
    return text;
  }
}

function sentenceCase(text: string): string {
  const trimmed = text.trim();
  // A sentence may start with a field path (`credits.remaining must be…`), kept as the API spells it.
  const capital = /^\w+\./.test(trimmed) ? trimmed : trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** Only messages that came with a known code are shown; anything else could be a raw body. */
function known(code: unknown): code is string {
  return typeof code === 'string' && code in SENTENCES;
}

export function errorFromCombined(error: CombinedError): ConsoleError {
  const first = error.graphQLErrors[0];
  if (first) {
    const code = first.extensions?.code;
    const retryAfter = typeof first.extensions?.retryAfter === 'number' ? (first.extensions.retryAfter as number) : undefined;
    const field = typeof first.extensions?.field === 'string' ? (first.extensions.field as string) : undefined;
    if (known(code)) return new ConsoleError(code, first.message, retryAfter, field);
    return new ConsoleError('INTERNAL_SERVER_ERROR');
  }
  const status = (error.response as Response | undefined)?.status;
  if (status === 401) return new ConsoleError('UNAUTHENTICATED');
  if (status === 403) return new ConsoleError('FORBIDDEN');
  if (status === 429) return new ConsoleError('RATE_LIMITED');
  if (status === 503) return new ConsoleError('UNAVAILABLE');
  if (status !== undefined) return new ConsoleError('INTERNAL_SERVER_ERROR');
  return new ConsoleError('NETWORK');
}

export async function errorFromResponse(response: Response): Promise<ConsoleError> {
  try {
    const body = (await response.json()) as { errors?: Array<{ message?: string; extensions?: { code?: unknown } }> };
    const first = body.errors?.[0];
    if (first && known(first.extensions?.code)) return new ConsoleError(first.extensions.code as string, first.message);
  } catch {
    // Not JSON: the status alone says what happened.
  }
  if (response.status === 401) return new ConsoleError('UNAUTHENTICATED');
  if (response.status === 403) return new ConsoleError('FORBIDDEN');
  if (response.status === 429) return new ConsoleError('RATE_LIMITED');
  return new ConsoleError('INTERNAL_SERVER_ERROR');
}

export function toConsoleError(error: unknown): ConsoleError {
  return error instanceof ConsoleError ? error : new ConsoleError('INTERNAL_SERVER_ERROR');
}
