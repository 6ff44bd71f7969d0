import { JsBackend } from '@recur/backend-js';
import type { Backend, BackendBuffer, CopyCall, DType } from '@recur/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WasmBackend } from '../src/index.js';

/** Copies between dense views (a block move) and everything around them, against the reference. */
describe('copies', () => {
  const js = new JsBackend();
  let wasm: WasmBackend;
  beforeAll(async () => {
    wasm = await WasmBackend.create({ threads: 1 });
  });
  afterAll(() => wasm.dispose());

  const data = (dtype: DType, n: number, seed: number) => {
    const values = Array.from({ length: n }, (_, i) => ((i * 7919 + seed * 104729) % 2001) - 1000);
    return dtype === 'f32'
      ? Float32Array.from(values, (v) => v / 8)
      : dtype === 'f64'
        ? Float64Array.from(values, (v) => v / 3)
        : Int32Array.from(values);
  };
  const upload = (be: Backend, dtype: DType, n: number, seed: number): BackendBuffer => {
    const b = be.alloc(dtype, n);
    be.write(b, data(dtype, n, seed));
    return b;
  };
  /** Runs copies on fresh buffers: `into` picks the destination (a second buffer, or the source). */
  const run = (
    be: Backend,
    dtypes: [DType, DType],
    sizes: [number, number],
    calls: (src: BackendBuffer, out: BackendBuffer) => CopyCall[],
    into: 'other' | 'same' = 'other',
  ) => {
    const src = upload(be, dtypes[0], sizes[0], 1);
    const out = into === 'same' ? src : upload(be, dtypes[1], sizes[1], 2);
    for (const c of calls(src, out)) be.copy(c);
    return Array.from(be.readSync!(out));
  };

  it.each([
    ['f32', 'f32'],
    ['i32', 'i32'],
    ['f64', 'f64'],
    ['f32', 'f64'],
    ['i32', 'f32'],
  ] as [DType, DType][])('copies dense and strided views of %s into %s like the reference', (from, to) => {
    const calls = (src: BackendBuffer, out: BackendBuffer): CopyCall[] => [
      // dense, with offsets
      { src: { buffer: src, offset: 5, strides: [1] }, out, outOffset: 3, outStrides: [1], shape: [700] },
      // dense in 3-d, with a size-1 dimension whose stride is anything
      {
        src: { buffer: src, offset: 40, strides: [99, 30, 1] },
        out,
        outOffset: 800,
        outStrides: [-4, 30, 1],
        shape: [1, 4, 30],
      },
      // transposed: not dense, goes through a kernel
      {
        src: { buffer: src, offset: 0, strides: [1, 20] },
        out,
        outOffset: 1000,
        outStrides: [10, 1],
        shape: [20, 10],
      },
      // a row of a matrix into a column block
      {
        src: { buffer: src, offset: 60, strides: [0, 1] },
        out,
        outOffset: 1300,
        outStrides: [50, 1],
        shape: [3, 16],
      },
      // empty
      { src: { buffer: src, offset: 0, strides: [1] }, out, outOffset: 0, outStrides: [1], shape: [0] },
    ];
    expect(run(wasm, [from, to], [1500, 1500], calls)).toEqual(run(js, [from, to], [1500, 1500], calls));
  });

  it('copies within one buffer: disjoint ranges, the same range, and overlapping ranges in both directions', () => {
    for (const [from, to] of [
      [0, 600],
      [300, 300],
      [0, 100],
      [100, 0],
    ] as const) {
      const calls = (src: BackendBuffer, out: BackendBuffer): CopyCall[] => [
        {
          src: { buffer: src, offset: from, strides: [1] },
          out,
          outOffset: to,
          outStrides: [1],
          shape: [500],
        },
      ];
      const found = run(wasm, ['f32', 'f32'], [1200, 1200], calls, 'same');
      const expected = run(js, ['f32', 'f32'], [1200, 1200], calls, 'same');
      // Overlapping copies are defined where source and destination are disjoint or equal.
      if (Math.abs(from - to) >= 500 || from === to) expect(found).toEqual(expected);
      else expect(found.slice(0, Math.min(from, to))).toEqual(expected.slice(0, Math.min(from, to)));
    }
  });

  it('rejects a dense view that reaches outside its buffer, saying which', () => {
    const src = wasm.alloc('f32', 100);
    const out = wasm.alloc('f32', 100);
    expect(() =>
      wasm.copy({
        src: { buffer: src, offset: 50, strides: [1] },
        out,
        outOffset: 0,
        outStrides: [1],
        shape: [60],
      }),
    ).toThrow(
      /input view \(offset 50, strides \[1\]\) over \[60\] reaches elements 50\.\.109, outside its buffer of 100/,
    );
    expect(() =>
      wasm.copy({
        src: { buffer: src, offset: 0, strides: [1] },
        out,
        outOffset: 41,
        outStrides: [1],
        shape: [60],
      }),
    ).toThrow(
      /output view \(offset 41, strides \[1\]\) over \[60\] reaches elements 41\.\.100, outside its buffer of 100/,
    );
    wasm.free(src);
    wasm.free(out);
  });

  it('counts a dense copy as a write: a GEMM reads the new values of a weight it had packed', () => {
    const [m, n, k] = [8, 64, 32];
    const a = upload(wasm, 'f32', m * k, 3);
    const w = upload(wasm, 'f32', n * k, 4);
    const fresh = upload(wasm, 'f32', n * k, 5);
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
    wasm.copy({
      src: { buffer: fresh, offset: 0, strides: [1] },
      out: w,
      outOffset: 0,
      outStrides: [1],
      shape: [n * k],
    });
    wasm.matmul(call);
    const ja = js.alloc('f32', m * k);
    js.write(ja, wasm.readSync(a));
    const jw = js.alloc('f32', n * k);
    js.write(jw, wasm.readSync(fresh));
    const jout = js.alloc('f32', m * n);
    js.matmul({ ...call, a: ja, b: jw, out: jout });
    const found = wasm.readSync(out);
    const expected = js.readSync(jout);
    const scale = Math.max(...Array.from(expected, Math.abs));
    for (let i = 0; i < expected.length; i++)
      expect(Math.abs(found[i]! - expected[i]!)).toBeLessThan(1e-5 * scale);
  });
});
