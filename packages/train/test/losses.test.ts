import { engine, tensor } from '@recur/tensor';
import { assertGradients } from '@recur/tensor/testkit';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  crossEntropyLoss,
  mseLoss,
  nllLoss,
  TrainError,
} from '../src/index.js';
import { expectClose, mulberry, values } from './setup.js';

/** Scalar reference: -Σ q_c log softmax(x)_c with q = (1-ε)·onehot + ε/C. */
function refCrossEntropy(logits: number[], target: number, smoothing = 0): number {
  const m = Math.max(...logits);
  const lse = m + Math.log(logits.reduce((s, v) => s + Math.exp(v - m), 0));
  const C = logits.length;
  let loss = 0;
  for (let c = 0; c < C; c++) {
    const q = (c === target ? 1 - smoothing : 0) + smoothing / C;
    loss -= q * (logits[c]! - lse);
  }
  return loss;
}

const f64 = { dtype: 'f64' } as const;

describe('crossEntropyLoss', () => {
  it('matches the formula with masks, an ignore index, label smoothing and each reduction', () => {
    const rows = [
      [1, 2, 3],
      [0.5, -1, 2],
      [-2, 0, 0.25],
      [3, 3, -1],
    ];
    const targets = [2, 0, -100, 1];
    const mask = [1, 1, 1, 0];
    const logits = tensor(rows, f64);
    const t = tensor(targets, { dtype: 'i32' });
    const m = tensor(mask, f64);
    const per = rows.map((r, i) => refCrossEntropy(r, Math.max(0, targets[i]!), 0.1));
    const counted = [1, 1, 0, 0];
    const none = crossEntropyLoss(logits, t, { labelSmoothing: 0.1, mask: m, reduction: 'none' });
    expectClose(
      values(none),
      per.map((v, i) => v * counted[i]!),
      1e-12,
    );
    const sum = per[0]! + per[1]!;
    expect(
      crossEntropyLoss(logits, t, { labelSmoothing: 0.1, mask: m, reduction: 'sum' }).item(),
    ).toBeCloseTo(sum, 12);
    expect(crossEntropyLoss(logits, t, { labelSmoothing: 0.1, mask: m }).item()).toBeCloseTo(sum / 2, 12);
    // Hand-computed: log(e + e² + e³) - 3 for [1, 2, 3] → class 2.
    expect(crossEntropyLoss(tensor([[1, 2, 3]], f64), tensor([2], { dtype: 'i32' })).item()).toBeCloseTo(
      0.4076059644443804,
      12,
    );
  });

  it('has gradients that match finite differences (f64, random shapes, masks, smoothing)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 2, max: 4 }),
        fc.double({ min: 0, max: 0.5, noNaN: true }),
        fc.constantFrom<'mean' | 'sum'>('mean', 'sum'),
        fc.integer({ min: 0, max: 1000 }),
        async (B, C, eps, reduction, seed) => {
          const rnd = mulberry(seed);
          const logits = Array.from({ length: B * 2 * C }, () => rnd() * 4 - 2);
          const targets = Array.from({ length: B * 2 }, (_, i) => (i === 1 ? -100 : Math.floor(rnd() * C)));
          const mask = Array.from({ length: B * 2 }, (_, i) => (i === 0 ? 1 : rnd() < 0.7 ? 1 : 0));
          await assertGradients(
            (x, y, m) => crossEntropyLoss(x!, y!, { mask: m!, labelSmoothing: eps, reduction }),
            [
              { shape: [B, 2, C], values: logits },
              { shape: [B, 2], values: targets, dtype: 'i32' },
              { shape: [B, 2], values: mask, dtype: 'i32' },
            ],
          );
        },
      ),
      { numRuns: 25, seed: 1 },
    );
  });
});

describe('nllLoss', () => {
  it('equals cross-entropy on log-softmax and picks -logp[target]', () => {
    const x = tensor(
      [
        [0.2, -1, 3],
        [1, 1, 1],
      ],
      f64,
    );
    const y = tensor([2, 0], { dtype: 'i32' });
    const logp = x.logSoftmax();
    expect(nllLoss(logp, y).item()).toBeCloseTo(crossEntropyLoss(x, y).item(), 12);
    const lp = values(logp);
    expectClose(values(nllLoss(logp, y, { reduction: 'none' })), [-lp[2]!, -lp[3]!]);
    expect(nllLoss(logp, tensor([2, -100], { dtype: 'i32' })).item()).toBeCloseTo(-lp[2]!, 12);
  });

  it('has gradients that match finite differences', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 2, max: 5 }),
        fc.nat(1000),
        async (B, C, seed) => {
          const rnd = mulberry(seed);
          await assertGradients(
            (lp, y, m) => nllLoss(lp!, y!, { mask: m! }),
            [
              { shape: [B, C], values: Array.from({ length: B * C }, () => rnd() * 3 - 3) },
              { shape: [B], values: Array.from({ length: B }, () => Math.floor(rnd() * C)), dtype: 'i32' },
              {
                shape: [B],
                values: Array.from({ length: B }, (_, i) => (i === 0 || rnd() < 0.5 ? 1 : 0)),
                dtype: 'i32',
              },
            ],
          );
        },
      ),
      { numRuns: 20, seed: 2 },
    );
  });

  it('refuses out-of-range targets and wrong shapes with clear errors', () => {
    const lp = tensor([[0, 0]], f64);
    expect(() => nllLoss(lp, tensor([2], { dtype: 'i32' }))).toThrow(/class indices in \[0, 1\].*found 2/);
    expect(() => nllLoss(lp, tensor([[0]], { dtype: 'i32' }))).toThrow(/targets of shape \[1\]/);
    expect(() => nllLoss(lp, tensor([0]))).toThrow(/i32 class indices/);
    expect(() => crossEntropyLoss(lp, tensor([0], { dtype: 'i32' }), { reduction: 'avg' as 'mean' })).toThrow(
      TrainError,
    );
  });
});

