import { serveBareApollo } from '../../bench/lib/bare-apollo';
import { hasNoGraphQLErrors, LoadFailure, runLoad } from '../../bench/lib/load';
import { freePort } from '../../bench/lib/server-process';

const TYPENAME = JSON.stringify({ query: '{ __typename }' });

/** Load phases against a real Apollo server over real sockets; one second each, figures ignored. */
describe('an autocannon load phase', () => {
  let server: { url: string; close(): Promise<void> };

  beforeAll(async () => {
    server = await serveBareApollo(0, '127.0.0.1');
  });
  afterAll(async () => {
    await server.close();
  });

  it('reports the requests it made when every answer is the one measured', async () => {
    const bodies: string[] = [];
    const result = await runLoad({
      url: server.url,
      nextBody: () => TYPENAME,
      accept: (body) => {
        bodies.push(body);
        return hasNoGraphQLErrors(body);
      },
      connections: 2,
      durationSeconds: 1,
    });
    expect(result.requests).toBeGreaterThan(0);
    expect(bodies.length).toBeGreaterThanOrEqual(result.requests);
    expect(JSON.parse(bodies[0])).toEqual({ data: { __typename: 'Query' } });
    expect(result.p99Ms).toBeGreaterThanOrEqual(result.p50Ms);
  });

  it('sends the body nextBody gives for each request', async () => {
    let sent = 0;
    const seen = new Set<string>();
    await runLoad({
      url: server.url,
      nextBody: () => JSON.stringify({ query: `query Q${sent++ % 3} { __typename }` }),
      accept: (body) => {
        seen.add(body);
        return true;
      },
      connections: 1,
      durationSeconds: 1,
    });
    expect(sent).toBeGreaterThan(3);
    expect(seen).toEqual(new Set([JSON.stringify({ data: { __typename: 'Query' } }) + '\n']));
  });

  it('fails the phase when the server refuses the operation, instead of averaging the refusals in', async () => {
    const run = runLoad({
      url: server.url,
      nextBody: () => JSON.stringify({ query: '{ noSuchField }' }),
      accept: hasNoGraphQLErrors,
      connections: 2,
      durationSeconds: 1,
    });
    await expect(run).rejects.toThrow(LoadFailure);
    await expect(run).rejects.toThrow(/non2xx=[1-9]/);
  });

  it('fails the phase when an answer is not the one measured, quoting it', async () => {
    const run = runLoad({
      url: server.url,
      nextBody: () => TYPENAME,
      accept: (body) => body.includes('"valid":true'),
      connections: 2,
      durationSeconds: 1,
    });
    await expect(run).rejects.toThrow(/refusedBodies=[1-9].*first refused body: \{"data":\{"__typename":"Query"\}\}/s);
  });

  it('fails the phase when nothing listens', async () => {
    const port = await freePort();
    const run = runLoad({ url: `http://127.0.0.1:${port}`, nextBody: () => TYPENAME, accept: () => true, connections: 1, durationSeconds: 1 });
    await expect(run).rejects.toThrow(LoadFailure);
  });
});
