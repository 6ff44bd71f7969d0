import { type Fn, SIMD } from './emit.js';

/**
 * f32x4 transcendental functions emitted inline: each takes its argument from a v128 local and
 * leaves the result on the stack. Polynomials from Cephes (as in the SSE `exp_ps`/`log_ps` family),
 * about 1–2 ulp in the usual ranges; special values (NaN, ±Infinity, 0, negatives for log,
 * overflow and underflow) follow IEEE/JavaScript semantics.
 */
/** 1.5·2^23 and its bit pattern: adding it rounds an f32 in (-2^22, 2^22) to an integer. */
const MAGIC = 12582912;
const MAGIC_BITS = 0x4b400000;

export class VMath {
  private readonly t: number[];

  constructor(private readonly f: Fn) {
    this.t = Array.from({ length: 6 }, () => f.local('v128'));
  }

  private mulC(c: number): void {
    this.f.f32x4(c).simd(SIMD.f32x4_mul);
  }

  private addC(c: number): void {
    this.f.f32x4(c).simd(SIMD.f32x4_add);
  }

  /** Horner: stack holds nothing; leaves p(x) with coefficients from the highest power down. */
  private horner(x: number, coeffs: readonly number[]): void {
    const f = this.f;
    f.f32x4(coeffs[0]!);
    for (let i = 1; i < coeffs.length; i++) {
      f.get(x).simd(SIMD.f32x4_mul);
      this.addC(coeffs[i]!);
    }
  }

  /** exp(x) of local `x`. */
  exp(x: number): void {
    const f = this.f;
    const [xc, fx, r, n, y, t] = this.t as [number, number, number, number, number, number];
    // Clamp: below -104 the result underflows to 0, above 88.7228 it overflows (fixed at the end).
    // pmax/pmin are single instructions (min/max with NaN and -0 rules are not) and keep NaN here.
    f.get(x).f32x4(-104).simd(SIMD.f32x4_pmax).f32x4(88.72283).simd(SIMD.f32x4_pmin).set(xc);
    // Round x·log2(e) to an integer by adding 1.5·2^23: the sum's low mantissa bits are the integer.
    f.get(xc);
    this.mulC(Math.LOG2E);
    this.addC(MAGIC);
    f.tee(t);
    this.addC(-MAGIC);
    f.set(fx);
    f.get(t).i32x4(MAGIC_BITS).simd(SIMD.i32x4_sub).set(n);
    // r = x - fx*C1 - fx*C2 (ln 2 in two parts)
    f.get(xc).get(fx);
    this.mulC(0.693359375);
    f.simd(SIMD.f32x4_sub).get(fx);
    this.mulC(-2.1219444e-4);
    f.simd(SIMD.f32x4_sub).set(r);
    // y = P(r)·r² + r + 1
    this.horner(
      r,
      [1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1],
    );
    f.get(r).get(r).simd(SIMD.f32x4_mul).simd(SIMD.f32x4_mul);
    f.get(r).simd(SIMD.f32x4_add);
    this.addC(1);
    f.set(y);
    // 2^n as two factors 2^(n>>1)·2^(n-(n>>1)), each a normal float even for n in [-150, 128].
    f.get(y);
    f.get(n).i32(1).simd(SIMD.i32x4_shr_s).i32x4(127).simd(SIMD.i32x4_add).i32(23).simd(SIMD.i32x4_shl);
    f.simd(SIMD.f32x4_mul);
    f.get(n).get(n).i32(1).simd(SIMD.i32x4_shr_s).simd(SIMD.i32x4_sub).i32x4(127).simd(SIMD.i32x4_add);
    f.i32(23).simd(SIMD.i32x4_shl).simd(SIMD.f32x4_mul);
    f.set(y);
    // Overflow: x > 88.7228 gives +Infinity.
    f.f32x4(Number.POSITIVE_INFINITY).get(y);
    f.get(x).f32x4(88.72283).simd(SIMD.f32x4_gt);
    f.simd(SIMD.bitselect);
  }

