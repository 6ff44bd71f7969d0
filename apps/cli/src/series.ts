import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { readSafetensors } from '@recur/cells';
import {
  chronologicalSplit,
  fitStandardizer,
  noisySine,
  persistenceRmse,
  type Standardizer,
  slidingWindows,
  standardize,
  type Windows,
  windowBatch,
} from '@recur/data';
import { loadCsvColumn } from '@recur/data/node';
import { fromData, noGrad, type Rng, tidy } from '@recur/tensor';
import {
  Adam,
  type CheckpointFiles,
  type EpochLogs,
  mseLoss,
  restoreCheckpoint,
  Trainer,
} from '@recur/train';
import type { Command } from 'commander';
import type { BackendName } from './backends.js';
import { activateBackend, savedOptions, trainingOptions } from './common.js';
import { CliError, Interrupted } from './errors.js';
import { type BaseConfig, checkOutDir, readModelDir, saveModelDir } from './model-dir.js';
import { type CellKind, SeriesModel, type SeriesModelConfig } from './models.js';
import { COMMON_TRAIN, int, nonNegative, type OptionSpec, oneOf, positive, str } from './options.js';
import type { Io } from './progress.js';
import { type Hooks, TrainingLoop } from './run-training.js';

export interface SeriesOptions {
  csv?: string;
  column?: string;
  length: number;
  period: number;
  noise: number;
  window: number;
  horizon: number;
  cell: CellKind;
  hidden: number;
  layers: number;
  epochs: number;
  batch: number;
  lr: number;
  clip: number;
  compiled?: boolean;
  backend: BackendName;
  seed: number;
  out: string;
  json?: boolean;
}

export const SERIES_SPECS: readonly OptionSpec[] = [
  { key: 'csv', flag: '--csv <file>', kind: str, help: 'a CSV file (default: a generated noisy sine wave)' },
  {
    key: 'column',
    flag: '--column <name>',
    kind: str,
    help: 'the CSV column: a header name or a 0-based index (default 0)',
  },
  {
    key: 'length',
    flag: '--length <n>',
    kind: int(10),
    help: 'points of the generated sine wave',
    default: 3000,
  },
  {
    key: 'period',
    flag: '--period <n>',
    kind: positive,
    help: 'steps per cycle of the generated sine wave',
    default: 50,
  },
  {
    key: 'noise',
    flag: '--noise <sd>',
    kind: nonNegative,
    help: 'standard deviation of the generated noise',
    default: 0.1,
  },
  { key: 'window', flag: '--window <n>', kind: int(1), help: 'points the model reads', default: 30 },
  { key: 'horizon', flag: '--horizon <n>', kind: int(1), help: 'points it predicts', default: 1 },
  {
    key: 'cell',
    flag: '--cell <kind>',
    kind: oneOf('rnn', 'lstm', 'gru'),
    help: 'recurrent cell',
    default: 'gru',
  },
  { key: 'hidden', flag: '--hidden <n>', kind: int(1), help: 'hidden units', default: 32 },
  { key: 'layers', flag: '--layers <n>', kind: int(1), help: 'stacked recurrent layers', default: 1 },
  {
    key: 'epochs',
    flag: '--epochs <n>',
    kind: int(1),
    help: 'passes over the training windows',
    default: 10,
  },
  { key: 'batch', flag: '--batch <n>', kind: int(1), help: 'windows per batch', default: 32 },
  { key: 'lr', flag: '--lr <x>', kind: positive, help: 'Adam learning rate', default: 0.01 },
  {
    key: 'clip',
    flag: '--clip <x>',
    kind: positive,
    help: 'clip the gradients to this global norm',
    default: 1,
  },
  {
    key: 'compiled',
    flag: '--compiled',
    kind: { type: 'boolean' },
    help: 'run the recurrent layer compiled by the graph compiler',
  },
  ...COMMON_TRAIN.map((s) => (s.key === 'out' ? { ...s, default: 'series-model' } : s)),
];

export interface SeriesConfig extends BaseConfig, SeriesModelConfig {
  readonly kind: 'series';
  readonly window: number;
  readonly standardizer: Standardizer;
}

interface SeriesExtra {
  readonly options: SeriesOptions;
  readonly source: string;
  readonly points: { readonly train: number; readonly valid: number; readonly test: number };
  readonly seconds: number;
  readonly complete: boolean;
  readonly testRmse?: number;
  readonly baselineRmse?: number;
}

