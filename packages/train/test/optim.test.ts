import { engine, keep, type Tensor, tensor } from '@recur/tensor';
import { describe, expect, it } from 'vitest';
import {
  Adagrad,
  Adam,
  AdamW,
  type Optimizer,
  type OptimizerState,
  RMSprop,
  SGD,
  TrainError,
} from '../src/index.js';
import fixtures from './fixtures/torch-optim.json' with { type: 'json' };
import { expectClose, values } from './setup.js';

const f64 = { dtype: 'f64', requiresGrad: true } as const;

function setGrad(p: Tensor, g: number[]): void {
  p.zeroGrad();
  p.grad = keep(tensor(g, [...p.shape], { dtype: p.dtype }));
}

/** Runs an optimizer on one scalar parameter with the given gradients; returns the parameter after each step. */
function run(
  make: (p: Tensor[]) => Optimizer,
  p0: number,
  grads: number[] | ((p: number) => number),
): number[] {
  const p = tensor([p0], f64);
  const opt = make([p]);
  const out: number[] = [];
  for (let i = 0; i < (Array.isArray(grads) ? grads.length : 3); i++) {
    const pv = p.item();
    setGrad(p, [Array.isArray(grads) ? grads[i]! : grads(pv)]);
    opt.step();
    out.push(p.item());
  }
  opt.dispose();
  p.dispose();
  return out;
}

