import { tensor } from '@recur/tensor';
import { describe, expect, it } from 'vitest';
import {
  accuracy,
  confusionMatrix,
  hostBatch,
  type Metric,
  mae,
  perClassAccuracy,
  perplexity,
  rmse,
  type StepOutput,
} from '../src/index.js';
import './setup.js';

function feed(metric: Metric, outs: StepOutput[], losses: number[] = outs.map(() => 0)): Metric {
  metric.reset();
  outs.forEach((o, i) => {
    metric.update(hostBatch(o, losses[i]!, true));
  });
  return metric;
}

// Logits whose arg-max is [1, 0, 2, 2, 1] against targets [1, 0, 1, 2, 0].
const logits = tensor([
  [0, 2, 1],
  [3, 1, 0],
  [0, 1, 5],
  [1, 0, 2],
  [0, 4, 1],
]);
const targets = tensor([1, 0, 1, 2, 0], { dtype: 'i32' });
const batch: StepOutput = { loss: tensor(0), predictions: logits, targets };

describe('metrics', () => {
  it('accuracy, per-class accuracy and the confusion matrix, by hand', () => {
    expect(feed(accuracy(), [batch]).result()).toBe(3 / 5);
    // class 0: 1 of 2 right; class 1: 1 of 2; class 2: 1 of 1; class 3: no examples
    expect(feed(perClassAccuracy({ classes: 4 }), [batch]).result()).toEqual([0.5, 0.5, 1, Number.NaN]);
    expect(feed(confusionMatrix({ classes: 3 }), [batch]).result()).toEqual([
      [1, 1, 0],
      [0, 1, 1],
      [0, 0, 1],
    ]);
  });

  it('skip masked targets and the ignore index, and accumulate over batches', () => {
    const masked: StepOutput = { ...batch, mask: tensor([1, 1, 0, 1, 0]) };
    expect(feed(accuracy(), [masked]).result()).toBe(1);
    const ignored: StepOutput = { ...batch, targets: tensor([1, -100, 1, 2, 0], { dtype: 'i32' }) };
    expect(feed(accuracy(), [ignored, batch]).result()).toBe((2 + 3) / (4 + 5));
    expect(hostBatch(masked, 0, false).count).toBe(3);
    expect(hostBatch(ignored, 0, false).count).toBe(4);
  });

  it('perplexity is exp of the mean loss per item, weighted by counts', () => {
    const p = feed(
      perplexity(),
      [
        { loss: tensor(0), count: 10 },
        { loss: tensor(0), count: 30 },
      ],
      [1, 2],
    );
    expect(p.result()).toBeCloseTo(Math.exp((10 * 1 + 30 * 2) / 40), 12);
  });

  it('MAE and RMSE, by hand, with a mask', () => {
    const out: StepOutput = {
      loss: tensor(0),
      predictions: tensor([1, 2, 3, 10]),
      targets: tensor([1.5, 2, 1, 0]),
      mask: tensor([1, 1, 1, 0]),
    };
    expect(feed(mae(), [out]).result()).toBeCloseTo((0.5 + 0 + 2) / 3, 6);
    expect(feed(rmse(), [out]).result()).toBeCloseTo(Math.sqrt((0.25 + 0 + 4) / 3), 6);
  });

  it('save and restore their accumulators', () => {
    const a = feed(confusionMatrix({ classes: 3 }), [batch]);
    const b = confusionMatrix({ classes: 3 });
    b.loadState(JSON.parse(JSON.stringify(a.state())));
    b.update(hostBatch(batch, 0, true));
    a.update(hostBatch(batch, 0, true));
    expect(b.result()).toEqual(a.result());
    expect(() => b.loadState([1, 2])).toThrow(/an array of 9 numbers/);
  });

  it('explain what is missing', () => {
    expect(() => feed(accuracy(), [{ loss: tensor(0) }])).toThrow(
      /returns predictions \(logits\) and targets/,
    );
    expect(() => feed(confusionMatrix({ classes: 2 }), [batch])).toThrow(/class indices in \[0, 1\]/);
  });
});
