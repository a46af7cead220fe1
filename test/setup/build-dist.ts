import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');

/**
 * Jest global setup: the process-level tests run the compiled gateway in dist/ (and the
 * browser tests its console, the verifier tests the built library), so everything is brought
 * up to date with the sources before any test starts, through the one build entry point
 * (`npm run build`). It rebuilds only what changed, so a run after no edit costs about a
 * second, and `npx jest <file>` after an edit tests the edited code. It never deletes dist/,
 * so a gateway started from it elsewhere keeps running.
 */
export default function buildDist(): void {
  const built = spawnSync(process.execPath, [join(ROOT, 'src/build.js')], { cwd: ROOT, encoding: 'utf8' });
  if (built.error) throw new Error(`could not run the build: ${built.error.message}`);
  if (built.status !== 0) {
    throw new Error(
      `dist/ could not be brought up to date (src/build.js exited ${built.status ?? built.signal}); ` +
        `process-level tests would run stale code:\n${built.stdout}${built.stderr}`,
    );
  }
}
