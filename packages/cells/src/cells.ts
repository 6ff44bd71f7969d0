import { reshape, type Tensor, tidy, zeros } from '@recur/tensor';
import { type CellInitOptions, checkInitOptions, initCellParams } from './cell-params.js';
import { expectLike, expectShape, expectTensor } from './checks.js';
import { CellsError, describe, fmtShape } from './errors.js';
import { checkDType, checkSize, type InitOptions, parameter, rngOf } from './init.js';
import { Module } from './module.js';
import { type CellWeights, gruStep, lstmStep, type Nonlinearity, rnnStep } from './steps.js';

export interface CellOptions extends InitOptions, CellInitOptions {
  readonly inputSize: number;
  readonly hiddenSize: number;
  /** Biases `bias_ih` and `bias_hh` (default true). */
  readonly bias?: boolean;
}
export interface RNNCellOptions extends CellOptions {
  /** Default 'tanh'. */
  readonly nonlinearity?: Nonlinearity;
}
export interface LSTMCellOptions extends CellOptions {
  /** Initial forget-gate bias, e.g. 1; default: PyTorch's uniform init. */
  readonly forgetBias?: number;
}
export interface GRUCellOptions extends CellOptions {
  /** Reset gate after the recurrent matmul, as PyTorch (default true); false: Cho et al. 2014. */
  readonly resetAfter?: boolean;
}

/** An LSTM cell's state. */
export interface LSTMState {
  readonly h: Tensor;
  readonly c: Tensor;
}

/** One cell's parameters with PyTorch's `*Cell` names: weight_ih, weight_hh, bias_ih, bias_hh. */
abstract class CellBase extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly bias: boolean;
  protected readonly w: CellWeights;
  private readonly gates: number;

  protected constructor(where: string, gates: number, options: CellOptions, forgetBias?: number | undefined) {
    super();
    if (typeof options !== 'object' || options === null) {
      throw new CellsError(
        describe(where, 'an options object { inputSize, hiddenSize, ... }', String(options)),
      );
    }
    checkSize(where, 'inputSize', options.inputSize);
    checkSize(where, 'hiddenSize', options.hiddenSize);
    checkDType(where, options.dtype);
    checkInitOptions(where, { ...options, forgetBias });
    this.inputSize = options.inputSize;
    this.hiddenSize = options.hiddenSize;
    this.bias = options.bias ?? true;
    this.gates = gates;
    const named: Partial<Record<string, Tensor>> = {};
    const values = initCellParams(
      rngOf(options.seed),
      { gates, inputSize: this.inputSize, hiddenSize: this.hiddenSize, projSize: 0, bias: this.bias },
      { recurrentInit: options.recurrentInit, forgetBias },
    );
    for (const v of values)
      named[v.name] = this.registerParameter(v.name, parameter(v.values, v.shape, options));
    this.w = {
      weightIh: named.weight_ih!,
      weightHh: named.weight_hh!,
      biasIh: named.bias_ih,
      biasHh: named.bias_hh,
    };
  }

  /** The parameters, for the step functions. */
  weights(): CellWeights {
    return this.w;
  }

  protected override parameterHint(name: string): string | undefined {
    const g = this.gates === 1 ? '' : `${this.gates}·`;
    if (name === 'weight_ih')
      return `${g}hiddenSize × inputSize = ${this.gates * this.hiddenSize} × ${this.inputSize}`;
    if (name === 'weight_hh') return `${g}hiddenSize × hiddenSize, with hiddenSize = ${this.hiddenSize}`;
    return `${g}hiddenSize, with hiddenSize = ${this.hiddenSize}`;
  }

  /** Checks `x` (`[B, inputSize]` or `[inputSize]`) and a state; returns the batch size, or null if unbatched. */
  protected checkInput(where: string, x: Tensor, states: [string, Tensor | undefined][]): number | null {
    expectTensor(where, 'the input x', x);
    if (x.shape.length !== 1 && x.shape.length !== 2) {
      throw new CellsError(
        describe(
          where,
          'an input of rank 2 ([B, inputSize]) or 1 ([inputSize], unbatched)',
          `shape ${fmtShape(x.shape)}`,
        ),
      );
    }
    expectLike(where, 'the input x', x, this.w.weightIh);
    if (x.shape[x.shape.length - 1] !== this.inputSize) {
      throw new CellsError(
        describe(
          where,
          `inputs with ${this.inputSize} features (inputSize) on the last axis`,
          `shape ${fmtShape(x.shape)}`,
        ),
      );
    }
    const batch = x.shape.length === 2 ? x.shape[0]! : null;
    for (const [name, t] of states) {
      if (t === undefined) continue;
      expectTensor(where, name, t);
      const shape = batch === null ? [this.hiddenSize] : [batch, this.hiddenSize];
      expectShape(
        where,
        name,
        t,
        shape,
        batch === null ? '[hiddenSize] for an unbatched input' : '[B, hiddenSize]',
      );
      expectLike(where, name, t, this.w.weightIh);
    }
    return batch;
  }

  /** Runs `step` on batched views of the input and states, undoing the batching of the results. */
  protected batched<R>(
    x: Tensor,
    batch: number | null,
    states: (Tensor | undefined)[],
    step: (x: Tensor, states: Tensor[]) => R,
    unbatch: (r: R, f: (t: Tensor) => Tensor) => R,
  ): R {
    return tidy(() => {
      const b = batch ?? 1;
      const make = { dtype: this.w.weightIh.dtype, backend: this.w.weightIh.backend } as const;
      const xb = batch === null ? reshape(x, [1, this.inputSize]) : x;
      const sb = states.map((s) =>
        s === undefined
          ? zeros([b, this.hiddenSize], make)
          : batch === null
            ? reshape(s, [1, this.hiddenSize])
            : s,
      );
      const r = step(xb, sb);
      return batch === null ? unbatch(r, (t) => reshape(t, [t.shape[1]!])) : r;
    });
  }
}

