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
          // One test bed of real clusters for the whole run: files share it and must not interleave.
          fileParallelism: false,
          testTimeout: 240_000,
          hookTimeout: 900_000,
          globalSetup: ['e2e/global-setup.ts'],
        },
      },
    ],
  },
});
