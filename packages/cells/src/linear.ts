import { reshape, type Tensor, tidy } from '@recur/tensor';
import { expectLike, expectTensor } from './checks.js';
import { CellsError, describe, fmtShape } from './errors.js';
import { checkDType, checkSize, type InitOptions, parameter, rngOf, uniformValues } from './init.js';
import { Module } from './module.js';
import { affine } from './steps.js';

export interface LinearOptions extends InitOptions {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** Default true. */
  readonly bias?: boolean;
}

/**
 * `y = x Wᵀ + b`, `torch.nn.Linear`: `weight [outFeatures, inFeatures]`, `bias [outFeatures]`,
 * both initialised uniform in ±1/√inFeatures as PyTorch does. Any leading axes pass through.
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(options: LinearOptions) {
    super();
    if (typeof options !== 'object' || options === null) {
      throw new CellsError(
        describe('Linear', 'an options object { inFeatures, outFeatures }', String(options)),
      );
    }
    checkSize('Linear', 'inFeatures', options.inFeatures);
    checkSize('Linear', 'outFeatures', options.outFeatures);
    checkDType('Linear', options.dtype);
    this.inFeatures = options.inFeatures;
    this.outFeatures = options.outFeatures;
    const rng = rngOf(options.seed);
    const bound = 1 / Math.sqrt(this.inFeatures);
    const w = uniformValues(rng, this.outFeatures * this.inFeatures, bound);
    this.weight = this.registerParameter(
      'weight',
      parameter(w, [this.outFeatures, this.inFeatures], options),
    );
    this.bias =
      (options.bias ?? true)
        ? this.registerParameter(
            'bias',
            parameter(uniformValues(rng, this.outFeatures, bound), [this.outFeatures], options),
          )
        : null;
  }

  /** `x [..., inFeatures]` → `[..., outFeatures]`. */
  forward(x: Tensor): Tensor {
    expectTensor('Linear.forward', 'the input x', x);
    if (x.shape.length === 0 || x.shape[x.shape.length - 1] !== this.inFeatures) {
      throw new CellsError(
        describe(
          'Linear.forward',
          `an input with ${this.inFeatures} features (inFeatures) on the last axis`,
          `shape ${fmtShape(x.shape)}`,
        ),
      );
    }
    expectLike('Linear.forward', 'the input x', x, this.weight);
    return tidy(() => {
      const lead = x.shape.slice(0, -1);
      const y = affine(reshape(x, [-1, this.inFeatures]), this.weight, this.bias ?? undefined);
      return reshape(y, [...lead, this.outFeatures]);
    });
  }

  protected override parameterHint(name: string): string | undefined {
    return name === 'weight'
      ? `outFeatures × inFeatures = ${this.outFeatures} × ${this.inFeatures}`
      : `outFeatures = ${this.outFeatures}`;
  }
}
