import { JsBackend } from '@recur/backend-js';
import { type Backend, type MatmulCall, Rng } from '@recur/tensor';
import * as fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasRelaxedSimd } from '../src/backend.js';
import { ModuleBuilder } from '../src/emit.js';
import { GP } from '../src/gemm.js';
import { emitGemvF32, GEMV_MAX_ROWS, gemvName } from '../src/gemv.js';
import { WasmBackend } from '../src/index.js';
import { randomF32, upload } from './helpers.js';

/**
 * The matrix–vector kernels (products of 1–4 rows on unpacked operands), first called directly on
 * a memory laid out by the test, then through the backend against the JS reference.
 */

const PAGE = 65536;
type Kernels = Record<string, (...a: number[]) => void>;

function kernelModule(fma: boolean): WebAssembly.Module {
  const mb = new ModuleBuilder({ shared: false, initial: 1, maximum: 4 });
  for (let m = 1; m <= GEMV_MAX_ROWS; m++) mb.add(emitGemvF32(m, fma));
  return new WebAssembly.Module(mb.toBytes());
}

interface Case {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  accumulate: boolean;
  bias: boolean;
  /** Extra elements per row beyond the operand's width (leading dimension minus width). */
  padA: number;
  padB: number;
  padC: number;
  /** Which operand ends exactly at the end of memory (a read past it traps). */
  last: 'a' | 'b' | 'c' | 'bias';
  /** Cut points of the columns, as multiples of 4, for the split run. */
  cuts: number[];
}

const SENTINEL = -12345.5;

/** Runs one case on a fresh memory: the whole of [0, n) at once and again in column ranges. */
function runKernel(mod: WebAssembly.Module, c: Case) {
  const { m, n, k, transA, transB } = c;
  const lda = (transA ? m : k) + c.padA;
  const ldb = (transB ? k : n) + c.padB;
  const ldc = n + c.padC;
  const aLen = ((transA ? k : m) - 1) * lda + (transA ? m : k);
  const bLen = ((transB ? n : k) - 1) * ldb + (transB ? k : n);
  const cLen = (m - 1) * ldc + n;
  const rng = new Rng(m * 1000 + n * 31 + k);
  const fill = (len: number) => Float32Array.from({ length: len }, () => rng.normal());
  const data = { a: fill(aLen), b: fill(bLen), c: fill(cLen), bias: fill(n) };
  // Regions 64 bytes apart (guards filled with a sentinel), the chosen one last, ending at the end.
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 4 });
  const f32 = new Float32Array(memory.buffer);
  f32.fill(SENTINEL);
  const order = (['a', 'b', 'c', 'bias'] as const).filter((r) => r !== c.last);
  order.push(c.last);
  const ptr: Record<string, number> = {};
  let at = 2 * PAGE;
  for (const r of [...order].reverse()) {
    at -= data[r].length * 4;
    ptr[r] = at;
    at = (at - 64) & ~3;
  }
  const params = 0;
  const packA = 256;
  expect(packA + m * k * 4).toBeLessThan(at);
  const inst = new WebAssembly.Instance(mod, { env: { memory } });
  const fns = inst.exports as unknown as Kernels;
  const i32 = new Int32Array(memory.buffer);
  const w = params >> 2;
  i32[w + GP.a] = ptr.a!;
  i32[w + GP.b] = ptr.b!;
  i32[w + GP.c] = ptr.c!;
  i32[w + GP.m] = m;
  i32[w + GP.n] = n;
  i32[w + GP.k] = k;
  i32[w + GP.lda] = lda;
  i32[w + GP.transA] = transA ? 1 : 0;
  i32[w + GP.ldb] = ldb;
  i32[w + GP.transB] = transB ? 1 : 0;
  i32[w + GP.ldc] = ldc;
  i32[w + GP.bias] = c.bias ? ptr.bias! : 0;
  i32[w + GP.accumulate] = c.accumulate ? 1 : 0;
  const load = () => {
    for (const r of order) f32.set(data[r], ptr[r]! >> 2);
  };
  const result = () => {
    const out = new Float32Array(m * n);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) out[i * n + j] = f32[(ptr.c! >> 2) + i * ldc + j]!;
    return out;
  };
  // Everything outside C's m×n elements must be left as it was.
  const outside = () => {
    const copy = Float32Array.from(f32);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) copy[(ptr.c! >> 2) + i * ldc + j] = 0;
    return copy;
  };
  const fn = fns[gemvName(m)]!;
  load();
  const before = outside();
  fn(params, 0, m, 0, n, packA, 0, 0);
  const whole = result();
  const after = outside();
  // packA is the kernel's scratch.
  after.fill(0, packA >> 2, (packA >> 2) + m * k);
  before.fill(0, packA >> 2, (packA >> 2) + m * k);
  let changed = -1;
  for (let q = 0; q < after.length && changed < 0; q++) if (!Object.is(after[q], before[q])) changed = q * 4;
  expect(changed, 'a byte address written outside C').toBe(-1);
  load();
  const bounds = [0, ...c.cuts.map((q) => Math.min(n, q * 4)).sort((x, y) => x - y), n];
  for (let s = 0; s + 1 < bounds.length; s++) {
    if (bounds[s + 1]! > bounds[s]!) fn(params, 0, m, bounds[s]!, bounds[s + 1]!, packA, 0, 0);
  }
  const split = result();
  // Reference in f64, with the bound on f32 rounding error of a k-term dot product.
  const A = (i: number, p: number) => data.a[transA ? p * lda + i : i * lda + p]!;
  const B = (p: number, j: number) => data.b[transB ? j * ldb + p : p * ldb + j]!;
  const expected = new Float64Array(m * n);
  const bound = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let abs = 0;
      for (let p = 0; p < k; p++) {
        s += A(i, p) * B(p, j);
        abs += Math.abs(A(i, p) * B(p, j));
      }
      const c0 = c.accumulate ? data.c[i * ldc + j]! : 0;
      const b0 = c.bias ? data.bias[j]! : 0;
      expected[i * n + j] = s + c0 + b0;
      bound[i * n + j] = (k + 3) * 1.2e-7 * (abs + Math.abs(c0) + Math.abs(b0)) + 1e-30;
    }
  }
  return { whole, split, expected, bound };
}

