import { fromData, type Tensor } from '@recur/tensor';
import type { Layout, TensorOptions } from './batch.js';
import { DataError, describe, positiveInt, show } from './errors.js';
import { rngOf, type Seed } from './random.js';

export interface NoisySineOptions {
  /** Number of points. */
  readonly length: number;
  /** Steps per cycle (default 50). */
  readonly period?: number;
  /** Default 1. */
  readonly amplitude?: number;
  /** Phase at step 0, in radians (default 0). */
  readonly phase?: number;
  /** Standard deviation of the added Gaussian noise (default 0.1). */
  readonly noise?: number;
  /** Seed of the noise (default 0). */
  readonly seed?: Seed;
}

/** `amplitude · sin(2π·t/period + phase) + noise · N(0, 1)` for t = 0..length-1, seeded. */
export function noisySine(options: NoisySineOptions): Float64Array {
  const where = 'noisySine';
  const length = positiveInt(where, 'length', options.length);
  const period = options.period ?? 50;
  const amplitude = options.amplitude ?? 1;
  const phase = options.phase ?? 0;
  const noise = options.noise ?? 0.1;
  for (const [name, v] of [
    ['period', period],
    ['amplitude', amplitude],
    ['phase', phase],
    ['noise', noise],
  ] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new DataError(describe(where, `a finite ${name}`, show(v)));
    }
  }
  if (period <= 0) throw new DataError(describe(where, 'a positive period', String(period)));
  if (noise < 0) throw new DataError(describe(where, 'a noise level of at least 0', String(noise)));
  const rng = rngOf(options.seed ?? 0, where);
  const out = new Float64Array(length);
  for (let t = 0; t < length; t++) {
    out[t] =
      amplitude * Math.sin((2 * Math.PI * t) / period + phase) + (noise > 0 ? noise * rng.normal() : 0);
  }
  return out;
}

export interface WindowOptions {
  /** Input points per example. */
  readonly window: number;
  /** Points to predict after each window (default 1). */
  readonly horizon?: number;
  /** Distance between the starts of consecutive windows (default 1). */
  readonly stride?: number;
}

/** Windows over a series: example i reads points `s .. s+window-1` and predicts `s+window .. s+window+horizon-1`, s = i·stride. */
export interface Windows {
  /** Row-major `[count, window]`. */
  readonly inputs: Float32Array;
  /** Row-major `[count, horizon]`. */
  readonly targets: Float32Array;
  readonly count: number;
  readonly window: number;
  readonly horizon: number;
}

function checkSeries(where: string, series: ArrayLike<number>): void {
  for (let i = 0; i < series.length; i++) {
    const v = series[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new DataError(describe(where, 'finite numbers in the series', `${show(v)} at index ${i}`));
    }
  }
}

/** Cuts a series into (window → next `horizon` points) examples. */
export function slidingWindows(series: ArrayLike<number>, options: WindowOptions): Windows {
  const where = 'slidingWindows';
  const window = positiveInt(where, 'window', options.window);
  const horizon = positiveInt(where, 'horizon', options.horizon ?? 1);
  const stride = positiveInt(where, 'stride', options.stride ?? 1);
  checkSeries(where, series);
  const span = window + horizon;
  if (series.length < span) {
    throw new DataError(
      describe(
        where,
        `a series of at least window + horizon = ${span} points`,
        `${series.length}`,
        'Use a longer series or a smaller window.',
      ),
    );
  }
  const count = Math.floor((series.length - span) / stride) + 1;
  const inputs = new Float32Array(count * window);
  const targets = new Float32Array(count * horizon);
  for (let i = 0; i < count; i++) {
    const s = i * stride;
    for (let j = 0; j < window; j++) inputs[i * window + j] = series[s + j]!;
    for (let j = 0; j < horizon; j++) targets[i * horizon + j] = series[s + window + j]!;
  }
  return { inputs, targets, count, window, horizon };
}

export interface WindowBatchOptions extends TensorOptions {
  /** `'batch-first'` (inputs `[B, window, 1]`, default) or `'time-first'` (`[window, B, 1]`). */
  readonly layout?: Layout;
}

/**
 * The windows at `indices` as tensors: inputs f32 `[B, window, 1]` (one feature per step, or
 * `[window, B, 1]` time-first) and targets f32 `[B, horizon]`.
 */
