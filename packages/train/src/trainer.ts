import { keep, noGrad, Rng, type Tensor, tidy } from '@recur/tensor';
import { clipGradNorm, clipGradNormAsync, clipGradValue } from './clip.js';
import { checkNumber, describe, NonFiniteLossError, TrainError, typeName } from './errors.js';
import type { TimeStepGradients } from './grad-norms.js';
import {
  type HostBatch,
  hostBatch,
  hostBatchAsync,
  type Metric,
  type MetricValue,
  type StepOutput,
} from './metrics.js';
import type { Optimizer } from './optim/optimizer.js';
import type { LrScheduler } from './schedules.js';

/** What the trainer needs of a model: its parameters, train/eval mode, and weights it can load. */
export interface TrainableModel {
  namedParameters(): [string, Tensor][];
  train(mode?: boolean): unknown;
  eval(): unknown;
  loadStateDict(dict: ReadonlyMap<string, Tensor>): unknown;
}

/**
 * Batches for an epoch: an array (or any re-iterable), or a function of the epoch and a generator
 * seeded from the trainer's seed and the epoch — shuffle with it, and a resumed run sees the same
 * order. Async iterables (streaming loaders) work too.
 */
export type DataSource<B> =
  | Iterable<B>
  | AsyncIterable<B>
  | ((epoch: number, rng: Rng) => Iterable<B> | AsyncIterable<B>);

export interface StepContext {
  /** True in training steps, false in evaluation (no gradients are recorded then). */
  readonly training: boolean;
  /** The epoch (0-based). */
  readonly epoch: number;
}

/** Runs the model on a batch and returns its loss (and what the metrics need). */
export type StepFn<B> = (batch: B, context: StepContext) => StepOutput;

/** After each optimizer step. */
export interface BatchLogs {
  readonly epoch: number;
  /** The batch's index in its epoch. */
  readonly batch: number;
  /** Optimizer steps so far (this one included). */
  readonly step: number;
  readonly loss: number;
  /** Items (examples or tokens) in this batch. */
  readonly items: number;
  /** The learning rate this step used. */
  readonly lr: number;
  /** The gradients' global norm before clipping (when `clipGradNorm` is set). */
  readonly gradNorm?: number;
  /** Items per second over the epoch so far. */
  readonly itemsPerSecond: number;
  /** Seconds since the epoch started. */
  readonly elapsed: number;
}

export interface EvalResult {
  readonly loss: number;
  readonly metrics: Record<string, MetricValue>;
  readonly items: number;
}

export interface EpochLogs {
  readonly epoch: number;
  /** Mean training loss per item over the epoch. */
  readonly loss: number;
  readonly metrics: Record<string, MetricValue>;
  readonly val?: EvalResult;
  /** The learning rate at the end of the epoch (before epoch schedulers step). */
  readonly lr: number;
  readonly steps: number;
  readonly seconds: number;
  readonly itemsPerSecond: number;
  /** The monitored value and whether it improved on the best so far. */
  readonly monitor: { readonly name: string; readonly value: number; readonly improved: boolean };
  /** ‖∂L/∂h_t‖ per step t, when `timeStepGradients` is set. */
  readonly timeStepGradNorms?: readonly number[];
}

export interface Callbacks {
  onTrainStart?(trainer: Trainer<unknown>): void | Promise<void>;
  onEpochStart?(info: { readonly epoch: number; readonly lr: number }): void | Promise<void>;
  onBatchEnd?(logs: BatchLogs): void | Promise<void>;
  onEpochEnd?(logs: EpochLogs): void | Promise<void>;
  onTrainEnd?(history: History): void | Promise<void>;
}

export interface EarlyStoppingOptions {
  /** Stop after this many epochs in a row without improvement of the monitored value (at least 1). */
  readonly patience: number;
  /** Smallest change that counts as an improvement (default 0). */
  readonly minDelta?: number;
  /** When early stopping ends training, load the best epoch's weights (default true); see `restoreBestWeights()`. */
  readonly restoreBest?: boolean;
}

