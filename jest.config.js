/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    // jose ships ES modules only; Node loads them with require(esm), but Jest's module loader
    // does not before Node 24.9, so its files are compiled to CommonJS for the tests.
    '^.+/node_modules/jose/.+\\.js$': [
      'ts-jest',
      { tsconfig: { allowJs: true, module: 'commonjs', target: 'ES2022', isolatedModules: true }, diagnostics: false },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  setupFiles: ['reflect-metadata'],
  // Process-level tests run dist/: build what changed before any test runs.
  globalSetup: '<rootDir>/test/setup/build-dist.ts',
  // After the summary: how many tests were skipped, and why.
  reporters: ['default', '<rootDir>/test/setup/skipped-reporter.js'],
  testTimeout: 30000,
  // Process-level tests spawn the compiled gateway; keep suites from starving each other on small machines.
  maxWorkers: 2,
  // Jest gives a worker 500 ms to exit once the run ends, and a worker that has run many suites
  // spends longer than that freeing its heap on exit, so it was force exited (and Jest blamed a
  // leaked handle). A worker whose heap outgrows this after a suite is replaced instead.
  workerIdleMemoryLimit: '256MB',
};
