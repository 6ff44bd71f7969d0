import { JsBackend } from '@recur/backend-js';
import { type Backend, ex } from '@recur/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WasmBackend } from '../src/index.js';
import { randomF32, upload } from './helpers.js';

/**
 * Calls large enough to be split across threads (the conformance suite's are mostly too small),
 * checked against the JS reference backend.
 */
let wasm: WasmBackend;
const js = new JsBackend();

beforeAll(async () => {
  wasm = await WasmBackend.create({ threads: 2 });
});
afterAll(() => wasm.dispose());

function expectClose(found: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  expect(found.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(found[i]! - expected[i]!) / (1 + Math.abs(expected[i]!)));
  }
  expect(worst).toBeLessThanOrEqual(tol);
}

describe('wasm backend on 2 threads', () => {
  it('starts the threads it was asked for (or says why not)', () => {
    const info = wasm.threadingInfo;
    if (info.threads === 2) expect(info.reason).toBeNull();
    else expect(info.reason).toMatch(/./);
    expect(info.threads).toBe(2);
    expect(wasm.capabilities.threads).toBe(2);
  });

  it.each([
    { m: 96, n: 520, k: 300, transA: false, transB: true },
    { m: 200, n: 40, k: 129, transA: true, transB: false },
    { m: 33, n: 1030, k: 270, transA: true, transB: true },
    { m: 1, n: 2050, k: 300, transA: false, transB: true },
    { m: 2, n: 700, k: 129, transA: true, transB: false },
  ])('splits a GEMM and agrees with the reference (%o)', ({ m, n, k, transA, transB }) => {
    const a = randomF32(m * k, 1);
    const b = randomF32(k * n, 2);
    const bias = randomF32(n, 3);
    const c0 = randomF32(m * n, 4);
    const run = (be: Backend) => {
      const out = upload(be, c0);
      const call = {
        a: upload(be, a),
        b: upload(be, b),
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
        bias: { buffer: upload(be, bias), offset: 0 },
        accumulate: true,
      };
      // Three times: the third reuses the packed copy of B made by the second.
      for (let i = 0; i < 3; i++) be.matmul(call);
      return be.readSync!(out);
    };
    // f32 accumulation (wasm) against f64 accumulation (js): error grows with k.
    expectClose(run(wasm), run(js), 3e-7 * k);
  });

  it('repacks a cached weight matrix after it is written', () => {
    const [m, n, k] = [64, 512, 128];
    const a = upload(wasm, randomF32(m * k, 5));
    const w = upload(wasm, randomF32(n * k, 6));
    const out = wasm.alloc('f32', m * n);
    const call = {
      a,
      b: w,
      out,
      batch: 1,
      m,
      n,
      k,
      transA: false,
      transB: true,
      aOffset: 0,
      bOffset: 0,
      outOffset: 0,
      aBatchStride: 0,
      bBatchStride: 0,
      bias: null,
      accumulate: false,
    };
    for (let i = 0; i < 3; i++) wasm.matmul(call);
    const w2 = randomF32(n * k, 7);
    wasm.write(w, w2);
    wasm.matmul(call);
    const ja = upload(js, wasm.readSync(a) as Float32Array);
    const jout = js.alloc('f32', m * n);
    js.matmul({ ...call, a: ja, b: upload(js, w2), out: jout });
    expectClose(wasm.readSync(out), js.readSync(jout), 3e-7 * k);
  });

  it('splits a fused gate kernel with strided and broadcast views by rows and by columns', () => {
    const t = 'f32';
    const x = (i: number) => ex.input(i, t);
    const s = ex.unary('tanh', ex.binary('add', x(0), x(1)));
    const exprs = [
      ex.binary('mul', ex.unary('sigmoid', x(2)), s),
      ex.unary('exp', ex.unary('neg', ex.binary('mul', s, s))),
    ];
    for (const [rows, cols] of [
      [64, 300],
      [1, 70001],
    ] as const) {
      const a = randomF32(rows * 2 * cols, 8);
      const bias = randomF32(cols, 9);
      const c = randomF32(rows * cols, 10);
      const run = (be: Backend) => {
        const out = be.alloc('f32', rows * cols * 2);
        be.elementwise({
          expr: exprs[0]!,
          inputs: [
            { buffer: upload(be, a), offset: cols, strides: [2 * cols, 1] },
            { buffer: upload(be, bias), offset: 0, strides: [0, 1] },
            { buffer: upload(be, c), offset: 0, strides: [cols, 1] },
          ],
          out,
          shape: [rows, cols],
          outView: { offset: 0, strides: [2 * cols, 1] },
          more: [{ expr: exprs[1]!, out, offset: cols, strides: [2 * cols, 1] }],
        });
        return be.readSync!(out);
      };
      expectClose(run(wasm), run(js), 2e-6);
    }
  });

  it('keeps working when the memory grows under running threads', async () => {
    const small = await WasmBackend.create({ threads: 2, initialMemoryMB: 1 });
    const before = small.heapInfo().memoryBytes;
    const [m, n, k] = [256, 512, 256];
    const a = randomF32(m * k, 11);
    const b = randomF32(k * n, 12);
    const run = (be: Backend) => {
      const out = be.alloc('f32', m * n);
      be.matmul({
        a: upload(be, a),
        b: upload(be, b),
        out,
        batch: 1,
        m,
        n,
        k,
        transA: false,
        transB: false,
        aOffset: 0,
        bOffset: 0,
        outOffset: 0,
        aBatchStride: 0,
        bBatchStride: 0,
        bias: null,
        accumulate: false,
      });
      const big = be.alloc('f32', 8 << 20);
      be.elementwise({
        expr: ex.unary('exp', ex.input(0, 'f32')),
        inputs: [{ buffer: out, offset: 0, strides: [1] }],
        out: big,
        shape: [m * n],
      });
      return be.readSync!(big).subarray(0, m * n);
    };
    const found = run(small);
    expect(small.heapInfo().memoryBytes).toBeGreaterThan(before);
    const expected = run(js);
    let worst = 0;
    for (let i = 0; i < expected.length; i++) {
      const e = expected[i]!;
      if (Number.isFinite(e)) worst = Math.max(worst, Math.abs(found[i]! - e) / (1 + Math.abs(e)));
    }
    expect(worst).toBeLessThan(1e-3);
    small.dispose();
  });

  it.each([
    [1, 300, 1001],
    [5000, 20, 3],
  ])(
    'splits reductions of [outer=%i, size=%i, inner=%i] and agrees with the reference',
    (outer, size, inner) => {
      const data = randomF32(outer * size * inner, 13);
      for (const op of ['sum', 'max', 'argmin'] as const) {
        const run = (be: Backend) => {
          const out = be.alloc(op === 'argmin' ? 'i32' : 'f32', outer * inner);
          be.reduce({ op, input: upload(be, data), out, outer, size, inner });
          return be.readSync!(out);
        };
        expectClose(run(wasm), run(js), 1e-6);
      }
    },
  );

  it('gives bit-identical results to one thread over hundreds of back-to-back split jobs', async () => {
    const one = await WasmBackend.create({ threads: 1 });
    const [rows, n] = [64, 256];
    const run = (be: Backend) => {
      const w = upload(
        be,
        randomF32(n * n, 14).map((v) => v / 16),
      );
      const bias = upload(be, randomF32(n, 15));
      let x = upload(be, randomF32(rows * n, 16));
      const y = be.alloc('f32', rows * n);
      for (let step = 0; step < 150; step++) {
        be.matmul({
          a: x,
          b: w,
          out: y,
          batch: 1,
          m: rows,
          n,
          k: n,
          transA: false,
          transB: step % 2 === 1,
          aOffset: 0,
          bOffset: 0,
          outOffset: 0,
          aBatchStride: 0,
          bBatchStride: 0,
          bias: { buffer: bias, offset: 0 },
          accumulate: false,
        });
        const next = be.alloc('f32', rows * n);
        be.elementwise({
          expr: ex.unary(
            'tanh',
            ex.binary('add', ex.input(0, 'f32'), ex.unary('sigmoid', ex.input(1, 'f32'))),
          ),
          inputs: [
            { buffer: y, offset: 0, strides: [n, 1] },
            { buffer: x, offset: 0, strides: [n, 1] },
          ],
          out: next,
          shape: [rows, n],
        });
        be.free(x);
        x = next;
      }
      return be.readSync!(x);
    };
    expect(Array.from(run(wasm))).toEqual(Array.from(run(one)));
    one.dispose();
  });
});
