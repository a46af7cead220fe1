import {
  KEYLEDGER_ROLES,
  Role,
  effectiveRoles,
  holdsRole,
  isKeyledgerRole,
  rolesBeyondCaller,
  unknownKeyledgerRoles,
  type KeyledgerRole,
} from '../../../src/domain/access/roles';

const sorted = (roles: Iterable<string>) => [...roles].sort();

describe('effectiveRoles', () => {
  it.each<[KeyledgerRole, KeyledgerRole[]]>([
    [Role.root, [...(Object.values(Role) as KeyledgerRole[])]],
    [Role.admin, [Role.admin, Role.tokensWrite, Role.tokensRead, Role.webhookTokensWrite, Role.connectionsWrite, Role.connectionsRead, Role.connectionsUse, Role.auditRead, Role.eventsRead]],
    [Role.tokensWrite, [Role.tokensWrite, Role.tokensRead, Role.webhookTokensWrite]],
    [Role.webhookTokensWrite, [Role.webhookTokensWrite]],
    [Role.tokensRead, [Role.tokensRead]],
    [Role.connectionsWrite, [Role.connectionsWrite, Role.connectionsRead]],
    [Role.connectionsRead, [Role.connectionsRead]],
    [Role.connectionsUse, [Role.connectionsUse]],
    [Role.auditRead, [Role.auditRead]],
    [Role.eventsRead, [Role.eventsRead]],
  ])('%s amounts to exactly its implied roles', (role, expected) => {
    expect(sorted(effectiveRoles([role]))).toEqual(sorted(expected));
  });

  it('root is the only role that amounts to root', () => {
    for (const role of KEYLEDGER_ROLES.filter((r) => r !== Role.root)) {
      expect(holdsRole([role], Role.root)).toBe(false);
    }
  });

  it('admin does not amount to root', () => {
    expect(holdsRole([Role.admin], Role.root)).toBe(false);
  });

  it('tokens:read does not imply tokens:write', () => {
    expect(holdsRole([Role.tokensRead], Role.tokensWrite)).toBe(false);
  });

  it('connections:read does not imply connections:write or connections:use', () => {
    expect(holdsRole([Role.connectionsRead], Role.connectionsWrite)).toBe(false);
    expect(holdsRole([Role.connectionsRead], Role.connectionsUse)).toBe(false);
  });

  it('connections:write does not imply connections:use', () => {
    expect(holdsRole([Role.connectionsWrite], Role.connectionsUse)).toBe(false);
  });

  it('tokens:write does not imply connections or audit access', () => {
    const effective = effectiveRoles([Role.tokensWrite]);
    expect(effective.has(Role.connectionsRead)).toBe(false);
    expect(effective.has(Role.auditRead)).toBe(false);
  });

  it('unions the implications of several roles', () => {
    expect(sorted(effectiveRoles([Role.tokensWrite, Role.connectionsWrite]))).toEqual(
      sorted([Role.tokensWrite, Role.tokensRead, Role.webhookTokensWrite, Role.connectionsWrite, Role.connectionsRead]),
    );
  });

  it.each(['admin', 'root', 'keyledger-admin', 'keyledger_admin', 'keyledger.admin', 'KEYLEDGER:admin', 'Keyledger:root', 'tokens:write', 'x:keyledger:admin'])(
    'a tenant role named %s grants nothing here',
    (tenantRole) => {
      expect(effectiveRoles([tenantRole]).size).toBe(0);
      for (const role of KEYLEDGER_ROLES as KeyledgerRole[]) expect(holdsRole([tenantRole], role)).toBe(false);
    },
  );

  it('ignores tenant roles mixed with keyledger ones', () => {
    expect(sorted(effectiveRoles(['admin', Role.tokensRead, 'billing:write']))).toEqual([Role.tokensRead]);
  });

  it('is empty for no roles', () => {
    expect(effectiveRoles([]).size).toBe(0);
  });
});

