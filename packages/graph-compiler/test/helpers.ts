import { JsBackend } from '@recur/backend-js';
import * as R from '@recur/tensor';
import * as fc from 'fast-check';
import { expect } from 'vitest';

export function useJs(): JsBackend {
  const b = new JsBackend();
  R.setBackend(b);
  return b;
}

export function expectClose(found: readonly R.Tensor[], expected: readonly R.Tensor[], tol: number): void {
  expect(found.length).toBe(expected.length);
  found.forEach((f, i) => {
    const e = expected[i]!;
    expect(f.shape).toEqual(e.shape);
    const fv = f.dataSync();
    const ev = e.dataSync();
    for (let k = 0; k < ev.length; k++)
      expect(Math.abs(fv[k]! - ev[k]!)).toBeLessThanOrEqual(tol * (1 + Math.abs(ev[k]!)));
  });
}

type Instr = { op: number; a: number; b: number };
const BINARY = [R.add, R.sub, R.mul, R.maximum] as const;
const UNARY = [
  R.tanh,
  R.sigmoid,
  R.neg,
  (x: R.Tensor) => R.sum(x, -1, true),
  (x: R.Tensor) => x.transpose().transpose(),
  // Slices of a value, each through its own elementwise op (what a gate split looks like).
  (x: R.Tensor) => {
    const lead = x.shape.slice(0, -1);
    const zeros = lead.map(() => 0);
    const last = x.shape.length - 1;
    const w = x.shape[last]!;
    return R.concat(
      [x.slice([...zeros, 0], [...lead, 1]).tanh(), x.slice([...zeros, 1], [...lead, w]).sigmoid()],
      last,
    );
  },
] as const;

/**
 * Random programs over three [2,3] inputs and a [3] bias: binary and unary ops, repeated
 * sub-expressions (for CSE) and values no output uses (for DCE). Traced into a graph by the tests.
 */
export const programArb = fc.record({
  instrs: fc.array(
    fc.record({ op: fc.nat(BINARY.length + UNARY.length - 1), a: fc.nat(50), b: fc.nat(50) }),
    { minLength: 1, maxLength: 14 },
  ),
  repeat: fc.array(fc.nat(13), { maxLength: 4 }),
  outputs: fc.array(fc.nat(50), { minLength: 1, maxLength: 3 }),
  seed: fc.nat(1000),
});

export type Program = typeof programArb extends fc.Arbitrary<infer T> ? T : never;

export function runProgram(p: Program, inputs: Readonly<Record<string, R.Tensor>>): R.Tensor[] {
  const pool: R.Tensor[] = Object.values(inputs);
  const instrs: Instr[] = [...p.instrs];
  for (const r of p.repeat) if (p.instrs[r]) instrs.push(p.instrs[r]!);
  for (const ins of instrs) {
    const a = pool[ins.a % pool.length]!;
    const b = pool[ins.b % pool.length]!;
    pool.push(ins.op < BINARY.length ? BINARY[ins.op]!(a, b) : UNARY[ins.op - BINARY.length]!(a));
  }
  return p.outputs.map((o) => pool[o % pool.length]!);
}

export function programInputs(seed: number): Record<string, R.Tensor> {
  return {
    x: R.randn([2, 3], { seed }),
    y: R.randn([2, 3], { seed: seed + 1 }),
    z: R.randn([2, 3], { seed: seed + 2 }),
    bias: R.randn([3], { seed: seed + 3 }),
  };
}

type StepInstr = { op: number; a: number; b: number };
const STEP_BINARY = [R.add, R.mul, R.sub] as const;
const STEP_UNARY = [
  R.tanh,
  R.sigmoid,
  (v: R.Tensor, p: Readonly<Record<string, R.Tensor>>) => v.matmul(p.w!),
  (v: R.Tensor, p: Readonly<Record<string, R.Tensor>>) => v.matmul(p.w!, { transB: true }).add(p.b!),
  (v: R.Tensor) => R.broadcastTo(R.sum(v, -1, true), [3, 3]),
  (v: R.Tensor) => v.transpose(),
] as const;

/**
 * Random recurrent steps over a carry h [3,3], a per-step input x [3,3] and params w [3,3], b [3]:
 * a mix of carry-free work (hoistable before the loop), the recurrence, and per-step outputs that
 * no carry needs (hoistable after it).
 */
export const stepArb = fc.record({
  instrs: fc.array(
    fc.record({ op: fc.nat(STEP_BINARY.length + STEP_UNARY.length - 1), a: fc.nat(40), b: fc.nat(40) }),
    { minLength: 1, maxLength: 10 },
  ),
  carryFrom: fc.nat(40),
  yFrom: fc.array(fc.nat(40), { minLength: 0, maxLength: 2 }),
  steps: fc.integer({ min: 1, max: 4 }),
  seed: fc.nat(1000),
});
export type StepProgram = typeof stepArb extends fc.Arbitrary<infer T> ? T : never;

export function stepFromProgram(sp: StepProgram) {
  return (
    carry: Readonly<Record<string, R.Tensor>>,
    xs: Readonly<Record<string, R.Tensor>>,
    p: Readonly<Record<string, R.Tensor>>,
  ) => {
    const pool: R.Tensor[] = [carry.h!, xs.x!];
    for (const ins of sp.instrs as StepInstr[]) {
      const a = pool[ins.a % pool.length]!;
      const b = pool[ins.b % pool.length]!;
      pool.push(
        ins.op < STEP_BINARY.length
          ? STEP_BINARY[ins.op]!(a, b)
          : STEP_UNARY[ins.op - STEP_BINARY.length]!(a, p),
      );
    }
    const square = (v: R.Tensor) => (v.shape.join() === '3,3' ? v : R.broadcastTo(v, [3, 3]));
    const y: Record<string, R.Tensor> = {};
    sp.yFrom.forEach((k, i) => {
      y[`y${i}`] = square(pool[k % pool.length]!);
    });
    return { carry: { h: square(pool[sp.carryFrom % pool.length]!).tanh() }, y };
  };
}

export const STEP_SPEC = {
  carry: { h: { shape: [3, 3], dtype: 'f64' as const } },
  xs: { x: { shape: [3, 3], dtype: 'f64' as const } },
  params: { w: { shape: [3, 3], dtype: 'f64' as const }, b: { shape: [3], dtype: 'f64' as const } },
};
