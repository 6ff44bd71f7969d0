import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readSafetensors } from '@recur/cells';
import {
  bucketByLength,
  CharVocab,
  dedupe,
  type Example,
  Labels,
  majorityBaseline,
  padSequences,
  type Split,
  stratifiedSplit,
  Vocab,
} from '@recur/data';
import { loadLabelledFolder } from '@recur/data/node';
import { fromData, noGrad, type Rng, type Tensor, tidy } from '@recur/tensor';
import {
  Adam,
  accuracy,
  type CheckpointFiles,
  CosineLR,
  crossEntropyLoss,
  type EpochLogs,
  restoreCheckpoint,
  Trainer,
} from '@recur/train';
import type { Command } from 'commander';
import type { BackendName } from './backends.js';
import { activateBackend, bundled, pct, savedOptions, trainingOptions } from './common.js';
import { CliError, Interrupted } from './errors.js';
import { type BaseConfig, checkOutDir, readModelDir, saveModelDir } from './model-dir.js';
import { type CellKind, NamesModel, type NamesModelConfig } from './models.js';
import { bool, COMMON_TRAIN, int, type OptionSpec, oneOf, positive, str } from './options.js';
import type { Io } from './progress.js';
import { type Hooks, TrainingLoop } from './run-training.js';

export interface NamesOptions {
  data?: string;
  cell: CellKind;
  hidden: number;
  embedding: number;
  layers: number;
  epochs: number;
  batch: number;
  lr: number;
  clip: number;
  ascii?: boolean;
  compiled?: boolean;
  backend: BackendName;
  seed: number;
  out: string;
  json?: boolean;
}

export const NAMES_SPECS: readonly OptionSpec[] = [
  {
    key: 'data',
    flag: '--data <dir>',
    kind: str,
    help: 'a folder of <language>.txt files, one name a line (default: the bundled names)',
  },
  {
    key: 'cell',
    flag: '--cell <kind>',
    kind: oneOf('rnn', 'lstm', 'gru'),
    help: 'recurrent cell',
    default: 'gru',
  },
  { key: 'hidden', flag: '--hidden <n>', kind: int(1), help: 'hidden units', default: 128 },
  {
    key: 'embedding',
    flag: '--embedding <n>',
    kind: int(0),
    help: 'character embedding size, 0 for one-hot',
    default: 48,
  },
  { key: 'layers', flag: '--layers <n>', kind: int(1), help: 'stacked recurrent layers', default: 1 },
  { key: 'epochs', flag: '--epochs <n>', kind: int(1), help: 'passes over the training names', default: 3 },
  { key: 'batch', flag: '--batch <n>', kind: int(1), help: 'names per batch', default: 64 },
  {
    key: 'lr',
    flag: '--lr <x>',
    kind: positive,
    help: 'Adam learning rate (cosine-annealed to 5% of it)',
    default: 0.006,
  },
  {
    key: 'clip',
    flag: '--clip <x>',
    kind: positive,
    help: 'clip the gradients to this global norm',
    default: 5,
  },
  { key: 'ascii', flag: '--ascii', kind: bool, help: 'fold accented letters to ASCII (Müller → Muller)' },
  {
    key: 'compiled',
    flag: '--compiled',
    kind: bool,
    help: 'run the recurrent layer compiled by the graph compiler',
  },
  ...COMMON_TRAIN.map((s) => (s.key === 'out' ? { ...s, default: 'names-model' } : s)),
];

/** What a names model directory's `model.config` holds. */
export interface NamesConfig extends BaseConfig, NamesModelConfig {
  readonly kind: 'names';
  readonly labels: readonly string[];
}

/** The run's record in `extra`: its options, data, progress and results. */
interface NamesExtra {
  readonly options: NamesOptions;
  readonly dataDir: string;
  readonly sizes: { readonly train: number; readonly valid: number; readonly test: number };
  /** The held-out test names, for `recur eval`. */
  readonly test: readonly (readonly [string, string])[];
  readonly baseline: { readonly label: string; readonly accuracy: number };
  /** Seconds spent in all sessions so far. */
  readonly seconds: number;
  readonly complete: boolean;
  readonly testAccuracy?: number;
}

interface NamesBatch {
  readonly seqs: readonly Int32Array[];
  readonly targets: Int32Array;
}