describe('mseLoss', () => {
  it('computes the (masked) mean of squared differences', () => {
    const p = tensor([1, 2, 3, 4], f64);
    const t = tensor([1.5, 2, 1, 0], f64);
    expect(mseLoss(p, t).item()).toBeCloseTo((0.25 + 0 + 4 + 16) / 4, 12);
    expect(mseLoss(p, t, { reduction: 'sum' }).item()).toBeCloseTo(20.25, 12);
    expect(mseLoss(p, t, { mask: tensor([1, 1, 1, 0], f64) }).item()).toBeCloseTo(4.25 / 3, 12);
    expect(() => mseLoss(p, tensor([1, 2], f64))).toThrow(/targets of shape \[4\]/);
  });

  it('ignores non-finite predictions where the mask is 0 (padding)', () => {
    const p = tensor([1, Number.NaN], f64);
    expect(mseLoss(p, tensor([0, 0], f64), { mask: tensor([1, 0], f64) }).item()).toBe(1);
  });

  it('has gradients that match finite differences', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.nat(1000), async (n, seed) => {
        const rnd = mulberry(seed);
        const v = (): number[] => Array.from({ length: n }, () => rnd() * 4 - 2);
        await assertGradients(
          (p, t) => mseLoss(p!, t!),
          [
            { shape: [n], values: v() },
            { shape: [n], values: v() },
          ],
        );
        await assertGradients(
          (p, t, m) => mseLoss(p!, t!, { mask: m! }),
          [
            { shape: [n, 1], values: v() },
            { shape: [n, 1], values: v() },
            {
              shape: [n, 1],
              values: Array.from({ length: n }, (_, i) => (i === 0 || rnd() < 0.5 ? 1 : 0)),
              dtype: 'i32',
            },
          ],
        );
      }),
      { numRuns: 20, seed: 3 },
    );
  });
});

describe('binary cross-entropy', () => {
  const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
  const ref = (x: number, y: number, pw = 1): number =>
    -(pw * y * Math.log(sigmoid(x)) + (1 - y) * Math.log(1 - sigmoid(x)));

  it('with logits matches the formula, with posWeight', () => {
    const xs = [-3, -0.5, 0, 0.7, 2];
    const ys = [0, 1, 0.3, 1, 0];
    const x = tensor(xs, f64);
    const y = tensor(ys, f64);
    expectClose(
      values(binaryCrossEntropyWithLogits(x, y, { reduction: 'none' })),
      xs.map((v, i) => ref(v, ys[i]!)),
      1e-12,
      1e-12,
    );
    expectClose(
      values(binaryCrossEntropyWithLogits(x, y, { reduction: 'none', posWeight: 2.5 })),
      xs.map((v, i) => ref(v, ys[i]!, 2.5)),
      1e-12,
      1e-12,
    );
    expect(binaryCrossEntropyWithLogits(x, y).item()).toBeCloseTo(
      xs.reduce((s, v, i) => s + ref(v, ys[i]!), 0) / xs.length,
      12,
    );
  });

  it('with logits is stable for huge logits (no NaN, no Inf) in f32 and f64', () => {
    for (const dtype of ['f32', 'f64'] as const) {
      const x = tensor([1000, -1000, 1000, -1000, 80], { dtype, requiresGrad: true });
      const y = tensor([1, 0, 0, 1, 1], { dtype });
      const l = binaryCrossEntropyWithLogits(x, y, { reduction: 'none' });
      expectClose(values(l), [0, 0, 1000, 1000, 0], 1e-6, 1e-6);
      l.sum().backward();
      expectClose(values(x.grad!), [0, 0, 1, -1, 0], 1e-6);
    }
  });

  it('on probabilities matches the formula and clamps log(0) at -100', () => {
    const p = tensor([0.2, 0.9, 0, 1], f64);
    const y = tensor([0, 1, 1, 1], f64);
    expectClose(
      values(binaryCrossEntropy(p, y, { reduction: 'none' })),
      [-Math.log(0.8), -Math.log(0.9), 100, 0],
      1e-12,
    );
  });

  it('has gradients that match finite differences', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.nat(1000),
        fc.boolean(),
        async (n, seed, weighted) => {
          const rnd = mulberry(seed);
          const logits = Array.from({ length: n }, () => rnd() * 10 - 5);
          const targets = Array.from({ length: n }, () => rnd());
          await assertGradients(
            (x, y) => binaryCrossEntropyWithLogits(x!, y!, weighted ? { posWeight: 3 } : {}),
            [
              { shape: [n], values: logits },
              { shape: [n], values: targets },
            ],
          );
          await assertGradients(
            (p, y) => binaryCrossEntropy(p!, y!),
            [
              { shape: [n], values: logits.map((v) => 0.05 + 0.9 * sigmoid(v)) },
              { shape: [n], values: targets },
            ],
          );
        },
      ),
      { numRuns: 20, seed: 4 },
    );
  });
});

describe('losses and memory', () => {
  it('leave no tensors behind', () => {
    const before = engine.liveTensors;
    engine.tidy(() => {
      const x = tensor([[1, 2]], f64);
      const y = tensor([1], { dtype: 'i32' });
      crossEntropyLoss(x, y);
      nllLoss(x.logSoftmax(), y);
      mseLoss(x, x);
      binaryCrossEntropyWithLogits(x, x.sigmoid());
    });
    expect(engine.liveTensors).toBe(before);
  });
});
