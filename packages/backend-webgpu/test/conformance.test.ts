import { defineConformanceSuite, primitiveCases } from '@recur/tensor/testkit';
import { describe, it } from 'vitest';
import { backend, createBackend, gpuAvailable, skipReason } from './gpu.js';

/** The shared conformance suite. WebGPU has no f64: the suite skips those cases and checks gradients in f32. */
if (gpuAvailable) {
  defineConformanceSuite('webgpu', backend, { describe, it }, { numRuns: 10 });

  // The suite's backend picks the GEMM kernel for its adapter; run the matmul cases on the other too.
  describe('webgpu: matmul cases with each GEMM kernel', () => {
    for (const kind of ['tiled', 'direct'] as const) {
      const other = createBackend({ gemmKernel: kind });
      for (const c of primitiveCases().filter(
        (c) => c.name.startsWith('matmul/') || c.name.startsWith('ordering/chain'),
      )) {
        it(`${kind}: ${c.name}`, async () => c.run(await other));
      }
    }
  });
} else {
  describe('webgpu conformance', () => {
    it.skip(`skipped: ${skipReason}`, () => {});
  });
}