describe('isKeyledgerRole', () => {
  it('is true only for the keyledger: namespace', () => {
    expect(isKeyledgerRole('keyledger:admin')).toBe(true);
    expect(isKeyledgerRole('keyledger:anything')).toBe(true);
    expect(isKeyledgerRole('keyledger-admin')).toBe(false);
    expect(isKeyledgerRole('admin')).toBe(false);
    expect(isKeyledgerRole('KEYLEDGER:admin')).toBe(false);
  });
});

describe('rolesBeyondCaller', () => {
  it('a tokens:write caller cannot grant admin or root', () => {
    expect(rolesBeyondCaller([Role.tokensWrite], [Role.admin])).toEqual([Role.admin]);
    expect(rolesBeyondCaller([Role.tokensWrite], [Role.root, Role.tokensRead])).toEqual([Role.root]);
  });

  it('a tokens:write caller can grant tokens:write and tokens:read', () => {
    expect(rolesBeyondCaller([Role.tokensWrite], [Role.tokensWrite, Role.tokensRead])).toEqual([]);
  });

  it('a tokens:read caller cannot grant tokens:write', () => {
    expect(rolesBeyondCaller([Role.tokensRead], [Role.tokensWrite])).toEqual([Role.tokensWrite]);
  });

  it('admin can grant tokens:read and every role it implies', () => {
    expect(rolesBeyondCaller([Role.admin], [Role.tokensRead])).toEqual([]);
    expect(
      rolesBeyondCaller([Role.admin], [Role.admin, Role.tokensWrite, Role.connectionsWrite, Role.connectionsRead, Role.connectionsUse, Role.auditRead]),
    ).toEqual([]);
  });

  it('admin cannot grant root', () => {
    expect(rolesBeyondCaller([Role.admin], [Role.root])).toEqual([Role.root]);
  });

  it('root can grant every keyledger role', () => {
    expect(rolesBeyondCaller([Role.root], KEYLEDGER_ROLES)).toEqual([]);
  });

  it('tenant roles are always grantable, even by a caller with no keyledger roles', () => {
    expect(rolesBeyondCaller([], ['admin', 'keyledger-admin', 'billing:write', 'KEYLEDGER:root'])).toEqual([]);
  });

  it('a tenant role named like a keyledger role does not let its holder grant the real one', () => {
    expect(rolesBeyondCaller(['admin', 'keyledger-admin', 'root'], [Role.admin])).toEqual([Role.admin]);
  });

  it('returns exactly the lacking roles, in the order asked', () => {
    expect(
      rolesBeyondCaller([Role.tokensWrite], [Role.auditRead, 'billing:read', Role.tokensRead, Role.connectionsUse]),
    ).toEqual([Role.auditRead, Role.connectionsUse]);
  });
});

describe('unknownKeyledgerRoles', () => {
  it('returns keyledger: roles outside the known set, so a typo cannot pass for a grant', () => {
    expect(unknownKeyledgerRoles(['keyledger:tokens:reed', Role.tokensRead, 'keyledger:*', 'keyledger:', 'keyledger:Admin'])).toEqual([
      'keyledger:tokens:reed',
      'keyledger:*',
      'keyledger:',
      'keyledger:Admin',
    ]);
  });

  it('is empty for known keyledger roles and for tenant roles', () => {
    expect(unknownKeyledgerRoles([...KEYLEDGER_ROLES, 'admin', 'keyledger-admin', 'billing:*'])).toEqual([]);
  });

  it('the known set is exactly the documented roles', () => {
    expect(sorted(KEYLEDGER_ROLES)).toEqual(
      sorted([
        'keyledger:root',
        'keyledger:admin',
        'keyledger:tokens:read',
        'keyledger:tokens:write',
        'keyledger:webhook-tokens:write',
        'keyledger:connections:read',
        'keyledger:connections:write',
        'keyledger:connections:use',
        'keyledger:audit:read',
        'keyledger:events:read',
      ]),
    );
  });
});
