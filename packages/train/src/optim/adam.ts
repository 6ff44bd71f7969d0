import { add, maximum, mul, type Tensor, zerosLike } from '@recur/tensor';
import { checkNumber } from '../errors.js';
import { type Hyperparameters, Optimizer, type ParameterSource, type SlotState } from './optimizer.js';

export interface AdamOptions {
  /** Learning rate (default 0.001). */
  readonly lr?: number;
  /** Decay rates of the first and second moment (default [0.9, 0.999]). */
  readonly betas?: readonly [number, number];
  /** Added to the denominator (default 1e-8). */
  readonly eps?: number;
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay `p ← p·(1 - lr·λ)` (default 0.01). */
  readonly weightDecay?: number;
  /** Use the maximum of past second moments (AMSGrad; default false). */
  readonly amsgrad?: boolean;
}

/**
 * Adam, `torch.optim.Adam`: `m ← β1·m + (1-β1)·g`, `v ← β2·v + (1-β2)·g²`,
 * `p ← p - (lr / (1-β1ᵗ)) · m / (√v / √(1-β2ᵗ) + ε)`. Weight decay is an L2 penalty added to the
 * gradient (use `AdamW` for decoupled decay).
 */
export class Adam extends Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly amsgrad: boolean;
  /** Decoupled weight decay (AdamW) instead of L2. */
  protected readonly decoupled: boolean;

  constructor(
    params: ParameterSource,
    options: AdamOptions = {},
    variant: { name: string; decoupled: boolean } = { name: 'Adam', decoupled: false },
  ) {
    super(variant.name, params, options.lr ?? 0.001);
    const [b1, b2] = options.betas ?? [0.9, 0.999];
    this.beta1 = checkNumber(variant.name, 'betas[0]', b1, { min: 0, max: 1 });
    this.beta2 = checkNumber(variant.name, 'betas[1]', b2, { min: 0, max: 1 });
    this.eps = checkNumber(variant.name, 'eps', options.eps ?? 1e-8, { min: 0 });
    this.weightDecay = checkNumber(
      variant.name,
      'weightDecay',
      options.weightDecay ?? (variant.decoupled ? 0.01 : 0),
      {
        min: 0,
      },
    );
    this.amsgrad = options.amsgrad ?? false;
    this.decoupled = variant.decoupled;
  }

  get type(): string {
    return this.decoupled ? 'AdamW' : 'Adam';
  }

  protected hyper(): Hyperparameters {
    return {
      beta1: this.beta1,
      beta2: this.beta2,
      eps: this.eps,
      weightDecay: this.weightDecay,
      amsgrad: this.amsgrad,
    };
  }

  protected bufferNames(): readonly string[] {
    return ['expAvg', 'expAvgSq', 'maxExpAvgSq'];
  }

  protected override newSlot(p: Tensor): SlotState {
    const buffers: Record<string, Tensor> = { expAvg: zerosLike(p), expAvgSq: zerosLike(p) };
    if (this.amsgrad) buffers.maxExpAvgSq = zerosLike(p);
    return { step: 0, buffers };
  }

  protected update(p: Tensor, g: Tensor, slot: SlotState): Tensor {
    let param = p;
    if (this.weightDecay !== 0) {
      if (this.decoupled) param = mul(p, 1 - this.lr * this.weightDecay);
      else g = add(g, mul(p, this.weightDecay));
    }
    const b = slot.buffers;
    const m = add(mul(b.expAvg!, this.beta1), mul(g, 1 - this.beta1));
    const v = add(mul(b.expAvgSq!, this.beta2), mul(mul(g, g), 1 - this.beta2));
    b.expAvg = m;
    b.expAvgSq = v;
    const t = slot.step;
    const bias1 = 1 - this.beta1 ** t;
    const bias2Sqrt = Math.sqrt(1 - this.beta2 ** t);
    let second = v;
    if (this.amsgrad) {
      second = maximum(b.maxExpAvgSq!, v);
      b.maxExpAvgSq = second;
    }
    const denom = second.sqrt().div(bias2Sqrt).add(this.eps);
    return param.sub(m.div(denom).mul(this.lr / bias1));
  }
}

/**
 * AdamW, `torch.optim.AdamW` (Loshchilov & Hutter): Adam with decoupled weight decay, applied to the
 * parameter before the Adam step as `p ← p·(1 - lr·λ)` (default λ = 0.01).
 */
export class AdamW extends Adam {
  constructor(params: ParameterSource, options: AdamOptions = {}) {
    super(params, options, { name: 'AdamW', decoupled: true });
  }
}