/** The names folder: `dir` itself, or its `names` subfolder (so --data may point at the data root). */
function namesDir(dir: string | undefined): string {
  if (dir === undefined) return bundled('names', '--data DIR');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new CliError(
      `--data: expected a folder of <language>.txt files at ${dir}, found ${existsSync(dir) ? 'a file' : 'nothing'}.`,
    );
  }
  const hasTxt = readdirSync(dir).some((f) => f.endsWith('.txt'));
  const sub = join(dir, 'names');
  return !hasTxt && existsSync(sub) ? sub : dir;
}

async function loadNames(
  dir: string,
  ascii: boolean,
): Promise<{ examples: Example[]; labels: Labels; repeats: number }> {
  const data = await loadLabelledFolder(dir, ascii ? { text: { asciiFold: true } } : {});
  if (data.labels.size < 2) {
    throw new CliError(
      `train names: expected at least 2 languages (files) in ${dir}, found ${data.labels.size} (${data.labels.names.join(', ')}). A classifier needs two classes or more.`,
    );
  }
  const { examples, removed } = dedupe(data.examples);
  return { examples, labels: data.labels, repeats: removed };
}

function split(examples: Example[], seed: number, dir: string): Split<Example> {
  const s = stratifiedSplit(examples, { seed, valid: 0.1, test: 0.1 });
  if (s.valid.length === 0 || s.test.length === 0) {
    throw new CliError(
      `train names: expected enough names in ${dir} for validation and test splits (10% each), found ${examples.length} distinct names: add more.`,
    );
  }
  return s;
}

function encodeAll(
  vocab: Vocab,
  labels: Labels,
  examples: readonly Example[],
): { seqs: Int32Array[]; targets: Int32Array } {
  const seqs = examples.map((e) => vocab.encode(e.input));
  const targets = Int32Array.from(examples, (e) => labels.indexOf(e.label));
  return { seqs, targets };
}

/** Batches of names of similar lengths: shuffled with `rng`, or in a fixed order without it. */
function batches(enc: { seqs: Int32Array[]; targets: Int32Array }, size: number, rng?: Rng): NamesBatch[] {
  const lengths = enc.seqs.map((s) => s.length);
  const groups = rng
    ? bucketByLength(lengths, { batchSize: size, seed: rng })
    : bucketByLength(lengths, { batchSize: size, seed: 0, batchesPerPool: Number.POSITIVE_INFINITY });
  return groups.map((g) => ({
    seqs: g.map((i) => enc.seqs[i]!),
    targets: Int32Array.from(g, (i) => enc.targets[i]!),
  }));
}

function forwardBatch(model: NamesModel, b: NamesBatch): Tensor {
  return model.forward(padSequences(b.seqs, { padValue: 0 }));
}

function argmaxRows(values: ArrayLike<number>, rows: number, cols: number): Int32Array {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (values[r * cols + c]! > values[r * cols + best]!) best = c;
    out[r] = best;
  }
  return out;
}

/** Rows are true labels, columns predictions; labels abbreviated to their first letters. */
export function formatConfusion(labels: readonly string[], matrix: readonly (readonly number[])[]): string[] {
  const w = Math.max(4, ...matrix.flat().map((v) => String(v).length + 1));
  const name = Math.max(...labels.map((l) => l.length));
  const lines = [`${''.padEnd(name)} ${labels.map((l) => l.slice(0, w - 1).padStart(w)).join('')}`];
  matrix.forEach((row, i) => {
    lines.push(`${labels[i]!.padEnd(name)} ${row.map((v) => String(v).padStart(w)).join('')}`);
  });
  return lines;
}

interface TestReport {
  readonly accuracy: number;
  readonly perClass: readonly number[];
  readonly confusion: readonly (readonly number[])[];
  readonly count: number;
}

async function evaluateNames(
  model: NamesModel,
  labels: Labels,
  enc: { seqs: Int32Array[]; targets: Int32Array },
): Promise<TestReport> {
  const k = labels.size;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  model.eval();
  try {
    for (const b of batches(enc, 256)) {
      // The read is queued inside the scope (which may then free the logits) and awaited outside it.
      const logits = await noGrad(() => tidy(() => ({ read: forwardBatch(model, b).data() }))).read;
      const pred = argmaxRows(logits, b.targets.length, k);
      b.targets.forEach((t, i) => {
        confusion[t]![pred[i]!]!++;
      });
    }
  } finally {
    model.train();
  }
  const count = enc.targets.length;
  let correct = 0;
  for (let i = 0; i < k; i++) correct += confusion[i]![i]!;
  const perClass = confusion.map((row, i) => {
    const n = row.reduce((a, b) => a + b, 0);
    return n === 0 ? Number.NaN : row[i]! / n;
  });
  return { accuracy: correct / count, perClass, confusion, count };
}

