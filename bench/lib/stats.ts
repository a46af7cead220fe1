/**
 * The value below which `fraction` of the samples fall, by the nearest-rank method (so it is
 * always one of the samples). Throws on an empty sample: a percentile of nothing is a bug.
 */
export function percentile(samples: readonly number[], fraction: number): number {
  if (samples.length === 0) throw new RangeError('percentile of an empty sample');
  if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`fraction must be in (0, 1], got ${fraction}`);
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.ceil(fraction * sorted.length) - 1];
}

/** Rounds for display and JSON: three significant decimals are more than the noise allows. */
export function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
