import { JsBackend } from '@recur/backend-js';
import { GRU, LSTM, type RecurrentLayer } from '@recur/cells';
import { engine, randn } from '@recur/tensor';
import { GATES, type Workload } from './workloads.js';

/** PyTorch-layout weights of one layer: `[G·H, D]`, `[G·H, H]`, `[G·H]`, `[G·H]`. */
export interface Weights {
  readonly weight_ih_l0: Float32Array;
  readonly weight_hh_l0: Float32Array;
  readonly bias_ih_l0: Float32Array;
  readonly bias_hh_l0: Float32Array;
}

/**
 * Everything a system gets for one workload: the same weights, inputs and targets for every
 * system (built once, from fixed seeds, and sent to each system's process).
 */
export interface Problem {
  readonly workload: Workload;
  readonly weights: Weights;
  /** Input, time-major `[T, B, D]`. */
  readonly x: Float32Array;
  /** Training target, `[T, B, H]`; the loss is `mean((y − target)²)` over all outputs. */
  readonly target: Float32Array;
  /**
   * The layer as an ONNX model (inputs `input` `[T, B, D]`, `h0`, `c0`), for forward workloads on a
   * system that needs it (`SystemSpec.needsOnnx`; see `onnxModelOf`).
   */
  readonly onnx?: Uint8Array;
}

/** Our layer with its seeded initialisation (the caller disposes it). */
function layerOf(w: Workload, seed: number): RecurrentLayer {
  const { D, H } = w.shape;
  return w.cell === 'lstm'
    ? new LSTM({ inputSize: D, hiddenSize: H, seed })
    : new GRU({ inputSize: D, hiddenSize: H, seed, resetAfter: w.resetAfter ?? true });
}

/** Builds the problem of a workload: our layer's seeded initialisation, seeded inputs and targets. */
export function makeProblem(w: Workload, seed = 1): Problem {
  const backend = new JsBackend();
  try {
    return engine.withBackend(backend, () => {
      const { B, T, D, H } = w.shape;
      const layer = layerOf(w, seed);
      const read = (name: string) => Float32Array.from(layer.stateDict().get(name)!.dataSync());
      const weights: Weights = {
        weight_ih_l0: read('weight_ih_l0'),
        weight_hh_l0: read('weight_hh_l0'),
        bias_ih_l0: read('bias_ih_l0'),
        bias_hh_l0: read('bias_hh_l0'),
      };
      const x = Float32Array.from(randn([T, B, D], { seed: seed + 1 }).dataSync());
      const target = Float32Array.from(randn([T, B, H], { seed: seed + 2, std: 0.5 }).dataSync());
      layer.dispose();
      return { workload: w, weights, x, target };
    });
  } finally {
    backend.dispose();
  }
}

/**
 * The layer of `makeProblem(w, seed)` as an ONNX model (opset 17), written by `@recur/onnx`, which
 * is loaded only here: a run without ONNX Runtime (the GPU mode's) does not need it.
 */
export async function onnxModelOf(w: Workload, seed = 1): Promise<Uint8Array> {
  const { exportOnnx } = await import('@recur/onnx');
  const backend = new JsBackend();
  try {
    return engine.withBackend(backend, () => {
      const layer = layerOf(w, seed);
      try {
        return exportOnnx(layer, { opset: 17 });
      } finally {
        layer.dispose();
      }
    });
  } finally {
    backend.dispose();
  }
}

/** What a system's check run returns, in our layouts, for comparing with ours. */
export interface CheckResult {
  /** Outputs, time-major `[T, B, H]` (forward and training). */
  readonly output?: Float32Array;
  /** Final hidden state `[B, H]`. */
  readonly hN: Float32Array;
  /** Final cell state `[B, H]` (LSTM). */
  readonly cN?: Float32Array;
  /** Training: the loss. */
  readonly loss?: number;
  /** Training: d loss / d weight_ih_l0, PyTorch layout `[G·H, D]`. */
  readonly gradWeightIh?: Float32Array;
}

/** Reorders gate blocks of a `[G·H, cols]` matrix: block k of the result is block `order[k]`. */
export function reorderBlocks(
  src: Float32Array,
  gates: number,
  cols: number,
  order: readonly number[],
): Float32Array {
  const block = src.length / gates;
  if (!Number.isInteger(block) || block % cols !== 0) {
    throw new Error(
      `reorderBlocks: ${src.length} values do not split into ${gates} blocks of ${cols} columns`,
    );
  }
  const out = new Float32Array(src.length);
  order.forEach((from, k) => {
    out.set(src.subarray(from * block, (from + 1) * block), k * block);
  });
  return out;
}

/** `[R, C]` → `[C, R]`. */
export function transpose2d(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c]!;
  return out;
}

/** `[A, B, C]` → `[B, A, C]` (time-major ↔ batch-first). */
export function swap01(src: Float32Array, a: number, b: number, c: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let i = 0; i < a; i++)
    for (let j = 0; j < b; j++) out.set(src.subarray((i * b + j) * c, (i * b + j + 1) * c), (j * a + i) * c);
  return out;
}

export const gatesOf = (w: Workload): number => GATES[w.cell];
