import { bearerOf } from '@keyledger/verifier';

/** The middleware read the credential with `bearerOf`: RFC 6750's `Bearer` scheme, case-insensitive, one token. */
describe('bearerOf', () => {
  it.each([
    ['Bearer kl_abc.DEF-123_~+/=', 'kl_abc.DEF-123_~+/='],
    ['bearer kl_abc', 'kl_abc'],
    ['BEARER kl_abc', 'kl_abc'],
    ['Bearer   kl_abc', 'kl_abc'],
    ['Bearer kl_abc  ', 'kl_abc'],
    ['Bearer kl_é', 'kl_é'],
  ])('reads %j as %j', (header, credential) => {
    expect(bearerOf(header)).toBe(credential);
  });

  it.each([undefined, null, '', 'Bearer', 'Bearer ', 'Bearer  ', 'Basic a2w6eA==', 'Bearerkl_abc', 'Bearer kl_a kl_b', 'Bearer\tkl_abc', 'Bearer kl_abc\t', 'Bearer kl_\u00a0abc', ' Bearer kl_abc'])(
    'reads no credential in %j',
    (header) => {
      expect(bearerOf(header)).toBeNull();
    },
  );

  it('reads no credential in a repeated header', () => {
    expect(bearerOf(['Bearer a', 'Bearer b'])).toBeNull();
  });
});