export interface TrainerOptions<B> {
  readonly model: TrainableModel;
  readonly optimizer: Optimizer;
  readonly step: StepFn<B>;
  readonly trainData: DataSource<B>;
  readonly validData?: DataSource<B>;
  /** Total epochs (a resumed trainer runs the remaining ones). */
  readonly epochs: number;
  /** Seed of the per-epoch generators passed to data functions (default 0). */
  readonly seed?: number;
  /** Makes the metrics (called twice: for training and for validation), e.g. `() => [accuracy()]`. */
  readonly metrics?: () => Metric[];
  /** Schedulers to step: 'batch' ones after each optimizer step, 'epoch' ones after each epoch (a plateau scheduler gets the monitored value). */
  readonly schedulers?: readonly LrScheduler[];
  /** Clip the gradients' global L2 norm to this before each step. */
  readonly clipGradNorm?: number;
  /** Clamp every gradient element to ±this before each step. */
  readonly clipGradValue?: number;
  /** The value that decides the best epoch, early stopping and plateaus: 'loss', 'accuracy', 'val.loss', 'val.accuracy'... (default 'val.loss' with validation data, else 'loss'). */
  readonly monitor?: string;
  /** Whether smaller or larger monitored values are better (default: from the metric; 'min' for losses). */
  readonly monitorMode?: 'min' | 'max';
  readonly earlyStopping?: EarlyStoppingOptions;
  /** Stop with a NonFiniteLossError when a loss or gradient norm is NaN or infinite (default true). */
  readonly nanGuard?: boolean;
  /** Targets equal to this are not counted as items (default -100). */
  readonly ignoreIndex?: number;
  /**
   * Records ‖∂L/∂h_t‖ per time step at the end of every `every`-th epoch (default 1), from `probe`
   * run on `batch` (default: the epoch's first training batch). Build the probe with
   * `timeStepGradientNorms`; gradients it leaves in parameters are cleared.
   */
  readonly timeStepGradients?: {
    readonly probe: (batch: B) => TimeStepGradients | readonly number[];
    readonly batch?: B;
    readonly every?: number;
  };
  readonly callbacks?: Callbacks | readonly Callbacks[];
}

export interface History {
  readonly epochs: readonly EpochLogs[];
  /** Why training ended. */
  readonly stopReason: 'completed' | 'early-stopping' | 'stopped';
  /** The best monitored value and its epoch (null before any epoch). */
  readonly best: { readonly monitor: string; readonly value: number; readonly epoch: number } | null;
}

/** The trainer's progress as JSON (see `Trainer.stateDict`). */
export interface TrainerState {
  readonly seed: number;
  /** Completed epochs. */
  readonly epoch: number;
  /** Batches of the current epoch already trained (a run stopped mid-epoch resumes after them). */
  readonly batchInEpoch: number;
  /** Optimizer steps so far. */
  readonly step: number;
  readonly partial: {
    readonly lossSum: number;
    readonly items: number;
    readonly metrics: readonly unknown[];
  } | null;
  readonly best: { readonly value: number; readonly epoch: number } | null;
  /** Epochs since the best one (early stopping's counter). */
  readonly wait: number;
  readonly history: readonly EpochLogs[];
}

/** A generator for an epoch, derived from the seed only: the same for a fresh and a resumed run. */
export function epochRng(seed: number, epoch: number): Rng {
  let x = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca6b)) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) >>> 0;
  return new Rng(x);
}

function isAsyncIterable<B>(v: unknown): v is AsyncIterable<B> {
  return typeof v === 'object' && v !== null && Symbol.asyncIterator in v;
}

function isIterable<B>(v: unknown): v is Iterable<B> {
  return typeof v === 'object' && v !== null && Symbol.iterator in v;
}

async function* iterate<B>(source: Iterable<B> | AsyncIterable<B>): AsyncGenerator<B> {
  if (isAsyncIterable<B>(source)) {
    for await (const b of source) yield b;
  } else {
    for (const b of source) yield b;
  }
}

