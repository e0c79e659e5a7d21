// Three projects so that `jest --selectProjects unit` stays dependency-free while the full run
// exercises the real PostgreSQL and Redis. swc transpiles (type checking is `npm run typecheck`).
// The page's modules (src/ui/public) are browser ES modules: swc turns them into CommonJS for the unit tests.
const transform = { '^.+\\.ts$': ['@swc/jest'], '/src/ui/public/.+\\.js$': ['@swc/jest'] };
const common = { transform, testEnvironment: 'node', moduleFileExtensions: ['ts', 'js', 'json'] };

module.exports = {
  // Integration and end-to-end tests start apps and processes; each still waits on conditions with deadlines.
  testTimeout: 60_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{src,simulator,scripts}/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.integration-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      // Every response the tests receive is validated against the service's OpenAPI document.
      setupFilesAfterEnv: ['<rootDir>/test/support/e2e-setup.ts'],
    },
  ],
};