function printReport(
  io: Io,
  json: boolean,
  labels: Labels,
  r: TestReport,
  what: string,
  baseline?: { label: string; accuracy: number },
): void {
  if (json) {
    io.out(
      JSON.stringify({
        perClassAccuracy: Object.fromEntries(
          labels.names.map((l, i) => [l, Number.isNaN(r.perClass[i]!) ? null : r.perClass[i]]),
        ),
        confusion: { labels: labels.names, matrix: r.confusion },
      }),
    );
    return;
  }
  const base = baseline ? ` (always answering ${baseline.label}: ${pct(baseline.accuracy)})` : '';
  io.out(`${what} accuracy ${pct(r.accuracy)} on ${r.count} names${base}`);
  io.out('per-class accuracy:');
  const w = Math.max(...labels.names.map((l) => l.length));
  labels.names.forEach((l, i) => {
    const n = r.confusion[i]!.reduce((a, b) => a + b, 0);
    const acc = r.perClass[i]!;
    io.out(`  ${l.padEnd(w)} ${Number.isNaN(acc) ? '     -' : pct(acc).padStart(6)}  (${n})`);
  });
  io.out('confusion matrix (rows: true language, columns: predicted):');
  for (const line of formatConfusion(labels.names, r.confusion)) io.out(`  ${line}`);
}

function epochReport(logs: EpochLogs, epochs: number) {
  const acc = logs.metrics.accuracy as number;
  const val = logs.val;
  const vacc = val?.metrics.accuracy as number | undefined;
  return {
    text:
      `epoch ${logs.epoch + 1}/${epochs}  loss ${logs.loss.toFixed(3)}  acc ${pct(acc)}` +
      (val ? `  val loss ${val.loss.toFixed(3)}  val acc ${pct(vacc!)}` : '') +
      `  ${logs.seconds.toFixed(1)}s  ${logs.itemsPerSecond.toFixed(0)} names/s`,
    json: {
      loss: logs.loss,
      accuracy: acc,
      ...(val ? { valLoss: val.loss, valAccuracy: vacc } : {}),
      seconds: logs.seconds,
      namesPerSecond: logs.itemsPerSecond,
    },
  };
}

