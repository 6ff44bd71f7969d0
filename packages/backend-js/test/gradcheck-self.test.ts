import { apply, mul, type OpDef, setBackend, type Tensor } from '@recur/tensor';
import { checkGradients } from '@recur/tensor/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { JsBackend } from '../src/index.js';

beforeAll(() => setBackend(new JsBackend()));

/** x³, whose derivative is 3x²; `factor` lets a test plant a wrong VJP. */
function cube(factor: number): OpDef<Record<string, never>> {
  return {
    name: 'cube',
    infer: ([x]) => ({ shape: x!.shape, dtype: x!.dtype }),
    decompose: undefined,
    run: (backend, [x], out) => {
      const src = { buffer: x!.storage.buffer, offset: 0, strides: [1] };
      const v = { kind: 'input', index: 0, dtype: x!.dtype } as const;
      const sq = { kind: 'binary', op: 'mul', a: v, b: v, dtype: x!.dtype } as const;
      backend.elementwise({
        expr: { kind: 'binary', op: 'mul', a: sq, b: v, dtype: x!.dtype },
        inputs: [src],
        out,
        shape: [x!.size],
      });
    },
    vjp: (g, { inputs }) => [mul(g, mul(mul(inputs[0]!, inputs[0]!), factor))],
  };
}

const input = [{ shape: [2, 3], values: [0.5, -1.2, 0.3, 2, -0.7, 1.1] }];

describe('the gradient checker', () => {
  it('accepts a correct VJP', async () => {
    const op = cube(3);
    const result = await checkGradients((x: Tensor) => apply(op, [x], {}), input);
    expect(result.failures).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it('rejects a deliberately wrong VJP (3x² replaced by 2x²)', async () => {
    const op = cube(2);
    const result = await checkGradients((x: Tensor) => apply(op, [x], {}), input);
    expect(result.ok).toBe(false);
    expect(result.failures).toHaveLength(6);
  });

  it('rejects a VJP that is off by a tiny amount, in f64', async () => {
    const op = cube(3.0001);
    const result = await checkGradients((x: Tensor) => apply(op, [x], {}), input);
    expect(result.ok).toBe(false);
  });
});
