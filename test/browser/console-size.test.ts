import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** The console's whole JavaScript and CSS, gzipped, may not exceed this. */
const BUDGET_BYTES = 150 * 1024;

describe('console: size', () => {
  it(`ships at most ${BUDGET_BYTES} bytes of JavaScript and CSS, gzipped`, () => {
    // What `npm run build` writes and the gateway serves.
    const directory = join(__dirname, '../../dist/console/assets');
    const files = readdirSync(directory).filter((name) => /\.(m?js|css)$/.test(name));
    expect(files.some((name) => name.endsWith('.js'))).toBe(true);
    expect(files.some((name) => name.endsWith('.css'))).toBe(true);
    const gzipped = files.reduce((sum, name) => sum + gzipSync(readFileSync(join(directory, name)), { level: 9 }).length, 0);
    expect(gzipped).toBeLessThanOrEqual(BUDGET_BYTES);
  });
});
