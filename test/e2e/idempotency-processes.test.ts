import Database from 'better-sqlite3';
import { join } from 'node:path';
import { findSecrets } from '../helpers/byte-scan';
import { issueToken, ROOT_SECRET } from '../helpers/gateway';
import { graphql, type GraphQLResponse } from '../helpers/graphql-client';
import { spawnGateway, type GatewayProcess } from '../helpers/gateway-process';
import { makeTempDir } from '../helpers/temp-dir';

const IMPORT = `mutation Import($input: ImportTokenInput!, $key: String) { importToken(input: $input, idempotencyKey: $key) { id } }`;
const ISSUE = `mutation Issue($input: IssueTokenInput!, $key: String) { issueToken(input: $input, idempotencyKey: $key) { secret replayed token { id } } }`;

function outcome(response: GraphQLResponse, field: string): string {
  if (response.errors) return `${response.errors[0].extensions?.code}:${response.errors[0].extensions?.reason}`;
  return JSON.parse(response.raw).extensions.idempotency[field].replayed ? 'replayed' : 'executed';
}

/** The claim lives in the event store, not in a process: two OS processes on one data directory race for one key. */
describe('idempotency keys across gateway processes', () => {
  const temp = makeTempDir();
  let one: GatewayProcess;
  let two: GatewayProcess;
  let admin: string;

  beforeAll(async () => {
    [one, two] = await Promise.all([spawnGateway(temp.path), spawnGateway(temp.path)]);
    ({ secret: admin } = await issueToken(one.url, ROOT_SECRET, { name: 'admin', tenantId: 'acme', roles: ['keyledger:admin'] }));
  });
  afterAll(async () => {
    await Promise.all([one, two].filter(Boolean).map((gateway) => gateway.kill('SIGKILL')));
    temp.remove();
  });

  const secretOf = (round: number) => `raced-secret-${round}-Lq7Wd3Xk9Pz2Mv5N`;
  const keyOf = (round: number) => `raced-idempotency-key-${round}-Hc6Tn`;

  it.each([1, 2, 3, 4, 5])('the same import with the same key on both processes at once executes once (round %i)', async (round) => {
    const input = { name: `raced ${round}`, secret: secretOf(round) };
    const key = keyOf(round);
    const responses = await Promise.all([
      graphql(one.url, IMPORT, { input, key }, admin),
      graphql(two.url, IMPORT, { input, key }, admin),
      graphql(one.url, IMPORT, { input, key }, admin),
      graphql(two.url, IMPORT, { input, key }, admin),
    ]);
    const outcomes = responses.map((response) => outcome(response, 'importToken'));
    expect(outcomes.filter((value) => value === 'executed')).toHaveLength(1);
    expect(outcomes.every((value) => ['executed', 'replayed', 'CONFLICT:IDEMPOTENCY_KEY_IN_PROGRESS'].includes(value))).toBe(true);
  });

  it('a key claimed on one process replays on the other, without the secret', async () => {
    const input = { name: 'across processes' };
    const first = await graphql(one.url, ISSUE, { input, key: 'across' }, admin);
    const retry = await graphql(two.url, ISSUE, { input, key: 'across' }, admin);
    expect(retry.data!.issueToken).toEqual({ secret: null, replayed: true, token: first.data!.issueToken.token });
  });

  it('the log holds one TokenIssued per raced name, and neither the chosen secrets nor the keys', () => {
    const db = new Database(join(temp.path, 'events.db'), { readonly: true });
    try {
      for (const round of [1, 2, 3, 4, 5]) {
        const issued = db.prepare("SELECT count(*) AS n FROM events WHERE type = 'TokenIssued' AND json_extract(data, '$.name') = ?").get(`raced ${round}`) as { n: number };
        expect(issued.n).toBe(1);
      }
      const completed = db.prepare("SELECT count(*) AS n FROM events WHERE type = 'IdempotentRequestCompleted'").get() as { n: number };
      expect(completed.n).toBe(6);
    } finally {
      db.close();
    }
    expect(findSecrets(temp.path, [1, 2, 3, 4, 5].flatMap((round) => [secretOf(round), keyOf(round)]))).toEqual([]);
    for (const gateway of [one, two]) expect(gateway.output()).not.toContain('raced-secret');
  });
});
