import { defineRecurConfig } from '@recur/vitest-config';

export default defineRecurConfig();