function resolveData<B>(
  where: string,
  source: DataSource<B>,
  epoch: number,
  seed: number,
): Iterable<B> | AsyncIterable<B> {
  const data = typeof source === 'function' ? source(epoch, epochRng(seed, epoch)) : source;
  if (!isIterable(data) && !isAsyncIterable(data)) {
    throw new TrainError(
      describe(where, 'an array, an iterable, or a function returning one', typeName(data)),
    );
  }
  return data;
}

const ASYNC_STEP_MESSAGE = 'Make the step synchronous: do the async work (loading) in the data source.';

/**
 * The training loop: for each epoch, runs `step` on every training batch (forward and loss),
 * backpropagates, clips, steps the optimizer and the batch schedulers, then evaluates on the
 * validation data, records metrics, steps the epoch schedulers, tracks the best epoch and stops
 * early when asked. Every batch runs inside a `tidy` scope, so memory stays flat. `stop()` ends
 * training after the current batch (e.g. on Ctrl-C); `stateDict()` then captures everything needed to
 * continue exactly, mid-epoch included.
 *
 * ```ts
 * const trainer = new Trainer({ model, optimizer, step, trainData, validData, epochs: 10, metrics: () => [accuracy()] });
 * const history = await trainer.fit();
 * ```
 */
export class Trainer<B> {
  readonly options: TrainerOptions<B>;
  /** Completed epochs. */
  epoch = 0;
  batchInEpoch = 0;
  /** Optimizer steps so far. */
  step = 0;
  readonly seed: number;
  readonly monitorName: string;
  readonly monitorMode: 'min' | 'max';
  history: EpochLogs[] = [];
  best: { value: number; epoch: number } | null = null;
  private wait = 0;
  private stopRequested = false;
  private bestWeights: Map<string, Tensor> | null = null;
  private readonly callbacks: Callbacks[];
  private readonly trainMetrics: Metric[];
  private readonly validMetrics: Metric[];
  private lossSum = 0;
  private items = 0;
  private pendingPartial: TrainerState['partial'] = null;

  constructor(options: TrainerOptions<B>) {
    const w = 'Trainer';
    if (typeof options !== 'object' || options === null) {
      throw new TrainError(
        describe(w, 'options { model, optimizer, step, trainData, epochs }', typeName(options)),
      );
    }
    const model = options.model;
    if (!model || typeof model.namedParameters !== 'function' || typeof model.train !== 'function') {
      throw new TrainError(describe(w, 'a model (a Module of @recur/cells)', typeName(model)));
    }
    if (!options.optimizer || typeof options.optimizer.step !== 'function') {
      throw new TrainError(describe(w, 'an optimizer (SGD, Adam, ...)', typeName(options.optimizer)));
    }
    if (typeof options.step !== 'function') {
      throw new TrainError(
        describe(w, 'step: (batch, context) => ({ loss, predictions?, targets? })', typeName(options.step)),
      );
    }
    if (options.trainData === undefined || options.trainData === null) {
      throw new TrainError(
        describe(
          w,
          'trainData (an array of batches or a function of the epoch)',
          typeName(options.trainData),
        ),
      );
    }
    checkNumber(w, 'epochs', options.epochs, { min: 0, integer: true });
    if (options.clipGradNorm !== undefined)
      checkNumber(w, 'clipGradNorm', options.clipGradNorm, { min: 0, minExclusive: true });
    if (options.clipGradValue !== undefined)
      checkNumber(w, 'clipGradValue', options.clipGradValue, { min: 0, minExclusive: true });
    if (options.earlyStopping)
      checkNumber(w, 'earlyStopping.patience', options.earlyStopping.patience, { min: 0, integer: true });
    this.options = options;
    this.seed = checkNumber(w, 'seed', options.seed ?? 0, { integer: true });
    this.callbacks =
      options.callbacks === undefined
        ? []
        : Array.isArray(options.callbacks)
          ? [...options.callbacks]
          : [options.callbacks as Callbacks];
    this.trainMetrics = options.metrics?.() ?? [];
    this.validMetrics = options.metrics?.() ?? [];
    this.monitorName = options.monitor ?? (options.validData !== undefined ? 'val.loss' : 'loss');
    const base = this.monitorName.startsWith('val.') ? this.monitorName.slice(4) : this.monitorName;
    const known = base === 'loss' ? 'min' : this.trainMetrics.find((m) => m.name === base)?.better;
    if (known === undefined && options.monitorMode === undefined) {
      throw new TrainError(
        describe(
          w,
          `monitor to be 'loss', 'val.loss' or a metric's name (${this.trainMetrics.map((m) => `'${m.name}'`).join(', ') || 'no metrics given'})`,
          JSON.stringify(this.monitorName),
        ),
      );
    }
    if (this.monitorName.startsWith('val.') && options.validData === undefined) {
      throw new TrainError(
        describe(
          w,
          `validData to monitor '${this.monitorName}'`,
          'none',
          "Pass validData or monitor 'loss'.",
        ),
      );
    }
    this.monitorMode = options.monitorMode ?? known!;
  }

