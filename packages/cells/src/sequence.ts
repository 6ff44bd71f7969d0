import {
  concat,
  fromData,
  gather,
  mul,
  type Rng,
  reshape,
  slice,
  stack,
  type Tensor,
  where,
} from '@recur/tensor';
import type { ScanCache } from './compiled.js';
import { CellsError, describe } from './errors.js';
import { stepMasks } from './lengths.js';
import { type CellWeights, gruStep, lstmStep, rnnStep } from './steps.js';

/** Which cell a recurrent layer runs. */
export type RecurrentMode = 'rnn_tanh' | 'rnn_relu' | 'lstm' | 'gru' | 'gru_reset_before';

export interface RecurrentForwardOptions {
  readonly mode: RecurrentMode;
  readonly numLayers: number;
  readonly bidirectional: boolean;
  /** Valid steps per sequence (each 1..T); padded steps keep the state and output zeros. */
  readonly lengths?: readonly number[] | undefined;
  /** Dropout probability on the outputs of every layer but the last (default 0). */
  readonly dropout?: number | undefined;
  /** Source of dropout masks; required when `dropout` > 0. */
  readonly dropoutRng?: Rng | undefined;
  /**
   * Run each layer and direction as a program compiled by `@recur/graph-compiler` (held in this
   * cache) instead of op by op. Results and gradients are the same.
   */
  readonly compiled?: ScanCache | undefined;
}

export interface RecurrentForwardResult {
  /** `[T, B, numDirections·Hout]` (time-major). */
  readonly output: Tensor;
  /** `[numLayers·numDirections, B, Hout]` */
  readonly hN: Tensor;
  /** `[numLayers·numDirections, B, H]`, LSTM only. */
  readonly cN?: Tensor;
}

/**
 * A dropout mask of `shape` with entries 0 (probability `p`) or `1/(1-p)` (inverted dropout),
 * drawn on the host from `rng`, with the dtype and backend of `like`.
 */
export function dropoutMask(rng: Rng, shape: readonly number[], p: number, like: Tensor): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = new Float64Array(n);
  const keepScale = p >= 1 ? 0 : 1 / (1 - p);
  for (let i = 0; i < n; i++) values[i] = rng.uniform() < p ? 0 : keepScale;
  return fromData(values, shape, { dtype: like.dtype, backend: like.backend });
}

/**
 * Indices that reverse each sequence of a time-major batch within its own length: position
 * `t·B + b` reads `(len_b − 1 − t)·B + b` at valid steps and itself in padding (an involution).
 */
function reversalIndices(
  lengths: readonly number[] | undefined,
  steps: number,
  batch: number,
  like: Tensor,
): Tensor {
  const idx = new Int32Array(steps * batch);
  for (let t = 0; t < steps; t++) {
    for (let b = 0; b < batch; b++) {
      const len = lengths ? lengths[b]! : steps;
      idx[t * batch + b] = (t < len ? len - 1 - t : t) * batch + b;
    }
  }
  return fromData(idx, [steps * batch], { dtype: 'i32', backend: like.backend });
}

/** `t [T, B, F]` with each sequence reversed in time by `reversalIndices`. */
function reverseTime(t: Tensor, indices: Tensor): Tensor {
  const [steps, batch, features] = t.shape as [number, number, number];
  return reshape(gather(reshape(t, [steps * batch, features]), indices, 0), [steps, batch, features]);
}

/** `[T, B, 1]`: 1 where step t of sequence b is valid, 0 in padding (dtype and backend of `like`). */
function paddingMask(lengths: readonly number[], steps: number, like: Tensor): Tensor {
  const batch = lengths.length;
  const values = new Float64Array(steps * batch);
  for (let t = 0; t < steps; t++)
    for (let b = 0; b < batch; b++) values[t * batch + b] = t < lengths[b]! ? 1 : 0;
  return fromData(values, [steps, batch, 1], { dtype: like.dtype, backend: like.backend });
}

function row(t: Tensor, k: number): Tensor {
  const [, b, h] = t.shape as [number, number, number];
  return reshape(slice(t, [k, 0, 0], [k + 1, b, h]), [b, h]);
}

/**
 * Runs a stacked, optionally bidirectional recurrent network over a time-major sequence, as
 * `torch.nn.RNN/LSTM/GRU` do, using the step functions op by op (so autograd differentiates it
 * and it runs on any backend). Weights are indexed `layer · numDirections + direction`.
 * Shapes are not validated here: the layer classes do that.
 *
 * `x [T, B, D]`, `h0 [L·dirs, B, Hout]`, `c0 [L·dirs, B, H]` (LSTM only).
 */
