/**
 * Jest runs the TypeScript sources as native ES modules through swc (fast, no type check;
 * `npm run typecheck` does that). The global setup starts the real services the suite needs.
 */
const LONG_TESTS = ['<rootDir>/test/reliability/crash.test.ts', '<rootDir>/test/reliability/security.test.ts'];

export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } }],
  },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // Minutes-long runs (a crash run with kills and restarts, a full-history security scan) stay out of
  // the default suite; their fast subsets (crash-fast, security-fast) run by default. `npm run
  // test:long` runs the long ones (LONG_TESTS=1), and `npm run reliability` the full suites.
  testPathIgnorePatterns: process.env.LONG_TESTS ? ['/node_modules/'] : ['/node_modules/', ...LONG_TESTS],
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
  setupFiles: ['<rootDir>/test/support/quiet-temporal.ts'],
  testTimeout: 120000,
  maxWorkers: 2,
};
