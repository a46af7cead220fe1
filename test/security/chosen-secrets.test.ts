import { randomUUID } from 'node:crypto';
import { Role } from '../../src/domain/access/roles';
import { tokenStreamId } from '../../src/domain/tokens';
import { SecretHasher } from '../../src/crypto/secret-hash';
import type { EventMetadata } from '../../src/eventstore/port';
import { eventually, issueToken, ROOT_SECRET, startTestGateway, type TestGateway } from '../helpers/gateway';
import { errorCode, graphql, VERIFY_TOKEN, type GraphQLResponse } from '../helpers/graphql-client';
import { makeTempDir } from '../helpers/temp-dir';
import { appendedBy, IMPORT_TOKEN, NO_RATE_LIMITS, TENANT_A, TENANT_B } from './fixtures';

const VIEWER = '{ viewer { id tenantId } }';
const TOKEN = 'query($id: ID!) { token(id: $id) { id } }';

/** A chosen secret identifies exactly one credential, whatever tenant imports it and whichever process checks it. */
describe('chosen and imported secrets', () => {
  const dir = makeTempDir('chosen-secrets');
  let gw: TestGateway;
  let adminA: string;
  let adminB: string;
  let readerA: string;
  let readerB: string;
  let counter = 0;
  const fresh = () => `chosen-secret-${++counter}-${randomUUID()}`;
  const importAs = (bearer: string, secret: string) => graphql(gw.url, IMPORT_TOKEN, { input: { name: `imported ${++counter}`, secret } }, bearer);
  const message = (response: GraphQLResponse) => response.errors?.[0]?.message;

  beforeAll(async () => {
    gw = await startTestGateway({ dataDir: dir.path, env: NO_RATE_LIMITS });
    adminA = (await issueToken(gw.url, ROOT_SECRET, { name: 'admin a', tenantId: TENANT_A, roles: [Role.admin] })).secret;
    adminB = (await issueToken(gw.url, ROOT_SECRET, { name: 'admin b', tenantId: TENANT_B, roles: [Role.admin] })).secret;
    readerA = (await issueToken(gw.url, ROOT_SECRET, { name: 'reader a', tenantId: TENANT_A, roles: [Role.tokensRead] })).secret;
    readerB = (await issueToken(gw.url, ROOT_SECRET, { name: 'reader b', tenantId: TENANT_B, roles: [Role.tokensRead] })).secret;
  }, 60_000);
  afterAll(async () => {
    await gw.stop();
    dir.remove();
  });

  it("importing a secret another tenant holds is CONFLICT, worded exactly as for the importer's own tenant, and changes nothing", async () => {
    const secret = fresh();
    const first = await importAs(adminA, secret);
    expect(first.errors).toBeUndefined();
    const ownId = first.data!.importToken.id as string;

    const { result: elsewhere, appended } = await appendedBy(gw, () => importAs(adminB, secret));
    const again = await importAs(adminA, secret);
    expect([errorCode(elsewhere), errorCode(again)]).toEqual(['CONFLICT', 'CONFLICT']);
    expect(message(elsewhere)).toBe(message(again));
    expect(appended).toEqual([]);
    for (const leak of [ownId, TENANT_A, secret]) expect(elsewhere.raw).not.toContain(leak);

    // Revoking does not free the secret: it identified that credential, and a replayed one must not reach another.
    await graphql(gw.url, 'mutation($id: ID!) { revokeToken(input: { id: $id }) { id } }', { id: ownId }, adminA);
    expect(errorCode(await importAs(adminB, secret))).toBe('CONFLICT');
  });

  it('concurrent imports of one secret in two tenants: exactly one succeeds, and the secret authenticates as it', async () => {
    const secret = fresh();
    const answers = await Promise.all([adminA, adminB, adminA, adminB].map((admin) => importAs(admin, secret)));
    const won = answers.filter((answer) => !answer.errors);
    expect({ won: won.length, refused: answers.filter((answer) => errorCode(answer) === 'CONFLICT').length }).toEqual({ won: 1, refused: 3 });
    const viewer = await graphql(gw.url, VIEWER, {}, secret);
    expect(viewer.data!.viewer).toEqual({ id: won[0].data!.importToken.id, tenantId: won[0].data!.importToken.tenantId });
  });

  it('a secret two tenants already hold (written by an older version) is refused for both, by a warm process and a cold one', async () => {
    const secret = fresh();
    const imported = await importAs(adminA, secret);
    const idA = imported.data!.importToken.id as string;
    // Warm: this process has verified the secret as A's token.
    expect((await graphql(gw.url, VIEWER, {}, secret)).data!.viewer.id).toBe(idA);

    // What an older version let tenant B do: import the same secret, with its own argon2 hash.
    const [issued] = await gw.gateway.store.readStream(tokenStreamId(idA));
    const idB = `tok_${randomUUID().replace(/-/g, '')}`;
    const data = { ...issued.data, tokenId: idB, tenantId: TENANT_B, name: 'squatter', secretHash: await new SecretHasher(Buffer.alloc(32)).argon2Hash(secret) };
    const metadata: EventMetadata = { actor: { type: 'system', id: 'older-version', tenantId: null }, requestId: 'squat', occurredAt: new Date().toISOString() };
    await gw.gateway.store.append(tokenStreamId(idB), [{ id: randomUUID(), type: 'TokenIssued', data, metadata }], 'no_stream');
    await eventually(async () => (await graphql(gw.url, TOKEN, { id: idB }, ROOT_SECRET)).data?.token !== null);

    const refusedEverywhere = async (url: string) => ({
      bearer: errorCode(await graphql(url, VIEWER, {}, secret)),
      verifiedByA: (await graphql(url, VERIFY_TOKEN, { token: secret }, readerA)).data!.verifyToken.code,
      verifiedByB: (await graphql(url, VERIFY_TOKEN, { token: secret }, readerB)).data!.verifyToken.code,
    });
    const refused = { bearer: 'UNAUTHENTICATED', verifiedByA: 'NOT_FOUND', verifiedByB: 'NOT_FOUND' };
    expect(await refusedEverywhere(gw.url)).toEqual(refused);
    expect(gw.logs()).toContain('held by more than one credential');
    expect(gw.logs()).not.toContain(secret);

    const cold = await startTestGateway({ dataDir: dir.path, env: NO_RATE_LIMITS });
    try {
      expect(await refusedEverywhere(cold.url)).toEqual(refused);
    } finally {
      await cold.stop();
    }
  });
});
