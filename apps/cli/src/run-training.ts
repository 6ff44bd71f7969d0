import type { Callbacks, EpochLogs, History, Trainer } from '@recur/train';
import { type Io, Progress } from './progress.js';

/** Hooks for callers that drive the CLI in process (tests, embedders). */
export interface Hooks {
  /** Aborting it stops training after the current batch, saves a checkpoint and exits with 130, as Ctrl-C does. */
  readonly signal?: AbortSignal;
  /** Called after every optimizer step with the step count. */
  readonly onStep?: (step: number) => void;
}

export interface LoopOptions {
  readonly io: Io;
  readonly hooks: Hooks;
  /** What an item is, for the throughput display ('names', 'chars', 'windows'). */
  readonly unit: string;
  readonly epochs: number;
  /** Show the epoch count (false when a time budget decides how many run). */
  readonly showEpochs?: boolean;
  readonly batchesPerEpoch: number;
  /** Stop after this many minutes of training (the epoch count is then an upper bound). */
  readonly minutes?: number;
  /** The running accuracy of the epoch, for the display. */
  readonly accuracy?: () => number | undefined;
  /** How an epoch is reported: a text line and the fields of a JSON line. */
  readonly reportEpoch: (logs: EpochLogs) => { text: string; json: Record<string, unknown> };
  readonly json: boolean;
  /** Called after a batch; return true to stop training (e.g. after a validation check). */
  readonly afterBatch?: (step: number) => Promise<void> | void;
}

export interface LoopResult {
  readonly history: History;
  /** Stopped by Ctrl-C or the hooks' signal. */
  readonly interrupted: boolean;
  /** Stopped because --minutes ran out. */
  readonly timeUp: boolean;
  /** Seconds of this session's training. */
  readonly seconds: number;
}

const yieldToEventLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * The CLI's training loop around a `Trainer`: a progress display, epoch reports, a time budget,
 * and Ctrl-C: the first SIGINT stops after the current batch so that the caller saves a checkpoint;
 * a second one quits at once. Pass `callbacks` to the Trainer, then call `run(trainer)`.
 */
export class TrainingLoop {
  readonly callbacks: Callbacks;
  private readonly progress: Progress;
  private readonly controller = new AbortController();
  private trainer: Trainer<unknown> | null = null;
  private started = 0;
  private firstStep = -1;
  private lastYield = 0;
  private timeUp = false;
  private lossSum = 0;
  private batches = 0;

  constructor(private readonly o: LoopOptions) {
    this.progress = new Progress(o.io, o.unit);
    this.callbacks = {
      onTrainStart: (t) => {
        this.trainer = t;
      },
      onEpochStart: () => {
        this.lossSum = 0;
        this.batches = 0;
      },
      onBatchEnd: async (logs) => {
        if (this.firstStep < 0) this.firstStep = logs.step - 1;
        this.lossSum += logs.loss;
        this.batches++;
        const elapsed = this.elapsed();
        const budget = o.minutes === undefined ? Number.POSITIVE_INFINITY : o.minutes * 60;
        const total = o.epochs * o.batchesPerEpoch;
        const stepsDone = logs.step - this.firstStep;
        const stepRate = stepsDone / Math.max(elapsed, 1e-9);
        const etaSteps = (total - logs.step) / stepRate;
        const eta = Math.min(etaSteps, budget - elapsed);
        const done = Math.max(logs.step / total, elapsed / budget);
        const accuracy = o.accuracy?.();
        this.progress.update({
          epoch: logs.epoch + 1,
          epochs: o.showEpochs === false ? null : o.epochs,
          done: Math.min(1, done),
          loss: this.lossSum / this.batches,
          ...(accuracy === undefined ? {} : { accuracy }),
          itemsPerSecond: logs.itemsPerSecond,
          eta,
        });
        o.hooks.onStep?.(logs.step);
        await o.afterBatch?.(logs.step);
        if (elapsed >= budget) {
          this.timeUp = true;
          this.trainer?.stop();
        }
        if (this.signal.aborted) this.trainer?.stop();
        // Let signals (Ctrl-C) and timers through now and then: the training steps are synchronous.
        if (performance.now() - this.lastYield > 50) {
          await yieldToEventLoop();
          this.lastYield = performance.now();
        }
      },
      onEpochEnd: (logs) => {
        this.progress.clear();
        const r = o.reportEpoch(logs);
        o.io.out(o.json ? JSON.stringify({ epoch: logs.epoch + 1, ...r.json }) : r.text);
      },
    };
  }

  get signal(): AbortSignal {
    return this.o.hooks.signal ?? this.controller.signal;
  }

  private elapsed(): number {
    return (performance.now() - this.started) / 1000;
  }

  /** Prints a result line (stdout) without breaking the status line. */
  print(line: string): void {
    this.progress.clear();
    this.o.io.out(line);
  }

  /** Prints a diagnostic line (stderr) without breaking the status line. */
  note(line: string): void {
    this.progress.clear();
    this.o.io.err(line);
  }

  async run<B>(trainer: Trainer<B>): Promise<LoopResult> {
    let sigints = 0;
    const onSigint = () => {
      sigints++;
      if (sigints > 1) process.exit(130);
      this.note('stopping after this batch to save a checkpoint (Ctrl-C again to quit without one)');
      this.controller.abort();
    };
    const listen = this.o.hooks.signal === undefined;
    if (listen) process.on('SIGINT', onSigint);
    this.started = performance.now();
    this.lastYield = this.started;
    try {
      const history = await trainer.fit();
      this.progress.clear();
      const interrupted = history.stopReason === 'stopped' && this.signal.aborted;
      return { history, interrupted, timeUp: this.timeUp && !interrupted, seconds: this.elapsed() };
    } finally {
      this.progress.clear();
      if (listen) process.off('SIGINT', onSigint);
    }
  }
}
