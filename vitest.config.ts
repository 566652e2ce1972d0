import { defineConfig } from 'vitest/config';

// Unit and integration tests. The slow reliability tier lives in vitest.reliability.config.ts
// (files named *.reliability.ts) so `npm test` stays within CI's budget on a 2-core machine.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'plugins/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
