import { defineConfig } from 'vitest/config';

// Files a lane leaves to the other (test/run-suite.ts): vitest's --exclude on the command line does not
// reach the projects below, so the lane passes its globs here.
const laneExcludes = (process.env.VITEST_LANE_EXCLUDE ?? '').split(',').filter(Boolean);

export default defineConfig({
  test: {
    // One broker for the whole run and 2 cores: test files run one at a time.
    fileParallelism: false,
    projects: [
      {
        test: {
          name: 'unit',
          // test/setup/*.test.ts: the test harness's own pure logic (no broker).
          include: ['services/**/*.test.ts', 'infra/**/*.test.ts', 'bench/**/*.test.ts', 'test/setup/*.test.ts'],
          exclude: ['**/node_modules/**', ...laneExcludes],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['test/setup/**', ...laneExcludes],
          globalSetup: ['test/setup/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
