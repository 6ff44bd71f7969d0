import { RNN } from '@recur/cells';
import { engine, Rng, randn, tensor } from '@recur/tensor';
import { describe, expect, it } from 'vitest';
import {
  Adam,
  accuracy,
  type BatchLogs,
  type EpochLogs,
  epochRng,
  fit,
  LinearWarmup,
  NonFiniteLossError,
  perClassAccuracy,
  ReduceLROnPlateau,
  SGD,
  Trainer,
  timeStepGradientNorms,
} from '../src/index.js';
import { batches, Classifier, classifierStep, type SeqBatch, signTask } from './models.js';
import { backend, expectClose, values } from './setup.js';

const data = signTask(96, new Rng(7));
const valid = batches(signTask(48, new Rng(8)), 16);
const small = { vocab: 3, embed: 4, hidden: 8, classes: 2 } as const;

function weights(model: Classifier): number[][] {
  return model.parameters().map((p) => values(p));
}

describe('Trainer', () => {
  it('calls back each batch and epoch with loss, metrics, throughput and learning rate, and validates', async () => {
    const model = new Classifier({ ...small, seed: 1 });
    const optimizer = new Adam(model, { lr: 0.01 });
    const warm = new LinearWarmup(optimizer, { steps: 4, startFactor: 0.5 });
    const events: string[] = [];
    const batchLogs: BatchLogs[] = [];
    const epochLogs: EpochLogs[] = [];
    const history = await fit<SeqBatch>({
      model,
      optimizer,
      step: classifierStep(model),
      trainData: (_, rng) => batches(data, 32, rng),
      validData: valid,
      epochs: 2,
      metrics: () => [accuracy(), perClassAccuracy({ classes: 2 })],
      schedulers: [warm],
      callbacks: {
        onTrainStart: () => {
          events.push('start');
        },
        onEpochStart: ({ epoch, lr }) => {
          events.push(`epoch ${epoch} lr ${lr}`);
        },
        onBatchEnd: (l) => {
          batchLogs.push(l);
        },
        onEpochEnd: (l) => {
          epochLogs.push(l);
          events.push(`end ${l.epoch}`);
        },
        onTrainEnd: (h) => {
          events.push(`done ${h.stopReason}`);
        },
      },
    });
    expect(events).toEqual([
      'start',
      'epoch 0 lr 0.005',
      'end 0',
      'epoch 1 lr 0.00875',
      'end 1',
      'done completed',
    ]);
    expect(batchLogs).toHaveLength(6);
    expect(batchLogs.map((b) => b.lr)).toEqual([0.005, 0.00625, 0.0075, 0.00875, 0.01, 0.01]);
    expect(batchLogs.map((b) => b.step)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const b of batchLogs) {
      expect(b.items).toBe(32);
      expect(b.itemsPerSecond).toBeGreaterThan(0);
      expect(Number.isFinite(b.loss)).toBe(true);
    }
    const e0 = epochLogs[0]!;
    expect(e0.loss).toBeCloseTo(batchLogs.slice(0, 3).reduce((s, b) => s + b.loss, 0) / 3, 12);
    expect(e0.metrics.accuracy).toBeGreaterThanOrEqual(0);
    expect(e0.metrics.perClassAccuracy).toHaveLength(2);
    expect(e0.val!.items).toBe(48);
    expect(e0.monitor.name).toBe('val.loss');
    expect(e0.monitor.value).toBe(e0.val!.loss);
    expect(history.best!.monitor).toBe('val.loss');
    expect(history.epochs).toHaveLength(2);
  });

  it('evaluates in eval mode without gradients, and the validation loss is the per-item mean', async () => {
    const model = new Classifier({ ...small, dropout: 0.5, seed: 2 });
    const trainer = new Trainer<SeqBatch>({
      model,
      optimizer: new SGD(model, { lr: 0.1 }),
      step: classifierStep(model),
      trainData: [],
      epochs: 0,
      metrics: () => [accuracy()],
    });
    const a = await trainer.evaluate(valid);
    const b = await trainer.evaluate(valid);
    expect(a.loss).toBe(b.loss); // dropout off: deterministic
    expect(model.training).toBe(true);
    for (const p of model.parameters()) expect(p.grad).toBeNull();
    const expected = engine.noGrad(() =>
      engine.tidy(() => {
        model.eval();
        const s = valid.reduce(
          (sum, batch) => sum + classifierStep(model)(batch, { training: false, epoch: 0 }).loss.item() * 16,
          0,
        );
        model.train();
        return s / 48;
      }),
    );
    expect(a.loss).toBeCloseTo(expected, 12);
  });

  it('stops early when the monitored value stalls and restores the best weights', async () => {
    const model = new Classifier({ ...small, seed: 3 });
    // Validation labels flipped: the better the model learns, the worse the validation loss.
    const flipped = valid.map((b) => ({ ...b, labels: b.labels.map((l) => 1 - l) }));
    let bestWeights: number[][] = [];
    const history = await fit<SeqBatch>({
      model,
      optimizer: new Adam(model, { lr: 0.05 }),
      step: classifierStep(model),
      trainData: (_, rng) => batches(data, 16, rng),
      validData: flipped,
      epochs: 30,
      earlyStopping: { patience: 2 },
      callbacks: {
        onEpochEnd: (l) => {
          if (l.monitor.improved) bestWeights = weights(model);
        },
      },
    });
    expect(history.stopReason).toBe('early-stopping');
    expect(history.epochs.length).toBe(history.best!.epoch + 3);
    expect(history.epochs.length).toBeLessThan(30);
    expect(weights(model)).toEqual(bestWeights);
  });

  it('stops with a clear NonFiniteLossError before updating with a NaN loss', async () => {
    const model = new Classifier({ ...small, seed: 4 });
    let calls = 0;
    let before: number[][] = [];
    const step = classifierStep(model);
    const promise = fit<SeqBatch>({
      model,
      optimizer: new SGD(model, { lr: 0.1 }),
      step: (b, ctx) => {
        calls++;
        const out = step(b, ctx);
        if (calls === 5) {
          before = weights(model);
          return { ...out, loss: out.loss.mul(Number.NaN) };
        }
        return out;
      },
      trainData: batches(data, 32),
      epochs: 3,
    });
    await expect(promise).rejects.toThrow(NonFiniteLossError);
    await expect(promise).rejects.toThrow(
      /expected a finite loss, found NaN at epoch 1, batch 1 \(optimizer step 5\).*Lower the learning rate/,
    );
    expect(weights(model)).toEqual(before);
    for (const p of model.parameters()) expect(p.grad).toBeNull();
  });

  it('is deterministic for a seed (shuffling and dropout) and differs across seeds', async () => {
    const run = async (seed: number) => {
      const model = new Classifier({ ...small, dropout: 0.3, seed: 5 });
      const h = await fit<SeqBatch>({
        model,
        optimizer: new Adam(model, { lr: 0.01 }),
        step: classifierStep(model),
        trainData: (_, rng) => batches(data, 16, rng),
        epochs: 2,
        seed,
      });
      return { losses: h.epochs.map((e) => e.loss), w: weights(model) };
    };
    const a = await run(11);
    const b = await run(11);
    const c = await run(12);
    expect(b).toEqual(a);
    expect(c.losses).not.toEqual(a.losses);
    // The per-epoch generator depends only on the seed and the epoch.
    expect(epochRng(11, 3).nextU32()).toBe(epochRng(11, 3).nextU32());
    expect(epochRng(11, 3).nextU32()).not.toBe(epochRng(11, 4).nextU32());
  });

  it('keeps tensor and backend memory flat across epochs', async () => {
    const model = new Classifier({ ...small, dropout: 0.2, seed: 6 });
    const optimizer = new Adam(model, { lr: 0.01 });
    const live: number[] = [];
    const buffers: number[] = [];
    await fit<SeqBatch>({
      model,
      optimizer,
      step: classifierStep(model),
      trainData: (_, rng) => batches(data, 16, rng),
      validData: valid,
      epochs: 4,
      clipGradNorm: 1,
      metrics: () => [accuracy()],
      schedulers: [new ReduceLROnPlateau(optimizer, { patience: 0 })],
      earlyStopping: { patience: 10 },
      callbacks: {
        onEpochEnd: () => {
          live.push(engine.liveTensors);
          buffers.push(backend.memory().buffers);
        },
      },
    });
    expect(new Set(live.slice(1)).size).toBe(1);
    expect(new Set(buffers.slice(1)).size).toBe(1);
  });

  it('stop() ends after the current batch', async () => {
    const model = new Classifier({ ...small, seed: 7 });
    const trainer: Trainer<SeqBatch> = new Trainer<SeqBatch>({
      model,
      optimizer: new SGD(model, { lr: 0.1 }),
      step: classifierStep(model),
      trainData: batches(data, 16),
      epochs: 5,
      callbacks: {
        onBatchEnd: (l) => {
          if (l.step === 8) trainer.stop();
        },
      },
    });
    const h = await trainer.fit();
    expect(h.stopReason).toBe('stopped');
    expect(trainer.step).toBe(8);
    expect(trainer.epoch).toBe(1);
    expect(trainer.batchInEpoch).toBe(2);
  });

  it('rejects bad options with clear messages', () => {
    const model = new Classifier({ ...small });
    const base = {
      model,
      optimizer: new SGD(model, { lr: 0.1 }),
      step: classifierStep(model),
      trainData: [],
      epochs: 1,
    };
    expect(() => new Trainer<SeqBatch>({ ...base, monitor: 'val.loss' })).toThrow(
      /validData to monitor 'val.loss'/,
    );
    expect(() => new Trainer<SeqBatch>({ ...base, monitor: 'f1' })).toThrow(
      /monitor to be 'loss', 'val.loss' or a metric's name/,
    );
    expect(() => new Trainer<SeqBatch>({ ...base, epochs: -1 })).toThrow(
      /epochs to be an integer ≥ 0, found -1/,
    );
    expect(() => new Trainer<SeqBatch>({ ...base, model: {} as Classifier })).toThrow(/a model/);
  });

  it('explains an epoch without batches (a one-shot generator as trainData)', async () => {
    const model = new Classifier({ ...small });
    const once = (function* () {
      yield* batches(data, 48);
    })();
    const trainer = new Trainer<SeqBatch>({
      model,
      optimizer: new SGD(model, { lr: 0.1 }),
      step: classifierStep(model),
      trainData: once,
      epochs: 2,
    });
    await expect(trainer.fit()).rejects.toThrow(
      /training batches in epoch 1, found none.*iterated only once/,
    );
  });
});

