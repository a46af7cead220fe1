import Database from 'better-sqlite3';
import { join } from 'node:path';
import { graphql, VERIFY_TOKEN } from '../helpers/graphql-client';
import { issueToken, ROOT_SECRET, startTestGateway } from '../helpers/gateway';
import { makeTempDir } from '../helpers/temp-dir';

jest.setTimeout(60_000);

const REPLAY_FROM_EMPTY = 'replaying the log into empty read models';
const ROTATE = `mutation Rotate($input: RotateTokenInput!) { rotateToken(input: $input) { secret token { id } } }`;

function indexNames(dataDir: string): string[] {
  const db = new Database(join(dataDir, 'readmodels.db'), { readonly: true });
  try {
    return db.prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tokens' ORDER BY name").pluck().all();
  } finally {
    db.close();
  }
}

describe('read models written by an earlier version', () => {
  const temp = makeTempDir('keyledger-upgrade');
  afterAll(() => temp.remove());

  it('lose the unique index on tokens.secret_hash at start, without a replay, and their tokens verify and rotate as before', async () => {
    const dataDir = temp.path;
    let gw = await startTestGateway({ dataDir });
    let issued;
    try {
      // A first start replays into empty read models and says so: the line the second start must not log.
      expect(gw.logs()).toContain(REPLAY_FROM_EMPTY);
      issued = await issueToken(gw.url, ROOT_SECRET, { name: 'before the upgrade', tenantId: 'acme', roles: ['deploy'] });
    } finally {
      await gw.stop();
    }

    // The index as versions up to this one created it.
    const db = new Database(join(dataDir, 'readmodels.db'));
    db.exec('CREATE UNIQUE INDEX tokens_by_secret_hash ON tokens (secret_hash)');
    db.close();
    expect(indexNames(dataDir)).toContain('tokens_by_secret_hash');

    gw = await startTestGateway({ dataDir });
    try {
      expect(indexNames(dataDir)).not.toContain('tokens_by_secret_hash');
      expect(indexNames(dataDir)).toContain('tokens_by_id');
      // Dropping an index needs no replay: the read models were kept as they were.
      expect(gw.logs()).not.toContain(REPLAY_FROM_EMPTY);

      const verified = await graphql(gw.url, VERIFY_TOKEN, { token: issued.secret }, ROOT_SECRET);
      expect(verified.data!.verifyToken).toMatchObject({ valid: true, token: { id: issued.id } });

      const rotated = await graphql(gw.url, ROTATE, { input: { id: issued.id, gracePeriodSeconds: 0 } }, ROOT_SECRET);
      expect(rotated.errors).toBeUndefined();
      const secret = rotated.data!.rotateToken.secret as string;
      expect((await graphql(gw.url, VERIFY_TOKEN, { token: secret }, ROOT_SECRET)).data!.verifyToken).toMatchObject({ valid: true, token: { id: issued.id } });
    } finally {
      await gw.stop();
    }
  });
});