export function windowBatch(
  windows: Windows,
  indices: readonly number[],
  options: WindowBatchOptions = {},
): { inputs: Tensor; targets: Tensor } {
  const where = 'windowBatch';
  const { window, horizon, count } = windows;
  const layout = options.layout ?? 'batch-first';
  if (layout !== 'batch-first' && layout !== 'time-first') {
    throw new DataError(describe(where, "layout 'batch-first' or 'time-first'", show(layout)));
  }
  if (indices.length === 0) throw new DataError(describe(where, 'at least one index', 'none'));
  const batch = indices.length;
  const x = new Float32Array(batch * window);
  const y = new Float32Array(batch * horizon);
  indices.forEach((i, b) => {
    if (!Number.isInteger(i) || i < 0 || i >= count) {
      throw new DataError(
        describe(where, `window indices from 0 to ${count - 1}`, `${show(i)} at position ${b}`),
      );
    }
    for (let t = 0; t < window; t++) {
      x[layout === 'time-first' ? t * batch + b : b * window + t] = windows.inputs[i * window + t]!;
    }
    y.set(windows.targets.subarray(i * horizon, (i + 1) * horizon), b * horizon);
  });
  const to = options.backend ? { backend: options.backend } : {};
  return {
    inputs: fromData(x, layout === 'time-first' ? [window, batch, 1] : [batch, window, 1], to),
    targets: fromData(y, [batch, horizon], to),
  };
}

/**
 * The root-mean-square error of the "persistence" forecast, which predicts every future point as
 * the window's last value: the baseline a series model must beat.
 */
export function persistenceRmse(windows: Windows): number {
  let sum = 0;
  for (let i = 0; i < windows.count; i++) {
    const last = windows.inputs[i * windows.window + windows.window - 1]!;
    for (let h = 0; h < windows.horizon; h++) sum += (windows.targets[i * windows.horizon + h]! - last) ** 2;
  }
  return Math.sqrt(sum / (windows.count * windows.horizon));
}

/** Typed arrays that `chronologicalSplit` returns in kind. */
export type NumericArray = Float64Array | Float32Array | Int32Array;

/**
 * Splits a sequence in order: the first part trains, the next validates, the last tests, so no
 * model sees the future it is tested on. Works for a series (window each part separately) and for
 * an encoded corpus (batchify each part). Typed arrays come back as the same type, plain arrays as
 * Float64Array.
 */
export function chronologicalSplit<T extends NumericArray>(
  series: T,
  options?: { readonly valid?: number; readonly test?: number },
): { train: T; valid: T; test: T };
export function chronologicalSplit(
  series: ArrayLike<number>,
  options?: { readonly valid?: number; readonly test?: number },
): { train: Float64Array; valid: Float64Array; test: Float64Array };
export function chronologicalSplit(
  series: ArrayLike<number>,
  options: { readonly valid?: number; readonly test?: number } = {},
): { train: NumericArray; valid: NumericArray; test: NumericArray } {
  const where = 'chronologicalSplit';
  const valid = options.valid ?? 0.1;
  const test = options.test ?? 0.1;
  for (const [name, f] of [
    ['valid', valid],
    ['test', test],
  ] as const) {
    if (typeof f !== 'number' || !(f >= 0 && f < 1)) {
      throw new DataError(describe(where, `${name} to be a fraction in [0, 1)`, show(f)));
    }
  }
  if (valid + test >= 1) throw new DataError(describe(where, 'valid + test < 1', `${valid} + ${test}`));
  const all: NumericArray =
    series instanceof Float64Array || series instanceof Float32Array || series instanceof Int32Array
      ? series
      : Float64Array.from(series);
  const n = all.length;
  const nTest = Math.round(n * test);
  const nValid = Math.round(n * valid);
  const nTrain = n - nTest - nValid;
  return {
    train: all.slice(0, nTrain),
    valid: all.slice(nTrain, nTrain + nValid),
    test: all.slice(nTrain + nValid),
  };
}

/** A series' mean and standard deviation, to scale inputs (fit on the training part only). */
export interface Standardizer {
  readonly mean: number;
  readonly std: number;
}

/** The mean and (population) standard deviation of a series; a constant series gets std 1. */
export function fitStandardizer(series: ArrayLike<number>): Standardizer {
  const where = 'fitStandardizer';
  checkSeries(where, series);
  if (series.length === 0) throw new DataError(describe(where, 'a non-empty series', 'an empty one'));
  let mean = 0;
  for (let i = 0; i < series.length; i++) mean += series[i]!;
  mean /= series.length;
  let v = 0;
  for (let i = 0; i < series.length; i++) v += (series[i]! - mean) ** 2;
  const std = Math.sqrt(v / series.length);
  return { mean, std: std > 0 ? std : 1 };
}

/** (x − mean) / std for every point. */
export function standardize(series: ArrayLike<number>, s: Standardizer): Float64Array {
  return Float64Array.from(series as ArrayLike<number>, (x) => (x - s.mean) / s.std);
}

/** x · std + mean for every point (undoes `standardize`, e.g. on predictions). */
export function unstandardize(series: ArrayLike<number>, s: Standardizer): Float64Array {
  return Float64Array.from(series as ArrayLike<number>, (x) => x * s.std + s.mean);
}
