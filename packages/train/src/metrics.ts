import type { Tensor } from '@recur/tensor';
import { checkNumber, describe, fmtShape, TrainError, typeName } from './errors.js';

/** What a training or evaluation step gives the metrics. */
export interface StepOutput {
  /** The batch's scalar loss (mean over its counted items). */
  readonly loss: Tensor;
  /** Logits `[..., C]` (classification) or values shaped like the targets (regression). */
  readonly predictions?: Tensor;
  /** Class indices `[...]` (i32) or target values. */
  readonly targets?: Tensor;
  /** Weights shaped like the targets: 0 marks padding that does not count. */
  readonly mask?: Tensor;
  /**
   * Items the loss averages over (examples, or tokens for a language model): weights the epoch's
   * mean loss and measures throughput. Default: the counted targets, else the batch size.
   */
  readonly count?: number;
}

/** A metric's value: a number, or a table (per-class values, a confusion matrix). */
export type MetricValue = number | readonly number[] | readonly (readonly number[])[];

/** Host values of a step's outputs, read once per batch and shared by every metric. */
export interface HostBatch {
  /** The batch's mean loss. */
  readonly loss: number;
  /** Items counted (see `StepOutput.count`). */
  readonly count: number;
  readonly predictions?: { readonly values: ArrayLike<number>; readonly shape: readonly number[] };
  readonly targets?: { readonly values: ArrayLike<number>; readonly shape: readonly number[] };
  readonly mask?: ArrayLike<number>;
}

/** An accumulating metric: `update` once per batch, `result` at the end of an epoch. */
export interface Metric {
  readonly name: string;
  /** 'max' when larger is better (accuracy), 'min' when smaller is (perplexity, errors). */
  readonly better: 'min' | 'max';
  reset(): void;
  update(batch: HostBatch): void;
  result(): MetricValue;
  /** The accumulators as JSON, so a run stopped mid-epoch resumes exactly. */
  state(): unknown;
  loadState(state: unknown): void;
}

function readHost(t: Tensor, where: string): ArrayLike<number> {
  if (!t.backend.readSync) {
    throw new TrainError(
      describe(where, 'outputs on a backend with synchronous reads', `a tensor on '${t.backend.name}'`),
    );
  }
  return t.dataSync();
}

/** Reads a step's outputs to the host (values needed by at least one metric). */
export function hostBatch(out: StepOutput, loss: number, needValues: boolean, ignoreIndex = -100): HostBatch {
  const where = 'metrics';
  const read = (t: Tensor | undefined) => (t ? readHost(t, where) : undefined);
  return assemble(out, loss, ignoreIndex, {
    predictions: needValues ? read(out.predictions) : undefined,
    targets: read(out.targets),
    mask: read(out.mask),
  });
}

/**
 * `hostBatch` for any backend (GPU ones included): reads the loss and the outputs with
 * `tensor.data()`. Every read is queued when this is called, so the tensors may be disposed (the
 * step's `tidy` scope may end) before the promise resolves.
 */
export async function hostBatchAsync(
  out: StepOutput,
  needValues: boolean,
  ignoreIndex = -100,
): Promise<HostBatch> {
  const read = (t: Tensor | undefined) => (t ? t.data() : Promise.resolve(undefined));
  const [loss, predictions, targets, mask] = await Promise.all([
    out.loss.data(),
    needValues ? read(out.predictions) : Promise.resolve(undefined),
    read(out.targets),
    read(out.mask),
  ]);
  return assemble(out, loss[0]!, ignoreIndex, { predictions, targets, mask });
}

