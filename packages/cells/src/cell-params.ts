import type { Rng } from '@recur/tensor';
import { CellsError, describe } from './errors.js';
import { orthogonalValues, uniformValues } from './init.js';

/** How recurrent weights `weight_hh` start: PyTorch's uniform (default) or orthogonal per gate block. */
export type RecurrentInit = 'uniform' | 'orthogonal';

/** The initialisation options of cells and layers. */
export interface CellInitOptions {
  /** `weight_hh`: uniform ±1/√H as PyTorch (default), or orthogonal blocks (one per gate). */
  readonly recurrentInit?: RecurrentInit;
}

export interface CellGeometry {
  /** Gate blocks: 1 (RNN), 4 (LSTM), 3 (GRU). */
  readonly gates: number;
  readonly inputSize: number;
  readonly hiddenSize: number;
  /** LSTM projection size, 0 for none. */
  readonly projSize: number;
  readonly bias: boolean;
}

export type CellParamName = 'weight_ih' | 'weight_hh' | 'bias_ih' | 'bias_hh' | 'weight_hr';

export interface CellParamValues {
  readonly name: CellParamName;
  readonly shape: readonly number[];
  readonly values: Float64Array;
}

/** The PyTorch shapes of one cell's parameters, in PyTorch's registration order. */
export function cellParamShapes(g: CellGeometry): { name: CellParamName; shape: number[] }[] {
  const rows = g.gates * g.hiddenSize;
  const out: { name: CellParamName; shape: number[] }[] = [
    { name: 'weight_ih', shape: [rows, g.inputSize] },
    { name: 'weight_hh', shape: [rows, g.projSize > 0 ? g.projSize : g.hiddenSize] },
  ];
  if (g.bias) out.push({ name: 'bias_ih', shape: [rows] }, { name: 'bias_hh', shape: [rows] });
  if (g.projSize > 0) out.push({ name: 'weight_hr', shape: [g.projSize, g.hiddenSize] });
  return out;
}

/**
 * Initial values of one cell, drawn from `rng` in PyTorch's parameter order: every entry uniform in
 * ±1/√hiddenSize (as `reset_parameters` does), then the options: orthogonal `weight_hh` blocks and
 * the LSTM forget-gate bias (in `bias_ih`, with `bias_hh`'s forget block zero, so their sum is it).
 */
export function initCellParams(
  rng: Rng,
  g: CellGeometry,
  options: CellInitOptions & { readonly forgetBias?: number | undefined },
): CellParamValues[] {
  const bound = 1 / Math.sqrt(g.hiddenSize);
  const params = cellParamShapes(g).map(({ name, shape }) => {
    const n = shape.reduce((a, b) => a * b, 1);
    let values: Float64Array;
    if (name === 'weight_hh' && options.recurrentInit === 'orthogonal') {
      const cols = shape[1]!;
      values = new Float64Array(n);
      for (let k = 0; k < g.gates; k++) {
        values.set(orthogonalValues(rng, g.hiddenSize, cols), k * g.hiddenSize * cols);
      }
    } else {
      values = uniformValues(rng, n, bound);
    }
    return { name, shape, values };
  });
  if (options.forgetBias !== undefined) {
    const h = g.hiddenSize;
    for (const p of params) {
      if (p.name === 'bias_ih') p.values.fill(options.forgetBias, h, 2 * h);
      if (p.name === 'bias_hh') p.values.fill(0, h, 2 * h);
    }
  }
  return params;
}

export function checkInitOptions(
  where: string,
  options: CellInitOptions & { readonly forgetBias?: number | undefined; readonly bias?: boolean },
): void {
  const ri = options.recurrentInit;
  if (ri !== undefined && ri !== 'uniform' && ri !== 'orthogonal') {
    throw new CellsError(describe(where, "recurrentInit 'uniform' or 'orthogonal'", JSON.stringify(ri)));
  }
  if (options.forgetBias !== undefined) {
    if (!Number.isFinite(options.forgetBias)) {
      throw new CellsError(describe(where, 'a finite forgetBias', `${options.forgetBias}`));
    }
    if (options.bias === false) {
      throw new CellsError(
        describe(where, 'bias: true with forgetBias', 'bias: false', 'Drop forgetBias or enable the bias.'),
      );
    }
  }
}
