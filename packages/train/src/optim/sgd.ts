import { add, mul, type Tensor } from '@recur/tensor';
import { checkNumber, describe, TrainError } from '../errors.js';
import { type Hyperparameters, Optimizer, type ParameterSource, type SlotState } from './optimizer.js';

export interface SGDOptions {
  /** Learning rate (required). */
  readonly lr: number;
  /** Momentum factor (default 0). */
  readonly momentum?: number;
  /** Dampening of the momentum's gradient term (default 0). */
  readonly dampening?: number;
  /** Nesterov momentum (default false; needs momentum > 0 and dampening 0). */
  readonly nesterov?: boolean;
  /** L2 penalty added to the gradient: g + weightDecay·p (default 0). */
  readonly weightDecay?: number;
}

/**
 * Stochastic gradient descent, `torch.optim.SGD`: with momentum `b ← μ·b + (1-τ)·g` (the first
 * step sets `b ← g`), the step is `p ← p - lr·b`, or with Nesterov `p ← p - lr·(g + μ·b)`.
 * Weight decay adds `λ·p` to the gradient first.
 */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;

  constructor(params: ParameterSource, options: SGDOptions) {
    super('SGD', params, options?.lr);
    this.momentum = checkNumber('SGD', 'momentum', options.momentum ?? 0, { min: 0 });
    this.dampening = checkNumber('SGD', 'dampening', options.dampening ?? 0, { min: 0 });
    this.nesterov = options.nesterov ?? false;
    this.weightDecay = checkNumber('SGD', 'weightDecay', options.weightDecay ?? 0, { min: 0 });
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new TrainError(
        describe(
          'SGD',
          'momentum > 0 and dampening 0 with nesterov',
          `momentum ${this.momentum}, dampening ${this.dampening}`,
        ),
      );
    }
  }

  get type(): string {
    return 'SGD';
  }

  protected hyper(): Hyperparameters {
    return {
      momentum: this.momentum,
      dampening: this.dampening,
      nesterov: this.nesterov,
      weightDecay: this.weightDecay,
    };
  }

  protected bufferNames(): readonly string[] {
    return ['momentum'];
  }

  protected update(p: Tensor, g: Tensor, slot: SlotState): Tensor {
    let d = this.weightDecay !== 0 ? add(g, mul(p, this.weightDecay)) : g;
    if (this.momentum !== 0) {
      const prev = slot.buffers.momentum;
      const buf = prev ? add(mul(prev, this.momentum), mul(d, 1 - this.dampening)) : d.clone();
      slot.buffers.momentum = buf;
      d = this.nesterov ? add(d, mul(buf, this.momentum)) : buf;
    }
    return p.sub(mul(d, this.lr));
  }
}