const caseArb = fc.record({
  m: fc.integer({ min: 1, max: GEMV_MAX_ROWS }),
  n: fc.integer({ min: 1, max: 45 }),
  k: fc.integer({ min: 1, max: 45 }),
  transA: fc.boolean(),
  transB: fc.boolean(),
  accumulate: fc.boolean(),
  bias: fc.boolean(),
  padA: fc.integer({ min: 0, max: 3 }),
  padB: fc.integer({ min: 0, max: 3 }),
  padC: fc.integer({ min: 0, max: 3 }),
  last: fc.constantFrom('a' as const, 'b' as const, 'c' as const, 'bias' as const),
  cuts: fc.array(fc.integer({ min: 1, max: 11 }), { maxLength: 3 }),
});

const engines = hasRelaxedSimd() ? [false, true] : [false];

describe('the matrix–vector kernels, called directly', () => {
  for (const fma of engines) {
    it(`agree with an f64 reference, write only C, read nothing past their operands, and give the same bits when the columns are split${fma ? ' (fused multiply-add)' : ''} (property)`, () => {
      const mod = kernelModule(fma);
      fc.assert(
        fc.property(caseArb, (c) => {
          const { whole, split, expected, bound } = runKernel(mod, c);
          for (let q = 0; q < expected.length; q++) {
            expect(Math.abs(whole[q]! - expected[q]!)).toBeLessThanOrEqual(bound[q]!);
          }
          expect(Array.from(split)).toEqual(Array.from(whole));
        }),
        { numRuns: 400, seed: 11 },
      );
    });
  }

  it('cover every transpose, epilogue and row count at sizes around the unroll (k, n = 1 … 9, 31 … 33)', () => {
    const mod = kernelModule(false);
    for (let m = 1; m <= GEMV_MAX_ROWS; m++) {
      for (const [n, k] of [
        [1, 1],
        [3, 7],
        [4, 8],
        [5, 9],
        [9, 4],
        [31, 33],
        [33, 32],
        [32, 31],
      ] as const) {
        for (let flags = 0; flags < 16; flags++) {
          const c: Case = {
            m,
            n,
            k,
            transA: (flags & 1) !== 0,
            transB: (flags & 2) !== 0,
            accumulate: (flags & 4) !== 0,
            bias: (flags & 8) !== 0,
            padA: 0,
            padB: 0,
            padC: 0,
            last: 'b',
            cuts: [2],
          };
          const { whole, split, expected, bound } = runKernel(mod, c);
          for (let q = 0; q < expected.length; q++) {
            expect(Math.abs(whole[q]! - expected[q]!), JSON.stringify(c)).toBeLessThanOrEqual(bound[q]!);
          }
          expect(Array.from(split)).toEqual(Array.from(whole));
        }
      }
    }
  });

  it('refuses a row count it was not made for', () => {
    expect(() => emitGemvF32(0, false)).toThrow(/expected 1 to 4 rows, found 0/);
    expect(() => emitGemvF32(5, false)).toThrow(/expected 1 to 4 rows, found 5/);
  });
});

