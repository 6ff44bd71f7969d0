/** Where a command writes: result lines (stdout), diagnostics (stderr), and a live status line on a terminal. */
export interface Io {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** Rewrites the terminal's status line (carriage return, no newline); absent when stderr is not a terminal. */
  readonly status?: (text: string) => void;
}

export interface ProgressState {
  readonly epoch: number;
  /** Total epochs, or null when a time budget decides. */
  readonly epochs: number | null;
  /** Fraction of all the work done, 0..1 (epochs, or the time budget with --minutes). */
  readonly done: number;
  readonly loss: number;
  readonly accuracy?: number;
  readonly itemsPerSecond: number;
  /** Seconds left, or NaN when unknown. */
  readonly eta: number;
}

/** `1h02m`, `4m05s`, `12s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function rate(x: number): string {
  return x >= 10_000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0);
}

/**
 * The training display: on a terminal a bar redrawn in place at most ten times a second; elsewhere
 * (a pipe, a log file, a test) a plain line every `plainInterval` seconds.
 */
export class Progress {
  private lastDraw = 0;
  private lastPlain: number;
  private drawn = false;

  constructor(
    private readonly io: Io,
    private readonly unit: string,
    private readonly plainInterval = 10,
    private readonly now: () => number = () => performance.now() / 1000,
  ) {
    this.lastPlain = now();
  }

  line(s: ProgressState, width = 24): string {
    const filled = Math.max(0, Math.min(width, Math.round(s.done * width)));
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
    const acc = s.accuracy === undefined ? '' : `  acc ${(s.accuracy * 100).toFixed(1)}%`;
    return (
      `epoch ${s.epoch}${s.epochs === null ? '' : `/${s.epochs}`} ${bar} ${(s.done * 100).toFixed(0).padStart(3)}%  loss ${s.loss.toFixed(3)}${acc}` +
      `  ${rate(s.itemsPerSecond)} ${this.unit}/s  ETA ${formatDuration(s.eta)}`
    );
  }

  update(s: ProgressState): void {
    const t = this.now();
    if (this.io.status) {
      if (t - this.lastDraw < 0.1) return;
      this.lastDraw = t;
      this.io.status(this.line(s));
      this.drawn = true;
    } else if (t - this.lastPlain >= this.plainInterval) {
      this.lastPlain = t;
      this.io.err(this.line(s, 10));
    }
  }

  /** Ends the status line so that the next output starts on a fresh one. */
  clear(): void {
    if (this.drawn && this.io.status) this.io.status('');
    this.drawn = false;
  }
}
