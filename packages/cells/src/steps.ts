import { add, matmul, mul, relu, sigmoid, slice, split, sub, type Tensor, tanh } from '@recur/tensor';

/**
 * The weights of one cell (one layer and direction of a multi-layer RNN), in PyTorch's layouts.
 * `G` is the number of gate blocks (1 for the Elman RNN, 4 for LSTM in order i, f, g, o, 3 for GRU
 * in order r, z, n), `H` the hidden size, `D` the input size and `P` the LSTM projection size.
 */
export interface CellWeights {
  /** `[G·H, D]` */
  readonly weightIh: Tensor;
  /** `[G·H, H]`, or `[4·H, P]` for an LSTM with a projection. */
  readonly weightHh: Tensor;
  /** `[G·H]`, absent without bias. */
  readonly biasIh?: Tensor | undefined;
  /** `[G·H]`, absent without bias. */
  readonly biasHh?: Tensor | undefined;
  /** `[P, H]`, LSTM with a projection only. */
  readonly weightHr?: Tensor | undefined;
}

/** The weights a step reads once the input projection is done: `weightHh`, `biasHh`, `weightHr`. */
export type RecurrentWeights = Omit<CellWeights, 'weightIh' | 'biasIh'>;

export type Nonlinearity = 'tanh' | 'relu';

export interface GruStepOptions {
  /**
   * Apply the reset gate after the recurrent matmul (default, as PyTorch and cuDNN):
   * `n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))`. With `false`, Cho et al. 2014:
   * `n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)`.
   */
  readonly resetAfter?: boolean;
}

/** `x Wᵀ + b` for `x [B, K]`, `w [N, K]`, `b [N]`. */
export function affine(x: Tensor, w: Tensor, b?: Tensor): Tensor {
  const y = matmul(x, w, { transB: true });
  return b ? add(y, b) : y;
}

/**
 * One Elman RNN step: `h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)`.
 * `x [B, D]`, `h [B, H]` → `h' [B, H]`.
 */
export function rnnStep(x: Tensor, h: Tensor, w: CellWeights, nonlinearity: Nonlinearity = 'tanh'): Tensor {
  return rnnStepFromInput(affine(x, w.weightIh, w.biasIh), h, w, nonlinearity);
}

/**
 * `rnnStep` with the input projection `gi = x W_ihᵀ + b_ih` `[B, G·H]` already computed (the
 * compiled layers project all steps at once).
 */
export function rnnStepFromInput(
  gi: Tensor,
  h: Tensor,
  w: RecurrentWeights,
  nonlinearity: Nonlinearity,
): Tensor {
  const pre = add(gi, affine(h, w.weightHh, w.biasHh));
  return nonlinearity === 'relu' ? relu(pre) : tanh(pre);
}

/**
 * One LSTM step with PyTorch's gate order i, f, g, o:
 * `c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)`, `h' = σ(o) ⊙ tanh(c')`, then `h' = h' W_hrᵀ` with a projection.
 * `x [B, D]`, `h [B, P or H]`, `c [B, H]` → `{ h [B, P or H], c [B, H] }`.
 */
export function lstmStep(x: Tensor, h: Tensor, c: Tensor, w: CellWeights): { h: Tensor; c: Tensor } {
  return lstmStepFromInput(affine(x, w.weightIh, w.biasIh), h, c, w);
}

/** `lstmStep` with the input projection `gi [B, 4·H]` already computed. */
export function lstmStepFromInput(
  gi: Tensor,
  h: Tensor,
  c: Tensor,
  w: RecurrentWeights,
): { h: Tensor; c: Tensor } {
  const gates = add(gi, affine(h, w.weightHh, w.biasHh));
  const [ig, fg, gg, og] = split(gates, 4, 1) as [Tensor, Tensor, Tensor, Tensor];
  const cNext = add(mul(sigmoid(fg), c), mul(sigmoid(ig), tanh(gg)));
  const hFull = mul(sigmoid(og), tanh(cNext));
  return { h: w.weightHr ? matmul(hFull, w.weightHr, { transB: true }) : hFull, c: cNext };
}

/**
 * One GRU step with PyTorch's gate order r, z, n: `r = σ(·)`, `z = σ(·)`, `n` as `resetAfter`
 * says, and `h' = (1 − z) ⊙ n + z ⊙ h`. `x [B, D]`, `h [B, H]` → `h' [B, H]`.
 */
export function gruStep(x: Tensor, h: Tensor, w: CellWeights, options: GruStepOptions = {}): Tensor {
  return gruStepFromInput(affine(x, w.weightIh, w.biasIh), h, w, options);
}

/** `gruStep` with the input projection `gi [B, 3·H]` already computed. */
export function gruStepFromInput(
  gi: Tensor,
  h: Tensor,
  w: RecurrentWeights,
  options: GruStepOptions = {},
): Tensor {
  const [xr, xz, xn] = split(gi, 3, 1) as [Tensor, Tensor, Tensor];
  let r: Tensor;
  let z: Tensor;
  let n: Tensor;
  if (options.resetAfter ?? true) {
    const gh = affine(h, w.weightHh, w.biasHh);
    const [hr, hz, hn] = split(gh, 3, 1) as [Tensor, Tensor, Tensor];
    r = sigmoid(add(xr, hr));
    z = sigmoid(add(xz, hz));
    n = tanh(add(xn, mul(r, hn)));
  } else {
    const rows = w.weightHh.shape[0]!;
    const cols = w.weightHh.shape[1]!;
    const hid = rows / 3;
    const wRz = slice(w.weightHh, [0, 0], [2 * hid, cols]);
    const wN = slice(w.weightHh, [2 * hid, 0], [rows, cols]);
    const bRz = w.biasHh ? slice(w.biasHh, [0], [2 * hid]) : undefined;
    const bN = w.biasHh ? slice(w.biasHh, [2 * hid], [rows]) : undefined;
    const [hr, hz] = split(affine(h, wRz, bRz), 2, 1) as [Tensor, Tensor];
    r = sigmoid(add(xr, hr));
    z = sigmoid(add(xz, hz));
    n = tanh(add(xn, affine(mul(r, h), wN, bN)));
  }
  // (1 − z) ⊙ n + z ⊙ h, written as PyTorch's kernels compute it.
  return add(n, mul(z, sub(h, n)));
}
