import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, type GraphQLObjectType } from 'graphql';
import * as httpApp from '../../src/http/app';
import { AUDIT_EXPORT_PATH } from '../../src/http/audit-router';
import { CONNECTIONS_PATH } from '../../src/http/connections-router';
import { CONSOLE_PATH } from '../../src/http/console-router';
import { INTEGRATION_KEYS_PATH } from '../../src/http/integration-keys-router';
import { PUBLIC_REVOCATION_PATH } from '../../src/http/leaks/public-revocation-router';
import { SECRET_SCANNING_GITHUB_PATH } from '../../src/http/leaks/secret-scanning-router';
import { OAUTH_PATHS } from '../../src/http/partners/oauth-routes';
import { SOURCE_AUTH_TOKEN_PATH } from '../../src/http/partners/source-auth-token-route';
import { SSF_PATHS } from '../../src/http/ssf/ssf-router';
import { startTestGateway } from '../helpers/gateway';
import { GRAPHQL_OPERATIONS } from './graphql-operations';
import { REST_ROUTES } from './rest-routes';

/** A new operation cannot ship without security cases: every root field needs a table entry. */
describe('security tables cover every operation', () => {
  const schema = buildSchema(readFileSync(join(__dirname, '../../schema/schema.graphql'), 'utf8'));
  const rootFields = ['Query', 'Mutation', 'Subscription'].flatMap((name) => {
    const type = schema.getType(name) as GraphQLObjectType | undefined;
    return type ? Object.keys(type.getFields()).map((field) => `${name}.${field}`) : [];
  });

  it('every Query, Mutation and Subscription field of schema/schema.graphql has an entry', () => {
    expect(rootFields.length).toBeGreaterThan(20);
    expect(rootFields.filter((field) => !(field in GRAPHQL_OPERATIONS))).toEqual([]);
  });

  it('no entry names a field the schema does not have', () => {
    expect(Object.keys(GRAPHQL_OPERATIONS).filter((field) => !rootFields.includes(field))).toEqual([]);
  });

  it('an operation that needs no keyledger role says why it is public', () => {
    const unexplained = Object.entries(GRAPHQL_OPERATIONS).filter(([, op]) => op.role === 'none' && !op.public);
    expect(unexplained.map(([field]) => field)).toEqual([]);
  });

  it('every authenticated REST route has an entry, and every public one a reason', () => {
    const expected = [
      `POST ${INTEGRATION_KEYS_PATH}`,
      `GET ${INTEGRATION_KEYS_PATH}`,
      `GET ${INTEGRATION_KEYS_PATH}/:keyId`,
      `DELETE ${INTEGRATION_KEYS_PATH}/:keyId`,
      `POST ${CONNECTIONS_PATH}`,
      `GET ${CONNECTIONS_PATH}/:name`,
      `PATCH ${CONNECTIONS_PATH}/:name`,
      `DELETE ${CONNECTIONS_PATH}/:name`,
      `GET ${AUDIT_EXPORT_PATH}`,
      `POST ${OAUTH_PATHS.token}`,
      `POST ${OAUTH_PATHS.introspection}`,
      `POST ${OAUTH_PATHS.revocation}`,
      `GET ${OAUTH_PATHS.jwks}`,
      `GET ${OAUTH_PATHS.metadata}`,
      `GET ${SOURCE_AUTH_TOKEN_PATH}`,
      `GET ${CONSOLE_PATH}`,
      `POST ${SECRET_SCANNING_GITHUB_PATH}`,
      `POST ${PUBLIC_REVOCATION_PATH}`,
      `GET ${SSF_PATHS.configuration}`,
      `POST ${SSF_PATHS.streams}`,
      `GET ${SSF_PATHS.streams}`,
      `PATCH ${SSF_PATHS.streams}`,
      `PUT ${SSF_PATHS.streams}`,
      `DELETE ${SSF_PATHS.streams}`,
      `GET ${SSF_PATHS.status}`,
      `POST ${SSF_PATHS.status}`,
      `POST ${SSF_PATHS.verify}`,
      `POST ${SSF_PATHS.poll}`,
    ];
    expect(expected.filter((route) => !(route in REST_ROUTES))).toEqual([]);
    expect(Object.entries(REST_ROUTES).filter(([, route]) => !route.public && !route.role).map(([key]) => key)).toEqual([]);
  });

  it('every route the gateway serves through its REST routers has an entry, and every entry a route', async () => {
    // The routes are read from the app a real gateway builds, so a new route cannot ship without an entry.
    let app: httpApp.HttpApp | undefined;
    const original = httpApp.createHttpApp;
    const spy = jest.spyOn(httpApp, 'createHttpApp').mockImplementation((options) => (app = original(options)));
    const gw = await startTestGateway();
    spy.mockRestore();
    await gw.stop();

    const served = [...new Set(routesOf((app?.express as unknown as { router: RouterLike }).router))].sort();
    expect(served.length).toBeGreaterThanOrEqual(15);
    expect(served.filter((route) => !(route in REST_ROUTES))).toEqual([]);
    expect(Object.keys(REST_ROUTES).filter((route) => !served.includes(route))).toEqual([]);
  });
});

interface RouterLike {
  stack: Array<{ route?: { path: string | string[]; methods: Record<string, boolean> }; handle?: Partial<RouterLike> }>;
}

/**
 * `METHOD /path` of each route a router handles, and of the routers mounted in it. `all`
 * routes (the 405 answers) handle no method of their own; HEAD is the GET entry's, as
 * Express answers it with the GET route.
 */
function routesOf(router: RouterLike): string[] {
  return router.stack.flatMap((layer) => {
    if (layer.handle?.stack) return routesOf(layer.handle as RouterLike);
    if (!layer.route) return [];
    const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
    const methods = Object.keys(layer.route.methods)
      .filter((method) => method !== '_all')
      .map((method) => (method === 'head' ? 'get' : method));
    return methods.flatMap((method) => paths.map((path) => `${method.toUpperCase()} ${path}`));
  });
}