function assemble(
  out: StepOutput,
  loss: number,
  ignoreIndex: number,
  values: {
    predictions: ArrayLike<number> | undefined;
    targets: ArrayLike<number> | undefined;
    mask: ArrayLike<number> | undefined;
  },
): HostBatch {
  const predictions =
    values.predictions && out.predictions
      ? { values: values.predictions, shape: out.predictions.shape }
      : undefined;
  const targets =
    values.targets && out.targets ? { values: values.targets, shape: out.targets.shape } : undefined;
  const mask = values.mask;
  let count = out.count;
  if (count === undefined) {
    if (targets) {
      const isIndex = out.targets!.dtype === 'i32';
      count = 0;
      for (let i = 0; i < targets.values.length; i++) {
        if ((mask ? mask[i]! !== 0 : true) && (!isIndex || targets.values[i] !== ignoreIndex)) count++;
      }
    } else {
      count = out.predictions?.shape[0] ?? 1;
    }
  }
  return {
    loss,
    count,
    ...(predictions ? { predictions } : {}),
    ...(targets ? { targets } : {}),
    ...(mask ? { mask } : {}),
  };
}

/** Iterates the counted (prediction, target) pairs of a classification batch. */
function forEachClassified(
  b: HostBatch,
  where: string,
  ignoreIndex: number,
  fn: (predicted: number, target: number) => void,
): void {
  if (!b.predictions || !b.targets) {
    throw new TrainError(
      describe(
        where,
        'a step that returns predictions (logits) and targets',
        'none',
        'Return { loss, predictions, targets } from the step.',
      ),
    );
  }
  const p = b.predictions;
  const classes = p.shape[p.shape.length - 1]!;
  const n = b.targets.values.length;
  if (p.values.length !== n * classes) {
    throw new TrainError(
      describe(
        where,
        `logits [..., C] with the targets' leading shape ${fmtShape(b.targets.shape)}`,
        fmtShape(p.shape),
      ),
    );
  }
  for (let i = 0; i < n; i++) {
    const t = b.targets.values[i]!;
    if (t === ignoreIndex || (b.mask && b.mask[i] === 0)) continue;
    let best = 0;
    let bestV = p.values[i * classes]!;
    for (let c = 1; c < classes; c++) {
      const v = p.values[i * classes + c]!;
      if (v > bestV) {
        bestV = v;
        best = c;
      }
    }
    fn(best, t);
  }
}

function checkCounts(state: unknown, length: number | undefined, where: string): number[] {
  if (
    !Array.isArray(state) ||
    (length !== undefined && state.length !== length) ||
    !state.every((v) => typeof v === 'number')
  ) {
    throw new TrainError(describe(where, `an array of ${length ?? 'some'} numbers`, typeName(state)));
  }
  return [...state];
}

export interface ClassMetricOptions {
  /** Targets equal to this are not counted (default -100). */
  readonly ignoreIndex?: number;
}

/** The share of counted targets whose arg-max logit is the target class. */
export function accuracy(options: ClassMetricOptions = {}): Metric {
  const ignoreIndex = options.ignoreIndex ?? -100;
  let correct = 0;
  let total = 0;
  return {
    name: 'accuracy',
    better: 'max',
    reset() {
      correct = 0;
      total = 0;
    },
    update(b) {
      forEachClassified(b, 'accuracy', ignoreIndex, (p, t) => {
        total++;
        if (p === t) correct++;
      });
    },
    result: () => (total === 0 ? Number.NaN : correct / total),
    state: () => [correct, total],
    loadState(s) {
      [correct, total] = checkCounts(s, 2, 'accuracy.loadState') as [number, number];
    },
  };
}

/** A confusion-matrix accumulator over `classes` classes: rows are true classes, columns predictions. */
function confusionCounter(classes: number, where: string, ignoreIndex: number) {
  checkNumber(where, 'classes', classes, { min: 1, integer: true });
  const counts = new Float64Array(classes * classes);
  return {
    counts,
    update(b: HostBatch) {
      forEachClassified(b, where, ignoreIndex, (p, t) => {
        if (t < 0 || t >= classes || p >= classes) {
          throw new TrainError(
            describe(
              where,
              `class indices in [0, ${classes - 1}]`,
              `${t >= classes || t < 0 ? t : p}`,
              'Pass the number of classes the model predicts.',
            ),
          );
        }
        counts[t * classes + p]!++;
      });
    },
  };
}

