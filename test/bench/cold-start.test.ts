import { dataset } from '../../bench/lib/store/dataset';
import type { Figure } from '../../bench/types';
import { makeTempDir } from '../helpers/temp-dir';

jest.setTimeout(180_000);

// The gateway process runs the compiled build, so the benchmark module is the compiled one too.
const { measureColdStart } = require('../../dist/bench/cold-start.bench') as typeof import('../../bench/cold-start.bench');

describe('the cold-start benchmark', () => {
  const temp = makeTempDir('keyledger-cold-start');
  afterAll(() => temp.remove());

  it('starts a gateway on a log without read models, verifies its tokens and reports seconds to ready, peak RSS and events/s beside their baselines', async () => {
    const data = await dataset('tokens', 400, { root: `${temp.path}/cache` });
    const figures: Figure[] = await measureColdStart(data, `${temp.path}/work`, 25);
    expect(figures.map((figure) => [figure.unit, figure.target.kind])).toEqual([
      ['s', 'at-most'],
      ['MiB', 'at-most'],
      ['events/s', 'ratio-at-least'],
    ]);
    for (const figure of figures) {
      expect(figure.value).toBeGreaterThan(0);
      expect(figure.baseline?.value).toBeGreaterThan(0);
    }
    for (const figure of figures.slice(0, 2)) expect(figure.detail).toMatchObject({ events: 400, verified: 25 });
    expect(figures[1]!.target).toEqual({ kind: 'at-most', value: 1024 });
    // The third is the same start in events/s, beside SQLite writing the read models it left.
    expect(figures[2]!.detail).toMatchObject({ 'replay s': figures[0]!.value });
    expect(Math.abs(figures[2]!.value * figures[0]!.value - 400)).toBeLessThan(4);
    expect(figures[2]!.detail!['write floor s']).toBeGreaterThan(0);
  });
});
