import { JsBackend } from '@recur/backend-js';
import { GRU, LSTM, writeSafetensors } from '@recur/cells';
import {
  type Backend,
  type BackendBuffer,
  engine,
  getBackend,
  Rng,
  randn,
  setBackend,
  slice,
  type Tensor,
  withBackend,
} from '@recur/tensor';
import { describe, expect, it } from 'vitest';
import {
  Adam,
  accuracy,
  type BatchLogs,
  type ChunkSpan,
  clipGradNorm,
  clipGradNormAsync,
  createCheckpoint,
  createCheckpointAsync,
  type EpochLogs,
  fit,
  gradNorm,
  gradNormAsync,
  type History,
  type LayerState,
  layerChunkForward,
  NonFiniteLossError,
  SGD,
  truncatedBptt,
  truncatedBpttAsync,
} from '../src/index.js';
import { batches, Classifier, classifierStep, type SeqBatch, signTask } from './models.js';
import { values } from './setup.js';

/**
 * A JS backend that reads only asynchronously, as GPU backends do: no `readSync`, and `read`
 * resolves later (its values are taken when it is called, as a GPU backend's queued copy is).
 * It counts reads, so a test can see how many host round trips a step costs.
 */
function asyncBackend(): Backend & { reads: number } {
  const js = new JsBackend();
  const b = Object.create(js, {
    name: { value: 'async-js' },
    readSync: { value: undefined },
    reads: { value: 0, writable: true },
    read: {
      value(buffer: BackendBuffer) {
        b.reads++;
        const values = js.readSync(buffer);
        return new Promise((resolve) => setTimeout(() => resolve(values), 0));
      },
    },
    capabilities: { value: { ...js.capabilities, syncRead: false } },
  }) as Backend & { reads: number };
  return b;
}

/** Runs `fn` with `backend` as the active one (`withBackend` scopes only synchronous code). */
async function on<T>(backend: Backend, fn: () => Promise<T>): Promise<T> {
  const before = getBackend();
  setBackend(backend);
  try {
    return await fn();
  } finally {
    setBackend(before);
  }
}

const data = signTask(96, new Rng(7));
const valid = batches(signTask(48, new Rng(8)), 16);
const config = { vocab: 3, embed: 4, hidden: 8, classes: 2, cell: 'lstm' as const, seed: 3 };

interface Run {
  history: History;
  batches: BatchLogs[];
  weights: number[][];
  checkpoint: Awaited<ReturnType<typeof createCheckpointAsync>>;
}

async function train(backend: Backend, options: { clip?: number; async?: boolean } = {}): Promise<Run> {
  return on(backend, async () => {
    const model = new Classifier(config);
    const optimizer = new Adam(model, { lr: 0.02 });
    const logs: BatchLogs[] = [];
    const history = await fit<SeqBatch>({
      model,
      optimizer,
      step: classifierStep(model),
      trainData: (_, rng) => batches(data, 32, rng),
      validData: valid,
      epochs: 2,
      seed: 5,
      metrics: () => [accuracy()],
      ...(options.clip !== undefined ? { clipGradNorm: options.clip } : {}),
      callbacks: { onBatchEnd: (l) => void logs.push(l) },
    });
    const weights = await Promise.all(model.parameters().map(async (p) => Array.from(await p.data())));
    const checkpoint = await createCheckpointAsync({ model, optimizer, config });
    return { history, batches: logs, weights, checkpoint };
  });
}

const epochSummary = (e: EpochLogs) => ({ loss: e.loss, metrics: e.metrics, val: e.val });

