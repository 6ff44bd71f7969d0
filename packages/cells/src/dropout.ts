import { mul, type Rng, type Tensor, tidy } from '@recur/tensor';
import { expectTensor } from './checks.js';
import { checkProbability, rngOf } from './init.js';
import { Module } from './module.js';
import { dropoutMask } from './sequence.js';

export interface DropoutOptions {
  /** Probability of zeroing an element (default 0.5). */
  readonly p?: number;
  /** Seed of the masks (default 0): the n-th call in training mode always draws the same mask. */
  readonly seed?: number | Rng;
}

/**
 * Inverted dropout, `torch.nn.Dropout`: in training mode each element is zeroed with probability
 * `p` and the rest are scaled by `1/(1-p)`, so evaluation mode (`eval()`) is the identity.
 */
export class Dropout extends Module {
  readonly p: number;
  private readonly rng: Rng;

  constructor(options: DropoutOptions = {}) {
    super();
    this.p = options.p ?? 0.5;
    checkProbability('Dropout', 'p', this.p);
    this.rng = rngOf(options.seed);
  }

  forward(x: Tensor): Tensor {
    expectTensor('Dropout.forward', 'the input x', x);
    if (!this.training || this.p === 0) return x;
    return tidy(() => mul(x, dropoutMask(this.rng, x.shape, this.p, x)));
  }
}
