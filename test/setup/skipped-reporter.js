// @ts-check
'use strict';
const { relative } = require('node:path');

/** A skipped test (or one of its describe blocks) states why in its title: "… (skipped: <reason>)". */
const REASON = /\(skipped: (.*)\)$/;

function reasonOf(assertion) {
  for (const title of [assertion.title, ...[...assertion.ancestorTitles].reverse()]) {
    const found = REASON.exec(title);
    if (found) return found[1];
  }
  return null;
}

/**
 * Prints, after jest's own summary, how many tests did not run and why, grouped by the reason
 * their titles give, so a skipped suite standing for many tests is never read as one.
 */
class SkippedReporter {
  /** @param {import('@jest/reporters').Config.GlobalConfig} globalConfig */
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
    // With -t, jest skips whatever does not match; only skips that give a reason are news then.
    this.filtered = Boolean(globalConfig.testNamePattern);
  }

  /** @param {unknown} _contexts @param {import('@jest/reporters').AggregatedResult} results */
  onRunComplete(_contexts, results) {
    /** @type {Map<string, { count: number, files: Set<string> }>} */
    const byReason = new Map();
    let total = 0;
    for (const file of results.testResults) {
      const path = relative(this.rootDir, file.testFilePath);
      for (const assertion of file.testResults) {
        if (assertion.status !== 'pending' && assertion.status !== 'skipped' && assertion.status !== 'todo') continue;
        const reason = reasonOf(assertion);
        if (!reason && this.filtered) continue;
        const key = reason ?? 'no reason given in the title';
        const entry = byReason.get(key) ?? { count: 0, files: new Set() };
        entry.count += 1;
        entry.files.add(path);
        byReason.set(key, entry);
        total += 1;
      }
    }
    if (total === 0) return;
    const lines = [`Skipped: ${total} test${total === 1 ? '' : 's'} did not run`];
    for (const [reason, { count, files }] of [...byReason].sort((a, b) => b[1].count - a[1].count)) {
      lines.push(`  ${String(count).padStart(4)}  ${reason}  (${[...files].sort().join(', ')})`);
    }
    process.stderr.write(`${lines.join('\n')}\n`);
  }
}

module.exports = SkippedReporter;