export function recurrentForward(
  x: Tensor,
  weights: readonly CellWeights[],
  h0: Tensor,
  c0: Tensor | undefined,
  options: RecurrentForwardOptions,
): RecurrentForwardResult {
  const { mode, numLayers } = options;
  const dirs = options.bidirectional ? 2 : 1;
  if (weights.length !== numLayers * dirs) {
    throw new CellsError(
      describe(
        'recurrentForward',
        `${numLayers * dirs} cell weights (numLayers · numDirections, indexed layer · numDirections + direction)`,
        `${weights.length}`,
      ),
    );
  }
  const p = options.dropout ?? 0;
  if (p > 0 && numLayers > 1 && !options.dropoutRng) {
    throw new CellsError(
      describe(
        'recurrentForward',
        'a dropoutRng with dropout > 0',
        'none',
        'Pass { dropoutRng: new Rng(seed) }.',
      ),
    );
  }
  const steps = x.shape[0]!;
  const cache = options.compiled;
  const masks =
    options.lengths && !cache ? stepMasks(options.lengths, steps, x) : new Array<null>(steps).fill(null);
  const isLstm = mode === 'lstm';
  const hFinal: Tensor[] = [];
  const cFinal: Tensor[] = [];
  let layerInput = x;
  const padded = options.lengths && Math.min(...options.lengths) < steps ? options.lengths : undefined;
  const scanMask = cache && padded ? paddingMask(padded, steps, x) : null;
  const reversal = cache && dirs === 2 ? reversalIndices(padded, steps, x.shape[1]!, x) : null;
  for (let layer = 0; layer < numLayers; layer++) {
    const dirOutputs: Tensor[] = [];
    if (cache) {
      for (let dir = 0; dir < dirs; dir++) {
        const k = layer * dirs + dir;
        const input = dir === 1 ? reverseTime(layerInput, reversal!) : layerInput;
        const r = cache.run(k, input, scanMask, row(h0, k), isLstm ? row(c0!, k) : undefined, weights[k]!);
        hFinal.push(r.h);
        if (r.c) cFinal.push(r.c);
        dirOutputs.push(dir === 1 ? reverseTime(r.output, reversal!) : r.output);
      }
    } else {
      const xs = Array.from({ length: steps }, (_, t) => row(layerInput, t));
      for (let dir = 0; dir < dirs; dir++) {
        const k = layer * dirs + dir;
        const w = weights[k]!;
        let h = row(h0, k);
        let c = isLstm ? row(c0!, k) : undefined;
        const outs = new Array<Tensor>(steps);
        for (let i = 0; i < steps; i++) {
          const t = dir === 0 ? i : steps - 1 - i;
          const xt = xs[t]!;
          let hNext: Tensor;
          let cNext: Tensor | undefined;
          switch (mode) {
            case 'rnn_tanh':
              hNext = rnnStep(xt, h, w, 'tanh');
              break;
            case 'rnn_relu':
              hNext = rnnStep(xt, h, w, 'relu');
              break;
            case 'lstm': {
              const s = lstmStep(xt, h, c!, w);
              hNext = s.h;
              cNext = s.c;
              break;
            }
            case 'gru':
              hNext = gruStep(xt, h, w, { resetAfter: true });
              break;
            case 'gru_reset_before':
              hNext = gruStep(xt, h, w, { resetAfter: false });
              break;
          }
          const m = masks[t];
          if (m) {
            // Padding: the state carries over and the output is zero. In the reverse direction the
            // padded steps come first, so each sequence starts from h0 at its own last valid step.
            outs[t] = where(m, hNext, 0);
            h = where(m, hNext, h);
            if (cNext) c = where(m, cNext, c!);
          } else {
            outs[t] = hNext;
            h = hNext;
            if (cNext) c = cNext;
          }
        }
        hFinal.push(h);
        if (c) cFinal.push(c);
        dirOutputs.push(stack(outs, 0));
      }
    }
    let out = dirs === 1 ? dirOutputs[0]! : concat(dirOutputs, 2);
    if (p > 0 && layer < numLayers - 1) out = mul(out, dropoutMask(options.dropoutRng!, out.shape, p, out));
    layerInput = out;
  }
  const result: { output: Tensor; hN: Tensor; cN?: Tensor } = { output: layerInput, hN: stack(hFinal, 0) };
  if (isLstm) result.cN = stack(cFinal, 0);
  return result;
}
