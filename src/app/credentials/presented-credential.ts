import { readJwsHeader } from '../../crypto/jose-header';

/** Token ids as `newTokenId` makes them; the only ids a Basic form or JWT `kid` can name. */
export const TOKEN_ID_PATTERN = /^tok_[0-9A-Za-z]{1,64}$/;

/**
 * The forms in which an integration key may be presented (as Sunshine Conversations
 * accepts them), besides the bare secret:
 * - `keyId:secret`, or the same as an HTTP Basic credential (`Basic base64(keyId:secret)`);
 * - a JWT signed with HS256 under the secret, whose header `kid` is the key id.
 */
export type PresentedCredential =
  | { form: 'secret'; secret: string }
  | { form: 'basic'; keyId: string; secret: string }
  | { form: 'jwt'; keyId: string; jwt: string }
  | { form: 'malformed' };

const BASIC_PREFIX = /^Basic +/i;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const KEY_ID_AND_SECRET = /^(tok_[0-9A-Za-z]{1,64}):(.+)$/s;

export function classifyPresented(presented: string): PresentedCredential {
  const basic = BASIC_PREFIX.exec(presented);
  if (basic) {
    const encoded = presented.slice(basic[0].length).trim();
    if (!BASE64.test(encoded)) return { form: 'malformed' };
    const pair = KEY_ID_AND_SECRET.exec(Buffer.from(encoded, 'base64').toString('utf8'));
    return pair ? { form: 'basic', keyId: pair[1], secret: pair[2] } : { form: 'malformed' };
  }
  const pair = KEY_ID_AND_SECRET.exec(presented);
  if (pair) return { form: 'basic', keyId: pair[1], secret: pair[2] };
  const jws = readJwsHeader(presented);
  // A chosen secret may happen to look like three dotted parts; only a JSON header makes it a JWT.
  if (jws.form === 'not-jws') return { form: 'secret', secret: presented };
  if (jws.form === 'malformed') return { form: 'malformed' };
  // Only HS256 is accepted: `none` would need no key at all, and other algorithms are not what the secret is for.
  if (jws.header.alg !== 'HS256') return { form: 'malformed' };
  const { kid } = jws.header;
  if (kid === undefined || !TOKEN_ID_PATTERN.test(kid)) return { form: 'malformed' };
  return { form: 'jwt', keyId: kid, jwt: presented };
}
