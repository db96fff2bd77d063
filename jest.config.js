/** Tests run in band: end-to-end suites share one PostgreSQL cluster (roles are cluster-wide) and one Redis. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  testTimeout: 30000,
  // Stopped bots may leave Slack retries and reconnect timers behind (a real process exits on stop; a test process
  // does not), and a hang after the results would only turn a finished run into a CI timeout.
  forceExit: true,
};
