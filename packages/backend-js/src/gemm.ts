/**
 * Cache-blocked GEMM on typed arrays: C[m×n] (+)= op(A)·op(B) (+ bias).
 *
 * Operands are packed into f64 panels (4 rows of A, 4 columns of B, interleaved along k) so the
 * 4×4 register-blocked micro-kernel reads both sequentially and stays monomorphic whatever the
 * storage dtype. Blocking: NC columns of B and KC steps of k at a time, sized for L2.
 */
type Arr = Float32Array | Float64Array;

const KC = 256;
const NC = 512;
const MR = 4;
const NR = 4;

export interface GemmArgs {
  a: Arr;
  b: Arr;
  c: Arr;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  aOffset: number;
  bOffset: number;
  cOffset: number;
  bias: Arr | null;
  biasOffset: number;
  accumulate: boolean;
}

export class Gemm {
  private packA = new Float64Array(MR * KC);
  private packB = new Float64Array(KC * NC);
  private tile = new Float64Array(MR * NR);

  run(g: GemmArgs): void {
    const { m, n, k, c, cOffset } = g;
    if (m === 0 || n === 0) return;
    if (!g.accumulate) c.fill(0, cOffset, cOffset + m * n);
    if (g.bias) {
      const { bias, biasOffset } = g;
      for (let i = 0; i < m; i++) {
        const row = cOffset + i * n;
        for (let j = 0; j < n; j++) c[row + j] = c[row + j]! + bias[biasOffset + j]!;
      }
    }
    if (k === 0) return;
    for (let jc = 0; jc < n; jc += NC) {
      const nc = Math.min(NC, n - jc);
      for (let pc = 0; pc < k; pc += KC) {
        const kc = Math.min(KC, k - pc);
        this.packBBlock(g, pc, kc, jc, nc);
        for (let ic = 0; ic < m; ic += MR) {
          const mr = Math.min(MR, m - ic);
          this.packAPanel(g, ic, mr, pc, kc);
          for (let jr = 0; jr < nc; jr += NR) {
            const nr = Math.min(NR, nc - jr);
            this.micro(kc, jr * kc);
            this.store(c, cOffset + ic * n + jc + jr, n, mr, nr);
          }
        }
      }
    }
  }

  /** B block [kc × nc] → panels of NR columns: packB[panel·kc·NR + p·NR + j]. */
  private packBBlock(g: GemmArgs, pc: number, kc: number, jc: number, nc: number): void {
    const need = kc * (Math.ceil(nc / NR) * NR);
    if (this.packB.length < need) this.packB = new Float64Array(need);
    const pb = this.packB;
    const { b, bOffset, transB, k, n } = g;
    for (let jr = 0; jr < nc; jr += NR) {
      const base = jr * kc;
      const nr = Math.min(NR, nc - jr);
      for (let p = 0; p < kc; p++) {
        const dst = base + p * NR;
        for (let j = 0; j < NR; j++) {
          if (j < nr) {
            const col = jc + jr + j;
            const row = pc + p;
            pb[dst + j] = transB ? b[bOffset + col * k + row]! : b[bOffset + row * n + col]!;
          } else pb[dst + j] = 0;
        }
      }
    }
  }

  /** A panel [mr × kc] → packA[p·MR + i]. */
  private packAPanel(g: GemmArgs, ic: number, mr: number, pc: number, kc: number): void {
    const pa = this.packA;
    const { a, aOffset, transA, k, m } = g;
    for (let i = 0; i < MR; i++) {
      if (i >= mr) {
        for (let p = 0; p < kc; p++) pa[p * MR + i] = 0;
        continue;
      }
      const row = ic + i;
      if (transA) {
        for (let p = 0; p < kc; p++) pa[p * MR + i] = a[aOffset + (pc + p) * m + row]!;
      } else {
        const base = aOffset + row * k + pc;
        for (let p = 0; p < kc; p++) pa[p * MR + i] = a[base + p]!;
      }
    }
  }

  private micro(kc: number, bBase: number): void {
    const pa = this.packA;
    const pb = this.packB;
    let c00 = 0,
      c01 = 0,
      c02 = 0,
      c03 = 0;
    let c10 = 0,
      c11 = 0,
      c12 = 0,
      c13 = 0;
    let c20 = 0,
      c21 = 0,
      c22 = 0,
      c23 = 0;
    let c30 = 0,
      c31 = 0,
      c32 = 0,
      c33 = 0;
    for (let p = 0, ia = 0, ib = bBase; p < kc; p++, ia += 4, ib += 4) {
      const a0 = pa[ia]!,
        a1 = pa[ia + 1]!,
        a2 = pa[ia + 2]!,
        a3 = pa[ia + 3]!;
      const b0 = pb[ib]!,
        b1 = pb[ib + 1]!,
        b2 = pb[ib + 2]!,
        b3 = pb[ib + 3]!;
      c00 += a0 * b0;
      c01 += a0 * b1;
      c02 += a0 * b2;
      c03 += a0 * b3;
      c10 += a1 * b0;
      c11 += a1 * b1;
      c12 += a1 * b2;
      c13 += a1 * b3;
      c20 += a2 * b0;
      c21 += a2 * b1;
      c22 += a2 * b2;
      c23 += a2 * b3;
      c30 += a3 * b0;
      c31 += a3 * b1;
      c32 += a3 * b2;
      c33 += a3 * b3;
    }
    const t = this.tile;
    t[0] = c00;
    t[1] = c01;
    t[2] = c02;
    t[3] = c03;
    t[4] = c10;
    t[5] = c11;
    t[6] = c12;
    t[7] = c13;
    t[8] = c20;
    t[9] = c21;
    t[10] = c22;
    t[11] = c23;
    t[12] = c30;
    t[13] = c31;
    t[14] = c32;
    t[15] = c33;
  }

  private store(c: Arr, at: number, ldc: number, mr: number, nr: number): void {
    const t = this.tile;
    for (let i = 0; i < mr; i++) {
      const row = at + i * ldc;
      for (let j = 0; j < nr; j++) c[row + j] = c[row + j]! + t[i * 4 + j]!;
    }
  }
}