/** The series a run learns from: a CSV column, or the generated noisy sine wave. */
async function loadSeries(
  o: SeriesOptions,
  command: string,
): Promise<{ series: Float64Array; source: string }> {
  if (o.csv === undefined) {
    if (o.column !== undefined)
      throw new CliError(`${command}: expected --column with --csv, found --column alone.`);
    return {
      series: noisySine({ length: o.length, period: o.period, noise: o.noise, seed: o.seed }),
      source: `a noisy sine wave (${o.length} points, period ${o.period}, noise ${o.noise}, seed ${o.seed})`,
    };
  }
  const path = resolve(o.csv);
  if (!existsSync(path)) throw new CliError(`${command}: expected a CSV file at ${o.csv}, found none.`);
  const column = o.column === undefined ? 0 : /^\d+$/.test(o.column) ? Number(o.column) : o.column;
  const series = await loadCsvColumn(path, { column });
  return { series, source: `${path}, column ${JSON.stringify(column)}` };
}

interface SeriesData {
  readonly train: Windows;
  readonly valid: Windows;
  readonly test: Windows;
  /** The test windows in the series' own units, for the baseline. */
  readonly testRaw: Windows;
  readonly standardizer: Standardizer;
  readonly points: { train: number; valid: number; test: number };
}

function prepare(series: Float64Array, o: SeriesOptions, command: string): SeriesData {
  const parts = chronologicalSplit(series, { valid: 0.1, test: 0.2 });
  const need = o.window + o.horizon;
  for (const [name, p] of Object.entries(parts)) {
    if (p.length < need) {
      throw new CliError(
        `${command}: expected at least ${need} points (--window ${o.window} + --horizon ${o.horizon}) in the ${name} part, found ${p.length} of ${series.length}; use a longer series or a smaller --window.`,
      );
    }
  }
  const standardizer = fitStandardizer(parts.train);
  const w = { window: o.window, horizon: o.horizon };
  return {
    train: slidingWindows(standardize(parts.train, standardizer), w),
    valid: slidingWindows(standardize(parts.valid, standardizer), w),
    test: slidingWindows(standardize(parts.test, standardizer), w),
    testRaw: slidingWindows(parts.test, w),
    standardizer,
    points: { train: parts.train.length, valid: parts.valid.length, test: parts.test.length },
  };
}

function batchesOf(w: Windows, size: number, rng?: Rng): number[][] {
  const order = Array.from({ length: w.count }, (_, i) => i);
  if (rng) rng.shuffle(order);
  const out: number[][] = [];
  for (let i = 0; i < order.length; i += size) out.push(order.slice(i, i + size));
  return out;
}

/** RMSE of the model's predictions on windows, in the series' units. */
async function rmseOf(model: SeriesModel, w: Windows, s: Standardizer): Promise<number> {
  let sum = 0;
  model.eval();
  try {
    for (const idx of batchesOf(w, 512)) {
      // The read is queued inside the scope (which may then free the output) and awaited outside it.
      const pred = await noGrad(() =>
        tidy(() => ({ read: model.forward(windowBatch(w, idx).inputs).data() })),
      ).read;
      idx.forEach((i, b) => {
        for (let h = 0; h < w.horizon; h++)
          sum += (pred[b * w.horizon + h]! - w.targets[i * w.horizon + h]!) ** 2;
      });
    }
  } finally {
    model.train();
  }
  return Math.sqrt(sum / (w.count * w.horizon)) * s.std;
}

