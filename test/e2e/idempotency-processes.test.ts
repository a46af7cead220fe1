import { findSecrets } from '../helpers/byte-scan';
import { EsdbDouble } from '../helpers/esdb-double';
import { eventually, issueToken, ROOT_SECRET } from '../helpers/gateway';
import { graphql, type GraphQLResponse } from '../helpers/graphql-client';
import { spawnGateway, type GatewayProcess } from '../helpers/gateway-process';
import { TEST_MASTER_KEY } from '../helpers/esdb-gateway';
import { makeTempDir } from '../helpers/temp-dir';

const IMPORT = `mutation Import($input: ImportTokenInput!, $key: String) { importToken(input: $input, idempotencyKey: $key) { id } }`;
const ISSUE = `mutation Issue($input: IssueTokenInput!, $key: String) { issueToken(input: $input, idempotencyKey: $key) { secret replayed token { id } } }`;
const TOKENS = `query Tokens($filter: TokenFilter) { tokens(first: 100, filter: $filter) { totalCount } }`;
/** Each test spawns two gateway processes; on a loaded machine that alone can take most of jest's default timeout. */
const PROCESS_TEST_TIMEOUT_MS = 60_000;

function outcome(response: GraphQLResponse, field: string): string {
  if (response.errors) return `${response.errors[0].extensions?.code}:${response.errors[0].extensions?.reason}`;
  return JSON.parse(response.raw).extensions.idempotency[field].replayed ? 'replayed' : 'executed';
}

interface Deployment {
  gateways: [GatewayProcess, GatewayProcess];
  dataDirs: string[];
  stop(): Promise<void>;
}

/** The claim lives in the event store, not in a process: two OS processes race for one key. */
function describeRace(label: string, deploy: () => Promise<Deployment>): void {
  describe(`idempotency keys across gateway processes (${label})`, () => {
    let deployment: Deployment;
    let one: GatewayProcess;
    let two: GatewayProcess;
    let admin: string;
    const secretOf = (round: number) => `raced-secret-${round}-Lq7Wd3Xk9Pz2Mv5N`;
    const keyOf = (round: number) => `raced-idempotency-key-${round}-Hc6Tn`;
    const countNamed = async (gateway: GatewayProcess, name: string) =>
      (await graphql(gateway.url, TOKENS, { filter: { search: name } }, admin)).data!.tokens.totalCount as number;

    beforeAll(async () => {
      deployment = await deploy();
      [one, two] = deployment.gateways;
      ({ secret: admin } = await issueToken(one.url, ROOT_SECRET, { name: 'admin', tenantId: 'acme', roles: ['keyledger:admin'] }));
      await eventually(async () => !(await graphql(two.url, '{ viewer { id } }', {}, admin)).errors);
    }, PROCESS_TEST_TIMEOUT_MS);
    afterAll(async () => deployment?.stop());

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
      for (const gateway of [one, two]) await eventually(async () => (await countNamed(gateway, input.name)) === 1);
    });

    it('a key used on one process replays on the other, without the secret', async () => {
      const input = { name: 'across processes' };
      const first = await graphql(one.url, ISSUE, { input, key: 'across' }, admin);
      const retry = await graphql(two.url, ISSUE, { input, key: 'across' }, admin);
      expect(retry.data!.issueToken).toEqual({ secret: null, replayed: true, token: first.data!.issueToken.token });
    });

    it('exactly one token per raced name, and neither the chosen secrets nor the keys on disk or in the output', async () => {
      for (const round of [1, 2, 3, 4, 5]) expect(await countNamed(two, `raced ${round}`)).toBe(1);
      const readable = [1, 2, 3, 4, 5].flatMap((round) => [secretOf(round), keyOf(round)]);
      for (const dir of deployment.dataDirs) expect(findSecrets(dir, readable)).toEqual([]);
      for (const gateway of [one, two]) expect(gateway.output()).not.toContain('raced-');
    });
  });
}

describeRace('one SQLite data directory', async () => {
  const temp = makeTempDir();
  const gateways = await Promise.all([spawnGateway(temp.path), spawnGateway(temp.path)]);
  return {
    gateways,
    dataDirs: [temp.path],
    async stop() {
      await Promise.all(gateways.map((gateway) => gateway.kill('SIGKILL')));
      temp.remove();
    },
  };
});

describeRace('two replicas on one EventStoreDB double', async () => {
  const double = await EsdbDouble.start();
  const temps = [makeTempDir('keyledger-replica'), makeTempDir('keyledger-replica')];
  const env = { EVENTSTORE_CONNECTION_STRING: double.connectionString, KEYLEDGER_MASTER_KEY: TEST_MASTER_KEY };
  const gateways = (await Promise.all(temps.map((temp) => spawnGateway(temp.path, env)))) as [GatewayProcess, GatewayProcess];
  return {
    gateways,
    dataDirs: temps.map((temp) => temp.path),
    async stop() {
      await Promise.all(gateways.map((gateway) => gateway.kill('SIGKILL')));
      await double.close();
      for (const temp of temps) temp.remove();
    },
  };
});
