/** The credential of an `Authorization: Bearer <credential>` header, or null. */
export function bearerOf(header: string | readonly string[] | null | undefined): string | null {
  if (typeof header !== 'string') return null;
  const match = /^Bearer[ ]+([^\s]+)[ ]*$/i.exec(header);
  return match ? match[1] : null;
}