describe('timeStepGradientNorms', () => {
  it('gives ‖∂L/∂h_t‖ per step: by hand for the last two steps of a tanh RNN', () => {
    const rnn = new RNN({ inputSize: 2, hiddenSize: 3, dtype: 'f64', seed: 1 });
    const x = randn([4, 1, 2], { seed: 2, dtype: 'f64' });
    const w = tensor([0.5, -1, 2], [1, 3], { dtype: 'f64' });
    const r = timeStepGradientNorms(rnn, x, (last) => last.mul(w).sum());
    expect(r.norms).toHaveLength(4);
    // The loss reads h_3 directly: ∂L/∂h_3 = w.
    expect(r.norms[3]).toBeCloseTo(Math.hypot(0.5, -1, 2), 12);
    // ∂L/∂h_2 = (w ⊙ (1 - h_3²)) · W_hh
    const { output } = rnn.forward(x);
    const h3 = values(output).slice(9, 12);
    const whh = values(rnn.cellWeights(0).weightHh); // [3, 3] row-major, h_3 = tanh(W_ih x + W_hh h_2 + b)
    const d = [0.5, -1, 2].map((v, i) => v * (1 - h3[i]! ** 2));
    const g2 = [0, 1, 2].map((j) => d.reduce((s, di, i) => s + di * whh[i * 3 + j]!, 0));
    expect(r.norms[2]).toBeCloseTo(Math.hypot(...g2), 12);
    // The layer's own gradients are untouched.
    for (const p of rnn.parameters()) expect(p.grad).toBeNull();
  });

  it('shows the vanishing gradient of a vanilla RNN, per layer, with variable lengths', () => {
    const rnn = new RNN({ inputSize: 3, hiddenSize: 8, numLayers: 2, seed: 3 });
    const x = randn([20, 2, 3], { seed: 4 });
    const r = timeStepGradientNorms(rnn, x, (last) => last.sum(), { lengths: [20, 12] });
    expect(r.perLayer).toHaveLength(2);
    expect(r.perLayer[0]).toHaveLength(20);
    expect(r.norms[0]!).toBeLessThan(r.norms[19]! * 0.1);
    expectClose([r.loss], [r.loss]);
  });

  it('is recorded by the trainer each epoch', async () => {
    const model = new Classifier({ ...small, cell: 'rnn', seed: 8 });
    const history = await fit<SeqBatch>({
      model,
      optimizer: new SGD(model, { lr: 0.1 }),
      step: classifierStep(model),
      trainData: batches(data, 32),
      epochs: 2,
      timeStepGradients: {
        probe: (b) =>
          timeStepGradientNorms(
            model.rnn,
            model.emb.forward(tensor(b.ids, [b.labels.length, b.steps], { dtype: 'i32' })),
            (last) => classifierStep(model)(b, { training: true, epoch: 0 }).loss.add(last.sum().mul(0)),
            { lengths: b.lengths },
          ),
      },
    });
    for (const e of history.epochs) {
      expect(e.timeStepGradNorms).toHaveLength(11);
    }
    for (const p of model.parameters()) expect(p.grad).toBeNull();
  });
});