describe('training on a backend that reads asynchronously (as GPU backends do)', () => {
  it('gives the same losses, metrics, gradient norms, weights and checkpoint as a CPU backend', async () => {
    const cpu = await train(new JsBackend(), { clip: 0.03 });
    const gpu = asyncBackend();
    const run = await train(gpu, { clip: 0.03 });
    expect(run.batches.map((b) => [b.loss, b.gradNorm, b.items])).toEqual(
      cpu.batches.map((b) => [b.loss, b.gradNorm, b.items]),
    );
    // Clipping did something: some norms were above the threshold.
    expect(cpu.batches.some((b) => b.gradNorm! > 0.03)).toBe(true);
    expect(run.history.epochs.map(epochSummary)).toEqual(cpu.history.epochs.map(epochSummary));
    expect(run.weights).toEqual(cpu.weights);
    expect(Array.from(run.checkpoint.weights)).toEqual(Array.from(cpu.checkpoint.weights));
    expect(run.checkpoint.manifest).toEqual(cpu.checkpoint.manifest);
    expect(gpu.reads).toBeGreaterThan(0);
  });

  it('reads the loss and outputs once per batch (one round of reads, not one per op)', async () => {
    const gpu = asyncBackend();
    await on(gpu, async () => {
      const model = new Classifier(config);
      const steps: number[] = [];
      await fit<SeqBatch>({
        model,
        optimizer: new SGD(model, { lr: 0.1 }),
        step: classifierStep(model),
        trainData: batches(data, 32),
        epochs: 1,
        metrics: () => [accuracy()],
        callbacks: {
          onBatchEnd: () => {
            steps.push(gpu.reads);
          },
        },
      });
      // Loss, predictions and targets: three reads per batch.
      expect(steps).toEqual([3, 6, 9]);
    });
  });

  it('stops with a NonFiniteLossError and leaves the parameters as they were', async () => {
    const gpu = asyncBackend();
    await on(gpu, async () => {
      const model = new Classifier(config);
      const step = classifierStep(model);
      const read = () => Promise.all(model.parameters().map(async (p) => Array.from(await p.data())));
      let calls = 0;
      let before: number[][] = [];
      const promise = fit<SeqBatch>({
        model,
        optimizer: new SGD(model, { lr: 0.1 }),
        step: (b, ctx) => {
          const out = step(b, ctx);
          return ++calls === 2 ? { ...out, loss: out.loss.mul(Number.NaN) } : out;
        },
        trainData: batches(data, 32),
        epochs: 1,
        callbacks: {
          onBatchEnd: async () => {
            before = await read();
          },
        },
      });
      await expect(promise).rejects.toThrow(NonFiniteLossError);
      await expect(promise).rejects.toThrow(
        /expected a finite loss, found NaN at epoch 0, batch 1 \(optimizer step 2\)/,
      );
      expect(before.length).toBeGreaterThan(0);
      expect(await read()).toEqual(before);
      expect(model.parameters().every((p) => p.grad === null)).toBe(true);
    });
  });

  it('clipGradNormAsync and gradNormAsync equal their synchronous versions', async () => {
    const gpu = asyncBackend();
    const grads = (backend: Backend) =>
      withBackend(backend, () => {
        const model = new Classifier({ ...config, seed: 9 });
        const out = classifierStep(model)(batches(data, 32)[0]!, { training: true, epoch: 0 });
        out.loss.backward();
        return model;
      });
    const a = grads(new JsBackend());
    const b = grads(gpu);
    for (const p of [1, 2, 3, Number.POSITIVE_INFINITY]) {
      const want = withBackend(a.parameters()[0]!.backend, () => gradNorm(a, p));
      const got = await withBackend(gpu, () => gradNormAsync(b, p));
      expect(got).toBeCloseTo(want, 6);
    }
    const want = clipGradNorm(a, 0.01);
    const got = await clipGradNormAsync(b, 0.01);
    expect(got).toBeCloseTo(want, 6);
    const after = await Promise.all(b.parameters().map(async (p) => Array.from(await p.grad!.data())));
    const expected = a.parameters().map((p) => values(p.grad!));
    for (let i = 0; i < after.length; i++) {
      for (let j = 0; j < after[i]!.length; j++) expect(after[i]![j]).toBeCloseTo(expected[i]![j]!, 6);
    }
    expect(got).toBeGreaterThan(0.01);
    expect(await gradNormAsync(b)).toBeCloseTo(0.01, 6);
  });

  it('synchronous checkpoints, state dicts and safetensors still refuse such a backend, naming the async versions', async () => {
    const gpu = asyncBackend();
    withBackend(gpu, () => {
      const model = new Classifier(config);
      const optimizer = new Adam(model);
      expect(() => writeSafetensors(new Map(model.namedParameters()))).toThrow(/writeSafetensorsAsync/);
      expect(() => createCheckpoint({ model, optimizer })).toThrow(/synchronous reads/);
    });
  });
});

describe('truncatedBpttAsync on a backend that reads asynchronously', () => {
  it('gives the chunk losses, carried state and gradients of truncatedBptt on a CPU backend, with async afterBackward', async () => {
    const T = 9;
    const run = async (backend: Backend, useAsync: boolean) =>
      on(backend, async () => {
        const lstm = new LSTM({ inputSize: 3, hiddenSize: 4, seed: 2 });
        const x = randn([T, 2, 3], { seed: 3 });
        const cot = randn([T, 2, 4], { seed: 4 });
        const loss = (out: Tensor, span: ChunkSpan) =>
          out.mul(slice(cot, [span.start, 0, 0], [span.end, 2, 4])).sum();
        const spans: number[] = [];
        const norms: number[] = [];
        const common = { inputs: x, forward: layerChunkForward(lstm), loss, k1: 3, k2: 5 };
        const r = useAsync
          ? await truncatedBpttAsync<LayerState>({
              ...common,
              afterBackward: async (span) => {
                spans.push(span.index);
                norms.push(await clipGradNormAsync(lstm, 0.5));
              },
            })
          : truncatedBptt<LayerState>({
              ...common,
              afterBackward: (span) => {
                spans.push(span.index);
                norms.push(clipGradNorm(lstm, 0.5));
              },
            });
        const state = r.state as { h: Tensor; c: Tensor };
        const h = Array.from(await state.h.data());
        const g = await Promise.all(lstm.parameters().map(async (p) => Array.from(await p.grad!.data())));
        return { losses: r.losses, spans, norms, h, g };
      });
    const cpu = await run(new JsBackend(), false);
    const gpu = asyncBackend();
    const got = await run(gpu, true);
    expect(cpu.spans).toEqual([0, 1, 2]);
    expect(got.spans).toEqual(cpu.spans);
    expect(got.losses).toEqual(cpu.losses);
    expect(got.norms).toEqual(cpu.norms);
    expect(got.h).toEqual(cpu.h);
    expect(got.g).toEqual(cpu.g);
    expect(gpu.reads).toBeGreaterThanOrEqual(3);
  });

  it('disposes the states it saved when afterBackward throws', async () => {
    const gpu = asyncBackend();
    await on(gpu, async () => {
      const gru = new GRU({ inputSize: 2, hiddenSize: 3, seed: 1 });
      const x = randn([6, 1, 2], { seed: 2 });
      const before = engine.liveTensors;
      await expect(
        truncatedBpttAsync<LayerState>({
          inputs: x,
          forward: layerChunkForward(gru),
          loss: (out) => out.sum(),
          k1: 2,
          k2: 4,
          afterBackward: async (span) => {
            if (span.index === 1) throw new Error('stop here');
          },
        }),
      ).rejects.toThrow('stop here');
      for (const p of gru.parameters()) p.zeroGrad();
      expect(engine.liveTensors).toBe(before);
    });
  });
});