/** An Elman RNN cell, `torch.nn.RNNCell`: `h' = act(W_ih x + b_ih + W_hh h + b_hh)`. */
export class RNNCell extends CellBase {
  readonly nonlinearity: Nonlinearity;

  constructor(options: RNNCellOptions) {
    const nl = options?.nonlinearity ?? 'tanh';
    if (nl !== 'tanh' && nl !== 'relu') {
      throw new CellsError(describe('RNNCell', "nonlinearity 'tanh' or 'relu'", JSON.stringify(nl)));
    }
    super('RNNCell', 1, options);
    this.nonlinearity = nl;
  }

  /** `x [B, inputSize]`, `h [B, hiddenSize]` (default zeros) → the next `h`. Unbatched `[inputSize]` works too. */
  forward(x: Tensor, h?: Tensor): Tensor {
    const batch = this.checkInput('RNNCell.forward', x, [['h', h]]);
    return this.batched(
      x,
      batch,
      [h],
      (xb, [hb]) => rnnStep(xb, hb!, this.w, this.nonlinearity),
      (r, f) => f(r),
    );
  }
}

/** An LSTM cell, `torch.nn.LSTMCell`, gate order i, f, g, o. */
export class LSTMCell extends CellBase {
  constructor(options: LSTMCellOptions) {
    super('LSTMCell', 4, options, options?.forgetBias);
  }

  /** `x [B, inputSize]`, `{ h, c }` each `[B, hiddenSize]` (default zeros) → the next `{ h, c }`. */
  forward(x: Tensor, state: Partial<LSTMState> = {}): LSTMState {
    const batch = this.checkInput('LSTMCell.forward', x, [
      ['h', state.h],
      ['c', state.c],
    ]);
    return this.batched(
      x,
      batch,
      [state.h, state.c],
      (xb, [hb, cb]) => lstmStep(xb, hb!, cb!, this.w),
      (r, f) => ({ h: f(r.h), c: f(r.c) }),
    );
  }
}

/** A GRU cell, `torch.nn.GRUCell`, gate order r, z, n; reset-after unless `resetAfter: false`. */
export class GRUCell extends CellBase {
  readonly resetAfter: boolean;

  constructor(options: GRUCellOptions) {
    super('GRUCell', 3, options);
    this.resetAfter = options.resetAfter ?? true;
  }

  /** `x [B, inputSize]`, `h [B, hiddenSize]` (default zeros) → the next `h`. */
  forward(x: Tensor, h?: Tensor): Tensor {
    const batch = this.checkInput('GRUCell.forward', x, [['h', h]]);
    return this.batched(
      x,
      batch,
      [h],
      (xb, [hb]) => gruStep(xb, hb!, this.w, { resetAfter: this.resetAfter }),
      (r, f) => f(r),
    );
  }
}
