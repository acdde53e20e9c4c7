import { defineConfig } from 'vitest/config';

// Unit tests run in parallel and never start a process. Integration and end-to-end tests start
// one real control plane per file, so files run one at a time on this 2-core machine.
export default defineConfig({
  test: {
    // Prints the Node that runs the tests, so a log shows it is the pinned one.
    globalSetup: ['test/harness/node-version.ts'],
    teardownTimeout: 60_000,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'hack/**/*.test.ts', 'test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
