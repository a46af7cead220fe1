import { effectiveRoles, KEYLEDGER_ROLES } from '../../src/domain/access/roles';
import { heldRoles } from '../../packages/verifier/src/roles';

/**
 * The verifier answers `requiredRoles` from a verdict it cached, with its own copy of the
 * gateway's role implications: the copy must say what `verifyToken` would for every role.
 */
describe('@keyledger/verifier role implications', () => {
  it.each(KEYLEDGER_ROLES)('%s implies the same roles as on the gateway', (role) => {
    expect([...heldRoles([role])].sort()).toEqual([...effectiveRoles([role])].sort());
  });

  it('a tenant role implies nothing but itself', () => {
    expect([...heldRoles(['orders:read'])]).toEqual(['orders:read']);
  });
});
