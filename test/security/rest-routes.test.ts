import { appendedBy, expectNoSecretsWritten, startSecurityGateway, STORES, TENANT_B, UNAUTHENTICATED_KINDS, type SecurityGateway } from './fixtures';
import { REST_ROUTES, type RouteSecurity } from './rest-routes';

const NO_STACKS = /stacktrace|\bat [A-Za-z.<>]+ \(|\.ts:\d+|node_modules/;

describe.each(STORES)('security of every REST route on %s', (store) => {
  let s: SecurityGateway;

  beforeAll(async () => {
    s = await startSecurityGateway(store);
  }, 120_000);
  afterAll(async () => s.gw.stop());

  describe.each(Object.entries(REST_ROUTES))('%s', (_route, route: RouteSecurity) => {
    if (route.public) {
      it(`is public: ${route.public}`, async () => {
        const answer = await (await route.prepare(s))();
        expect(answer.status).toBe(route.ok);
        for (const value of [s.b.token.id, s.b.token.secret, s.b.partner.id, TENANT_B]) expect(answer.text).not.toContain(value);
      });
      return;
    }
    const role = route.role!;
    const refused = async (authorization: string | undefined, status: number, recorded: string[] = []) => {
      const send = await route.prepare(s);
      const { result, appended } = await appendedBy(s.gw, () => send(authorization));
      expect({ status: result.status }).toEqual({ status });
      expect(result.text).not.toMatch(NO_STACKS);
      if (route.mutating) expect(appended.filter((type) => !recorded.includes(type))).toEqual([]);
    };

    it('without credentials: 401', () => refused(undefined, 401));

    it.each(UNAUTHENTICATED_KINDS)('with a %s bearer: 401, only the failure recorded', (kind) =>
      refused(`Bearer ${s.principals.unauthenticated[kind]}`, 401, ['AuthenticationFailed']),
    );

    it(`a token holding exactly ${role} may`, async () => {
      const send = await route.prepare(s);
      expect((await send(`Bearer ${s.principals.exact[role]}`)).status).toBe(route.ok);
    });

    it.each([
      [`every keyledger role short of ${role}`, (x: SecurityGateway) => x.principals.lacking[role]],
      ['tenant roles named like keyledger roles', (x: SecurityGateway) => x.principals.invented],
      ['a partner access token', (x: SecurityGateway) => x.principals.partnerJwtA],
    ])('with %s: 403, nothing appended', (_name, bearer) => refused(`Bearer ${bearer(s)}`, 403));

    if (route.foreign) {
      const foreign = route.foreign;
      it("tenant B's resource, by tenant A's admin: refused as documented, nothing appended", async () => {
        const attempt = await foreign(s);
        const { appended } = await appendedBy(s.gw, () => attempt(`Bearer ${s.principals.adminA}`));
        expect(appended).toEqual([]);
      });
    }
  });

  it('after all of the above, no presented credential is in the logs or the data files', () => {
    expectNoSecretsWritten(s);
  });
});
