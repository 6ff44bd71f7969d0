import { type Rng, reshape, type Tensor, tidy, transpose, zeros } from '@recur/tensor';
import { type CellInitOptions, checkInitOptions, initCellParams } from './cell-params.js';
import { expectLike, expectShape, expectTensor } from './checks.js';
import { type CompileCacheStats, ScanCache } from './compiled.js';
import { CellsError, describe, fmtShape } from './errors.js';
import { checkDType, checkProbability, checkSize, type InitOptions, parameter, rngOf } from './init.js';
import { type Lengths, lengthsFromMask, normalizeLengths, type PaddingMask } from './lengths.js';
import { Module } from './module.js';
import { type RecurrentForwardResult, type RecurrentMode, recurrentForward } from './sequence.js';
import type { CellWeights, Nonlinearity } from './steps.js';

/** Options shared by `RNN`, `LSTM` and `GRU`, named as in PyTorch. */
export interface RecurrentLayerOptions extends InitOptions, CellInitOptions {
  readonly inputSize: number;
  readonly hiddenSize: number;
  /** Stacked layers (default 1). */
  readonly numLayers?: number;
  /** Biases `bias_ih` and `bias_hh` (default true). */
  readonly bias?: boolean;
  /** Input and output as `[B, T, ·]` instead of `[T, B, ·]` (default false; states stay `[L·dirs, B, H]`). */
  readonly batchFirst?: boolean;
  /** Dropout on the outputs of each layer but the last, in training mode (default 0). */
  readonly dropout?: number;
  /** A second direction over the reversed sequence, outputs concatenated (default false). */
  readonly bidirectional?: boolean;
  /**
   * Run each layer and direction as a program compiled by `@recur/graph-compiler` instead of op
   * by op (default false); same results and gradients. `compile()` switches it later.
   */
  readonly compiled?: boolean;
}

export interface RNNOptions extends RecurrentLayerOptions {
  /** Default 'tanh'. */
  readonly nonlinearity?: Nonlinearity;
}

export interface LSTMOptions extends RecurrentLayerOptions {
  /** Projection size of the hidden state (`weight_hr`), 0 (default) for none; must be < hiddenSize. */
  readonly projSize?: number;
  /** Initial forget-gate bias, e.g. 1 (Jozefowicz et al. 2015); default: PyTorch's uniform init. */
  readonly forgetBias?: number;
}

export interface GRUOptions extends RecurrentLayerOptions {
  /** Reset gate after the recurrent matmul, as PyTorch and cuDNN (default true); false: Cho et al. 2014. */
  readonly resetAfter?: boolean;
}

/** Padding of a batch of sequences: lengths, or a `[B, T]` mask. */
export interface SequenceOptions {
  /** Valid steps per sequence (1..T each); padded steps keep the state and give zero output. */
  readonly lengths?: Lengths;
  /** A `[B, T]` prefix mask (non-zero at valid steps), the alternative to `lengths`. */
  readonly mask?: PaddingMask;
}

export interface RNNForwardOptions extends SequenceOptions {
  /** `[numLayers·numDirections, B, H]` (default zeros). */
  readonly h0?: Tensor;
}
export interface LSTMForwardOptions extends SequenceOptions {
  /** `[numLayers·numDirections, B, projSize or H]` (default zeros). */
  readonly h0?: Tensor;
  /** `[numLayers·numDirections, B, H]` (default zeros). */
  readonly c0?: Tensor;
}
export type GRUForwardOptions = RNNForwardOptions;

export interface RNNOutput {
  /** `[T, B, numDirections·H]`, or `[B, T, ·]` batch first; zero at padded steps. */
  readonly output: Tensor;
  /** Final states `[numLayers·numDirections, B, H]`: each sequence's state at its last valid step. */
  readonly hN: Tensor;
}
export interface LSTMOutput extends RNNOutput {
  /** Final cell states `[numLayers·numDirections, B, H]`. */
  readonly cN: Tensor;
}