  /** Ends training after the current batch; `fit` then resolves with stopReason 'stopped'. */
  stop(): void {
    this.stopRequested = true;
  }

  /** Runs the remaining epochs. */
  async fit(): Promise<History> {
    const o = this.options;
    this.stopRequested = false;
    let stopReason: History['stopReason'] = 'completed';
    o.model.train();
    for (const c of this.callbacks) await c.onTrainStart?.(this as unknown as Trainer<unknown>);
    while (this.epoch < o.epochs) {
      const epoch = this.epoch;
      const resumed = this.batchInEpoch > 0;
      if (!resumed) {
        for (const m of this.trainMetrics) m.reset();
        this.lossSum = 0;
        this.items = 0;
        for (const c of this.callbacks) await c.onEpochStart?.({ epoch, lr: o.optimizer.lr });
      } else {
        this.restorePartial();
      }
      const started = performance.now();
      let epochItems = 0;
      let probeBatch: B | undefined = o.timeStepGradients?.batch;
      let index = 0;
      let finished = true;
      for await (const batch of iterate(
        resolveData('Trainer.fit: trainData', o.trainData, epoch, this.seed),
      )) {
        if (index < this.batchInEpoch) {
          index++;
          continue;
        }
        if (probeBatch === undefined) probeBatch = batch;
        const logs = await this.trainBatch(batch, epoch, index, started, epochItems);
        epochItems += logs.items;
        index++;
        this.batchInEpoch = index;
        for (const c of this.callbacks) await c.onBatchEnd?.(logs);
        if (this.stopRequested) {
          finished = false;
          break;
        }
      }
      if (!finished) {
        stopReason = 'stopped';
        break;
      }
      if (index === 0) {
        throw new TrainError(
          describe(
            'Trainer.fit',
            `training batches in epoch ${epoch}`,
            'none',
            'Pass trainData as an array or as a function (epoch, rng) => batches: an iterator or generator can be iterated only once.',
          ),
        );
      }
      const seconds = (performance.now() - started) / 1000;
      const logs = await this.endEpoch(epoch, seconds, epochItems, probeBatch);
      for (const c of this.callbacks) await c.onEpochEnd?.(logs);
      if (o.earlyStopping && this.wait >= Math.max(1, o.earlyStopping.patience)) {
        stopReason = 'early-stopping';
        break;
      }
      if (this.stopRequested) {
        stopReason = 'stopped';
        break;
      }
    }
    if (
      stopReason !== 'stopped' &&
      o.earlyStopping &&
      (o.earlyStopping.restoreBest ?? true) &&
      this.bestWeights
    ) {
      o.model.loadStateDict(this.bestWeights);
    }
    const history: History = {
      epochs: [...this.history],
      stopReason,
      best: this.best ? { monitor: this.monitorName, ...this.best } : null,
    };
    for (const c of this.callbacks) await c.onTrainEnd?.(history);
    return history;
  }

