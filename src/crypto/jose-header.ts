import { z } from 'zod';

/**
 * The protected header of a presented JWT, with the types every reader relies on checked
 * once, here: the values a header carries are the client's, and a `kid` that is an object
 * or a boolean must never reach a key lookup. Parameters keyledger does not read pass
 * through for jose to judge.
 */
const JoseHeaderSchema = z.looseObject({
  alg: z.string().min(1),
  typ: z.string().optional(),
  kid: z.string().min(1).optional(),
  crit: z.array(z.string()).min(1).optional(),
});

export type JoseHeader = z.infer<typeof JoseHeaderSchema>;

/**
 * How a presented string reads as a JWS:
 * - `not-jws`: not three dot-separated base64url parts whose first part is JSON — a plain
 *   secret may look like dotted text, so nothing is concluded;
 * - `malformed`: a JSON header that is not a usable JOSE header;
 * - `jws`: a header whose parameters have the types keyledger reads.
 */
export type JwsReading = { form: 'not-jws' } | { form: 'malformed' } | { form: 'jws'; header: JoseHeader };

const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export function readJwsHeader(presented: string): JwsReading {
  if (!JWS_COMPACT.test(presented)) return { form: 'not-jws' };
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(presented.slice(0, presented.indexOf('.')), 'base64url').toString('utf8'));
  } catch {
    return { form: 'not-jws' };
  }
  const header = JoseHeaderSchema.safeParse(decoded);
  return header.success ? { form: 'jws', header: header.data } : { form: 'malformed' };
}

/** RFC 8725 §3.11: `typ` compared case-insensitively, with or without its `application/` prefix. */
export function mediaTypeOf(typ: string | undefined): string | undefined {
  return typ?.toLowerCase().replace(/^application\//, '');
}
