import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vitest/config';

// Four tiers: unit (core in-process, in-memory database), renderer (stores and components in
// happy-dom with a fake API client), integration (real worker processes and real images), e2e
// (the real UI in headless Chromium against `svw serve`).
export default defineConfig({
  test: {
    pool: 'forks',
    // The JSON report lets .ci/run print a one-line total.
    reporters: ['default', ['json', { outputFile: 'dist/test-results.json' }]],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        plugins: [vue()],
        test: {
          name: 'renderer',
          include: ['test/renderer/**/*.test.ts'],
          environment: 'happy-dom',
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          // One browser and one server at a time: the machine has two cores.
          fileParallelism: false,
        },
      },
    ],
  },
});
