import { add, mul, type Tensor, zerosLike } from '@recur/tensor';
import { checkNumber } from '../errors.js';
import { type Hyperparameters, Optimizer, type ParameterSource, type SlotState } from './optimizer.js';

export interface RMSpropOptions {
  /** Learning rate (default 0.01). */
  readonly lr?: number;
  /** Smoothing constant of the squared-gradient average (default 0.99). */
  readonly alpha?: number;
  /** Added to the denominator (default 1e-8). */
  readonly eps?: number;
  /** L2 penalty added to the gradient (default 0). */
  readonly weightDecay?: number;
  /** Momentum factor (default 0). */
  readonly momentum?: number;
  /** Normalise by the estimated variance instead of the second moment (default false). */
  readonly centered?: boolean;
}

/**
 * RMSprop, `torch.optim.RMSprop`: `s ← α·s + (1-α)·g²`; the denominator is `√s + ε`, or centered
 * `√(s - ḡ²) + ε` with `ḡ ← α·ḡ + (1-α)·g`; the step is `p ← p - lr·g/denom`, or with momentum
 * `b ← μ·b + g/denom`, `p ← p - lr·b`.
 */
export class RMSprop extends Optimizer {
  readonly alpha: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly momentum: number;
  readonly centered: boolean;

  constructor(params: ParameterSource, options: RMSpropOptions = {}) {
    super('RMSprop', params, options.lr ?? 0.01);
    this.alpha = checkNumber('RMSprop', 'alpha', options.alpha ?? 0.99, { min: 0, max: 1 });
    this.eps = checkNumber('RMSprop', 'eps', options.eps ?? 1e-8, { min: 0 });
    this.weightDecay = checkNumber('RMSprop', 'weightDecay', options.weightDecay ?? 0, { min: 0 });
    this.momentum = checkNumber('RMSprop', 'momentum', options.momentum ?? 0, { min: 0 });
    this.centered = options.centered ?? false;
  }

  get type(): string {
    return 'RMSprop';
  }

  protected hyper(): Hyperparameters {
    return {
      alpha: this.alpha,
      eps: this.eps,
      weightDecay: this.weightDecay,
      momentum: this.momentum,
      centered: this.centered,
    };
  }

  protected bufferNames(): readonly string[] {
    return ['squareAvg', 'gradAvg', 'momentum'];
  }

  protected override newSlot(p: Tensor): SlotState {
    const buffers: Record<string, Tensor> = { squareAvg: zerosLike(p) };
    if (this.centered) buffers.gradAvg = zerosLike(p);
    if (this.momentum > 0) buffers.momentum = zerosLike(p);
    return { step: 0, buffers };
  }

  protected update(p: Tensor, g: Tensor, slot: SlotState): Tensor {
    if (this.weightDecay !== 0) g = add(g, mul(p, this.weightDecay));
    const b = slot.buffers;
    const s = add(mul(b.squareAvg!, this.alpha), mul(mul(g, g), 1 - this.alpha));
    b.squareAvg = s;
    let avg: Tensor;
    if (this.centered) {
      const ga = add(mul(b.gradAvg!, this.alpha), mul(g, 1 - this.alpha));
      b.gradAvg = ga;
      avg = s.sub(mul(ga, ga)).sqrt().add(this.eps);
    } else {
      avg = s.sqrt().add(this.eps);
    }
    if (this.momentum > 0) {
      const buf = add(mul(b.momentum!, this.momentum), g.div(avg));
      b.momentum = buf;
      return p.sub(mul(buf, this.lr));
    }
    return p.sub(g.div(avg).mul(this.lr));
  }
}