describe('optimizers: steps written out by hand (PyTorch update rules)', () => {
  it('SGD with momentum on L = p² from p = 1 (lr 0.1, μ 0.9)', () => {
    // g1 = 2, b1 = 2 (first step copies g), p1 = 1 - 0.1·2 = 0.8
    // g2 = 1.6, b2 = 0.9·2 + 1.6 = 3.4, p2 = 0.8 - 0.34 = 0.46
    // g3 = 0.92, b3 = 0.9·3.4 + 0.92 = 3.98, p3 = 0.46 - 0.398 = 0.062
    expectClose(
      run(
        (p) => new SGD(p, { lr: 0.1, momentum: 0.9 }),
        1,
        (p) => 2 * p,
      ),
      [0.8, 0.46, 0.062],
      1e-15,
    );
  });

  it('plain SGD is p - lr·g', () => {
    expectClose(
      run((p) => new SGD(p, { lr: 0.5 }), 1, [2, -4, 1]),
      [0, 2, 1.5],
      1e-15,
    );
  });

  it('SGD with Nesterov momentum (constant gradient 1, lr 0.1, μ 0.9)', () => {
    // b1 = 1, d1 = 1 + 0.9·1 = 1.9, p1 = -0.19
    // b2 = 0.9 + 1 = 1.9, d2 = 1 + 1.71 = 2.71, p2 = -0.19 - 0.271 = -0.461
    // b3 = 1.71 + 1 = 2.71, d3 = 1 + 2.439 = 3.439, p3 = -0.461 - 0.3439 = -0.8049
    expectClose(
      run((p) => new SGD(p, { lr: 0.1, momentum: 0.9, nesterov: true }), 0, [1, 1, 1]),
      [-0.19, -0.461, -0.8049],
      1e-15,
    );
  });

  it('SGD with dampening and L2 weight decay (lr 0.1, μ 0.9, τ 0.5, λ 0.1, g = 1)', () => {
    // d1 = 1 + 0.1·1 = 1.1, b1 = 1.1 (no dampening on the first step), p1 = 1 - 0.11 = 0.89
    // d2 = 1 + 0.1·0.89 = 1.089, b2 = 0.9·1.1 + 0.5·1.089 = 1.5345, p2 = 0.89 - 0.15345 = 0.73655
    expectClose(
      run((p) => new SGD(p, { lr: 0.1, momentum: 0.9, dampening: 0.5, weightDecay: 0.1 }), 1, [1, 1]),
      [0.89, 0.73655],
      1e-15,
    );
  });

  it('Adam (lr 0.1, β 0.9/0.999, ε 1e-8), gradients 2 then -1', () => {
    // m1 = 0.1·2 = 0.2, v1 = 0.001·4 = 0.004; bias corrections 0.1 and 0.001
    // p1 = 1 - (0.1/0.1) · 0.2 / (√0.004/√0.001 + 1e-8) = 1 - 0.2/(2 + 1e-8)
    const p1 = 1 - 0.2 / (2 + 1e-8);
    // m2 = 0.9·0.2 + 0.1·(-1) = 0.08, v2 = 0.999·0.004 + 0.001·1 = 0.004996; corrections 0.19 and 0.001999
    const p2 = p1 - (0.1 / 0.19) * (0.08 / (Math.sqrt(0.004996) / Math.sqrt(0.001999) + 1e-8));
    // m3 = 0.9·0.08 + 0.1·0.5 = 0.122, v3 = 0.999·0.004996 + 0.001·0.25 = 0.005241004; corrections 0.271, 0.002997001
    const p3 = p2 - (0.1 / 0.271) * (0.122 / (Math.sqrt(0.005241004) / Math.sqrt(0.002997001) + 1e-8));
    expectClose(
      run((p) => new Adam(p, { lr: 0.1 }), 1, [2, -1, 0.5]),
      [p1, p2, p3],
      1e-14,
      1e-14,
    );
  });

  it('Adam adds L2 decay to the gradient; AdamW decays the weights (lr 0.1, λ 0.1)', () => {
    // Adam: g1 = 2 + 0.1·1 = 2.1, and the first Adam step moves by lr·g/|g| ≈ 0.1
    expectClose(
      run((p) => new Adam(p, { lr: 0.1, weightDecay: 0.1 }), 1, [2]),
      [1 - 0.21 / (2.1 + 1e-8)],
      1e-15,
    );
    // AdamW: p ← 1·(1 - 0.1·0.1) = 0.99 first, then the Adam step on g = 2
    expectClose(
      run((p) => new AdamW(p, { lr: 0.1, weightDecay: 0.1 }), 1, [2]),
      [0.99 - 0.2 / (2 + 1e-8)],
      1e-15,
    );
  });

  it('RMSprop (lr 0.01, α 0.99), plain and centered with momentum', () => {
    // s1 = 0.01·4 = 0.04, p1 = 1 - 0.01·2/(0.2 + 1e-8)
    const p1 = 1 - 0.02 / (0.2 + 1e-8);
    // s2 = 0.99·0.04 + 0.01·1 = 0.0496, p2 = p1 + 0.01·1/(√0.0496 + 1e-8)
    const p2 = p1 + 0.01 / (Math.sqrt(0.0496) + 1e-8);
    expectClose(
      run((p) => new RMSprop(p, { lr: 0.01 }), 1, [2, -1]),
      [p1, p2],
      1e-15,
    );
    // centered, μ 0.5: ḡ1 = 0.02, denom1 = √(0.04 - 0.0004) + 1e-8, b1 = 2/denom1, p1 = 1 - 0.01·b1
    const b1 = 2 / (Math.sqrt(0.0396) + 1e-8);
    const c1 = 1 - 0.01 * b1;
    // ḡ2 = 0.99·0.02 - 0.01 = 0.0098, denom2 = √(0.0496 - 0.0098²) + 1e-8, b2 = 0.5·b1 - 1/denom2
    const b2 = 0.5 * b1 - 1 / (Math.sqrt(0.0496 - 0.0098 ** 2) + 1e-8);
    const c2 = c1 - 0.01 * b2;
    expectClose(
      run((p) => new RMSprop(p, { lr: 0.01, centered: true, momentum: 0.5 }), 1, [2, -1]),
      [c1, c2],
      1e-14,
      1e-14,
    );
  });

  it('Adagrad (lr 0.1), with learning-rate decay 0.5', () => {
    // s1 = 4, p1 = 1 - 0.1·2/(2 + 1e-10); s2 = 5, p2 = p1 + 0.1·1/(√5 + 1e-10)
    const p1 = 1 - 0.2 / (2 + 1e-10);
    expectClose(
      run((p) => new Adagrad(p, { lr: 0.1 }), 1, [2, -1]),
      [p1, p1 + 0.1 / (Math.sqrt(5) + 1e-10)],
      1e-15,
    );
    // with decay, step 2 uses lr 0.1/(1 + 1·0.5)
    expectClose(
      run((p) => new Adagrad(p, { lr: 0.1, lrDecay: 0.5 }), 1, [2, -1]),
      [p1, p1 + 0.1 / 1.5 / (Math.sqrt(5) + 1e-10)],
      1e-15,
    );
  });
});

type FixtureOptions = Record<string, number | boolean | number[]>;

function makeOptimizer(name: string, o: FixtureOptions, params: Tensor[]): Optimizer {
  const opts = { ...o } as Record<string, unknown>;
  if (name.startsWith('sgd')) return new SGD(params, opts as never);
  if (name.startsWith('adamw')) return new AdamW(params, opts as never);
  if (name.startsWith('adam')) return new Adam(params, opts as never);
  if (name.startsWith('rmsprop')) return new RMSprop(params, opts as never);
  return new Adagrad(params, opts as never);
}

