import { EsdbDouble } from '../helpers/esdb-double';
import { eventually, issueToken, ROOT_SECRET } from '../helpers/gateway';
import { GatewayFleet, type GatewayProcess } from '../helpers/gateway-process';
import { graphql } from '../helpers/graphql-client';

const MASTER_KEY = Buffer.alloc(32, 44).toString('base64');
/** Two gateway processes and a hundred requests racing; a loaded machine needs the room. */
const PROCESS_TEST_TIMEOUT_MS = 120_000;
const CREDITS = 20;
const PER_PROCESS = 30;
const USAGE = `query Usage($id: ID!, $from: DateTime!, $to: DateTime!) { tokenUsage(id: $id, from: $from, to: $to) { outcomes { code count } } }`;
const METERED = `query Verify($token: String!, $cost: Int) { verifyToken(token: $token, cost: $cost) { code remaining } }`;

interface Answer {
  code: string;
  remaining: number | null;
}

/** Every verification at once, split between the processes; the answers in no particular order. */
async function race(gateways: GatewayProcess[], secret: string): Promise<Answer[]> {
  const requests = gateways.flatMap((gateway) =>
    Array.from({ length: PER_PROCESS }, async () => {
      const response = await graphql(gateway.url, METERED, { token: secret }, ROOT_SECRET);
      if (response.errors) throw new Error(JSON.stringify(response.errors));
      return response.data!.verifyToken as Answer;
    }),
  );
  return Promise.all(requests);
}

/** As many VALID answers as there were credits, each leaving a different balance, and every other answer USAGE_EXCEEDED. */
function expectExactlySpent(answers: Answer[]): void {
  const valid = answers.filter((answer) => answer.code === 'VALID');
  expect(valid).toHaveLength(CREDITS);
  expect(valid.map((answer) => answer.remaining).sort((a, b) => a! - b!)).toEqual(Array.from({ length: CREDITS }, (_, i) => i));
  expect(answers.filter((answer) => answer.code !== 'VALID')).toEqual(
    Array.from({ length: answers.length - CREDITS }, () => ({ code: 'USAGE_EXCEEDED', remaining: 0 })),
  );
}

describe('credits spent from several processes at once', () => {
  const fleet = new GatewayFleet('keyledger-credits');

  afterEach(async () => {
    await fleet.stop();
  });

  it('two processes on one data directory answer VALID exactly as often as there are credits', async () => {
    const dataDir = fleet.tempDir();
    const [one, two] = await Promise.all([fleet.start(dataDir), fleet.start(dataDir)]);
    const metered = await issueToken(one.url, ROOT_SECRET, { name: 'raced', tenantId: 'acme', credits: { remaining: CREDITS } });
    // Both read models hold the token before the race starts (a check that costs nothing spends nothing).
    await eventually(async () => (await graphql(two.url, METERED, { token: metered.secret, cost: 0 }, ROOT_SECRET)).data?.verifyToken.code === 'VALID');

    expectExactlySpent(await race([one, two], metered.secret));
  }, PROCESS_TEST_TIMEOUT_MS);

  describe('replicas on one EventStoreDB', () => {
    let double: EsdbDouble;

    beforeEach(async () => {
      double = await EsdbDouble.start();
    });
    afterEach(async () => {
      await fleet.stop();
      await double.close();
    });

    it('two replicas answer VALID exactly as often as there are credits', async () => {
      const env = { EVENTSTORE_CONNECTION_STRING: double.connectionString, KEYLEDGER_MASTER_KEY: MASTER_KEY };
      const [one, two] = await Promise.all([fleet.start(fleet.tempDir(), env), fleet.start(fleet.tempDir(), env)]);
      const metered = await issueToken(one.url, ROOT_SECRET, { name: 'raced', tenantId: 'acme', credits: { remaining: CREDITS } });
      await eventually(async () => (await graphql(two.url, METERED, { token: metered.secret, cost: 0 }, ROOT_SECRET)).data?.verifyToken.code === 'VALID', 20_000);

      expectExactlySpent(await race([one, two], metered.secret));

      // Each replica appends what it counted; either one's usage analytics show both replicas' verifications.
      const usage = async () => {
        const response = await graphql(one.url, USAGE, { id: metered.id, from: new Date(Date.now() - 86_400_000).toISOString(), to: new Date(Date.now() + 3600_000).toISOString() }, ROOT_SECRET);
        return (response.data?.tokenUsage ?? []).flatMap((bucket: { outcomes: Array<{ code: string; count: number }> }) => bucket.outcomes);
      };
      const total = (outcomes: Array<{ code: string; count: number }>, code: string) =>
        outcomes.filter((outcome) => outcome.code === code).reduce((sum, outcome) => sum + outcome.count, 0);
      let outcomes: Array<{ code: string; count: number }> = [];
      await eventually(async () => {
        outcomes = await usage();
        return total(outcomes, 'USAGE_EXCEEDED') === 2 * PER_PROCESS - CREDITS;
      }, 30_000, 250);
      // The checks that cost nothing before the race were VALID too.
      expect(total(outcomes, 'VALID')).toBeGreaterThanOrEqual(CREDITS);
    }, PROCESS_TEST_TIMEOUT_MS);
  });
});
