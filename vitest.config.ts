import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // generous: on a loaded two-core machine a test that runs the CLI a few times takes 30 s
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // one temp folder per run, every test file's TMPDIR, removed at the end; each file removes its own
    globalSetup: ['test/helpers/global-setup.ts'],
    setupFiles: ['test/helpers/setup.ts'],
    // e2e suites start real platforms and processes; two cores, so keep files sequential-ish
    maxWorkers: 2,
  },
});
