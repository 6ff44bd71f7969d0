import { type Backend, fromData, Rng, type Tensor } from '@recur/tensor';
import { CellsError, describe } from './errors.js';

/** Floating dtypes a module's parameters can have: f32 for use, f64 for gradient checks. */
export type FloatDType = 'f32' | 'f64';

/** Options every module with random initial values takes. */
export interface InitOptions {
  /** Seed of the initial values (default 0): the same seed gives the same parameters. */
  readonly seed?: number | Rng;
  /** Parameter dtype (default f32). */
  readonly dtype?: FloatDType;
  /** Backend of the parameters (default: the active one). */
  readonly backend?: Backend;
}

export function rngOf(seed: number | Rng | undefined): Rng {
  if (seed instanceof Rng) return seed;
  if (seed === undefined) return new Rng(0);
  if (!Number.isFinite(seed)) throw new CellsError(describe('seed', 'a finite number or an Rng', `${seed}`));
  return new Rng(seed);
}

/** `n` values uniform in [-bound, bound). */
export function uniformValues(rng: Rng, n: number, bound: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (rng.uniform() * 2 - 1) * bound;
  return out;
}

/** `n` standard normal values. */
export function normalValues(rng: Rng, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal();
  return out;
}

/**
 * A row-major `rows × cols` matrix with orthonormal rows (rows ≤ cols) or columns (rows ≥ cols),
 * as `torch.nn.init.orthogonal_`: the Q of a Gaussian matrix's QR factorisation with R's diagonal
 * made positive (which modified Gram–Schmidt gives directly).
 */
export function orthogonalValues(rng: Rng, rows: number, cols: number, gain = 1): Float64Array {
  const tall = rows >= cols;
  const m = tall ? rows : cols;
  const n = tall ? cols : rows;
  // Columns of the tall m × n matrix, orthonormalised in place.
  const q: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    for (;;) {
      const v = normalValues(rng, m);
      for (const u of q) {
        let dot = 0;
        for (let i = 0; i < m; i++) dot += u[i]! * v[i]!;
        for (let i = 0; i < m; i++) v[i] = v[i]! - dot * u[i]!;
      }
      let norm = 0;
      for (let i = 0; i < m; i++) norm += v[i]! * v[i]!;
      norm = Math.sqrt(norm);
      if (norm < 1e-8) continue; // a (practically impossible) degenerate draw: draw again
      for (let i = 0; i < m; i++) v[i] = v[i]! / norm;
      q.push(v);
      break;
    }
  }
  const out = new Float64Array(rows * cols);
  for (let j = 0; j < n; j++) {
    const col = q[j]!;
    for (let i = 0; i < m; i++) {
      if (tall) out[i * cols + j] = gain * col[i]!;
      else out[j * cols + i] = gain * col[i]!;
    }
  }
  return out;
}

/** A parameter leaf from host values. */
export function parameter(
  values: Float64Array,
  shape: readonly number[],
  options: InitOptions,
  requiresGrad = true,
): Tensor {
  return fromData(values, shape, {
    dtype: options.dtype ?? 'f32',
    requiresGrad,
    ...(options.backend ? { backend: options.backend } : {}),
  });
}

export function checkSize(where: string, name: string, value: number, min = 1): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new CellsError(
      describe(
        where,
        `${name} to be an integer >= ${min}`,
        `${value}`,
        `Pass e.g. { ${name}: ${Math.max(min, 4)} }.`,
      ),
    );
  }
}

export function checkDType(where: string, dtype: string | undefined): void {
  if (dtype !== undefined && dtype !== 'f32' && dtype !== 'f64') {
    throw new CellsError(describe(where, "dtype 'f32' or 'f64'", JSON.stringify(dtype)));
  }
}

export function checkProbability(where: string, name: string, p: number): void {
  if (!(typeof p === 'number' && p >= 0 && p <= 1)) {
    throw new CellsError(describe(where, `${name} to be a probability in [0, 1]`, `${p}`));
  }
}
