const BEARER = /^Bearer[ ]+([^\s]+)[ ]*$/i;

/** The credential of an `Authorization: Bearer <credential>` header, or null. */
export function bearerOf(header: string | readonly string[] | null | undefined): string | null {
  if (typeof header !== 'string') return null;
  // The usual form, `Bearer ` and printable ASCII, is taken apart without a regular expression.
  if (header.length > 7 && header.startsWith('Bearer ') && printable(header, 7)) return header.slice(7);
  const match = BEARER.exec(header);
  return match ? match[1] : null;
}

/** Whether every character from `from` on is printable ASCII other than space (so none is `\s`). */
function printable(text: string, from: number): boolean {
  for (let i = from; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code <= 0x20 || code >= 0x7f) return false;
  }
  return true;
}
