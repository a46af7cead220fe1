/**
 * The seed CI runs randomised tests with, so that a green run means the same thing twice and
 * a red one replays exactly. Outside CI every run draws a new seed, to keep exploring.
 */
export const CI_SEED = 20_260_421;

/**
 * The seed for a randomised test: `variable` when set, CI_SEED under CI, a random one
 * otherwise. It is printed with the command that repeats it.
 */
export function testSeed(label: string, variable: string): number {
  const given = process.env[variable];
  let seed: number;
  let origin: string;
  if (given !== undefined && given !== '') {
    seed = Number(given);
    if (!Number.isSafeInteger(seed)) throw new Error(`${variable} must be an integer, got ${JSON.stringify(given)}`);
    origin = `from ${variable}`;
  } else if (process.env.CI) {
    seed = CI_SEED;
    origin = 'fixed under CI';
  } else {
    seed = Math.floor(Math.random() * 2 ** 31);
    origin = 'random';
  }
  process.stdout.write(`${label} seed: ${seed} (${origin}; repeat with ${variable}=${seed})\n`);
  return seed;
}