  private async trainBatch(
    batch: B,
    epoch: number,
    index: number,
    started: number,
    epochItems: number,
  ): Promise<BatchLogs> {
    const o = this.options;
    const nanGuard = o.nanGuard ?? true;
    const lr = o.optimizer.lr;
    const nonFinite = (value: number) =>
      new NonFiniteLossError(
        describe(
          'Trainer.fit',
          'a finite loss',
          `${value} at epoch ${epoch}, batch ${index} (optimizer step ${this.step + 1})`,
          `The parameters were not updated with it. Lower the learning rate (now ${lr}), clip gradients (clipGradNorm: 1), or check the inputs for NaN or infinite values.`,
        ),
        { epoch, step: this.step + 1, loss: value },
      );
    // CPU backends: the loss is read before backpropagating. Backends that read asynchronously
    // (GPUs): forward and backward are queued, then the loss and outputs are read with one wait.
    const first: { pending?: Promise<HostBatch>; host?: HostBatch } = tidy(() => {
      const out = o.step(batch, { training: true, epoch });
      const loss = checkStepOutput('Trainer.fit', out);
      if (!loss.backend.readSync) {
        loss.backward();
        // The reads are queued now, so the scope may free the tensors before they complete.
        return { pending: hostBatchAsync(out, this.trainMetrics.length > 0, o.ignoreIndex) };
      }
      const value = loss.item();
      if (nanGuard && !Number.isFinite(value)) throw nonFinite(value);
      loss.backward();
      return { host: hostBatch(out, value, this.trainMetrics.length > 0, o.ignoreIndex) };
    });
    let host: HostBatch;
    if (first.pending) {
      host = await first.pending;
      if (nanGuard && !Number.isFinite(host.loss)) {
        o.optimizer.zeroGrad();
        throw nonFinite(host.loss);
      }
    } else {
      host = first.host!;
    }
    const params = o.optimizer.params;
    if (o.clipGradValue !== undefined) clipGradValue(params, o.clipGradValue);
    let gradNorm: number | undefined;
    if (o.clipGradNorm !== undefined) {
      gradNorm = first.pending
        ? await clipGradNormAsync(params, o.clipGradNorm)
        : clipGradNorm(params, o.clipGradNorm);
      if (nanGuard && !Number.isFinite(gradNorm)) {
        o.optimizer.zeroGrad();
        throw new NonFiniteLossError(
          describe(
            'Trainer.fit',
            'a finite gradient norm',
            `${gradNorm} at epoch ${epoch}, batch ${index} (loss ${host.loss})`,
            `The parameters were not updated. Lower the learning rate (now ${lr}) or check the model for overflow.`,
          ),
          { epoch, step: this.step + 1, loss: host.loss },
        );
      }
    }
    o.optimizer.step();
    o.optimizer.zeroGrad();
    this.step++;
    for (const s of o.schedulers ?? []) if (s.interval === 'batch') s.step();
    this.lossSum += host.loss * host.count;
    this.items += host.count;
    for (const m of this.trainMetrics) m.update(host);
    const elapsed = (performance.now() - started) / 1000;
    return {
      epoch,
      batch: index,
      step: this.step,
      loss: host.loss,
      items: host.count,
      lr,
      ...(gradNorm !== undefined ? { gradNorm } : {}),
      itemsPerSecond: elapsed > 0 ? (epochItems + host.count) / elapsed : 0,
      elapsed,
    };
  }

  /** Mean loss and metrics of the model on `data` in evaluation mode, without gradients. */
  async evaluate(
    data: DataSource<B>,
    epoch = this.epoch,
    metrics: Metric[] = this.validMetrics,
  ): Promise<EvalResult> {
    const o = this.options;
    const wasTraining = (o.model as { training?: boolean }).training ?? true;
    o.model.eval();
    for (const m of metrics) m.reset();
    let lossSum = 0;
    let items = 0;
    try {
      for await (const batch of iterate(resolveData('Trainer.evaluate: data', data, epoch, this.seed))) {
        const first: { pending?: Promise<HostBatch>; host?: HostBatch } = noGrad(() =>
          tidy(() => {
            const out = o.step(batch, { training: false, epoch });
            const loss = checkStepOutput('Trainer.evaluate', out);
            if (!loss.backend.readSync)
              return { pending: hostBatchAsync(out, metrics.length > 0, o.ignoreIndex) };
            return { host: hostBatch(out, loss.item(), metrics.length > 0, o.ignoreIndex) };
          }),
        );
        const host: HostBatch = first.pending ? await first.pending : first.host!;
        lossSum += host.loss * host.count;
        items += host.count;
        for (const m of metrics) m.update(host);
      }
    } finally {
      o.model.train(wasTraining);
    }
    return {
      loss: items === 0 ? Number.NaN : lossSum / items,
      metrics: Object.fromEntries(metrics.map((m) => [m.name, m.result()])),
      items,
    };
  }

