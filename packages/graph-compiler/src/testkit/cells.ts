import * as R from '@recur/tensor';
import type { ScanSpec, StepFn } from '../scan.js';

/**
 * Reference recurrent steps and helpers for checking that a backend runs compiled scans right:
 * LSTM, GRU (reset-after) and Elman steps written with plain tensor ops in PyTorch's layouts (gates
 * i,f,g,o and r,z,n; parameters `wih`, `whh`, `bih`, `bhh`), their scan specs, seeded inputs, and
 * an eager loop with tape autograd to compare against.
 */
export type CellKind = 'lstm' | 'gru' | 'rnn';

export const steps: Record<CellKind, StepFn> = {
  lstm: ({ h, c }, { x }, p) => {
    const gates = x!
      .matmul(p.wih!, { transB: true })
      .add(p.bih!)
      .add(h!.matmul(p.whh!, { transB: true }).add(p.bhh!));
    const [i, f, g, o] = gates.split(4, -1) as [R.Tensor, R.Tensor, R.Tensor, R.Tensor];
    const c2 = f.sigmoid().mul(c!).add(i.sigmoid().mul(g.tanh()));
    const h2 = o.sigmoid().mul(c2.tanh());
    return { carry: { h: h2, c: c2 }, y: { h: h2 } };
  },
  gru: ({ h }, { x }, p) => {
    const gi = x!.matmul(p.wih!, { transB: true }).add(p.bih!);
    const gh = h!.matmul(p.whh!, { transB: true }).add(p.bhh!);
    const [ir, iz, inn] = gi.split(3, -1) as [R.Tensor, R.Tensor, R.Tensor];
    const [hr, hz, hn] = gh.split(3, -1) as [R.Tensor, R.Tensor, R.Tensor];
    const r = ir.add(hr).sigmoid();
    const z = iz.add(hz).sigmoid();
    const n = inn.add(r.mul(hn)).tanh();
    const h2 = R.sub(1, z).mul(n).add(z.mul(h!));
    return { carry: { h: h2 }, y: { h: h2 } };
  },
  rnn: ({ h }, { x }, p) => {
    const h2 = x!
      .matmul(p.wih!, { transB: true })
      .add(p.bih!)
      .add(h!.matmul(p.whh!, { transB: true }).add(p.bhh!))
      .tanh();
    return { carry: { h: h2 }, y: { h: h2 } };
  },
};

export const GATES: Record<CellKind, number> = { lstm: 4, gru: 3, rnn: 1 };

export function cellSpec(cell: CellKind, b: number, d: number, h: number, dtype: R.DType = 'f32'): ScanSpec {
  const g = GATES[cell] * h;
  return {
    carry:
      cell === 'lstm'
        ? { h: { shape: [b, h], dtype }, c: { shape: [b, h], dtype } }
        : { h: { shape: [b, h], dtype } },
    xs: { x: { shape: [b, d], dtype } },
    params: {
      wih: { shape: [g, d], dtype },
      whh: { shape: [g, h], dtype },
      bih: { shape: [g], dtype },
      bhh: { shape: [g], dtype },
    },
  };
}

/** Seeded values for every name a program over `spec` reads: init:K, the stacked xs, the params. */
export function cellEnv(spec: ScanSpec, steps: number, seed: number, scale = 0.5): Map<string, R.Tensor> {
  const env = new Map<string, R.Tensor>();
  let s = seed;
  const rnd = (shape: readonly number[], dtype: R.DType | undefined) =>
    R.randn(shape, { seed: s++, dtype: dtype ?? 'f32' }).mul(scale);
  for (const [k, v] of Object.entries(spec.carry)) env.set(`init:${k}`, rnd(v.shape, v.dtype));
  for (const [n, v] of Object.entries(spec.xs)) env.set(n, rnd([steps, ...v.shape], v.dtype));
  for (const [p, v] of Object.entries(spec.params)) env.set(p, rnd(v.shape, v.dtype));
  return env;
}

export interface EagerResult {
  final: Record<string, R.Tensor>;
  ys: Record<string, R.Tensor>;
  grads: Map<string, R.Tensor>;
}

/**
 * Runs the step eagerly in a loop with tape autograd; the loss is Σ ys·dys + Σ final·dfinal, so the
 * gradients are the VJPs of those cotangents.
 */
export function eagerScan(
  step: StepFn,
  spec: ScanSpec,
  env: ReadonlyMap<string, R.Tensor>,
  steps: number,
  cot?: ReadonlyMap<string, R.Tensor>,
): EagerResult {
  const leaf = (name: string) => env.get(name)!.detach().requiresGrad_();
  const carryNames = Object.keys(spec.carry);
  const inits = Object.fromEntries(carryNames.map((k) => [k, leaf(`init:${k}`)]));
  const xs = Object.fromEntries(Object.keys(spec.xs).map((n) => [n, leaf(n)]));
  const params = Object.fromEntries(Object.keys(spec.params).map((p) => [p, leaf(p)]));
  let carry: Record<string, R.Tensor> = { ...inits };
  const ys: Record<string, R.Tensor[]> = {};
  for (let t = 0; t < steps; t++) {
    const x = Object.fromEntries(
      Object.entries(xs).map(([n, v]) => [n, v.slice([t], [t + 1]).reshape(v.shape.slice(1))]),
    );
    const r = step(carry, x, params);
    carry = { ...r.carry };
    for (const [n, v] of Object.entries(r.y ?? {})) {
      ys[n] = [...(ys[n] ?? []), v.reshape([1, ...v.shape])];
    }
  }
  const ysStacked = Object.fromEntries(Object.entries(ys).map(([n, v]) => [n, R.concat(v, 0)]));
  const grads = new Map<string, R.Tensor>();
  if (cot) {
    let loss: R.Tensor | null = null;
    const term = (v: R.Tensor, c: R.Tensor) => {
      const s = v.mul(c).sum();
      loss = loss ? loss.add(s) : s;
    };
    for (const [k, v] of Object.entries(carry)) term(v, cot.get(`dfinal:${k}`)!);
    for (const [n, v] of Object.entries(ysStacked)) term(v, cot.get(`dys:${n}`)!);
    R.backward(loss!);
    for (const [k, v] of Object.entries(inits)) grads.set(`dinit:${k}`, v.grad!);
    for (const [n, v] of Object.entries(xs)) grads.set(`dxs:${n}`, v.grad!);
    for (const [p, v] of Object.entries(params)) grads.set(`dparam:${p}`, v.grad!);
  }
  return { final: carry, ys: ysStacked, grads };
}

/** Seeded cotangents for the final carries (`dfinal:K`) and the stacked outputs (`dys:N`). */
export function cotangents(
  spec: ScanSpec,
  ys: Record<string, R.Tensor>,
  seed: number,
): Map<string, R.Tensor> {
  const cot = new Map<string, R.Tensor>();
  let s = seed;
  for (const [k, v] of Object.entries(spec.carry))
    cot.set(`dfinal:${k}`, R.randn(v.shape, { seed: s++, dtype: v.dtype ?? 'f32' }));
  for (const [n, v] of Object.entries(ys))
    cot.set(`dys:${n}`, R.randn(v.shape, { seed: s++, dtype: v.dtype }));
  return cot;
}
