import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');

/**
 * Jest global setup: the process-level tests run the compiled gateway in dist/, so dist/ is
 * brought up to date with the sources before any test starts. `tsc -b` compares the sources
 * with dist/tsconfig.build.tsbuildinfo and rebuilds only what changed, so a run after no edit
 * costs about a second, and `npx jest <file>` after an edit tests the edited code. It never
 * deletes dist/, so a gateway started from it elsewhere keeps running.
 */
export default function buildDist(): void {
  const tsc = require.resolve('typescript/bin/tsc', { paths: [ROOT] });
  const built = spawnSync(process.execPath, [tsc, '-b', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
  if (built.error) throw new Error(`could not run tsc to build dist/: ${built.error.message}`);
  if (built.status !== 0) {
    throw new Error(
      `dist/ could not be brought up to date (tsc -b tsconfig.build.json exited ${built.status ?? built.signal}); ` +
        `process-level tests would run stale code:\n${built.stdout}${built.stderr}`,
    );
  }
}
