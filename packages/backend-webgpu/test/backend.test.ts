import { JsBackend } from '@recur/backend-js';
import {
  BackendRegistry,
  crossEntropy,
  type Expr,
  evalExpr,
  ex,
  gather,
  randn,
  tensor,
  tidy,
  withBackend,
} from '@recur/tensor';
import { assertClose } from '@recur/tensor/testkit';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DeviceLostError,
  registerWebGpuBackend,
  type WebGpuBackend,
  type WebGpuBuffer,
} from '../src/index.js';
import { backend, createBackend, gpuAvailable, skipReason } from './gpu.js';

const f32 = (b: WebGpuBackend, values: readonly number[]): WebGpuBuffer => {
  const buf = b.alloc('f32', values.length);
  b.write(buf, Float32Array.from(values));
  return buf;
};

/** A fresh backend on its own device, for tests that change options or break the device. */
const fresh = createBackend;

function refGemm(
  a: readonly number[],
  b: readonly number[],
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  bias: readonly number[] | null,
  init: readonly number[] | null,
): number[] {
  const out: number[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = (init ? init[i * n + j]! : 0) + (bias ? bias[j]! : 0);
      for (let q = 0; q < k; q++)
        acc += a[transA ? q * m + i : i * k + q]! * b[transB ? j * k + q : q * n + j]!;
      out.push(Math.fround(acc));
    }
  }
  return out;
}

const rand = (n: number, seed: number): number[] => {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
};

