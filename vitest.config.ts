import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Native code runs in forked workers: a crash or a libtorch thread pool stays inside
    // one test file's process.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    // Two test files run at once on a 2-core machine: one intra-op thread each, or OpenMP
    // workers spin against each other (a call can get 30x slower). EDICT_THREADS overrides.
    env: { EDICT_THREADS: process.env.EDICT_THREADS ?? '1' },
    hookTimeout: 300_000,
    // Concurrent tests (test/examples.test.ts) run two at a time: one per core.
    maxConcurrency: 2,
  },
});
