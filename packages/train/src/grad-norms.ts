import { type CellWeights, gruStep, lstmStep, type RecurrentLayer, rnnStep } from '@recur/cells';
import { fromData, noGrad, reshape, slice, type Tensor, tidy, transpose, where, zeros } from '@recur/tensor';
import { describe, fmtShape, TrainError, typeName } from './errors.js';

export interface TimeStepGradientOptions {
  /** Valid steps per sequence; padded steps carry the state, as in the layer. */
  readonly lengths?: readonly number[];
}

export interface TimeStepGradients {
  /** ‖∂L/∂h_t‖ of the top layer for t = 0..T-1 (Frobenius norm over the batch). */
  readonly norms: number[];
  /** The same for every layer, `perLayer[l][t]`. */
  readonly perLayer: number[][];
  /** The loss value. */
  readonly loss: number;
}

/**
 * How much of the loss's gradient reaches each time step: ‖∂L/∂h_t‖ for every step t of a
 * unidirectional `RNN`, `LSTM` or `GRU`, for a loss computed from the final hidden state (many-to-one)
 * — the vanishing-gradient picture. For a vanilla RNN it typically decays geometrically as t moves
 * away from the last step; gated cells keep it larger.
 *
 * How: autograd keeps gradients only for leaves, so the layer is run step by step with its own step
 * functions and each hidden state gets a zero "probe" leaf added, `h_t ← h_t + z_t` with `z_t = 0`.
 * The values do not change, and `∂L/∂z_t = ∂L/∂h_t`, which is read from `z_t.grad` after one
 * backward pass. The layer's weights are used detached, so its gradients are untouched; parameters
 * that `loss` uses (a classifier head) do receive gradients: zero them afterwards.
 *
 * `x` is the layer's input (`[T, B, D]`, or `[B, T, D]` for a batch-first layer); `loss` receives the
 * top layer's final state `[B, H]` (each sequence's last valid step) and every step's output.
 */
export function timeStepGradientNorms(
  layer: RecurrentLayer,
  x: Tensor,
  loss: (last: Tensor, outputs: readonly Tensor[]) => Tensor,
  options: TimeStepGradientOptions = {},
): TimeStepGradients {
  const where_ = 'timeStepGradientNorms';
  if (typeof layer !== 'object' || layer === null || typeof layer.cellWeights !== 'function') {
    throw new TrainError(describe(where_, 'an RNN, LSTM or GRU layer of @recur/cells', typeName(layer)));
  }
  if (layer.bidirectional) {
    throw new TrainError(
      describe(
        where_,
        'a unidirectional layer',
        'a bidirectional one',
        'The picture is defined for one direction of time.',
      ),
    );
  }
  if (x.shape.length !== 3) {
    throw new TrainError(
      describe(
        where_,
        `an input of rank 3 (${layer.batchFirst ? '[B, T, D]' : '[T, B, D]'})`,
        fmtShape(x.shape),
      ),
    );
  }
  const weights: CellWeights[] = [];
  for (let l = 0; l < layer.numLayers; l++) weights.push(layer.cellWeights(l, 0));
  const probes: Tensor[][] = [];
  let lossValue = 0;
  tidy(() => {
    const xs = layer.batchFirst ? transpose(x, [1, 0, 2]) : x;
    const [steps, batch, features] = xs.shape as [number, number, number];
    const lengths = options.lengths;
    if (
      lengths !== undefined &&
      (lengths.length !== batch || lengths.some((n) => !Number.isInteger(n) || n < 1 || n > steps))
    ) {
      throw new TrainError(describe(where_, `${batch} lengths in 1..${steps}`, JSON.stringify(lengths)));
    }
    const make = { dtype: weights[0]!.weightIh.dtype, backend: weights[0]!.weightIh.backend } as const;
    const detached = weights.map((w) => {
      const d: { -readonly [K in keyof CellWeights]: CellWeights[K] } = {
        weightIh: w.weightIh.detach(),
        weightHh: w.weightHh.detach(),
      };
      if (w.biasIh) d.biasIh = w.biasIh.detach();
      if (w.biasHh) d.biasHh = w.biasHh.detach();
      if (w.weightHr) d.weightHr = w.weightHr.detach();
      return d as CellWeights;
    });
    const hs = detached.map(() => zeros([batch, layer.outputSize], make));
    const cs = detached.map(() => zeros([batch, layer.hiddenSize], make));
    for (let l = 0; l < detached.length; l++) probes.push([]);
    const outputs: Tensor[] = [];
    for (let t = 0; t < steps; t++) {
      let input = reshape(slice(xs, [t, 0, 0], [t + 1, batch, features]), [batch, features]);
      const valid =
        lengths === undefined
          ? null
          : fromData(
              lengths.map((n) => (t < n ? 1 : 0)),
              [batch, 1],
              make,
            );
      for (let l = 0; l < detached.length; l++) {
        const w = detached[l]!;
        let h: Tensor;
        let c: Tensor | undefined;
        switch (layer.mode) {
          case 'lstm': {
            const s = lstmStep(input, hs[l]!, cs[l]!, w);
            h = s.h;
            c = s.c;
            break;
          }
          case 'gru':
            h = gruStep(input, hs[l]!, w, { resetAfter: true });
            break;
          case 'gru_reset_before':
            h = gruStep(input, hs[l]!, w, { resetAfter: false });
            break;
          default:
            h = rnnStep(input, hs[l]!, w, layer.mode === 'rnn_relu' ? 'relu' : 'tanh');
        }
        if (valid) {
          h = where(valid, h, hs[l]!);
          if (c) c = where(valid, c, cs[l]!);
        }
        const probe = zeros(h.shape, { ...make, requiresGrad: true });
        probes[l]!.push(probe);
        h = h.add(probe);
        hs[l] = h;
        if (c) cs[l] = c;
        input = valid ? where(valid, h, 0) : h;
      }
      outputs.push(input);
    }
    const l = loss(hs[hs.length - 1]!, outputs);
    if (l.size !== 1) throw new TrainError(describe(where_, 'loss to return a scalar', fmtShape(l.shape)));
    l.backward();
    lossValue = l.item();
    // Probes are leaves created in this scope; keep them (and their grads) until read below.
    return probes.flat();
  });
  const perLayer = noGrad(() =>
    probes.map((layerProbes) =>
      layerProbes.map((p) => {
        const g = p.grad;
        const norm = g ? tidy(() => Math.sqrt(g.mul(g).sum().item())) : 0;
        p.dispose();
        return norm;
      }),
    ),
  );
  return { norms: perLayer[perLayer.length - 1]!, perLayer, loss: lossValue };
}
