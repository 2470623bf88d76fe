import { defineConfig } from 'vitest/config';

// Three tiers: unit (core in-process, in-memory database), integration (real worker
// processes and real images), e2e (the real UI in headless Chromium against `svw serve`).
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
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
