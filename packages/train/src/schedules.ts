import { checkNumber, describe, TrainError, typeName } from './errors.js';
import type { Optimizer } from './optim/optimizer.js';

/** When a training loop advances a scheduler: after every epoch or after every optimizer step. */
export type ScheduleInterval = 'epoch' | 'batch';

/** A scheduler's state as JSON. */
export interface SchedulerState {
  readonly type: string;
  readonly count: number;
  readonly [key: string]: unknown;
}

const attached = new WeakMap<Optimizer, LrScheduler[]>();

/**
 * A learning-rate scheduler. Each scheduler owns a factor; the optimizer's learning rate is its
 * `initialLr` times the product of the factors of every scheduler attached to it, so schedulers
 * compose (a per-batch warm-up with a per-epoch cosine or plateau schedule) whatever their
 * cadence. `step()` advances one interval and updates `optimizer.lr`.
 */
export abstract class LrScheduler {
  /** Times `step()` has been called. */
  count = 0;
  readonly interval: ScheduleInterval;

  protected constructor(
    readonly optimizer: Optimizer,
    interval: ScheduleInterval,
  ) {
    if (typeof optimizer !== 'object' || optimizer === null || typeof optimizer.initialLr !== 'number') {
      throw new TrainError(describe(this.constructor.name, 'an optimizer', typeName(optimizer)));
    }
    if (interval !== 'epoch' && interval !== 'batch') {
      throw new TrainError(
        describe(this.constructor.name, "interval 'epoch' or 'batch'", typeName(interval)),
      );
    }
    this.interval = interval;
    const list = attached.get(optimizer) ?? [];
    list.push(this);
    attached.set(optimizer, list);
  }

  abstract get type(): string;

  /** The current multiplier of the optimizer's initial learning rate. */
  abstract factor(): number;

  /** Advances one interval (a plateau scheduler needs the monitored metric) and returns the new learning rate. */
  step(_metric?: number): number {
    this.count++;
    return applyLr(this.optimizer);
  }

  /** The learning rate this scheduler alone would give now. */
  get lr(): number {
    return this.optimizer.initialLr * this.factor();
  }

  stateDict(): SchedulerState {
    return { type: this.type, count: this.count };
  }

  loadStateDict(state: SchedulerState): void {
    const where = `${this.constructor.name}.loadStateDict`;
    if (typeof state !== 'object' || state === null || state.type !== this.type) {
      throw new TrainError(
        describe(where, `the state of a ${this.type} scheduler`, typeName(state?.type ?? state)),
      );
    }
    this.count = checkNumber(where, 'count', state.count, { min: 0, integer: true });
    this.loadExtra(state, where);
    applyLr(this.optimizer);
  }

  protected loadExtra(_state: SchedulerState, _where: string): void {}

  /** Removes this scheduler from its optimizer (the learning rate is recomputed without it). */
  detach(): void {
    const list = attached.get(this.optimizer) ?? [];
    attached.set(
      this.optimizer,
      list.filter((s) => s !== this),
    );
    applyLr(this.optimizer);
  }
}

/** Sets `optimizer.lr` to its initial learning rate times every attached scheduler's factor. */
export function applyLr(optimizer: Optimizer): number {
  let f = 1;
  for (const s of attached.get(optimizer) ?? []) f *= s.factor();
  optimizer.lr = optimizer.initialLr * f;
  return optimizer.lr;
}

/** The schedulers attached to an optimizer, in creation order. */
export function schedulersOf(optimizer: Optimizer): readonly LrScheduler[] {
  return attached.get(optimizer) ?? [];
}

export interface StepLROptions {
  /** Intervals between decays. */
  readonly stepSize: number;
  /** Multiplier at each decay (default 0.1). */
  readonly gamma?: number;
  readonly interval?: ScheduleInterval;
}

/** `torch.optim.lr_scheduler.StepLR`: lr · γ^⌊n / stepSize⌋ after n steps. */
export class StepLR extends LrScheduler {
  readonly stepSize: number;
  readonly gamma: number;
  constructor(optimizer: Optimizer, options: StepLROptions) {
    super(optimizer, options?.interval ?? 'epoch');
    this.stepSize = checkNumber('StepLR', 'stepSize', options.stepSize, { min: 1, integer: true });
    this.gamma = checkNumber('StepLR', 'gamma', options.gamma ?? 0.1, { min: 0 });
    applyLr(optimizer);
  }
  get type(): string {
    return 'StepLR';
  }
  factor(): number {
    return this.gamma ** Math.floor(this.count / this.stepSize);
  }
}