describe('optimizers: five-step trajectories from PyTorch (float64)', () => {
  for (const [name, fx] of Object.entries(fixtures.optimizers)) {
    it(name, () => {
      const params = fx.initial.map((v, i) => tensor(v, fx.shapes[i]!, f64));
      const opt = makeOptimizer(name, fx.options as FixtureOptions, params);
      fx.grads.forEach((gs, step) => {
        params.forEach((p, i) => {
          setGrad(p, gs[i]!);
        });
        opt.step();
        params.forEach((p, i) => {
          expectClose(values(p), fx.after[step]![i]!, 1e-13, 1e-12);
        });
      });
      opt.dispose();
      for (const p of params) p.dispose();
    });
  }
});

describe('optimizer state dicts', () => {
  for (const name of Object.keys(fixtures.optimizers)) {
    it(`${name}: saving after 2 steps and loading into a fresh optimizer continues bit for bit`, () => {
      const fx = fixtures.optimizers[name as keyof typeof fixtures.optimizers];
      const a = fx.initial.map((v, i) => tensor(v, fx.shapes[i]!, { requiresGrad: true }));
      const optA = makeOptimizer(name, fx.options as FixtureOptions, a);
      const stepWith = (opt: Optimizer, ps: Tensor[], k: number): void => {
        ps.forEach((p, i) => {
          setGrad(p, fx.grads[k]![i]!);
        });
        opt.step();
      };
      stepWith(optA, a, 0);
      stepWith(optA, a, 1);
      const saved = JSON.parse(JSON.stringify(optA.stateDict())) as OptimizerState;
      const b = a.map((p) => tensor(values(p), [...p.shape], { requiresGrad: true }));
      const optB = makeOptimizer(name, fx.options as FixtureOptions, b);
      optB.loadStateDict(saved);
      expect(optB.steps).toBe(2);
      for (let k = 2; k < 5; k++) {
        stepWith(optA, a, k);
        stepWith(optB, b, k);
      }
      a.forEach((p, i) => {
        expect(values(b[i]!)).toEqual(values(p));
      });
      for (const t of [...a, ...b]) t.dispose();
      optA.dispose();
      optB.dispose();
    });
  }

  it('refuses a state from another optimizer, other settings or other parameters', () => {
    const p = tensor([1, 2], f64);
    const q = tensor([1, 2, 3], f64);
    const adam = new Adam([p]);
    setGrad(p, [1, 1]);
    adam.step();
    const state = adam.stateDict();
    expect(() => new SGD([p], { lr: 0.1 }).loadStateDict(state)).toThrow(/state of a SGD optimizer.*Adam/);
    expect(() => new Adam([p], { betas: [0.8, 0.999] }).loadStateDict(state)).toThrow(/beta1 = 0.8/);
    expect(() => new Adam([q]).loadStateDict(state)).toThrow(/parameter 0 to be '0' \[3\].*found '0' \[2\]/);
    expect(() => new Adam([p, q]).loadStateDict(state)).toThrow(/state for 2 parameters, found 1/);
  });

  it('validates options and parameters with clear errors', () => {
    const p = tensor([1], f64);
    expect(() => new SGD([p], { lr: -1 })).toThrow(/lr to be a finite number ≥ 0, found -1/);
    expect(() => new SGD([p], { lr: 0.1, nesterov: true })).toThrow(/momentum > 0 and dampening 0/);
    expect(() => new Adam([tensor([1])])).toThrow(/at least one parameter that requires gradients/);
    expect(() => new Adam([p], { betas: [1.5, 0.9] })).toThrow(TrainError);
  });

  it('skips parameters without gradients and leaks nothing over many steps', () => {
    const p = tensor([1, 2], f64);
    const q = tensor([3], f64);
    const opt = new Adam([p, q], { lr: 0.1 });
    setGrad(p, [1, 1]);
    opt.step();
    expect(values(q)).toEqual([3]);
    const live = engine.liveTensors;
    for (let i = 0; i < 20; i++) {
      setGrad(p, [1, -1]);
      setGrad(q, [0.5]);
      opt.step();
    }
    opt.zeroGrad();
    setGrad(p, [1, -1]);
    setGrad(q, [0.5]);
    opt.step();
    opt.zeroGrad();
    // q's two moment buffers appeared (its first step) and p's earlier gradient is gone: nothing per step.
    expect(engine.liveTensors).toBe(live + 2 - 1);
    opt.dispose();
  });
});