/** Restores a saved names model (weights only) for inference. */
function loadNamesModel(files: CheckpointFiles): {
  model: NamesModel;
  vocab: Vocab;
  labels: Labels;
  config: NamesConfig;
} {
  const config = files.manifest.model.config as NamesConfig;
  const model = new NamesModel(config);
  const { tensors } = readSafetensors(files.weights);
  try {
    model.loadStateDict(tensors);
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
  return {
    model,
    vocab: Vocab.fromJSON(files.manifest.vocabulary),
    labels: new Labels(config.labels),
    config,
  };
}

/** `recur train names`. */
export async function trainNames(cmd: Command, io: Io, hooks: Hooks): Promise<void> {
  const t0 = performance.now();
  const { o, resumed } = await trainingOptions<NamesOptions>(cmd, NAMES_SPECS, 'names', [
    'epochs',
    'out',
    'json',
    'backend',
  ]);
  checkOutDir(o.out);
  const json = o.json === true;
  const backend = await activateBackend(o.backend);
  const dir = resolve(resumed ? (resumed.manifest.extra as NamesExtra).dataDir : namesDir(o.data));
  const { examples, labels, repeats } = await loadNames(dir, o.ascii === true);
  const parts = split(examples, o.seed, dir);
  const vocab = resumed
    ? Vocab.fromJSON(resumed.manifest.vocabulary)
    : CharVocab.fromTexts(
        parts.train.map((e) => e.input),
        { specials: ['pad', 'unk'], order: 'alphabetical' },
      );
  const sizes = { train: parts.train.length, valid: parts.valid.length, test: parts.test.length };
  if (resumed) {
    const before = (resumed.manifest.extra as NamesExtra).sizes;
    if (before.train !== sizes.train || before.valid !== sizes.valid || before.test !== sizes.test) {
      throw new CliError(
        `train names --resume: expected the data in ${dir} to split as when the run started (${before.train}/${before.valid}/${before.test} train/valid/test), found ${sizes.train}/${sizes.valid}/${sizes.test}: the data changed.`,
      );
    }
  }
  const baseline = majorityBaseline(parts.train, parts.test);
  const config: NamesConfig = {
    kind: 'names',
    version: 1,
    cell: o.cell,
    hidden: o.hidden,
    layers: o.layers,
    embedding: o.embedding,
    vocabSize: vocab.size,
    classes: labels.size,
    seed: o.seed,
    labels: labels.names,
  };
  const model = new NamesModel(config, o.compiled === true);
  const optimizer = new Adam(model, { lr: o.lr });
  const train = encodeAll(vocab, labels, parts.train);
  const valid = encodeAll(vocab, labels, parts.valid);
  const test = encodeAll(vocab, labels, parts.test);
  const perEpoch = Math.ceil(parts.train.length / o.batch);
  const schedule = new CosineLR(optimizer, {
    tMax: perEpoch * o.epochs,
    minLr: o.lr * 0.05,
    interval: 'batch',
  });
  const dataLine = {
    data: dir,
    languages: labels.size,
    names: examples.length,
    repeatsRemoved: repeats,
    ...sizes,
    baseline,
  };
  const modelLine = {
    cell: o.cell,
    hidden: o.hidden,
    embedding: o.embedding,
    layers: o.layers,
    parameters: model.numParameters(),
    backend: backend.name,
    compiled: o.compiled === true,
  };
  if (json) {
    io.out(JSON.stringify(dataLine));
    io.out(JSON.stringify(modelLine));
  } else {
    io.out(
      `names: ${examples.length} distinct (name, language) pairs in ${labels.size} languages from ${dir} (${repeats} repeated lines removed); train ${sizes.train}, valid ${sizes.valid}, test ${sizes.test}`,
    );
    io.out(
      `model: ${o.cell.toUpperCase()} ${o.hidden}, ${o.embedding > 0 ? `embedding ${o.embedding}` : 'one-hot input'}, ${o.layers} layer${o.layers > 1 ? 's' : ''}, ${modelLine.parameters} parameters; backend ${backend.name}${o.compiled ? ' (compiled)' : ''}`,
    );
  }

  let seen = 0;
  let right = 0;
  const loop = new TrainingLoop({
    io,
    hooks,
    unit: 'names',
    epochs: o.epochs,
    batchesPerEpoch: perEpoch,
    accuracy: () => (seen === 0 ? undefined : right / seen),
    reportEpoch: (logs) => epochReport(logs, o.epochs),
    json,
  });
  const trainer = new Trainer<NamesBatch>({
    model,
    optimizer,
    schedulers: [schedule],
    step: (b, ctx) => {
      const logits = forwardBatch(model, b);
      const targets = fromData(b.targets, [b.targets.length], { dtype: 'i32' });
      // The running accuracy on the status line (CPU backends: a GPU would wait here every batch).
      if (ctx.training && logits.backend.readSync) {
        const pred = argmaxRows(logits.dataSync(), b.targets.length, labels.size);
        seen += pred.length;
        pred.forEach((p, i) => {
          if (p === b.targets[i]) right++;
        });
      }
      return { loss: crossEntropyLoss(logits, targets), predictions: logits, targets };
    },
    trainData: (_epoch, rng) => batches(train, o.batch, rng),
    validData: batches(valid, 256),
    epochs: o.epochs,
    seed: o.seed,
    metrics: () => [accuracy()],
    monitor: 'val.accuracy',
    earlyStopping: { patience: o.epochs, restoreBest: true },
    clipGradNorm: o.clip,
    callbacks: [
      {
        onEpochStart: () => {
          seen = 0;
          right = 0;
        },
      },
      loop.callbacks,
    ],
  });
  if (resumed) restoreCheckpoint(resumed, { model, optimizer, schedulers: [schedule], trainer });
  const before = resumed ? (resumed.manifest.extra as NamesExtra).seconds : 0;
  const extraBase = {
    options: savedOptions(o),
    dataDir: dir,
    sizes,
    test: parts.test.map((e) => [e.input, e.label] as const),
    baseline,
  };
  try {
    const r = await loop.run(trainer);
    const seconds = before + (performance.now() - t0) / 1000;
    if (r.interrupted) {
      await saveModelDir(o.out, {
        model,
        config,
        vocabulary: vocab.toJSON(),
        extra: { ...extraBase, seconds, complete: false } satisfies NamesExtra,
        optimizer,
        schedulers: [schedule],
        trainer,
      });
      throw new Interrupted('names', o.out);
    }
    const report = await evaluateNames(model, labels, test);
    printReport(io, json, labels, report, 'test', baseline);
    await saveModelDir(o.out, {
      model,
      config,
      vocabulary: vocab.toJSON(),
      extra: { ...extraBase, seconds, complete: true, testAccuracy: report.accuracy } satisfies NamesExtra,
      optimizer,
      schedulers: [schedule],
      trainer,
    });
    const epochsRun = trainer.stateDict().epoch;
    if (json) {
      io.out(
        JSON.stringify({
          testAccuracy: report.accuracy,
          seconds,
          epochs: epochsRun,
          baseline: baseline.accuracy,
          model: o.out,
        }),
      );
    } else {
      io.out(`saved the model to ${o.out}; ${epochsRun} epochs in ${seconds.toFixed(1)} s`);
    }
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

/** `recur classify`. */
export async function classify(
  names: string[],
  o: { model: string; topK: number; json?: boolean; backend: BackendName },
  io: Io,
): Promise<void> {
  const files = await readModelDir(o.model, 'names', 'classify');
  await activateBackend(o.backend);
  const { model, vocab, labels } = loadNamesModel(files);
  try {
    const inputs = names.map((n) => vocab.normalize(n.replace(/\s+/g, ' ').trim()));
    inputs.forEach((n, i) => {
      if (n === '')
        throw new CliError(`classify: expected non-empty names, found an empty one at position ${i + 1}.`);
    });
    const seqs = inputs.map((n) => vocab.encode(n));
    model.eval();
    const probs = await noGrad(() =>
      tidy(() => ({
        read: forwardBatch(model, { seqs, targets: new Int32Array(seqs.length) })
          .softmax()
          .data(),
      })),
    ).read;
    const k = Math.min(o.topK, labels.size);
    names.forEach((name, i) => {
      const row = Array.from({ length: labels.size }, (_, c) => ({
        label: labels.nameOf(c),
        probability: probs[i * labels.size + c]!,
      }));
      row.sort((a, b) => b.probability - a.probability);
      const top = row.slice(0, k);
      if (o.json) {
        io.out(JSON.stringify({ name, top }));
      } else {
        io.out(name);
        const w = Math.max(...top.map((t) => t.label.length));
        for (const t of top) io.out(`  ${t.label.padEnd(w)}  ${t.probability.toFixed(3)}`);
      }
    });
  } finally {
    model.dispose();
  }
}

/** `recur eval` of a names model: on a folder of <language>.txt files, or the stored test split. */
export async function evalNames(
  files: CheckpointFiles,
  o: { data?: string; json?: boolean; backend: BackendName },
  io: Io,
): Promise<void> {
  await activateBackend(o.backend);
  const { model, vocab, labels } = loadNamesModel(files);
  try {
    const extra = files.manifest.extra as NamesExtra;
    let examples: Example[];
    let what: string;
    if (o.data !== undefined) {
      const dir = namesDir(o.data);
      const data = await loadLabelledFolder(dir, vocab.text.asciiFold ? { text: { asciiFold: true } } : {});
      const unknown = data.labels.names.filter((l) => !labels.has(l));
      if (unknown.length > 0) {
        throw new CliError(
          `eval: expected languages the model knows (${labels.names.join(', ')}), found ${unknown.map((u) => `'${u}'`).join(', ')} in ${dir}.`,
        );
      }
      examples = dedupe(data.examples).examples;
      what = dir;
    } else {
      examples = extra.test.map(([input, label]) => ({ input, label }));
      what = 'the held-out test split';
    }
    const report = await evaluateNames(model, labels, encodeAll(vocab, labels, examples));
    printReport(io, o.json === true, labels, report, o.data === undefined ? 'test' : 'eval');
    if (o.json) io.out(JSON.stringify({ accuracy: report.accuracy, names: report.count, data: what }));
  } finally {
    model.dispose();
  }
}
