// Two projects: unit + integration tests beside the code (Node environment, real SQLite, real worker,
// real onnxruntime), and e2e runs of the whole app in Debian's Chromium.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['./vitest.tmpdir.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['app/**/*.test.ts', 'scripts/**/*.test.ts'],
          environment: 'node',
          pool: 'forks',
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['e2e/**/*.test.ts'],
          environment: 'node',
          pool: 'forks',
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // The page renders and loads images while the unit tests run beside it on two cores.
          expect: { poll: { timeout: 10_000 } },
        },
      },
    ],
  },
});