export interface ExponentialLROptions {
  /** Multiplier per interval. */
  readonly gamma: number;
  readonly interval?: ScheduleInterval;
}

/** `torch.optim.lr_scheduler.ExponentialLR`: lr · γⁿ after n steps. */
export class ExponentialLR extends LrScheduler {
  readonly gamma: number;
  constructor(optimizer: Optimizer, options: ExponentialLROptions) {
    super(optimizer, options?.interval ?? 'epoch');
    this.gamma = checkNumber('ExponentialLR', 'gamma', options.gamma, { min: 0 });
    applyLr(optimizer);
  }
  get type(): string {
    return 'ExponentialLR';
  }
  factor(): number {
    return this.gamma ** this.count;
  }
}

export interface CosineLROptions {
  /** Intervals from the initial learning rate down to `minLr`. */
  readonly tMax: number;
  /** The learning rate at the end (default 0); it stays there after tMax intervals. */
  readonly minLr?: number;
  readonly interval?: ScheduleInterval;
}

/**
 * Cosine annealing, `torch.optim.lr_scheduler.CosineAnnealingLR` in closed form:
 * `minLr + (lr - minLr)·(1 + cos(π·n/tMax))/2`, held at `minLr` after `tMax` intervals (PyTorch's
 * would rise again).
 */
export class CosineLR extends LrScheduler {
  readonly tMax: number;
  readonly minLr: number;
  constructor(optimizer: Optimizer, options: CosineLROptions) {
    super(optimizer, options?.interval ?? 'epoch');
    this.tMax = checkNumber('CosineLR', 'tMax', options.tMax, { min: 1, integer: true });
    this.minLr = checkNumber('CosineLR', 'minLr', options.minLr ?? 0, { min: 0 });
    applyLr(optimizer);
  }
  get type(): string {
    return 'CosineLR';
  }
  factor(): number {
    const base = this.optimizer.initialLr;
    if (base === 0) return 1;
    const n = Math.min(this.count, this.tMax);
    return (this.minLr + ((base - this.minLr) * (1 + Math.cos((Math.PI * n) / this.tMax))) / 2) / base;
  }
}

export interface LinearWarmupOptions {
  /** Intervals of warm-up. */
  readonly steps: number;
  /** The factor at the start (default 0.1); it rises linearly to 1 over `steps` intervals. */
  readonly startFactor?: number;
  /** Default 'batch': warm-up usually counts optimizer steps. */
  readonly interval?: ScheduleInterval;
}

/**
 * Linear warm-up, `torch.optim.lr_scheduler.LinearLR` to a factor of 1: the factor goes from
 * `startFactor` to 1 over `steps` intervals and stays 1. It multiplies the other schedulers of the
 * optimizer, so it composes with any of them.
 */
export class LinearWarmup extends LrScheduler {
  readonly steps: number;
  readonly startFactor: number;
  constructor(optimizer: Optimizer, options: LinearWarmupOptions) {
    super(optimizer, options?.interval ?? 'batch');
    this.steps = checkNumber('LinearWarmup', 'steps', options.steps, { min: 1, integer: true });
    this.startFactor = checkNumber('LinearWarmup', 'startFactor', options.startFactor ?? 0.1, {
      min: 0,
      max: 1,
    });
    applyLr(optimizer);
  }
  get type(): string {
    return 'LinearWarmup';
  }
  factor(): number {
    return this.startFactor + ((1 - this.startFactor) * Math.min(this.count, this.steps)) / this.steps;
  }
}

export interface ReduceLROnPlateauOptions {
  /** 'min' (default) for a loss, 'max' for an accuracy. */
  readonly mode?: 'min' | 'max';
  /** Multiplier when the metric stalls (default 0.1). */
  readonly factor?: number;
  /** Intervals without improvement tolerated before a reduction (default 10). */
  readonly patience?: number;
  /** Smallest change that counts as an improvement (default 1e-4). */
  readonly threshold?: number;
  /** 'rel' (default): relative to the best value; 'abs': absolute. */
  readonly thresholdMode?: 'rel' | 'abs';
  /** Intervals to wait after a reduction before counting again (default 0). */
  readonly cooldown?: number;
  /** The learning rate never goes below this (default 0). */
  readonly minLr?: number;
  /** Reductions smaller than this are skipped (default 1e-8). */
  readonly eps?: number;
  readonly interval?: ScheduleInterval;
}

