import { defineConformanceSuite } from '@recur/tensor/testkit';
import { describe, it } from 'vitest';
import { backend, gpuAvailable, skipReason } from './gpu.js';

if (gpuAvailable) {
  defineConformanceSuite('webgpu', backend, { describe, it }, { numRuns: 10 });
} else {
  describe('webgpu conformance', () => {
    it.skip(`skipped: ${skipReason}`, () => {});
  });
}
