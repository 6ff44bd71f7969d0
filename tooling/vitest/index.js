import { defineConfig, mergeConfig } from 'vitest/config';

/**
 * The shared test setup of every Recur package: Node environment, tests under test/, and a
 * generous timeout for property-based suites (fast-check runs many cases per property).
 * @param {import('vitest/config').UserConfig} [overrides]
 */
export function defineRecurConfig(overrides = {}) {
  return mergeConfig(
    defineConfig({
      test: {
        environment: 'node',
        include: ['test/**/*.test.ts'],
        testTimeout: 60_000,
        hookTimeout: 60_000,
        pool: 'forks',
      },
    }),
    overrides,
  );
}
