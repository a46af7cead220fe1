import { KeyledgerError } from '../../../src/domain/errors';
import {
  decideImportedSecretClaim,
  evolveImportedSecretClaim,
  initialImportedSecretClaimState,
  type ClaimImportedSecret,
  type ImportedSecretClaimed,
} from '../../../src/domain/token-claims';

const NOW = new Date('2026-01-01T00:00:00Z');
const claimed = (tokenId: string, tenantId = 'acme'): ImportedSecretClaimed => ({
  type: 'ImportedSecretClaimed',
  data: { tenantId, tokenId, lookupTag: 'abc123', secretHash: `$argon2id$${tokenId}`, claimedAt: NOW.toISOString() },
});
const claim = (sameSecret: ClaimImportedSecret['sameSecret'] = {}): ClaimImportedSecret => ({
  type: 'ClaimImportedSecret',
  tenantId: 'globex',
  tokenId: 'tok_new',
  lookupTag: 'abc123',
  secretHash: '$argon2id$tok_new',
  sameSecret,
});
const given = (events: ImportedSecretClaimed[]) => events.reduce(evolveImportedSecretClaim, initialImportedSecretClaimState);

describe('claiming an imported secret', () => {
  it('given holders of other secrets under the same tag, the claim is made', () => {
    expect(decideImportedSecretClaim(claim(), given([claimed('tok_a')]), NOW)).toEqual([
      { type: 'ImportedSecretClaimed', data: { tenantId: 'globex', tokenId: 'tok_new', lookupTag: 'abc123', secretHash: '$argon2id$tok_new', claimedAt: NOW.toISOString() } },
    ]);
  });

  it('given a holder of the same secret in any tenant, CONFLICT with one message that names neither', () => {
    const refusals = ['acme', 'globex'].map((tenantId) => {
      try {
        decideImportedSecretClaim(claim({ tok_a: 'holds' }), given([claimed('tok_a', tenantId)]), NOW);
        return null;
      } catch (error) {
        return error as KeyledgerError;
      }
    });
    expect(refusals.map((error) => error?.code)).toEqual(['CONFLICT', 'CONFLICT']);
    expect(refusals[0]!.message).toBe(refusals[1]!.message);
    expect(refusals[0]!.message).not.toMatch(/acme|globex|tok_a/);
  });

  it('given a holder of the same secret whose import was abandoned, the claim is made', () => {
    expect(decideImportedSecretClaim(claim({ tok_a: 'gone' }), given([claimed('tok_a')]), NOW)).toHaveLength(1);
  });

  it('given the token already holds the claim (a retried import), nothing new', () => {
    expect(decideImportedSecretClaim(claim(), given([claimed('tok_new', 'globex')]), NOW)).toEqual([]);
  });
});
