import { measureEventStoreDbCatchUp } from '../../bench/eventstoredb-catch-up.bench';
import { dataset } from '../../bench/lib/store/dataset';
import { makeTempDir } from '../helpers/temp-dir';

jest.setTimeout(180_000);

describe('the EventStoreDB catch-up benchmark', () => {
  const temp = makeTempDir('keyledger-esdb-catch-up');
  afterAll(() => temp.remove());

  it('applies every loaded event from the double to every read model and reports it beside the raw read of the same events', async () => {
    const data = await dataset('mixed', 1500, { root: `${temp.path}/cache` });
    const [figure, ...rest] = await measureEventStoreDbCatchUp(data, temp.path, 1200);
    expect(rest).toEqual([]);
    expect(figure).toMatchObject({
      unit: 'events/s',
      baseline: { name: 'raw client readAll of the same events' },
      target: { kind: 'ratio-at-least', ratio: 0.5 },
      detail: { events: 1200 },
    });
    expect(figure!.name).toContain('7 read models, 1200 events');
    expect(figure!.value).toBeGreaterThan(0);
    expect(figure!.baseline!.value).toBeGreaterThan(0);
  });
});
