import { ex } from '@recur/tensor';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planBindings } from '../src/kernels/common.js';
import { coalesce, elementwiseKernel } from '../src/kernels/elementwise.js';
import { constToWgsl, exprsToWgsl } from '../src/wgsl.js';

/** Code generation and kernel planning: pure functions, tested without a device. */
describe('WGSL code generation', () => {
  it('writes f32 constants exactly: small integers as literals, everything else by its bits', () => {
    expect(constToWgsl(3, 'f32')).toBe('f32(3)');
    expect(constToWgsl(-0, 'f32')).toBe('r_bits(0x80000000u)');
    expect(constToWgsl(Number.NaN, 'f32')).toBe('r_bits(0x7fc00000u)');
    expect(constToWgsl(Number.POSITIVE_INFINITY, 'f32')).toBe('r_bits(0x7f800000u)');
    expect(constToWgsl(0.1, 'f32')).toBe('r_bits(0x3dcccccdu)'); // fround(0.1)
    expect(constToWgsl(-2147483648, 'i32')).toBe('bitcast<i32>(0x80000000u)');
    expect(constToWgsl(7.9, 'i32')).toBe('i32(7)');
    fc.assert(
      fc.property(fc.float({ noNaN: true }), (v) => {
        const code = constToWgsl(v, 'f32');
        const m = /^r_bits\(0x([0-9a-f]+)u\)$/.exec(code);
        const back = m
          ? new Float32Array(new Uint32Array([Number.parseInt(m[1]!, 16)]).buffer)[0]!
          : Number(code.slice(4, -1));
        expect(Object.is(back, Math.fround(v))).toBe(true);
      }),
    );
  });

  it('binds a shared subexpression once and reuses it across outputs', () => {
    const s = ex.unary('tanh', ex.binary('add', ex.input(0, 'f32'), ex.input(1, 'f32')));
    const { stmts, results } = exprsToWgsl([ex.binary('mul', s, s), ex.unary('sigmoid', s)], (i) => `v${i}`);
    expect(stmts).toEqual(['let t0 = r_tanh((v0 + v1));']);
    expect(results).toEqual(['(t0 * t0)', 'r_sigmoid(t0)']);
  });

  it('rejects f64, which WGSL lacks', () => {
    expect(() => constToWgsl(1, 'f64')).toThrow(/no f64/);
    expect(() => exprsToWgsl([ex.unary('exp', ex.input(0, 'f64'))], (i) => `v${i}`)).toThrow(/no f64/);
  });
});

describe('elementwise kernel planning', () => {
  it('merges dimensions every operand walks contiguously and drops size-1 dimensions', () => {
    expect(
      coalesce(
        [2, 3, 4],
        [
          [12, 4, 1],
          [0, 0, 0],
        ],
      ),
    ).toEqual({ shape: [24], strides: [[1], [0]] });
    // A column block of a wider matrix: rows cannot merge, the block's columns stay contiguous.
    expect(
      coalesce(
        [3, 5],
        [
          [15, 1],
          [5, 1],
        ],
      ),
    ).toEqual({
      shape: [3, 5],
      strides: [
        [15, 1],
        [5, 1],
      ],
    });
    expect(coalesce([1, 4, 1], [[9, 2, 7]])).toEqual({ shape: [4], strides: [[2]] });
    expect(coalesce([], [[]])).toEqual({ shape: [], strides: [[]] });
  });

  it('coalescing keeps every element at its address', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 4 }),
        fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        (shape, broadcast) => {
          const dense = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
          const strides = [dense, dense.map((s, d) => (broadcast[d] ? 0 : s * 2))];
          const co = coalesce(shape, strides);
          const addresses = (sh: readonly number[], st: readonly number[]) => {
            const out: number[] = [];
            const n = sh.reduce((a, b) => a * b, 1);
            for (let i = 0; i < n; i++) {
              let r = i;
              let p = 0;
              for (let d = sh.length - 1; d >= 0; d--) {
                p += (r % sh[d]!) * st[d]!;
                r = Math.floor(r / sh[d]!);
              }
              out.push(p);
            }
            return out;
          };
          for (let k = 0; k < strides.length; k++) {
            expect(addresses(co.shape, co.strides[k]!)).toEqual(addresses(shape, strides[k]!));
          }
        },
      ),
    );
  });

  it('binds each buffer once, read-write when any operand writes it', () => {
    const a = { id: 'a' };
    const b = { id: 'b' };
    const { slots, index } = planBindings([
      { buffer: a, dtype: 'f32', write: false },
      { buffer: b, dtype: 'f32', write: false },
      { buffer: a, dtype: 'f32', write: true },
    ]);
    expect(index).toEqual([0, 1, 0]);
    expect(slots.map((s) => s.write)).toEqual([true, false]);
  });

  it('gives equal kernels equal keys whatever the offsets, and different layouts different keys', () => {
    const buf = { id: 1 };
    const out = { id: 2 };
    const e = ex.unary('exp', ex.input(0, 'f32'));
    const at = (offset: number, strides: number[]) =>
      elementwiseKernel(
        [e],
        [{ buffer: buf, dtype: 'f32', offset, strides }],
        [{ buffer: out, dtype: 'f32', offset: 0, strides: [4, 1] }],
        [3, 4],
      );
    expect(at(0, [4, 1]).key).toBe(at(7, [4, 1]).key);
    expect(at(0, [4, 1]).params).not.toEqual(at(7, [4, 1]).params);
    expect(at(0, [1, 3]).key).not.toBe(at(0, [4, 1]).key);
    expect(at(0, [0, 0]).key).not.toBe(at(0, [4, 1]).key);
    expect(at(0, [4, 1]).source()).toContain('b0[prm.v[0][2] + i]');
  });
});
