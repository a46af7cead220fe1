import { dataset } from '../../bench/lib/store/dataset';
import type { Figure } from '../../bench/types';
import { makeTempDir } from '../helpers/temp-dir';

jest.setTimeout(180_000);

// The gateway process runs the compiled build, so the benchmark module is the compiled one too.
const { measureColdStart } = require('../../dist/bench/cold-start.bench') as typeof import('../../bench/cold-start.bench');

describe('the cold-start benchmark', () => {
  const temp = makeTempDir('keyledger-cold-start');
  afterAll(() => temp.remove());

  it('starts a gateway on a log without read models, verifies its tokens and reports seconds to ready and peak RSS beside their baselines', async () => {
    const data = await dataset('tokens', 400, { root: `${temp.path}/cache` });
    const figures: Figure[] = await measureColdStart(data, `${temp.path}/work`, 25);
    expect(figures.map((figure) => [figure.unit, figure.target.kind])).toEqual([
      ['s', 'at-most'],
      ['MiB', 'at-most'],
    ]);
    for (const figure of figures) {
      expect(figure.value).toBeGreaterThan(0);
      expect(figure.baseline?.value).toBeGreaterThan(0);
      expect(figure.detail).toMatchObject({ events: 400, verified: 25 });
    }
    expect(figures[1]!.target).toEqual({ kind: 'at-most', value: 1024 });
  });
});