  /** log(x) of local `x`. */
  log(x: number): void {
    const f = this.f;
    const [xs, e, m, mask, z, y] = this.t as [number, number, number, number, number, number];
    // Subnormal inputs: scale by 2^23 first.
    f.get(x).f32x4(1.17549435e-38).simd(SIMD.f32x4_lt).set(mask);
    f.get(x).f32x4(8388608).simd(SIMD.f32x4_mul).get(x).get(mask).simd(SIMD.bitselect).set(xs);
    // e = exponent (frexp convention: m in [0.5, 1)), minus 23 for scaled subnormals.
    f.get(xs).i32(23).simd(SIMD.i32x4_shr_s).i32x4(0xff).simd(SIMD.and).i32x4(126).simd(SIMD.i32x4_sub);
    f.i32x4(23).get(mask).simd(SIMD.and).simd(SIMD.i32x4_sub);
    f.simd(SIMD.f32x4_convert_i32x4_s).set(e);
    f.get(xs).i32x4(0x807fffff).simd(SIMD.and).i32x4(0x3f000000).simd(SIMD.or).set(m);
    // if m < sqrt(1/2): e -= 1, m = 2m - 1 else m = m - 1
    f.get(m).f32x4(Math.SQRT1_2).simd(SIMD.f32x4_lt).set(mask);
    f.get(e).f32x4(1).get(mask).simd(SIMD.and).simd(SIMD.f32x4_sub).set(e);
    f.get(m).get(m).get(mask).simd(SIMD.and).simd(SIMD.f32x4_add);
    this.addC(-1);
    f.set(m);
    f.get(m).get(m).simd(SIMD.f32x4_mul).set(z);
    this.horner(
      m,
      [
        7.0376836292e-2, -1.151461031e-1, 1.167699874e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1,
        2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
      ],
    );
    f.get(m).simd(SIMD.f32x4_mul).get(z).simd(SIMD.f32x4_mul);
    f.get(e);
    this.mulC(-2.1219444e-4);
    f.simd(SIMD.f32x4_add);
    f.get(z);
    this.mulC(-0.5);
    f.simd(SIMD.f32x4_add);
    f.get(m).simd(SIMD.f32x4_add);
    f.get(e);
    this.mulC(0.693359375);
    f.simd(SIMD.f32x4_add).set(y);
    // Specials: x == 0 -> -Infinity; x == Infinity -> Infinity; x < 0 or NaN -> NaN.
    f.f32x4(Number.NEGATIVE_INFINITY).get(y).get(x).f32x4(0).simd(SIMD.f32x4_eq).simd(SIMD.bitselect).set(y);
    f.get(x).get(y).get(x).f32x4(Number.POSITIVE_INFINITY).simd(SIMD.f32x4_eq).simd(SIMD.bitselect).set(y);
    f.f32x4(Number.NaN).get(y);
    f.get(x).f32x4(0).simd(SIMD.f32x4_lt).get(x).get(x).simd(SIMD.f32x4_ne).simd(SIMD.or);
    f.simd(SIMD.bitselect);
  }

  /**
   * tanh(x) of local `x` as 1 - 2/(exp(2x) + 1): exact limits ±1 at both ends, and an absolute
   * error of about one f32 ulp of 1 near 0 (within the f32 tolerance of 1e-6 absolute).
   */
  tanh(x: number): void {
    const f = this.f;
    const e = this.f.local('v128');
    f.get(x).get(x).simd(SIMD.f32x4_add).set(e);
    f.f32x4(1).f32x4(2);
    this.exp(e);
    this.addC(1);
    f.simd(SIMD.f32x4_div).simd(SIMD.f32x4_sub);
  }

  /** sigmoid(x) = 1 / (1 + exp(-x)) of local `x`. */
  sigmoid(x: number): void {
    const f = this.f;
    const nx = this.f.local('v128');
    f.get(x).simd(SIMD.f32x4_neg).set(nx);
    f.f32x4(1);
    this.exp(nx);
    this.addC(1);
    f.simd(SIMD.f32x4_div);
  }

  /** Math.sign of local `x`: ±1, keeping ±0 and NaN. */
  sign(x: number): void {
    const f = this.f;
    f.get(x)
      .i32x4(0x80000000 | 0)
      .simd(SIMD.and)
      .f32x4(1)
      .simd(SIMD.or);
    f.get(x);
    f.get(x).f32x4(0).simd(SIMD.f32x4_gt).get(x).f32x4(0).simd(SIMD.f32x4_lt).simd(SIMD.or);
    f.simd(SIMD.bitselect);
  }
}