if (!gpuAvailable) {
  describe('webgpu backend', () => {
    it.skip(`skipped: ${skipReason}`, () => {});
  });
} else {
  describe('webgpu backend: kernels', () => {
    const variants = (['tiled', 'direct'] as const).flatMap((kind) =>
      ([1, 2, 4] as const).map((tile) => ({ kind, tile })),
    );
    for (const { kind, tile } of variants) {
      it(`${kind} GEMM with a ${tile}×${tile} register tile: every transposition, bias and accumulate, ragged edges`, async () => {
        const b = await fresh({ gemmTile: tile, gemmKernel: kind });
        const [m, n, k] = [37, 70, 33];
        for (const transA of [false, true]) {
          for (const transB of tile === 4 && kind === 'tiled' ? [transA] : [false, true]) {
            const av = rand(m * k, 1);
            const bv = rand(k * n, 2);
            const bias = rand(n, 3);
            const init = rand(m * n, 4);
            const A = f32(b, av);
            const B = f32(b, bv);
            const bb = f32(b, bias);
            const out = f32(b, init);
            b.matmul({
              a: A,
              b: B,
              out,
              batch: 1,
              m,
              n,
              k,
              transA,
              transB,
              aOffset: 0,
              bOffset: 0,
              outOffset: 0,
              aBatchStride: 0,
              bBatchStride: 0,
              bias: { buffer: bb, offset: 0 },
              accumulate: true,
            });
            const expected = refGemm(av, bv, m, n, k, transA, transB, bias, init);
            assertClose(`${kind} gemm t=${tile} ${transA}${transB}`, await b.read(out), expected, 'f32', {
              absScale: k,
            });
          }
        }
        b.dispose();
      });
    }

    it('random fused expressions over random strided views agree with evalExpr', async () => {
      const b = await backend();
      const leaf = (arity: number) => fc.nat(arity - 1).map((i): Expr => ex.input(i, 'f32'));
      const exprArb = (arity: number) =>
        fc.letrec<{ e: Expr }>((tie) => ({
          e: fc.oneof(
            { depthSize: 'small', withCrossShrink: true },
            leaf(arity),
            fc.double({ min: -2, max: 2, noNaN: true }).map((v) => ex.const(v, 'f32')),
            fc
              .tuple(fc.constantFrom('neg', 'tanh', 'sigmoid', 'abs', 'relu', 'sign' as const), tie('e'))
              .map(([op, a]) => ex.unary(op, a)),
            fc
              .tuple(fc.constantFrom('add', 'sub', 'mul', 'min', 'max' as const), tie('e'), tie('e'))
              .map(([op, a, c]) => ex.binary(op, a, c)),
            fc
              .tuple(tie('e'), tie('e'), tie('e'))
              .map(([c, a, d]) => ex.where(ex.binary('gt', c, ex.const(0, 'f32')), a, d)),
          ),
        })).e;
      const caseArb = fc
        .record({
          shape: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 0, maxLength: 3 }),
          arity: fc.integer({ min: 1, max: 3 }),
          seed: fc.nat(),
        })
        .chain(({ shape, arity, seed }) =>
          fc.record({
            shape: fc.constant(shape),
            seed: fc.constant(seed),
            exprs: fc.array(exprArb(arity), { minLength: 1, maxLength: 3 }),
            // Per input: broadcast mask and a permutation seed; per output: a transposed placement.
            views: fc.array(fc.record({ mask: fc.nat(7), offset: fc.nat(3), rev: fc.boolean() }), {
              minLength: arity,
              maxLength: arity,
            }),
            outRev: fc.boolean(),
          }),
        );
      await fc.assert(
        fc.asyncProperty(caseArb, async ({ shape, seed, exprs, views, outRev }) => {
          const size = shape.reduce((a, c) => a * c, 1);
          const strideFor = (dims: readonly number[], rev: boolean, mask: number) => {
            // Column-major when rev (a transposed layout), row-major otherwise; broadcast where masked.
            const strides = new Array<number>(dims.length).fill(0);
            let acc = 1;
            const order = dims.map((_, i) => i);
            if (!rev) order.reverse();
            for (const d of order) {
              strides[d] = (mask >> d) & 1 ? 0 : acc;
              acc *= dims[d]!;
            }
            return strides;
          };
          const inputs = views.map((v, i) => {
            const strides = strideFor(shape, v.rev, v.mask);
            const extent = v.offset + shape.reduce((a, d, j) => a + (d - 1) * strides[j]!, 0) + 1;
            const values = rand(extent, seed + i).map((x) => x * 4);
            return { values, strides, offset: v.offset, buffer: f32(b, values) };
          });
          const outStrides = strideFor(shape, outRev, 0);
          const outs = exprs.map(() => b.alloc('f32', size + 1));
          b.elementwise({
            expr: exprs[0]!,
            inputs: inputs.map((v) => ({ buffer: v.buffer, offset: v.offset, strides: v.strides })),
            out: outs[0]!,
            shape,
            outView: { offset: 1, strides: outStrides },
            more: exprs
              .slice(1)
              .map((e, k) => ({ expr: e, out: outs[k + 1]!, offset: 1, strides: outStrides })),
          });
          for (let k = 0; k < exprs.length; k++) {
            const expected = new Array<number>(size + 1).fill(0);
            const idx = new Array<number>(shape.length).fill(0);
            for (let flat = 0; flat < size; flat++) {
              let r = flat;
              for (let d = shape.length - 1; d >= 0; d--) {
                idx[d] = r % shape[d]!;
                r = Math.floor(r / shape[d]!);
              }
              const args = inputs.map(
                (v) => v.values[v.offset + idx.reduce((a, c, d) => a + c * v.strides[d]!, 0)]!,
              );
              const at = 1 + idx.reduce((a, c, d) => a + c * outStrides[d]!, 0);
              expected[at] = evalExpr(exprs[k]!, args.map(Math.fround));
            }
            const found = await b.read(outs[k]!);
            for (let i = 0; i < expected.length; i++) {
              const e = expected[i]!;
              if (!(Math.abs(found[i]! - e) <= 2e-5 * (1 + Math.abs(e)))) {
                throw new Error(`output ${k} at ${i}: expected ${e}, found ${found[i]}`);
              }
            }
          }
          for (const v of inputs) b.free(v.buffer);
          for (const o of outs) b.free(o);
        }),
        { numRuns: 60, seed: 7 },
      );
    });

    it('a fused kernel binding more buffers than the device allows is split, in-place inputs copied aside', async () => {
      const b = await fresh({ maxStorageBuffersPerKernel: 5 });
      const xs = [0, 1, 2, 3].map((i) => f32(b, rand(6, 10 + i)));
      const host = await Promise.all(xs.map((x) => b.read(x)));
      const sum = ex.binary(
        'add',
        ex.binary('add', ex.input(0, 'f32'), ex.input(1, 'f32')),
        ex.binary('mul', ex.input(2, 'f32'), ex.input(3, 'f32')),
      );
      const outA = b.alloc('f32', 6);
      const outB = b.alloc('f32', 6);
      // Six buffers in all; output 1 overwrites input 0 in place while outputs 0 and 2 still read it.
      b.elementwise({
        expr: sum,
        inputs: xs.map((x) => ({ buffer: x, offset: 0, strides: [1] })),
        out: outA,
        shape: [6],
        more: [
          { expr: ex.unary('neg', ex.input(0, 'f32')), out: xs[0]!, offset: 0, strides: [1] },
          {
            expr: ex.binary('sub', ex.input(0, 'f32'), ex.input(3, 'f32')),
            out: outB,
            offset: 0,
            strides: [1],
          },
        ],
      });
      const [h0, h1, h2, h3] = host as [Float32Array, Float32Array, Float32Array, Float32Array];
      const ref = (f: (i: number) => number) => Array.from({ length: 6 }, (_, i) => Math.fround(f(i)));
      assertClose(
        'sum',
        await b.read(outA),
        ref((i) => h0[i]! + h1[i]! + Math.fround(h2[i]! * h3[i]!)),
        'f32',
      );
      assertClose(
        'neg',
        await b.read(xs[0]!),
        ref((i) => -h0[i]!),
        'f32',
      );
      assertClose(
        'sub',
        await b.read(outB),
        ref((i) => h0[i]! - h3[i]!),
        'f32',
      );
      expect(b.stats().dispatches).toBeGreaterThanOrEqual(3);
      expect(b.memory().buffers).toBe(6);
      b.dispose();
    });

    it('dispatches larger than 65535 workgroups run on a 2-D grid', async () => {
      const b = await backend();
      const n = 65536 * 128 + 77;
      const x = b.alloc('f32', n);
      b.elementwise({ expr: ex.const(1.5, 'f32'), inputs: [], out: x, shape: [n] });
      const got = (await b.read(x)) as Float32Array;
      expect(got[n - 1]).toBe(1.5);
      expect(got.every((v) => v === 1.5)).toBe(true);
      b.free(x);
    });
  });

  describe('webgpu backend: memory, ordering and errors', () => {
    it('freed buffers are reused from the pool, zero-filled, without creating device buffers', async () => {
      const b = await backend();
      const x = f32(b, [1, 2, 3, 4, 5]);
      await b.read(x);
      b.free(x);
      const created = b.stats().buffersCreated;
      const y = b.alloc('f32', 5);
      expect(b.stats().buffersCreated).toBe(created);
      expect(Array.from(await b.read(y))).toEqual([0, 0, 0, 0, 0]);
      b.free(y);
    });

    it('a buffer reused while a compute pass is open is zero-filled in order', async () => {
      const b = await backend();
      const x = f32(b, [1, 2, 3, 4, 5, 6]);
      const y = b.alloc('f32', 6);
      // Enqueue a dispatch (the pass stays open), then free and reuse y's device buffer.
      b.elementwise({
        expr: ex.binary('add', ex.input(0, 'f32'), ex.const(1, 'f32')),
        inputs: [{ buffer: x, offset: 0, strides: [1] }],
        out: y,
        shape: [6],
      });
      const z = b.alloc('f32', 6);
      b.copy({
        src: { buffer: y, offset: 0, strides: [1] },
        out: z,
        outOffset: 0,
        outStrides: [1],
        shape: [6],
      });
      b.free(y);
      const created = b.stats().buffersCreated;
      const w = b.alloc('f32', 6);
      expect(b.stats().buffersCreated).toBe(created);
      expect(Array.from(await b.read(w))).toEqual([0, 0, 0, 0, 0, 0]);
      expect(Array.from(await b.read(z))).toEqual([2, 3, 4, 5, 6, 7]);
      for (const t of [x, z, w]) b.free(t);
    });

    it('submitEvery submits long sequences in pieces, with the same results', async () => {
      const b = await fresh({ submitEvery: 3 });
      const x = f32(b, [0.25]);
      const before = b.stats().submits;
      for (let i = 0; i < 20; i++) {
        b.elementwise({
          expr: ex.binary('mul', ex.input(0, 'f32'), ex.const(2, 'f32')),
          inputs: [{ buffer: x, offset: 0, strides: [1] }],
          out: x,
          shape: [1],
        });
      }
      expect(b.stats().submits - before).toBe(6);
      expect((await b.read(x))[0]).toBe(0.25 * 2 ** 20);
      b.dispose();
    });

    it('work encoded before a write reads the old contents; large writes keep order too', async () => {
      const b = await fresh({ uploadArenaBytes: 4096 });
      for (const n of [8, 5000]) {
        const x = f32(b, rand(n, 1));
        const y = b.alloc('f32', n);
        b.copy({
          src: { buffer: x, offset: 0, strides: [2] },
          out: y,
          outOffset: 0,
          outStrides: [2],
          shape: [n / 2],
        });
        const before = Array.from(await b.read(x));
        b.write(x, Float32Array.from(rand(n, 2)));
        const expected = before.map((v, i) => (i % 2 === 0 ? v : 0));
        assertClose(`write after copy n=${n}`, await b.read(y), expected, 'f32', { exact: true });
      }
      b.dispose();
    });

    it('a small parameter arena splits a long sequence into several submits, same results', async () => {
      const b = await fresh({ paramArenaBytes: 256 * 4 });
      const x = f32(b, [0.5]);
      const before = b.stats().submits;
      for (let i = 0; i < 20; i++) {
        b.elementwise({
          expr: ex.binary('mul', ex.input(0, 'f32'), ex.const(2, 'f32')),
          inputs: [{ buffer: x, offset: 0, strides: [1] }],
          out: x,
          shape: [1],
        });
      }
      expect((await b.read(x))[0]).toBe(0.5 * 2 ** 20);
      expect(b.stats().submits - before).toBeGreaterThanOrEqual(5);
      b.dispose();
    });

    it('bad input fails with a clear error', async () => {
      const b = await backend();
      expect(() => b.alloc('f64', 3)).toThrow(/expected dtype f32 or i32, found f64/);
      const js = new JsBackend().alloc('f32', 2);
      expect(() => b.free(js)).toThrow(/allocated by the webgpu backend/);
      const x = b.alloc('f32', 4);
      b.free(x);
      expect(() => b.free(x)).toThrow(/already freed/);
      const y = b.alloc('f32', 4);
      expect(() =>
        b.copy({
          src: { buffer: y, offset: 2, strides: [1] },
          out: y,
          outOffset: 0,
          outStrides: [1],
          shape: [3],
        }),
      ).toThrow(/outside its buffer of 4 elements/);
      expect(() => b.alloc('f32', b.limits.maxBufferSize)).toThrow(/at most \d+ bytes per buffer/);
      b.free(y);
    });

    it('an out-of-range gather index is reported by the next read', async () => {
      const b = await backend();
      const table = randn([4, 3], { backend: b, seed: 1 });
      const idx = tensor([1, 7, 2], [3], { backend: b, dtype: 'i32' });
      const out = gather(table, idx, 0);
      await expect(out.data()).rejects.toThrow(
        /gather: expected indices within the table's axis, found 1 out of range \(the first at position 1\)/,
      );
      // The report is cleared once delivered.
      const ok = gather(table, tensor([0], [1], { backend: b, dtype: 'i32' }), 0);
      await expect(ok.data()).resolves.toHaveLength(3);
    });

    it('a lost device is reported as DeviceLostError', async () => {
      const b = await fresh();
      const x = f32(b, [1, 2]);
      b.device.destroy();
      await new Promise((r) => setTimeout(r, 50));
      await expect(b.read(x)).rejects.toThrow(DeviceLostError);
      expect(() => b.alloc('f32', 2)).toThrow(/found it lost/);
      b.dispose();
    });
  });

  describe('webgpu backend: the tensor API', () => {
    it('registers on a registry and passes its interface check', async () => {
      const registry = registerWebGpuBackend(new BackendRegistry(), () => createBackend());
      expect(registry.names()).toEqual(['webgpu']);
      const b = await registry.create('webgpu');
      expect(b.name).toBe('webgpu');
      expect(b.capabilities.dtypes).toEqual(['f32', 'i32']);
      expect(b.capabilities.syncRead).toBe(false);
      b.dispose();
    });

    it('an eager training step (matmul, tanh, cross-entropy, backward) matches the js backend', async () => {
      const gpu = await backend();
      const js = new JsBackend();
      const run = async (on: WebGpuBackend | JsBackend) => {
        const w = randn([6, 4], { backend: on, seed: 3, requiresGrad: true });
        const x = randn([5, 6], { backend: on, seed: 4 });
        const y = tensor([0, 3, 1, 2, 3], [5], { backend: on, dtype: 'i32' });
        const loss = withBackend(on, () => tidy(() => crossEntropy(x.matmul(w).tanh(), y)));
        loss.backward();
        return { loss: Array.from(await loss.data()), grad: Array.from(await w.grad!.data()) };
      };
      const a = await run(gpu);
      const r = await run(js);
      assertClose('loss', a.loss, r.loss, 'f32');
      assertClose('grad', a.grad, r.grad, 'f32', { absScale: 5 });
    });
  });
}
