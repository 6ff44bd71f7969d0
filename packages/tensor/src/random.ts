import { RecurError } from './errors.js';

/** A generator's state as `Rng.state()` returns it. */
export interface RngState {
  readonly words: readonly [number, number, number, number];
  readonly spare: number | null;
}

/**
 * A seeded pseudo-random generator (xoshiro128**, seeded through splitmix32). Every random
 * source in Recur takes one of these or a seed, so runs are reproducible.
 */
export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare: number | null = null;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) {
      throw new RecurError(`Rng: expected a finite number as seed, found ${seed}.`);
    }
    let x = Math.trunc(seed) >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** The generator's state (xoshiro128** words and a cached normal deviate), to resume it later. */
  state(): RngState {
    return { words: [this.s0, this.s1, this.s2, this.s3], spare: this.spare };
  }

  /** Puts the generator in a state from `state()`: its next draws are those the saved one would make. */
  setState(state: RngState): void {
    const w: unknown = state?.words;
    if (
      !Array.isArray(w) ||
      w.length !== 4 ||
      !w.every((v) => Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 32)
    ) {
      throw new RecurError(
        `Rng.setState: expected { words: four 32-bit integers, spare: number | null } as returned by state(), found ${JSON.stringify(state)}.`,
      );
    }
    if ((w as number[]).every((v) => v === 0)) {
      throw new RecurError(
        'Rng.setState: expected a state with a non-zero word, found all zeros (xoshiro would only draw zeros).',
      );
    }
    [this.s0, this.s1, this.s2, this.s3] = (w as number[]).map((v) => v | 0) as [
      number,
      number,
      number,
      number,
    ];
    this.spare = typeof state.spare === 'number' && Number.isFinite(state.spare) ? state.spare : null;
  }

  /** A uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextU32() >>> 5;
    const lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Shuffles an array in place (Fisher–Yates). */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }

  /** An independent generator derived from this one. */
  fork(): Rng {
    return new Rng(this.nextU32());
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
