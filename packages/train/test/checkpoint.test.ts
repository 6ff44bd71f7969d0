import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@recur/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import {
  Adam,
  accuracy,
  CheckpointError,
  CosineLR,
  collectRngs,
  LinearWarmup,
  Trainer,
  type TrainerOptions,
} from '../src/index.js';
import { loadCheckpoint, readCheckpoint, saveCheckpoint, writeFileAtomic } from '../src/node.js';
import {
  batches,
  Classifier,
  type ClassifierOptions,
  classifierStep,
  type SeqBatch,
  signTask,
} from './models.js';
import { values } from './setup.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'recur-train-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const config: ClassifierOptions = { vocab: 3, embed: 4, hidden: 8, classes: 2, dropout: 0.3, seed: 1 };
const data = signTask(80, new Rng(3));
const valid = batches(signTask(32, new Rng(4)), 16);

/** A complete training setup: model with dropout, Adam, warm-up × cosine, shuffled data, early stopping. */
function setup(epochs: number, cfg: ClassifierOptions = config) {
  const model = new Classifier(cfg);
  const optimizer = new Adam(model, { lr: 0.02 });
  const schedulers = [
    new LinearWarmup(optimizer, { steps: 3 }),
    new CosineLR(optimizer, { tMax: 4, minLr: 0.001 }),
  ];
  const options: TrainerOptions<SeqBatch> = {
    model,
    optimizer,
    step: classifierStep(model),
    trainData: (_, rng) => batches(data, 16, rng),
    validData: valid,
    epochs,
    seed: 9,
    metrics: () => [accuracy()],
    schedulers,
    clipGradNorm: 5,
    earlyStopping: { patience: 5 },
  };
  const trainer = new Trainer(options);
  return { model, optimizer, schedulers, trainer };
}

function weights(model: Classifier): number[][] {
  return model.parameters().map((p) => values(p));
}

