import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['e2e/**/*.test.ts'],
          // One test bed of real clusters for the whole run: every file runs in one process, one
          // after another, sharing it (see e2e/support/bed.ts).
          pool: 'forks',
          isolate: false,
          fileParallelism: false,
          maxWorkers: 1,
          testTimeout: 240_000,
          hookTimeout: 900_000,
          globalSetup: ['e2e/global-setup.ts'],
        },
      },
    ],
  },
});
