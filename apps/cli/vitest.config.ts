import { defineRecurConfig } from '@recur/vitest-config';

// The training tests take seconds on an idle machine; the limits leave room for a busy one.
export default defineRecurConfig({ test: { testTimeout: 240_000, hookTimeout: 240_000 } });
