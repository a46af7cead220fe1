import { percentile } from '../../bench/lib/stats';

describe('percentile', () => {
  const oneToHundred = Array.from({ length: 100 }, (_, i) => 100 - i);

  it('takes the nearest rank, so the answer is always one of the samples', () => {
    expect(percentile(oneToHundred, 0.5)).toBe(50);
    expect(percentile(oneToHundred, 0.99)).toBe(99);
    expect(percentile(oneToHundred, 1)).toBe(100);
    expect(percentile([1, 2, 3], 0.5)).toBe(2);
    expect(percentile([10, 20], 0.99)).toBe(20);
    expect(percentile([7], 0.01)).toBe(7);
  });

  it('leaves the samples in their order', () => {
    const samples = [3, 1, 2];
    percentile(samples, 0.5);
    expect(samples).toEqual([3, 1, 2]);
  });

  it('refuses an empty sample and a fraction outside (0, 1]', () => {
    expect(() => percentile([], 0.5)).toThrow('empty');
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 1.5)).toThrow(RangeError);
  });
});