/**
 * `torch.optim.lr_scheduler.ReduceLROnPlateau`: multiplies the learning rate by `factor` when the
 * monitored metric (passed to `step(metric)`) has not improved for more than `patience` intervals.
 */
export class ReduceLROnPlateau extends LrScheduler {
  readonly mode: 'min' | 'max';
  readonly reduceFactor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minLr: number;
  readonly eps: number;
  /** The best metric so far. */
  best: number;
  badIntervals = 0;
  cooldownCounter = 0;
  private scale = 1;

  constructor(optimizer: Optimizer, options: ReduceLROnPlateauOptions = {}) {
    super(optimizer, options.interval ?? 'epoch');
    const w = 'ReduceLROnPlateau';
    this.mode = options.mode ?? 'min';
    if (this.mode !== 'min' && this.mode !== 'max') {
      throw new TrainError(describe(w, "mode 'min' or 'max'", typeName(this.mode)));
    }
    this.reduceFactor = checkNumber(w, 'factor', options.factor ?? 0.1, { min: 0, max: 1 });
    if (this.reduceFactor >= 1) throw new TrainError(describe(w, 'factor < 1', String(this.reduceFactor)));
    this.patience = checkNumber(w, 'patience', options.patience ?? 10, { min: 0, integer: true });
    this.threshold = checkNumber(w, 'threshold', options.threshold ?? 1e-4, { min: 0 });
    this.thresholdMode = options.thresholdMode ?? 'rel';
    if (this.thresholdMode !== 'rel' && this.thresholdMode !== 'abs') {
      throw new TrainError(describe(w, "thresholdMode 'rel' or 'abs'", typeName(this.thresholdMode)));
    }
    this.cooldown = checkNumber(w, 'cooldown', options.cooldown ?? 0, { min: 0, integer: true });
    this.minLr = checkNumber(w, 'minLr', options.minLr ?? 0, { min: 0 });
    this.eps = checkNumber(w, 'eps', options.eps ?? 1e-8, { min: 0 });
    this.best = this.mode === 'min' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
    applyLr(optimizer);
  }

  get type(): string {
    return 'ReduceLROnPlateau';
  }

  factor(): number {
    return this.scale;
  }

  /** Whether `metric` improves on the best value by more than the threshold. */
  isBetter(metric: number): boolean {
    const t = this.threshold;
    if (this.mode === 'min') {
      return this.thresholdMode === 'rel' ? metric < this.best * (1 - t) : metric < this.best - t;
    }
    return this.thresholdMode === 'rel' ? metric > this.best * (1 + t) : metric > this.best + t;
  }

  override step(metric?: number): number {
    if (typeof metric !== 'number' || Number.isNaN(metric)) {
      throw new TrainError(
        describe(
          'ReduceLROnPlateau.step',
          'the monitored metric (e.g. the validation loss)',
          typeName(metric),
          'Call step(metric) after each evaluation.',
        ),
      );
    }
    this.count++;
    if (this.isBetter(metric)) {
      this.best = metric;
      this.badIntervals = 0;
    } else {
      this.badIntervals++;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.badIntervals = 0;
    }
    if (this.badIntervals > this.patience) {
      const current = this.optimizer.lr;
      const others = current / (this.optimizer.initialLr * this.scale);
      const target = Math.max(current * this.reduceFactor, this.minLr);
      if (current - target > this.eps && Number.isFinite(others) && others > 0) {
        this.scale = target / (this.optimizer.initialLr * others);
      }
      this.cooldownCounter = this.cooldown;
      this.badIntervals = 0;
    }
    return applyLr(this.optimizer);
  }

  override stateDict(): SchedulerState {
    return {
      type: this.type,
      count: this.count,
      best: Number.isFinite(this.best) ? this.best : null,
      badIntervals: this.badIntervals,
      cooldownCounter: this.cooldownCounter,
      scale: this.scale,
    };
  }

  protected override loadExtra(state: SchedulerState, where: string): void {
    const best = state.best;
    this.best =
      best === null
        ? this.mode === 'min'
          ? Number.POSITIVE_INFINITY
          : Number.NEGATIVE_INFINITY
        : checkNumber(where, 'best', best);
    this.badIntervals = checkNumber(where, 'badIntervals', state.badIntervals, { min: 0, integer: true });
    this.cooldownCounter = checkNumber(where, 'cooldownCounter', state.cooldownCounter, {
      min: 0,
      integer: true,
    });
    this.scale = checkNumber(where, 'scale', state.scale, { min: 0 });
  }
}
