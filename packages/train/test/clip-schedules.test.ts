import { keep, type Tensor, tensor } from '@recur/tensor';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Adam,
  type ClipGradNormOptions,
  CosineLR,
  clipGradNorm,
  clipGradValue,
  ExponentialLR,
  gradNorm,
  LinearWarmup,
  type LrScheduler,
  ReduceLROnPlateau,
  SGD,
  StepLR,
} from '../src/index.js';
import fixtures from './fixtures/torch-optim.json' with { type: 'json' };
import { expectClose, mulberry, values } from './setup.js';

function withGrads(grads: number[][], shapes: number[][]): Tensor[] {
  return grads.map((g, i) => {
    const p = tensor(new Float64Array(g.length), shapes[i]!, { dtype: 'f64', requiresGrad: true });
    p.grad = keep(tensor(g, shapes[i]!, { dtype: 'f64' }));
    return p;
  });
}

describe('clipGradNorm', () => {
  it('by hand: gradients [3, 4] (norm 5) clipped to 1 become [0.6, 0.8] up to the 1e-6 guard', () => {
    const [p] = withGrads([[3, 4]], [[2]]);
    expect(clipGradNorm([p!], 1)).toBe(5);
    expectClose(values(p!.grad!), [3 / (5 + 1e-6), 4 / (5 + 1e-6)], 1e-15);
    // A norm under the limit leaves the gradients alone.
    expect(clipGradNorm([p!], 10)).toBeCloseTo(1, 6);
    expectClose(values(p!.grad!), [3 / (5 + 1e-6), 4 / (5 + 1e-6)], 1e-15);
  });

  for (const [key, fx] of Object.entries(fixtures.clip)) {
    it(`matches torch.nn.utils.clip_grad_norm_ with norm type ${key}`, () => {
      const params = withGrads(fx.grads, fixtures.optimizers.sgd.shapes);
      const options: ClipGradNormOptions = {
        normType: key === 'inf' ? Number.POSITIVE_INFINITY : Number(key),
      };
      expect(clipGradNorm(params, fx.maxNorm, options)).toBeCloseTo(fx.norm, 12);
      params.forEach((p, i) => {
        expectClose(values(p.grad!), fx.clipped[i]!, 1e-14, 1e-12);
      });
    });
  }

  it('bounds the global norm by maxNorm for any gradients (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 1, maxLength: 6 }), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.double({ min: 1e-3, max: 10, noNaN: true }),
        (grads, maxNorm) => {
          const params = withGrads(
            grads,
            grads.map((g) => [g.length]),
          );
          const before = Math.hypot(...grads.flat());
          const norm = clipGradNorm(params, maxNorm);
          expect(norm).toBeCloseTo(before, 6);
          const after = gradNorm(params);
          expect(after).toBeLessThanOrEqual(maxNorm * (1 + 1e-9));
          if (before <= maxNorm) expect(after).toBeCloseTo(before, 9);
          for (const p of params) p.dispose();
        },
      ),
      { numRuns: 100, seed: 5 },
    );
  });

  it('reports a non-finite norm, or throws with errorIfNonfinite', () => {
    const [p] = withGrads([[1, Number.NaN]], [[2]]);
    expect(clipGradNorm([p!], 1)).toBeNaN();
    expect(() => clipGradNorm([p!], 1, { errorIfNonfinite: true })).toThrow(
      /a finite total gradient norm, found NaN/,
    );
  });
});

describe('clipGradValue', () => {
  it('clamps every element to ±clipValue', () => {
    const [p] = withGrads([[-3, 0.2, 5, -0.5]], [[4]]);
    clipGradValue([p!], 1);
    expect(values(p!.grad!)).toEqual([-1, 0.2, 1, -0.5]);
  });
});

function optimizer(lr = 0.5): SGD {
  return new SGD([tensor([0], { requiresGrad: true })], { lr });
}

function lrs(s: LrScheduler, n: number, metrics?: number[]): number[] {
  const out = [s.optimizer.lr];
  for (let i = 0; i < n; i++) out.push(metrics ? s.step(metrics[i]) : s.step());
  return out;
}

