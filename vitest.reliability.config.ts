import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.reliability.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
});
