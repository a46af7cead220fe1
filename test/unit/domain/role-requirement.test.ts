import { meetsRequirement, requireAnyOf } from '../../../src/domain/access/role-requirement';
import { KeyledgerError } from '../../../src/domain/errors';

const held = (...roles: string[]) => new Set(roles);

describe('role requirement: all of requiredRoles, and one anyOf group whole', () => {
  it('without anyOf, every required role', () => {
    expect(meetsRequirement(held('a', 'b'), { allOf: ['a', 'b'], anyOf: null })).toBe(true);
    expect(meetsRequirement(held('a'), { allOf: ['a', 'b'], anyOf: null })).toBe(false);
  });

  it('with anyOf, at least one group held whole besides allOf', () => {
    const anyOf = [['admin'], ['read', 'write']];
    expect(meetsRequirement(held('admin'), { allOf: [], anyOf })).toBe(true);
    expect(meetsRequirement(held('read', 'write'), { allOf: [], anyOf })).toBe(true);
    expect(meetsRequirement(held('read'), { allOf: [], anyOf })).toBe(false);
    expect(meetsRequirement(held('admin'), { allOf: ['eu'], anyOf })).toBe(false);
  });

  it('refuses an empty list, an empty group and more than 16 groups', () => {
    for (const anyOf of [[], [[]], Array.from({ length: 17 }, () => ['a'])]) {
      expect(() => requireAnyOf(anyOf)).toThrow(KeyledgerError);
    }
    expect(requireAnyOf(null)).toBeNull();
  });
});
