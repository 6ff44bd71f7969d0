import { compileScan, type ScanSpec } from '@recur/graph-compiler';
import * as R from '@recur/tensor';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Heap } from '../src/heap.js';
import { WasmBackend } from '../src/index.js';

describe('the allocator', () => {
  it('never overlaps live blocks and returns to its footprint when everything is freed (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ size: fc.integer({ min: 0, max: 200_000 }), freeAt: fc.nat(40) }), {
          minLength: 1,
          maxLength: 40,
        }),
        (ops) => {
          const memory = new WebAssembly.Memory({ initial: 1, maximum: 1024 });
          const heap = new Heap(memory, 1024);
          const start = heap.highWater;
          const live: { ptr: number; size: number }[] = [];
          ops.forEach((op, i) => {
            const ptr = heap.alloc(op.size);
            expect(ptr % 64).toBe(0);
            expect(ptr + op.size).toBeLessThanOrEqual(memory.buffer.byteLength);
            for (const b of live)
              expect(ptr + op.size <= b.ptr || b.ptr + b.size <= ptr || op.size === 0).toBe(true);
            live.push({ ptr, size: op.size });
            // Free an earlier block now and then, in an order the property chooses.
            if (op.freeAt % 3 === 0 && live.length > 1) {
              const [b] = live.splice(op.freeAt % live.length, 1);
              heap.free(b!.ptr, b!.size);
            }
            void i;
          });
          for (const b of live.splice(0)) heap.free(b.ptr, b.size);
          expect(heap.used).toBe(0);
          expect(heap.highWater).toBe(start);
        },
      ),
      { numRuns: 200, seed: 7 },
    );
  });

  it('says how to fix running out of memory', () => {
    const heap = new Heap(new WebAssembly.Memory({ initial: 1, maximum: 2 }), 2);
    expect(() => heap.alloc(1 << 20)).toThrow(/maxMemoryMB/);
  });
});

const spec: ScanSpec = {
  carry: { h: { shape: [4, 16] }, c: { shape: [4, 16] } },
  xs: { x: { shape: [4, 8] } },
  params: { wih: { shape: [64, 8] }, whh: { shape: [64, 16] }, bih: { shape: [64] }, bhh: { shape: [64] } },
};

/** A training step of a compiled LSTM plus an SGD update, everything freed at the end. */
function trainingRun(backend: WasmBackend, params: Record<string, R.Tensor>): void {
  R.withBackend(backend, () =>
    R.tidy(() => {
      const T = 6;
      const c = compileScan(
        ({ h, c }, { x }, p) => {
          const gates = x!
            .matmul(p.wih!, { transB: true })
            .add(p.bih!)
            .add(h!.matmul(p.whh!, { transB: true }).add(p.bhh!));
          const [i, f, g, o] = gates.split(4, -1) as [R.Tensor, R.Tensor, R.Tensor, R.Tensor];
          const c2 = f.sigmoid().mul(c!).add(i.sigmoid().mul(g.tanh()));
          const h2 = o.sigmoid().mul(c2.tanh());
          return { carry: { h: h2, c: c2 }, y: { h: h2 } };
        },
        spec,
        { steps: T, train: true, backend },
      );
      const init = { h: R.zeros([4, 16]), c: R.zeros([4, 16]) };
      const out = c.forward(init, { x: R.randn([T, 4, 8], { seed: 3 }) }, params);
      const g = c.backward(
        { h: R.onesLike(out.final.h!), c: R.zerosLike(out.final.c!) },
        { h: R.onesLike(out.ys.h!) },
      );
      R.noGrad(() => {
        for (const [k, p] of Object.entries(params)) p.assign(p.sub(g.params[k]!.mul(0.01)));
      });
      c.dispose();
    }),
  );
}

describe.each([1, 2])('a long training run on %i thread(s)', (threads) => {
  it('returns live buffers, allocated bytes and the heap footprint to their baseline', async () => {
    const backend = await WasmBackend.create({ threads });
    const params = R.withBackend(backend, () =>
      Object.fromEntries(
        Object.entries(spec.params).map(([k, v], i) => [k, R.keep(R.randn(v.shape, { seed: i }).mul(0.3))]),
      ),
    );
    trainingRun(backend, params);
    const memory = backend.memory();
    const heap = backend.heapInfo();
    for (let i = 0; i < 30; i++) trainingRun(backend, params);
    expect(backend.memory()).toEqual(memory);
    expect(backend.heapInfo()).toEqual(heap);
    for (const p of Object.values(params)) p.dispose();
    backend.dispose();
  });
});

/**
 * Zeroing a new buffer and moving a dense copy go through the core module's memory.fill and
 * memory.copy (TypedArray fill/copyWithin are many times slower on a shared memory): a block that
 * is reused after a free must come back all zeros, and neither may touch bytes beside its range.
 */
describe.each([1, 2])('bulk fills and moves on %i thread(s)', (threads) => {
  it('zeroes a reused block exactly and moves a dense copy exactly', async () => {
    const backend = await WasmBackend.create({ threads });
    expect(backend.threadingInfo.sharedMemory).toBe(threads > 1);
    const n = 8195;
    const a = backend.alloc('f32', n);
    const b = backend.alloc('f32', n);
    const pattern = Float32Array.from({ length: n }, (_, i) => i + 0.5);
    backend.write(a, pattern);
    backend.write(b, pattern);
    const ptr = a.ptr;
    backend.free(a);
    const c = backend.alloc('f32', n);
    // Same size, so the allocator hands back the freed block: its old contents must be gone.
    expect(c.ptr).toBe(ptr);
    expect(Array.from(backend.readSync(c)).every((v) => v === 0)).toBe(true);
    expect(backend.readSync(b)).toEqual(pattern);

    // out[100 .. 100 + 3·1000) = b[7 .. 7 + 3000), as a dense [3, 1000] copy; the rest stays zero.
    backend.copy({
      src: { buffer: b, offset: 7, strides: [1000, 1] },
      out: c,
      outOffset: 100,
      outStrides: [1000, 1],
      shape: [3, 1000],
    });
    const got = backend.readSync(c);
    const want = new Float32Array(n);
    want.set(pattern.subarray(7, 3007), 100);
    expect(got).toEqual(want);
    expect(backend.readSync(b)).toEqual(pattern);
    backend.dispose();
  });
});
