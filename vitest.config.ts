import { configDefaults, defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** e2e scenario files run in the order of their numbered names: later ones change the mesh. */
class ByName extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => a.moduleId.localeCompare(b.moduleId));
  }
}

export default defineConfig({
  test: {
    sequence: { sequencer: ByName },
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
          // e2e/kind needs real nodes: it runs with E2E_PROVIDER=kind (npm run test:e2e:kind) only.
          include: ['e2e/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...(process.env.E2E_PROVIDER === 'kind' ? [] : ['e2e/kind/**'])],
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