describe('checkpoints', () => {
  it('resume exactly: 2 epochs straight = 1 epoch + save + load + 1 epoch, bit for bit', async () => {
    const straight = setup(2);
    const h = await straight.trainer.fit();

    const first = setup(1);
    await first.trainer.fit();
    const dir = await tempDir();
    await saveCheckpoint(dir, { ...first, config });

    const resumed = setup(2, { ...config, seed: 99 }); // other initial weights and dropout seeds: all overwritten
    await loadCheckpoint(dir, resumed);
    expect(resumed.trainer.epoch).toBe(1);
    const h2 = await resumed.trainer.fit();

    expect(weights(resumed.model)).toEqual(weights(straight.model));
    expect(resumed.optimizer.lr).toBe(straight.optimizer.lr);
    expect(h2.epochs.map((e) => [e.loss, e.val!.loss, e.metrics.accuracy])).toEqual(
      h.epochs.map((e) => [e.loss, e.val!.loss, e.metrics.accuracy]),
    );
    expect(JSON.stringify(resumed.optimizer.stateDict())).toBe(
      JSON.stringify(straight.optimizer.stateDict()),
    );
  });

  it('resume exactly from the middle of an epoch (as after Ctrl-C)', async () => {
    const straight = setup(2);
    await straight.trainer.fit();

    const interrupted = setup(2);
    const t: Trainer<SeqBatch> = new Trainer({
      ...interrupted.trainer.options,
      callbacks: {
        onBatchEnd: (l) => {
          if (l.step === 7) t.stop();
        },
      },
    });
    const stopped = await t.fit();
    expect(stopped.stopReason).toBe('stopped');
    expect(t.batchInEpoch).toBe(2);
    const dir = await tempDir();
    await saveCheckpoint(dir, { ...interrupted, trainer: t, config });

    const resumed = setup(2);
    await loadCheckpoint(dir, resumed);
    const h = await resumed.trainer.fit();
    expect(weights(resumed.model)).toEqual(weights(straight.model));
    expect(h.epochs[1]!.loss).toBe(straight.trainer.history[1]!.loss);
    expect(h.epochs[1]!.metrics.accuracy).toBe(straight.trainer.history[1]!.metrics.accuracy);
  });

  it('round-trips config, vocabulary and extra JSON, and finds the dropout generators', async () => {
    const { model, optimizer, trainer } = setup(1);
    await trainer.fit();
    const dir = await tempDir();
    const vocabulary = { tokens: ['<pad>', '+', '-'] };
    await saveCheckpoint(dir, {
      model,
      optimizer,
      trainer,
      config,
      vocabulary,
      extra: { note: 'sign task' },
    });
    expect((await readdir(dir)).sort()).toEqual(['best.safetensors', 'checkpoint.json', 'model.safetensors']);
    const { manifest } = await readCheckpoint(dir);
    expect(manifest.model.config).toEqual(config);
    expect(manifest.vocabulary).toEqual(vocabulary);
    expect(manifest.extra).toEqual({ note: 'sign task' });
    expect(manifest.model.parameters.map((p) => p.name)).toContain('rnn.weight_hh_l0');
    expect(manifest.trainer!.epoch).toBe(1);
    expect(manifest.best!.monitor).toBe('val.loss');
    expect(manifest.rng!.map((r) => r.path)).toEqual(collectRngs(model).map(([p]) => p));
    expect(manifest.rng!.length).toBeGreaterThanOrEqual(2); // the layer's and the Dropout's
    // Weights only: a fresh model of the same config.
    const fresh = new Classifier({ ...config, seed: 5 });
    await loadCheckpoint(dir, { model: fresh });
    expect(weights(fresh)).toEqual(weights(model));
  });

  it('refuses a checkpoint of another model with every difference listed', async () => {
    const { model } = setup(1);
    const dir = await tempDir();
    await saveCheckpoint(dir, { model, config });
    const other = new Classifier({ ...config, hidden: 6 });
    const err = await loadCheckpoint(dir, { model: other }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect(String(err)).toMatch(
      /'rnn.weight_ih_l0' is \[24, 4\] in the checkpoint but \[18, 4\] in the model/,
    );
    expect(String(err)).toMatch(
      /Build the model with the configuration saved in checkpoint.json \(model.config: \{"vocab":3/,
    );
    expect(weights(other)).toEqual(weights(new Classifier({ ...config, hidden: 6 }))); // untouched
    await expect(loadCheckpoint(dir, { model, optimizer: new Adam(model) })).rejects.toThrow(
      /an optimizer state in the checkpoint, found none/,
    );
    await expect(loadCheckpoint(join(dir, 'missing'), { model })).rejects.toThrow(
      /checkpoint manifest.*no such file.*Pass the directory/,
    );
  });

  it('detects files that do not belong together (a save interrupted between files)', async () => {
    const a = setup(1);
    const dir = await tempDir();
    await saveCheckpoint(dir, { model: a.model, config });
    await a.trainer.fit();
    // Simulate a crash after the new weights were written but before the manifest was.
    const other = await tempDir();
    await saveCheckpoint(other, { model: a.model, config });
    await writeFile(join(dir, 'model.safetensors'), await readFile(join(other, 'model.safetensors')));
    await expect(loadCheckpoint(dir, { model: a.model })).rejects.toThrow(/do not belong together/);
    await writeFile(join(dir, 'checkpoint.json'), '{"format": "recur-checkpoint", "vers');
    await expect(loadCheckpoint(dir, { model: a.model })).rejects.toThrow(/valid JSON in checkpoint.json/);
  });

  it('writes atomically: a failed write leaves the old file and no temporary file', async () => {
    const dir = await tempDir();
    const path = join(dir, 'file.json');
    await writeFileAtomic(path, 'old');
    // Renaming onto a directory fails: simulate by writing to a path that is a directory.
    await expect(writeFileAtomic(dir, 'new')).rejects.toThrow(CheckpointError);
    expect(await readFile(path, 'utf8')).toBe('old');
    await writeFileAtomic(path, 'new');
    expect(await readFile(path, 'utf8')).toBe('new');
    expect(await readdir(dir)).toEqual(['file.json']);
  });
});