describe('products of 1–4 rows through the backend', () => {
  const js = new JsBackend();
  let one: WasmBackend;
  let two: WasmBackend;
  beforeAll(async () => {
    one = await WasmBackend.create({ threads: 1 });
    two = await WasmBackend.create({ threads: 2 });
  });
  afterAll(() => {
    one.dispose();
    two.dispose();
  });

  /** A batched product with offsets; the same call three times (unpacked, packing, cached). */
  function run(
    be: Backend,
    s: { m: number; n: number; k: number; transA: boolean; transB: boolean },
    seed: number,
  ) {
    const { m, n, k } = s;
    const batch = 2;
    const a = randomF32(3 + batch * m * k, seed);
    const b = randomF32(2 + batch * k * n, seed + 1);
    const bias = randomF32(n + 1, seed + 2);
    const c0 = randomF32(1 + batch * m * n, seed + 3);
    const A = upload(be, a);
    const B = upload(be, b);
    const Bias = upload(be, bias);
    const results: Float32Array[] = [];
    for (let rep = 0; rep < 3; rep++) {
      const out = upload(be, c0);
      const call: MatmulCall = {
        a: A,
        b: B,
        out,
        batch,
        m,
        n,
        k,
        transA: s.transA,
        transB: s.transB,
        aOffset: 3,
        bOffset: 2,
        outOffset: 1,
        aBatchStride: m * k,
        bBatchStride: k * n,
        bias: { buffer: Bias, offset: 1 },
        accumulate: rep !== 1,
      };
      be.matmul(call);
      results.push(be.readSync!(out) as Float32Array);
    }
    return results;
  }

  const shapes: { m: number; n: number; k: number }[] = [];
  for (let m = 1; m <= GEMV_MAX_ROWS; m++) shapes.push({ m, n: 37, k: 29 }, { m, n: 2050, k: 301 });
  const cases = shapes.flatMap((s) =>
    [false, true].flatMap((transA) => [false, true].map((transB) => ({ ...s, transA, transB }))),
  );

  it.each(cases)('agree with the reference on 1 and 2 threads, bit for bit between them (%o)', (s) => {
    const expected = run(js, s, 21);
    const found1 = run(one, s, 21);
    const found2 = run(two, s, 21);
    for (let rep = 0; rep < 3; rep++) {
      let worst = 0;
      const e = expected[rep]!;
      for (let i = 0; i < e.length; i++) {
        worst = Math.max(worst, Math.abs(found1[rep]![i]! - e[i]!) / (1 + Math.abs(e[i]!)));
      }
      expect(worst).toBeLessThanOrEqual(3e-7 * s.k);
      expect(Array.from(found2[rep]!)).toEqual(Array.from(found1[rep]!));
    }
  });

  it('falls back to the packed GEMM when a transposed A does not fit the scratch (m = 4, k = 5000)', () => {
    for (const m of [2, 4]) {
      const s = { m, n: 40, k: 5000, transA: true, transB: true };
      const expected = run(js, s, 31);
      const found = run(two, s, 31);
      for (let rep = 0; rep < 3; rep++) {
        let worst = 0;
        for (let i = 0; i < expected[rep]!.length; i++) {
          worst = Math.max(
            worst,
            Math.abs(found[rep]![i]! - expected[rep]![i]!) / (1 + Math.abs(expected[rep]![i]!)),
          );
        }
        expect(worst).toBeLessThanOrEqual(3e-7 * s.k);
      }
    }
  });
});
