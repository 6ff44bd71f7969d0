/** The workloads of BENCHMARKS.md that this suite runs, with their shapes and FLOP counts. */

export type CellKind = 'lstm' | 'gru';
/** `train`: forward + backward (all parameter gradients); `forward`: whole sequence; `stream`: T=1 steps, state carried. */
export type Mode = 'train' | 'forward' | 'stream';

export interface Shape {
  /** Batch. */
  readonly B: number;
  /** Time steps. */
  readonly T: number;
  /** Input features. */
  readonly D: number;
  /** Hidden size. */
  readonly H: number;
}

export interface Workload {
  /**
   * The row's id: `W1`…, `W3-stream` for W3's per-token half, `W4-reset-after` for W4 with
   * PyTorch's GRU, `W6-forward` for W6's forward pass.
   */
  readonly id: string;
  /** The BENCHMARKS.md workload it belongs to (`--workload` selects by this). */
  readonly group: string;
  readonly title: string;
  readonly cell: CellKind;
  /**
   * GRU only: reset gate after the recurrent matmul (PyTorch, cuDNN) or before it (Cho et al.
   * 2014). W4 uses reset-before because tfjs-layers' GRU supports nothing else, and every system
   * must compute the same function.
   */
  readonly resetAfter?: boolean;
  readonly mode: Mode;
  readonly shape: Shape;
}

const W1_SHAPE: Shape = { B: 32, T: 64, D: 128, H: 256 };
const W3_SHAPE: Shape = { B: 1, T: 100, D: 128, H: 512 };
const W6_SHAPE: Shape = { B: 64, T: 128, D: 512, H: 512 };

export const WORKLOADS: readonly Workload[] = [
  { id: 'W1', group: 'W1', title: 'LSTM training step', cell: 'lstm', mode: 'train', shape: W1_SHAPE },
  { id: 'W2', group: 'W2', title: 'LSTM forward', cell: 'lstm', mode: 'forward', shape: W1_SHAPE },
  {
    id: 'W3',
    group: 'W3',
    title: 'LSTM batch-1 latency, whole sequence',
    cell: 'lstm',
    mode: 'forward',
    shape: W3_SHAPE,
  },
  {
    id: 'W3-stream',
    group: 'W3',
    title: 'LSTM batch-1 streaming, T steps of one token, state carried',
    cell: 'lstm',
    mode: 'stream',
    shape: W3_SHAPE,
  },
  {
    id: 'W4',
    group: 'W4',
    title: 'GRU training step (reset-before)',
    cell: 'gru',
    resetAfter: false,
    mode: 'train',
    shape: W1_SHAPE,
  },
  {
    id: 'W4-reset-after',
    group: 'W4',
    title: "GRU training step (reset-after: PyTorch's and cuDNN's GRU)",
    cell: 'gru',
    resetAfter: true,
    mode: 'train',
    shape: W1_SHAPE,
  },
  {
    id: 'W6',
    group: 'W6',
    title: 'large LSTM training step',
    cell: 'lstm',
    mode: 'train',
    shape: W6_SHAPE,
  },
  {
    id: 'W6-forward',
    group: 'W6',
    title: 'large LSTM forward',
    cell: 'lstm',
    mode: 'forward',
    shape: W6_SHAPE,
  },
];

/** Workload groups that run elsewhere: W8 is the embeddings package's own benchmark script. */
export const DELEGATED: Readonly<Record<string, string>> = {
  W8: 'packages/embeddings/bench/w8.mjs',
};

export const DEFAULT_GROUPS = ['W1', 'W2', 'W3', 'W4'] as const;

/** Gate blocks per cell. */
export const GATES: Record<CellKind, number> = { lstm: 4, gru: 3 };

/**
 * FLOPs of one run, BENCHMARKS.md's formula: a forward pass is 2·B·T·(D+H)·G·H; a training step
 * about 3× that; streaming counts the same T steps as the whole sequence.
 */
export function flopsOf(w: Workload): number {
  const { B, T, D, H } = w.shape;
  const forward = 2 * B * T * (D + H) * GATES[w.cell] * H;
  return w.mode === 'train' ? 3 * forward : forward;
}

/** The workloads of the given groups (`W3` gives `W3` and `W3-stream`, …), in the table's order. */
export function selectWorkloads(groups: readonly string[], shape?: Partial<Shape>): Workload[] {
  const known = new Set([...WORKLOADS.map((w) => w.group), ...Object.keys(DELEGATED)]);
  for (const g of groups) {
    if (!known.has(g)) {
      throw new Error(
        `bench: expected workloads among ${[...known].join(', ')}, found '${g}'. W5 and W7 are not in this suite yet.`,
      );
    }
  }
  return WORKLOADS.filter((w) => groups.includes(w.group)).map((w) =>
    shape ? { ...w, shape: { ...w.shape, ...shape } } : w,
  );
}