  private async endEpoch(
    epoch: number,
    seconds: number,
    epochItems: number,
    probeBatch: B | undefined,
  ): Promise<EpochLogs> {
    const o = this.options;
    const val = o.validData !== undefined ? await this.evaluate(o.validData, epoch) : undefined;
    let timeStepGradNorms: readonly number[] | undefined;
    const tsg = o.timeStepGradients;
    if (tsg && probeBatch !== undefined && (epoch + 1) % (tsg.every ?? 1) === 0) {
      o.optimizer.zeroGrad();
      const r = tsg.probe(probeBatch);
      o.optimizer.zeroGrad();
      timeStepGradNorms = Array.isArray(r)
        ? [...(r as readonly number[])]
        : [...(r as TimeStepGradients).norms];
    }
    const metrics = Object.fromEntries(this.trainMetrics.map((m) => [m.name, m.result()]));
    const loss = this.items === 0 ? Number.NaN : this.lossSum / this.items;
    const value = this.monitorValue(loss, metrics, val);
    const improved =
      Number.isFinite(value) &&
      (this.best === null ||
        (this.monitorMode === 'min'
          ? value < this.best.value - (o.earlyStopping?.minDelta ?? 0)
          : value > this.best.value + (o.earlyStopping?.minDelta ?? 0)));
    if (improved) {
      this.best = { value, epoch };
      this.wait = 0;
      if (o.earlyStopping && (o.earlyStopping.restoreBest ?? true)) this.snapshotBest();
    } else {
      this.wait++;
    }
    const lr = o.optimizer.lr;
    for (const s of o.schedulers ?? []) if (s.interval === 'epoch') s.step(value);
    const logs: EpochLogs = {
      epoch,
      loss,
      metrics,
      ...(val ? { val } : {}),
      lr,
      steps: this.step,
      seconds,
      itemsPerSecond: seconds > 0 ? epochItems / seconds : 0,
      monitor: { name: this.monitorName, value, improved },
      ...(timeStepGradNorms ? { timeStepGradNorms } : {}),
    };
    this.history.push(logs);
    this.epoch = epoch + 1;
    this.batchInEpoch = 0;
    this.lossSum = 0;
    this.items = 0;
    return logs;
  }

  private monitorValue(
    loss: number,
    metrics: Record<string, MetricValue>,
    val: EvalResult | undefined,
  ): number {
    const name = this.monitorName;
    const source = name.startsWith('val.') ? val : { loss, metrics };
    const key = name.startsWith('val.') ? name.slice(4) : name;
    const v = key === 'loss' ? source?.loss : source?.metrics[key];
    if (typeof v !== 'number') {
      throw new TrainError(
        describe(
          'Trainer',
          `'${name}' to be a number each epoch`,
          typeName(v),
          'Monitor a scalar metric such as accuracy or loss.',
        ),
      );
    }
    return v;
  }

  private snapshotBest(): void {
    this.disposeBest();
    this.bestWeights = noGrad(
      () =>
        new Map(
          this.options.model.namedParameters().map(([n, p]) => [n, keep(p.clone())] as [string, Tensor]),
        ),
    );
  }

  private disposeBest(): void {
    if (this.bestWeights) for (const t of this.bestWeights.values()) t.dispose();
    this.bestWeights = null;
  }

  /**
   * Loads the best epoch's weights into the model (kept when early stopping is on); returns false
   * when there are none. Early stopping does this itself when it ends training.
   */
  restoreBestWeights(): boolean {
    if (!this.bestWeights) return false;
    this.options.model.loadStateDict(this.bestWeights);
    return true;
  }