describe('learning-rate schedules match PyTorch', () => {
  const S = fixtures.schedulers;
  it('StepLR', () => {
    expectClose(lrs(new StepLR(optimizer(), S.step.options), 12), S.step.lrs, 1e-15, 1e-14);
  });
  it('ExponentialLR', () => {
    expectClose(
      lrs(new ExponentialLR(optimizer(), S.exponential.options), 12),
      S.exponential.lrs,
      1e-15,
      1e-14,
    );
  });
  it('CosineLR (CosineAnnealingLR) with a minimum learning rate', () => {
    expectClose(lrs(new CosineLR(optimizer(), S.cosine.options), 12), S.cosine.lrs, 1e-15, 1e-13);
  });
  it('LinearWarmup (LinearLR to a factor of 1)', () => {
    expectClose(lrs(new LinearWarmup(optimizer(), S.warmup.options), 12), S.warmup.lrs, 1e-15, 1e-14);
  });
  it('ReduceLROnPlateau with patience, threshold, cooldown and a minimum', () => {
    expectClose(
      lrs(new ReduceLROnPlateau(optimizer(), S.plateau.options), 12, S.plateau.metrics),
      S.plateau.lrs,
      1e-15,
      1e-14,
    );
  });
});

describe('schedules', () => {
  it('by hand: step decay halves every 2 steps; cosine from 1 to 0 over 4 steps', () => {
    expect(lrs(new StepLR(optimizer(1), { stepSize: 2, gamma: 0.5 }), 5)).toEqual([
      1, 1, 0.5, 0.5, 0.25, 0.25,
    ]);
    expectClose(
      lrs(new CosineLR(optimizer(1), { tMax: 4 }), 6),
      [1, (1 + Math.SQRT1_2) / 2, 0.5, (1 - Math.SQRT1_2) / 2, 0, 0, 0],
      1e-15,
    );
  });

  it('compose multiplicatively: per-batch warm-up times per-epoch cosine', () => {
    const opt = optimizer(1);
    const warm = new LinearWarmup(opt, { steps: 4, startFactor: 0 });
    const cos = new CosineLR(opt, { tMax: 2, minLr: 0 });
    expect(opt.lr).toBe(0);
    warm.step();
    expect(opt.lr).toBe(0.25);
    cos.step();
    expect(opt.lr).toBeCloseTo(0.25 * 0.5, 15);
    warm.step();
    warm.step();
    warm.step();
    warm.step(); // past the warm-up: factor 1
    expect(opt.lr).toBeCloseTo(0.5, 15);
    expect(warm.lr).toBe(1);
    // A plateau reduction multiplies too.
    const plateau = new ReduceLROnPlateau(opt, { patience: 0, factor: 0.1 });
    plateau.step(1);
    plateau.step(2);
    expect(opt.lr).toBeCloseTo(0.05, 15);
    plateau.detach();
    expect(opt.lr).toBeCloseTo(0.5, 15);
  });

  it('state dicts restore the learning rate exactly', () => {
    const rnd = mulberry(1);
    const metrics = Array.from({ length: 20 }, () => rnd());
    const a = optimizer(0.3);
    const sa = [
      new ReduceLROnPlateau(a, { patience: 1, factor: 0.5, mode: 'max' }),
      new CosineLR(a, { tMax: 15, minLr: 0.01 }),
    ];
    for (let i = 0; i < 7; i++) for (const s of sa) s.step(metrics[i]);
    const saved = JSON.parse(JSON.stringify(sa.map((s) => s.stateDict())));
    const b = optimizer(0.3);
    const sb = [
      new ReduceLROnPlateau(b, { patience: 1, factor: 0.5, mode: 'max' }),
      new CosineLR(b, { tMax: 15, minLr: 0.01 }),
    ];
    sb.forEach((s, i) => {
      s.loadStateDict(saved[i]);
    });
    expect(b.lr).toBe(a.lr);
    for (let i = 7; i < 20; i++) {
      for (const s of sa) s.step(metrics[i]);
      for (const s of sb) s.step(metrics[i]);
      expect(b.lr).toBe(a.lr);
    }
    expect(() => sb[1]!.loadStateDict(saved[0])).toThrow(/state of a CosineLR scheduler/);
  });

  it('validate their options and a plateau needs its metric', () => {
    const opt = new Adam([tensor([0], { requiresGrad: true })]);
    expect(() => new StepLR(opt, { stepSize: 0 })).toThrow(/stepSize to be an integer ≥ 1, found 0/);
    expect(() => new ReduceLROnPlateau(opt).step()).toThrow(/the monitored metric/);
    expect(() => new LinearWarmup(opt, { steps: 3, startFactor: 2 })).toThrow(/startFactor/);
  });
});