const PARAM_NAME = /^(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(\d+)(_reverse)?$/;

/**
 * What `RNN`, `LSTM` and `GRU` share: PyTorch's parameters (`weight_ih_l{k}`, `weight_hh_l{k}`,
 * `bias_ih_l{k}`, `bias_hh_l{k}`, `weight_hr_l{k}`, `_reverse` for the backward direction),
 * initialisation, input checks and the sequence loop.
 */
export abstract class RecurrentLayer extends Module {
  readonly mode: RecurrentMode;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  readonly numDirections: 1 | 2;
  /** LSTM projection size, 0 otherwise. */
  readonly projSize: number;
  private readonly cells: CellWeights[] = [];
  private readonly dropoutRng: Rng;
  private readonly gates: number;
  private readonly scans: ScanCache;
  private compiledMode: boolean;

  protected constructor(
    mode: RecurrentMode,
    options: RecurrentLayerOptions,
    extra: { projSize?: number; forgetBias?: number | undefined } = {},
  ) {
    super();
    const where = `${mode.startsWith('rnn') ? 'RNN' : mode.startsWith('gru') ? 'GRU' : 'LSTM'}`;
    if (typeof options !== 'object' || options === null) {
      throw new CellsError(
        describe(where, 'an options object { inputSize, hiddenSize, ... }', String(options)),
      );
    }
    checkSize(where, 'inputSize', options.inputSize);
    checkSize(where, 'hiddenSize', options.hiddenSize);
    checkSize(where, 'numLayers', options.numLayers ?? 1);
    checkProbability(where, 'dropout', options.dropout ?? 0);
    checkDType(where, options.dtype);
    checkInitOptions(where, { ...options, forgetBias: extra.forgetBias });
    const projSize = extra.projSize ?? 0;
    if (!Number.isSafeInteger(projSize) || projSize < 0 || (projSize > 0 && projSize >= options.hiddenSize)) {
      throw new CellsError(
        describe(
          where,
          `projSize to be 0 (none) or an integer from 1 to hiddenSize - 1 (${options.hiddenSize - 1})`,
          `${projSize}`,
        ),
      );
    }
    this.mode = mode;
    this.inputSize = options.inputSize;
    this.hiddenSize = options.hiddenSize;
    this.numLayers = options.numLayers ?? 1;
    this.bias = options.bias ?? true;
    this.batchFirst = options.batchFirst ?? false;
    this.dropout = options.dropout ?? 0;
    this.bidirectional = options.bidirectional ?? false;
    this.numDirections = this.bidirectional ? 2 : 1;
    this.projSize = projSize;
    this.gates = mode === 'lstm' ? 4 : mode.startsWith('gru') ? 3 : 1;

    const rng = rngOf(options.seed);
    const outSize = projSize > 0 ? projSize : this.hiddenSize;
    for (let layer = 0; layer < this.numLayers; layer++) {
      for (let dir = 0; dir < this.numDirections; dir++) {
        const values = initCellParams(
          rng,
          {
            gates: this.gates,
            inputSize: layer === 0 ? this.inputSize : outSize * this.numDirections,
            hiddenSize: this.hiddenSize,
            projSize,
            bias: this.bias,
          },
          { recurrentInit: options.recurrentInit, forgetBias: extra.forgetBias },
        );
        const named: Partial<Record<string, Tensor>> = {};
        for (const v of values) {
          named[v.name] = this.registerParameter(
            `${v.name}_l${layer}${dir === 1 ? '_reverse' : ''}`,
            parameter(v.values, v.shape, options),
          );
        }
        this.cells.push({
          weightIh: named.weight_ih!,
          weightHh: named.weight_hh!,
          biasIh: named.bias_ih,
          biasHh: named.bias_hh,
          weightHr: named.weight_hr,
        });
      }
    }
    this.dropoutRng = rng.fork();
    if (options.compiled !== undefined && typeof options.compiled !== 'boolean') {
      throw new CellsError(describe(where, 'compiled to be true or false', JSON.stringify(options.compiled)));
    }
    this.compiledMode = options.compiled ?? false;
    this.scans = new ScanCache(mode, where);
  }

  /** Whether `forward` runs compiled programs (see `compile()`). */
  get compiled(): boolean {
    return this.compiledMode;
  }

  /**
   * Switches compiled execution on (or off with `false`): each layer and direction then runs as
   * one program compiled by `@recur/graph-compiler` (`compileScan`) for the call's shapes, cached
   * so that later calls with the same shapes compile nothing. Outputs, final states and every
   * gradient are those of eager execution; `backward()` works as usual. Returns the layer.
   */
  compile(enabled = true): this {
    if (typeof enabled !== 'boolean') {
      throw new CellsError(
        describe(`${this.constructor.name}.compile`, 'true or false', JSON.stringify(enabled)),
      );
    }
    this.compiledMode = enabled;
    return this;
  }

  /** What the cache of compiled programs holds and has done (programs, compiles, reuses, ...). */
  compileStats(): CompileCacheStats {
    return this.scans.stats();
  }

  /** Frees the compiled programs; the next compiled call compiles again. */
  clearCompiled(): void {
    this.scans.clear();
  }

  /** Frees the parameters and the compiled programs. */
  override dispose(): void {
    this.scans.clear();
    super.dispose();
  }

  /** Size of the hidden state `h`: projSize for a projected LSTM, else hiddenSize. */
  get outputSize(): number {
    return this.projSize > 0 ? this.projSize : this.hiddenSize;
  }

  /** The parameters of one layer and direction (0 forward, 1 reverse), for the step functions. */
  cellWeights(layer: number, direction = 0): CellWeights {
    const w = this.cells[layer * this.numDirections + direction];
    if (!w || !Number.isInteger(layer) || (direction !== 0 && direction !== 1)) {
      throw new CellsError(
        describe(
          `${this.constructor.name}.cellWeights`,
          `a layer in 0..${this.numLayers - 1} and a direction in 0..${this.numDirections - 1}`,
          `layer ${layer}, direction ${direction}`,
        ),
      );
    }
    return w;
  }

  /** Every cell's parameters, indexed `layer · numDirections + direction` (as `recurrentForward` takes them). */
  allCellWeights(): CellWeights[] {
    return [...this.cells];
  }

  protected override parameterHint(name: string): string | undefined {
    const m = PARAM_NAME.exec(name);
    if (!m) return undefined;
    const [, base, layerText] = m;
    const g = this.gates === 1 ? '' : `${this.gates}·`;
    const hs = `hiddenSize = ${this.hiddenSize}`;
    const recurrent = this.projSize > 0 ? 'projSize' : 'hiddenSize';
    const ps = this.projSize > 0 ? ` and projSize = ${this.projSize}` : '';
    switch (base) {
      case 'weight_ih':
        return Number(layerText) === 0
          ? `${g}hiddenSize × inputSize, with ${hs} and inputSize = ${this.inputSize}`
          : `${g}hiddenSize × numDirections·${recurrent}, with ${hs}${ps} and numDirections = ${this.numDirections}`;
      case 'weight_hh':
        return `${g}hiddenSize × ${recurrent}, with ${hs}${ps}`;
      case 'weight_hr':
        return `projSize × hiddenSize, with projSize = ${this.projSize} and ${hs}`;
      default:
        return `${g}hiddenSize, with ${hs}`;
    }
  }

  /** Validates the inputs, handles batchFirst and unbatched input, and runs the sequence loop. */
  protected run(
    x: Tensor,
    options: SequenceOptions & { readonly h0?: Tensor; readonly c0?: Tensor },
  ): RecurrentForwardResult {
    const where = `${this.constructor.name}.forward`;
    const ref = this.cells[0]!.weightIh;
    expectTensor(where, 'the input x', x);
    if (x.shape.length !== 3 && x.shape.length !== 2) {
      throw new CellsError(
        describe(
          where,
          `an input of rank 3 (${this.batchFirst ? '[B, T, inputSize]' : '[T, B, inputSize]'}) or 2 ([T, inputSize], unbatched)`,
          `shape ${fmtShape(x.shape)}`,
        ),
      );
    }
    expectLike(where, 'the input x', x, ref);
    const batched = x.shape.length === 3;
    const features = x.shape[x.shape.length - 1]!;
    if (features !== this.inputSize) {
      throw new CellsError(
        describe(
          where,
          `inputs with ${this.inputSize} features (inputSize) on the last axis`,
          `shape ${fmtShape(x.shape)}`,
          'Build the layer with the inputSize of your data, or fix the input.',
        ),
      );
    }
    const steps = batched && this.batchFirst ? x.shape[1]! : x.shape[0]!;
    const batch = batched ? (this.batchFirst ? x.shape[0]! : x.shape[1]!) : 1;
    if (steps < 1 || batch < 1) {
      throw new CellsError(
        describe(where, 'at least one step and one sequence', `shape ${fmtShape(x.shape)}`),
      );
    }
    if (options.lengths !== undefined && options.mask !== undefined) {
      throw new CellsError(describe(where, 'lengths or a mask', 'both', 'Pass only one of them.'));
    }
    const lengths =
      options.lengths !== undefined
        ? normalizeLengths(where, options.lengths, batch, steps)
        : options.mask !== undefined
          ? lengthsFromMask(where, options.mask, batch, steps)
          : undefined;
    const stateCount = this.numLayers * this.numDirections;
    const isLstm = this.mode === 'lstm';
    const checkState = (name: string, t: Tensor | undefined, size: number, sizeName: string): void => {
      if (t === undefined) return;
      expectTensor(where, name, t);
      const shape = batched ? [stateCount, batch, size] : [stateCount, size];
      const layout = batched
        ? `[numLayers·numDirections, B, ${sizeName}]`
        : `[numLayers·numDirections, ${sizeName}] for an unbatched input`;
      expectShape(where, name, t, shape, layout);
      expectLike(where, name, t, ref);
    };
    checkState('h0', options.h0, this.outputSize, this.projSize > 0 ? 'projSize' : 'hiddenSize');
    if (isLstm) checkState('c0', options.c0, this.hiddenSize, 'hiddenSize');
    else if (options.c0 !== undefined) {
      throw new CellsError(describe(where, 'no c0 (only an LSTM has a cell state)', 'a c0'));
    }

    return tidy(() => {
      const make = { dtype: ref.dtype, backend: ref.backend } as const;
      const xs = batched ? (this.batchFirst ? transpose(x, [1, 0, 2]) : x) : reshape(x, [steps, 1, features]);
      const stateOf = (t: Tensor | undefined, size: number): Tensor =>
        t === undefined
          ? zeros([stateCount, batch, size], make)
          : batched
            ? t
            : reshape(t, [stateCount, 1, size]);
      const h0 = stateOf(options.h0, this.outputSize);
      const c0 = isLstm ? stateOf(options.c0, this.hiddenSize) : undefined;
      const r = recurrentForward(xs, this.cells, h0, c0, {
        mode: this.mode,
        numLayers: this.numLayers,
        bidirectional: this.bidirectional,
        lengths,
        dropout: this.training ? this.dropout : 0,
        dropoutRng: this.dropoutRng,
        compiled: this.compiledMode ? this.scans : undefined,
      });
      const width = r.output.shape[2]!;
      const output = batched
        ? this.batchFirst
          ? transpose(r.output, [1, 0, 2])
          : r.output
        : reshape(r.output, [steps, width]);
      const unbatch = (t: Tensor): Tensor => (batched ? t : reshape(t, [stateCount, t.shape[2]!]));
      const result: { output: Tensor; hN: Tensor; cN?: Tensor } = { output, hN: unbatch(r.hN) };
      if (r.cN) result.cN = unbatch(r.cN);
      return result;
    });
  }
}

/**
 * A multi-layer Elman RNN, `torch.nn.RNN`: `h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`.
 *
 * ```ts
 * const rnn = new RNN({ inputSize: 5, hiddenSize: 4, nonlinearity: 'relu' });
 * const { output, hN } = rnn.forward(x, { h0 });
 * ```
 */
export class RNN extends RecurrentLayer {
  readonly nonlinearity: Nonlinearity;

  constructor(options: RNNOptions) {
    const nl = options?.nonlinearity ?? 'tanh';
    if (nl !== 'tanh' && nl !== 'relu') {
      throw new CellsError(describe('RNN', "nonlinearity 'tanh' or 'relu'", JSON.stringify(nl)));
    }
    super(nl === 'relu' ? 'rnn_relu' : 'rnn_tanh', options);
    this.nonlinearity = nl;
  }

  forward(x: Tensor, options: RNNForwardOptions = {}): RNNOutput {
    const { output, hN } = this.run(x, options);
    return { output, hN };
  }
}

/**
 * A multi-layer LSTM, `torch.nn.LSTM`, with PyTorch's gate order i, f, g, o and optional
 * projection (`projSize`, `weight_hr_l{k}`).
 *
 * ```ts
 * const lstm = new LSTM({ inputSize: 5, hiddenSize: 4, numLayers: 2, bidirectional: true, batchFirst: true });
 * const { output, hN, cN } = lstm.forward(x, { h0, c0 });
 * ```
 */
export class LSTM extends RecurrentLayer {
  constructor(options: LSTMOptions) {
    super('lstm', options, { projSize: options?.projSize ?? 0, forgetBias: options?.forgetBias });
  }

  forward(x: Tensor, options: LSTMForwardOptions = {}): LSTMOutput {
    const { output, hN, cN } = this.run(x, options);
    return { output, hN, cN: cN! };
  }
}

/**
 * A multi-layer GRU, `torch.nn.GRU`, with gate order r, z, n. The reset gate applies after the
 * recurrent matmul as in PyTorch and cuDNN; `resetAfter: false` gives Cho et al. 2014 (its weights
 * have the same names and shapes, but PyTorch cannot run them).
 */
export class GRU extends RecurrentLayer {
  readonly resetAfter: boolean;

  constructor(options: GRUOptions) {
    const resetAfter = options?.resetAfter ?? true;
    super(resetAfter ? 'gru' : 'gru_reset_before', options);
    this.resetAfter = resetAfter;
  }

  forward(x: Tensor, options: GRUForwardOptions = {}): RNNOutput {
    const { output, hN } = this.run(x, options);
    return { output, hN };
  }
}
