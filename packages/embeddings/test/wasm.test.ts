import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createVectorMemory, type VectorKernel, vectorKernelBytes } from '../src/wasm.js';

function instantiate(): { k: VectorKernel; f32: Float32Array } {
  const vm = createVectorMemory(1 << 16, false);
  if (vm === undefined) throw new Error('WebAssembly SIMD is not available');
  const instance = new WebAssembly.Instance(vm.module, { env: { memory: vm.memory } });
  return { k: instance.exports as unknown as VectorKernel, f32: new Float32Array(vm.memory.buffer) };
}

describe('the SIMD vector loops', () => {
  it('is a valid module, shared or not', () => {
    expect(WebAssembly.validate(vectorKernelBytes(1, false))).toBe(true);
    expect(WebAssembly.validate(vectorKernelBytes(4, true))).toBe(true);
  });

  it('match plain loops for every length and offset (property)', () => {
    const { k, f32 } = instantiate();
    const floats = (n: number) =>
      fc.array(fc.float({ min: -4, max: 4, noNaN: true, noDefaultInfinity: true }), {
        minLength: n,
        maxLength: n,
      });
    fc.assert(
      fc.property(
        fc
          .integer({ min: 0, max: 37 })
          .chain((n) =>
            fc.tuple(
              fc.constant(n),
              floats(n),
              floats(n),
              floats(n),
              fc.integer({ min: 0, max: 7 }),
              fc.float({ min: -2, max: 2, noNaN: true }),
            ),
          ),
        ([n, a, b, c, shift, g]) => {
          // Three rows at unaligned float offsets.
          const oa = 3 + shift;
          const ob = 100 + 2 * shift;
          const oc = 200 + shift;
          f32.set(a, oa);
          f32.set(b, ob);
          f32.set(c, oc);
          let want = 0;
          for (let i = 0; i < n; i++) want += a[i]! * b[i]!;
          expect(k.dot(oa * 4, ob * 4, n)).toBeCloseTo(want, 3);
          const gf = Math.fround(g);
          k.update(oa * 4, ob * 4, oc * 4, gf, n);
          for (let i = 0; i < n; i++) {
            expect(f32[oa + i]).toBeCloseTo(a[i]! + gf * b[i]!, 4);
            expect(f32[ob + i]).toBeCloseTo(b[i]! + gf * c[i]!, 4);
          }
          f32.set(a, oa);
          k.add(oa * 4, oc * 4, n);
          for (let i = 0; i < n; i++) expect(f32[oa + i]).toBe(Math.fround(a[i]! + c[i]!));
          k.scale(oa * 4, gf, n);
          for (let i = 0; i < n; i++) expect(f32[oa + i]).toBe(Math.fround(Math.fround(a[i]! + c[i]!) * gf));
          f32[oa + n] = 7;
          k.zero(oa * 4, n);
          for (let i = 0; i < n; i++) expect(f32[oa + i]).toBe(0);
          expect(f32[oa + n]).toBe(7); // nothing written past the end
        },
      ),
      { numRuns: 200 },
    );
  });
});
