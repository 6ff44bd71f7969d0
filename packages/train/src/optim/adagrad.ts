import { add, fullLike, mul, type Tensor } from '@recur/tensor';
import { checkNumber } from '../errors.js';
import { type Hyperparameters, Optimizer, type ParameterSource, type SlotState } from './optimizer.js';

export interface AdagradOptions {
  /** Learning rate (default 0.01). */
  readonly lr?: number;
  /** Learning-rate decay: the t-th step uses lr / (1 + (t-1)·lrDecay) (default 0). */
  readonly lrDecay?: number;
  /** L2 penalty added to the gradient (default 0). */
  readonly weightDecay?: number;
  /** Starting value of the sum of squared gradients (default 0). */
  readonly initialAccumulatorValue?: number;
  /** Added to the denominator (default 1e-10). */
  readonly eps?: number;
}

/**
 * Adagrad, `torch.optim.Adagrad`: `s ← s + g²`, `p ← p - clr · g / (√s + ε)` with
 * `clr = lr / (1 + (t-1)·lrDecay)`.
 */
export class Adagrad extends Optimizer {
  readonly lrDecay: number;
  readonly weightDecay: number;
  readonly initialAccumulatorValue: number;
  readonly eps: number;

  constructor(params: ParameterSource, options: AdagradOptions = {}) {
    super('Adagrad', params, options.lr ?? 0.01);
    this.lrDecay = checkNumber('Adagrad', 'lrDecay', options.lrDecay ?? 0, { min: 0 });
    this.weightDecay = checkNumber('Adagrad', 'weightDecay', options.weightDecay ?? 0, { min: 0 });
    this.initialAccumulatorValue = checkNumber(
      'Adagrad',
      'initialAccumulatorValue',
      options.initialAccumulatorValue ?? 0,
      { min: 0 },
    );
    this.eps = checkNumber('Adagrad', 'eps', options.eps ?? 1e-10, { min: 0 });
  }

  get type(): string {
    return 'Adagrad';
  }

  protected hyper(): Hyperparameters {
    return {
      lrDecay: this.lrDecay,
      weightDecay: this.weightDecay,
      initialAccumulatorValue: this.initialAccumulatorValue,
      eps: this.eps,
    };
  }

  protected bufferNames(): readonly string[] {
    return ['sum'];
  }

  protected override newSlot(p: Tensor): SlotState {
    return { step: 0, buffers: { sum: fullLike(p, this.initialAccumulatorValue) } };
  }

  protected update(p: Tensor, g: Tensor, slot: SlotState): Tensor {
    if (this.weightDecay !== 0) g = add(g, mul(p, this.weightDecay));
    const clr = this.lr / (1 + (slot.step - 1) * this.lrDecay);
    const s = add(slot.buffers.sum!, mul(g, g));
    slot.buffers.sum = s;
    return p.sub(g.div(s.sqrt().add(this.eps)).mul(clr));
  }
}
