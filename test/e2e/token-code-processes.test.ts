import Database from 'better-sqlite3';
import { join } from 'node:path';
import { errorCode, graphql } from '../helpers/graphql-client';
import { issueToken, ROOT_SECRET } from '../helpers/gateway';
import { spawnGateway, type GatewayProcess } from '../helpers/gateway-process';
import { makeTempDir } from '../helpers/temp-dir';
import { ISSUE, TOKENS } from './suites/token-operations';

/** Uniqueness enforced by the event store, not a read model: two OS processes on one data directory. */
describe('claims across gateway processes', () => {
  const running: GatewayProcess[] = [];
  const temp = makeTempDir();
  let one: GatewayProcess;
  let two: GatewayProcess;
  let admin: string;

  beforeAll(async () => {
    [one, two] = await Promise.all([spawnGateway(temp.path), spawnGateway(temp.path)]);
    running.push(one, two);
    ({ secret: admin } = await issueToken(one.url, ROOT_SECRET, { name: 'admin', tenantId: 'acme', roles: ['keyledger:admin'] }));
  });
  afterAll(async () => {
    await Promise.all(running.map((gateway) => gateway.kill('SIGKILL')));
    temp.remove();
  });

  it.each([1, 2, 3, 4, 5])('issueToken with one code on both processes at once: exactly one succeeds, the other gets CONFLICT (round %i)', async (round) => {
    const code = `deploy-bot-${round}`;
    const [a, b] = await Promise.all([
      graphql(one.url, ISSUE, { input: { name: 'from one', code } }, admin),
      graphql(two.url, ISSUE, { input: { name: 'from two', code } }, admin),
    ]);
    const outcomes = [a, b].map((response) => errorCode(response) ?? 'OK').sort();
    expect(outcomes).toEqual(['CONFLICT', 'OK']);
    for (const gateway of [one, two]) {
      const listed = await graphql(gateway.url, TOKENS, { filter: { code } }, admin);
      expect(listed.data!.tokens.totalCount).toBe(1);
    }
  });

  it('ten keys into one integration from both processes at once: exactly ten are issued, the rest CONFLICT', async () => {
    const responses = await Promise.all(
      Array.from({ length: 14 }, (_, i) =>
        graphql(i % 2 === 0 ? one.url : two.url, ISSUE, { input: { name: `key ${i}`, kind: 'INTEGRATION_KEY', integrationId: 'int-shared' } }, admin),
      ),
    );
    expect(responses.filter((response) => !response.errors)).toHaveLength(10);
    expect(responses.filter((response) => errorCode(response) === 'CONFLICT')).toHaveLength(4);
  });

  it('the log holds one TokenIssued per successful claim and no abandonment', () => {
    const db = new Database(join(temp.path, 'events.db'), { readonly: true });
    try {
      const count = (type: string) => (db.prepare('SELECT count(*) AS n FROM events WHERE type = ?').get(type) as { n: number }).n;
      expect(count('TokenCodeReserved')).toBe(5);
      expect(count('IntegrationKeySlotTaken')).toBe(10);
      expect(count('TokenIssueAbandoned')).toBe(0);
    } finally {
      db.close();
    }
  });
});