/** Accuracy of each true class (NaN for a class with no examples), indexed by class. */
export function perClassAccuracy(options: ClassMetricOptions & { readonly classes: number }): Metric {
  const c = confusionCounter(options?.classes, 'perClassAccuracy', options.ignoreIndex ?? -100);
  const k = options.classes;
  return {
    name: 'perClassAccuracy',
    better: 'max',
    reset: () => c.counts.fill(0),
    update: (b) => c.update(b),
    result() {
      return Array.from({ length: k }, (_, t) => {
        let row = 0;
        for (let p = 0; p < k; p++) row += c.counts[t * k + p]!;
        return row === 0 ? Number.NaN : c.counts[t * k + t]! / row;
      });
    },
    state: () => Array.from(c.counts),
    loadState(s) {
      c.counts.set(checkCounts(s, k * k, 'perClassAccuracy.loadState'));
    },
  };
}

/** Counts of (true class, predicted class) pairs: `matrix[t][p]`. */
export function confusionMatrix(options: ClassMetricOptions & { readonly classes: number }): Metric {
  const c = confusionCounter(options?.classes, 'confusionMatrix', options.ignoreIndex ?? -100);
  const k = options.classes;
  return {
    name: 'confusionMatrix',
    better: 'max',
    reset: () => c.counts.fill(0),
    update: (b) => c.update(b),
    result: () => Array.from({ length: k }, (_, t) => Array.from(c.counts.subarray(t * k, (t + 1) * k))),
    state: () => Array.from(c.counts),
    loadState(s) {
      c.counts.set(checkCounts(s, k * k, 'confusionMatrix.loadState'));
    },
  };
}

/**
 * `exp` of the mean loss per counted item (token), for a language model whose loss is the mean
 * cross-entropy in nats: batches are weighted by their counts.
 */
export function perplexity(): Metric {
  let sum = 0;
  let count = 0;
  return {
    name: 'perplexity',
    better: 'min',
    reset() {
      sum = 0;
      count = 0;
    },
    update(b) {
      sum += b.loss * b.count;
      count += b.count;
    },
    result: () => (count === 0 ? Number.NaN : Math.exp(sum / count)),
    state: () => [sum, count],
    loadState(s) {
      [sum, count] = checkCounts(s, 2, 'perplexity.loadState') as [number, number];
    },
  };
}

function regression(name: 'mae' | 'rmse'): Metric {
  let sum = 0;
  let count = 0;
  return {
    name,
    better: 'min',
    reset() {
      sum = 0;
      count = 0;
    },
    update(b) {
      if (!b.predictions || !b.targets) {
        throw new TrainError(describe(name, 'a step that returns predictions and targets', 'none'));
      }
      const p = b.predictions.values;
      const t = b.targets.values;
      if (p.length !== t.length) {
        throw new TrainError(
          describe(
            name,
            `predictions of the targets' shape ${fmtShape(b.targets.shape)}`,
            fmtShape(b.predictions.shape),
          ),
        );
      }
      for (let i = 0; i < p.length; i++) {
        if (b.mask && b.mask[i] === 0) continue;
        const d = p[i]! - t[i]!;
        sum += name === 'mae' ? Math.abs(d) : d * d;
        count++;
      }
    },
    result: () => (count === 0 ? Number.NaN : name === 'mae' ? sum / count : Math.sqrt(sum / count)),
    state: () => [sum, count],
    loadState(s) {
      [sum, count] = checkCounts(s, 2, `${name}.loadState`) as [number, number];
    },
  };
}

/** Mean absolute error of predictions against targets (masked elements skipped). */
export const mae = (): Metric => regression('mae');
/** Root mean squared error of predictions against targets (masked elements skipped). */
export const rmse = (): Metric => regression('rmse');