function loadModel(files: CheckpointFiles): { model: SeriesModel; config: SeriesConfig } {
  const config = files.manifest.model.config as SeriesConfig;
  const model = new SeriesModel(config);
  const { tensors } = readSafetensors(files.weights);
  try {
    model.loadStateDict(tensors);
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
  return { model, config };
}

function epochReport(logs: EpochLogs, epochs: number, std: number) {
  const val = logs.val;
  // The losses are mean squared errors of standardised values: √ · std is an RMSE in the series' units.
  const rmse = Math.sqrt(logs.loss) * std;
  const vrmse = val ? Math.sqrt(val.loss) * std : undefined;
  return {
    text:
      `epoch ${logs.epoch + 1}/${epochs}  rmse ${rmse.toFixed(4)}` +
      (vrmse !== undefined ? `  val rmse ${vrmse.toFixed(4)}` : '') +
      `  ${logs.seconds.toFixed(1)}s  ${logs.itemsPerSecond.toFixed(0)} windows/s`,
    json: {
      rmse,
      ...(vrmse !== undefined ? { valRmse: vrmse } : {}),
      seconds: logs.seconds,
      windowsPerSecond: logs.itemsPerSecond,
    },
  };
}

/** `recur train series`. */
export async function trainSeries(cmd: Command, io: Io, hooks: Hooks): Promise<void> {
  const t0 = performance.now();
  const { o, resumed } = await trainingOptions<SeriesOptions>(cmd, SERIES_SPECS, 'series', [
    'epochs',
    'out',
    'json',
    'backend',
  ]);
  checkOutDir(o.out);
  const json = o.json === true;
  const backend = await activateBackend(o.backend);
  const { series, source } = await loadSeries(o, 'train series');
  const data = prepare(series, o, 'train series');
  const config: SeriesConfig = {
    kind: 'series',
    version: 1,
    cell: o.cell,
    hidden: o.hidden,
    layers: o.layers,
    horizon: o.horizon,
    seed: o.seed,
    window: o.window,
    standardizer: data.standardizer,
  };
  const model = new SeriesModel(config, o.compiled === true);
  const optimizer = new Adam(model, { lr: o.lr });
  const baseline = persistenceRmse(data.testRaw);
  if (json) {
    io.out(
      JSON.stringify({
        source,
        ...data.points,
        window: o.window,
        horizon: o.horizon,
        baselineRmse: baseline,
      }),
    );
  } else {
    io.out(
      `series: ${source}; ${data.points.train} points to train, ${data.points.valid} to validate, ${data.points.test} to test (in time order); windows of ${o.window} → the next ${o.horizon}`,
    );
    io.out(
      `model: ${o.cell.toUpperCase()} ${o.hidden} × ${o.layers}, ${model.numParameters()} parameters; backend ${backend.name}`,
    );
  }
  const perEpoch = Math.ceil(data.train.count / o.batch);
  const loop = new TrainingLoop({
    io,
    hooks,
    unit: 'windows',
    epochs: o.epochs,
    batchesPerEpoch: perEpoch,
    reportEpoch: (logs) => epochReport(logs, o.epochs, data.standardizer.std),
    json,
  });
  const trainer = new Trainer<{ w: Windows; idx: number[] }>({
    model,
    optimizer,
    step: (b) => {
      const { inputs, targets } = windowBatch(b.w, b.idx);
      const predictions = model.forward(inputs);
      return { loss: mseLoss(predictions, targets), count: b.idx.length };
    },
    trainData: (_epoch, rng) => batchesOf(data.train, o.batch, rng).map((idx) => ({ w: data.train, idx })),
    validData: batchesOf(data.valid, 512).map((idx) => ({ w: data.valid, idx })),
    epochs: o.epochs,
    seed: o.seed,
    clipGradNorm: o.clip,
    earlyStopping: { patience: o.epochs, restoreBest: true },
    callbacks: loop.callbacks,
  });
  if (resumed) restoreCheckpoint(resumed, { model, optimizer, trainer });
  const before = resumed ? (resumed.manifest.extra as SeriesExtra).seconds : 0;
  const extraBase = { options: savedOptions(o), source, points: data.points };
  try {
    const r = await loop.run(trainer);
    const seconds = before + (performance.now() - t0) / 1000;
    if (r.interrupted) {
      await saveModelDir(o.out, {
        model,
        config,
        extra: { ...extraBase, seconds, complete: false } satisfies SeriesExtra,
        optimizer,
        trainer,
      });
      throw new Interrupted('series', o.out);
    }
    const testRmse = await rmseOf(model, data.test, data.standardizer);
    await saveModelDir(o.out, {
      model,
      config,
      extra: {
        ...extraBase,
        seconds,
        complete: true,
        testRmse,
        baselineRmse: baseline,
      } satisfies SeriesExtra,
      optimizer,
      trainer,
    });
    if (json) {
      io.out(
        JSON.stringify({
          testRmse,
          baselineRmse: baseline,
          ratio: testRmse / baseline,
          seconds,
          model: o.out,
        }),
      );
    } else {
      io.out(
        `test RMSE ${testRmse.toFixed(4)} on ${data.test.count} windows; predicting the last value: ${baseline.toFixed(4)} (${((testRmse / baseline) * 100).toFixed(0)}% of it)`,
      );
      io.out(`saved the model to ${o.out}; ${seconds.toFixed(1)} s`);
    }
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

/** The input a predict or eval command reads: `--values`, a CSV file, or the model's own series. */
async function inputSeries(
  files: CheckpointFiles,
  o: { csv?: string; column?: string; values?: string },
  command: string,
): Promise<{ series: Float64Array; source: string }> {
  if (o.values !== undefined) {
    const parts = o.values.split(/[\s,]+/).filter((s) => s !== '');
    const series = Float64Array.from(parts, (s) => Number(s));
    const bad = parts.findIndex((s, i) => !Number.isFinite(series[i]!) || s.trim() === '');
    if (bad >= 0) throw new CliError(`${command}: expected numbers in --values, found '${parts[bad]}'.`);
    return { series, source: '--values' };
  }
  const saved = (files.manifest.extra as SeriesExtra).options;
  if (o.csv !== undefined) {
    return loadSeries(
      { ...saved, csv: o.csv, ...(o.column !== undefined ? { column: o.column } : {}) },
      command,
    );
  }
  return loadSeries(saved, command);
}

/** `recur predict`: the next points after the end of a series. */
export async function predictCommand(
  o: {
    model: string;
    csv?: string;
    column?: string;
    values?: string;
    steps?: number;
    json?: boolean;
    backend: BackendName;
  },
  io: Io,
): Promise<void> {
  const files = await readModelDir(o.model, 'series', 'predict');
  await activateBackend(o.backend);
  const { model, config } = loadModel(files);
  try {
    const { series, source } = await inputSeries(files, o, 'predict');
    if (series.length < config.window) {
      throw new CliError(
        `predict: expected at least ${config.window} points (the model's window), found ${series.length} in ${source}.`,
      );
    }
    const steps = o.steps ?? config.horizon;
    const s = config.standardizer;
    const history = Array.from(standardize(series.subarray(series.length - config.window), s));
    const predicted: number[] = [];
    model.eval();
    // Predicts `horizon` points at a time, feeding them back in until `steps` are there.
    while (predicted.length < steps) {
      const win = history.slice(history.length - config.window);
      const next = await noGrad(() =>
        tidy(() => ({ read: model.forward(fromData(Float32Array.from(win), [1, config.window, 1])).data() })),
      ).read;
      for (const v of next) {
        history.push(v);
        predicted.push(v * s.std + s.mean);
      }
    }
    const out = predicted.slice(0, steps);
    if (o.json) io.out(JSON.stringify({ source, last: series[series.length - 1], predictions: out }));
    else {
      io.out(
        `after the ${series.length} points of ${source} (last ${series[series.length - 1]!.toFixed(4)}):`,
      );
      out.forEach((v, i) => {
        io.out(`  +${i + 1}  ${v.toFixed(4)}`);
      });
    }
  } finally {
    model.dispose();
  }
}

/** `recur eval` of a series model: RMSE beside the last-value baseline on a CSV file or the stored test part. */
export async function evalSeries(
  files: CheckpointFiles,
  o: { data?: string; column?: string; json?: boolean; backend: BackendName },
  io: Io,
): Promise<void> {
  await activateBackend(o.backend);
  const { model, config } = loadModel(files);
  try {
    const saved = (files.manifest.extra as SeriesExtra).options;
    let windows: Windows;
    let raw: Windows;
    let what: string;
    const w = { window: config.window, horizon: config.horizon };
    if (o.data !== undefined) {
      const { series, source } = await inputSeries(
        files,
        { csv: o.data, ...(o.column ? { column: o.column } : {}) },
        'eval',
      );
      if (series.length < w.window + w.horizon) {
        throw new CliError(
          `eval: expected at least ${w.window + w.horizon} points in ${source}, found ${series.length}.`,
        );
      }
      raw = slidingWindows(series, w);
      windows = slidingWindows(standardize(series, config.standardizer), w);
      what = source;
    } else {
      const { series, source } = await loadSeries(saved, 'eval');
      const data = prepare(series, saved, 'eval');
      windows = data.test;
      raw = data.testRaw;
      what = `the last 20% of ${source}`;
    }
    const rmse = await rmseOf(model, windows, config.standardizer);
    const baseline = persistenceRmse(raw);
    if (o.json) io.out(JSON.stringify({ rmse, baselineRmse: baseline, windows: windows.count, data: what }));
    else {
      io.out(
        `RMSE ${rmse.toFixed(4)} on ${windows.count} windows of ${what}; predicting the last value: ${baseline.toFixed(4)}`,
      );
    }
  } finally {
    model.dispose();
  }
}