  /** The weights of the best epoch so far, when early stopping keeps them (live tensors; do not dispose). */
  bestStateDict(): ReadonlyMap<string, Tensor> | null {
    return this.bestWeights;
  }

  /** Sets the best weights (from a checkpoint); the tensors are copied. */
  loadBestStateDict(dict: ReadonlyMap<string, Tensor> | null): void {
    this.disposeBest();
    if (dict)
      this.bestWeights = noGrad(
        () => new Map([...dict].map(([n, t]) => [n, keep(t.clone())] as [string, Tensor])),
      );
  }

  /** Progress as JSON: epoch, position in the epoch, step count, accumulators, best value, history. */
  stateDict(): TrainerState {
    const partial =
      this.batchInEpoch > 0
        ? { lossSum: this.lossSum, items: this.items, metrics: this.trainMetrics.map((m) => m.state()) }
        : null;
    return {
      seed: this.seed,
      epoch: this.epoch,
      batchInEpoch: this.batchInEpoch,
      step: this.step,
      partial,
      best: this.best,
      wait: this.wait,
      history: this.history,
    };
  }

  /** Restores progress saved by `stateDict` (the seed must match, so the data order does). */
  loadStateDict(state: TrainerState): void {
    const w = 'Trainer.loadStateDict';
    if (typeof state !== 'object' || state === null)
      throw new TrainError(describe(w, 'a trainer state', typeName(state)));
    if (state.seed !== this.seed) {
      throw new TrainError(
        describe(
          w,
          `seed ${this.seed} (this trainer's)`,
          `seed ${typeName(state.seed)} in the state`,
          'Build the trainer with the seed the run started with, so the data order matches.',
        ),
      );
    }
    this.epoch = checkNumber(w, 'epoch', state.epoch, { min: 0, integer: true });
    this.batchInEpoch = checkNumber(w, 'batchInEpoch', state.batchInEpoch, { min: 0, integer: true });
    this.step = checkNumber(w, 'step', state.step, { min: 0, integer: true });
    this.wait = checkNumber(w, 'wait', state.wait, { min: 0, integer: true });
    this.best = state.best
      ? { value: checkNumber(w, 'best.value', state.best.value), epoch: state.best.epoch }
      : null;
    this.history = Array.isArray(state.history) ? [...state.history] : [];
    if (this.batchInEpoch > 0) {
      if (!state.partial || state.partial.metrics.length !== this.trainMetrics.length) {
        throw new TrainError(
          describe(
            w,
            `accumulators of ${this.trainMetrics.length} metrics for a run stopped mid-epoch`,
            typeName(state.partial?.metrics ?? state.partial),
          ),
        );
      }
      this.pendingPartial = state.partial;
    } else {
      this.pendingPartial = null;
    }
  }

  private restorePartial(): void {
    const p = this.pendingPartial;
    if (!p) return;
    this.lossSum = p.lossSum;
    this.items = p.items;
    this.trainMetrics.forEach((m, i) => {
      m.loadState(p.metrics[i]);
    });
    this.pendingPartial = null;
  }

  /** Frees the best-weights snapshot. */
  dispose(): void {
    this.disposeBest();
  }
}

function checkStepOutput(where: string, out: unknown): Tensor {
  if (out instanceof Promise) {
    throw new TrainError(
      describe(where, 'step to return { loss } synchronously', 'a Promise', ASYNC_STEP_MESSAGE),
    );
  }
  const loss = (out as StepOutput | null)?.loss;
  if (typeof loss !== 'object' || loss === null || !('size' in loss) || loss.size !== 1) {
    throw new TrainError(
      describe(
        where,
        'step to return { loss: a scalar Tensor, predictions?, targets?, mask?, count? }',
        typeName(loss ?? out),
      ),
    );
  }
  return loss;
}

/** `new Trainer(options).fit()`. */
export function fit<B>(options: TrainerOptions<B>): Promise<History> {
  return new Trainer(options).fit();
}
