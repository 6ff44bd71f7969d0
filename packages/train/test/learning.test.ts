import { GRU, Linear, Module } from '@recur/cells';
import { Rng, type Tensor, tensor } from '@recur/tensor';
import { describe, expect, it } from 'vitest';
import { Adam, accuracy, clipGradNorm, fit, mseLoss, rmse, type StepFn } from '../src/index.js';
import { batches, Classifier, classifierStep, type SeqBatch, signTask } from './models.js';
import './setup.js';

describe('learning (small, fast versions of the real tasks)', () => {
  for (const cell of ['gru', 'lstm'] as const) {
    it(`a ${cell.toUpperCase()} classifier learns whether a ±1 sequence sums to a positive number`, async () => {
      const train = signTask(256, new Rng(1));
      const test = batches(signTask(256, new Rng(2)), 64);
      const model = new Classifier({ vocab: 3, embed: 8, hidden: 16, classes: 2, cell, seed: 3 });
      const history = await fit<SeqBatch>({
        model,
        optimizer: new Adam(model, { lr: 0.02 }),
        step: classifierStep(model),
        trainData: (_, rng) => batches(train, 32, rng),
        validData: test,
        epochs: 6,
        metrics: () => [accuracy()],
        monitor: 'val.accuracy',
        clipGradNorm: 5,
      });
      const first = history.epochs[0]!;
      const last = history.epochs[history.epochs.length - 1]!;
      expect(last.loss).toBeLessThan(first.loss * 0.5);
      expect(last.val!.metrics.accuracy).toBeGreaterThanOrEqual(0.95);
      // Chance (always the majority class) is about 0.5 on this task.
      const majority =
        Math.max(...[0, 1].map((c) => test.flatMap((b) => [...b.labels]).filter((l) => l === c).length)) /
        256;
      expect(majority).toBeLessThan(0.6);
    });
  }

  it('a GRU regression learns a noisy sine wave far better than repeating the last value', async () => {
    const rng = new Rng(4);
    const W = 16;
    const series = Array.from({ length: 1200 }, (_, t) => Math.sin(0.3 * t) + 0.05 * rng.normal());
    type Window = { x: Float32Array; y: Float32Array; last: Float32Array };
    const windows = (from: number, to: number, B: number): Window[] => {
      const out: Window[] = [];
      for (let s = from; s + W < to; s += B) {
        const n = Math.min(B, to - W - s);
        const x = new Float32Array(n * W);
        const y = new Float32Array(n);
        const last = new Float32Array(n);
        for (let b = 0; b < n; b++) {
          for (let t = 0; t < W; t++) x[b * W + t] = series[s + b + t]!;
          y[b] = series[s + b + W]!;
          last[b] = series[s + b + W - 1]!;
        }
        out.push({ x, y, last });
      }
      return out;
    };
    const train = windows(0, 900, 32);
    const test = windows(900, 1200, 64);

    class Forecaster extends Module {
      readonly gru = this.registerModule(
        'gru',
        new GRU({ inputSize: 1, hiddenSize: 16, batchFirst: true, seed: 5 }),
      );
      readonly head = this.registerModule('head', new Linear({ inFeatures: 16, outFeatures: 1, seed: 6 }));
      forward(x: Float32Array): Tensor {
        const B = x.length / W;
        const { hN } = this.gru.forward(tensor(x, [B, W, 1]));
        return this.head.forward(hN.reshape([B, 16])).reshape([B]);
      }
    }
    const model = new Forecaster();
    const step: StepFn<Window> = (b) => {
      const predictions = model.forward(b.x);
      const targets = tensor(b.y);
      return { loss: mseLoss(predictions, targets), predictions, targets };
    };
    const history = await fit<Window>({
      model,
      optimizer: new Adam(model, { lr: 0.01 }),
      step,
      trainData: (_, r) => r.shuffle([...train]),
      validData: test,
      epochs: 4,
      metrics: () => [rmse()],
    });
    let sq = 0;
    let n = 0;
    for (const b of test) {
      for (let i = 0; i < b.y.length; i++) {
        sq += (b.y[i]! - b.last[i]!) ** 2;
        n++;
      }
    }
    const baseline = Math.sqrt(sq / n);
    const modelRmse = history.epochs.at(-1)!.val!.metrics.rmse as number;
    expect(baseline).toBeGreaterThan(0.15);
    expect(modelRmse).toBeLessThan(baseline * 0.5);
    expect(clipGradNorm(model, 1)).toBe(0); // the trainer leaves no gradients behind
  });
});
