import { Fn, OP, SIMD } from './emit.js';

/**
 * The f32 GEMM, generated as one WebAssembly function: C[m×n] (+)= op(A)·op(B) (+ bias), for the
 * rows [i0, i1) and columns [j0, j1) of C given in its parameter record (so several threads can
 * each take a block of C).
 *
 * Blocking (as GotoBLAS/BLIS): for each block of NC columns and KC steps of k, B is packed into
 * panels of NR columns ([kc][NR], contiguous), A into panels of MR rows ([kc][MR]) per block of MC
 * rows; the micro-kernel keeps an MR×NR tile of C in MR·NR/4 f32x4 registers, loads NR/4 vectors
 * of B and splats one value of A per row at each step of k (unrolled). A packed B may live in a
 * cache the caller keeps across calls (a weight matrix used at every time step is packed once).
 * Edge tiles are computed whole on zero-padded panels and stored through a small scratch tile.
 */
export interface GemmShape {
  /** Rows of the register tile (a multiple of 1). */
  readonly mr: number;
  /** Columns of the register tile (a multiple of 4). */
  readonly nr: number;
  readonly kc: number;
  readonly mc: number;
  readonly nc: number;
  /** Steps of k per loop iteration of the micro-kernel. */
  readonly unroll: number;
  /** Use relaxed SIMD's fused multiply-add. */
  readonly fma: boolean;
}

export const DEFAULT_GEMM: GemmShape = { mr: 4, nr: 8, kc: 256, mc: 64, nc: 1024, unroll: 1, fma: false };

/**
 * Field indices (i32 words) of the GEMM parameter record, shared by every thread of a call. The
 * block of C (i0, i1, j0, j1) and the thread's scratch (packA, packB, tile) are arguments.
 */
export const GP = {
  a: 0,
  b: 1,
  c: 2,
  m: 3,
  n: 4,
  k: 5,
  lda: 6,
  transA: 7,
  ldb: 8,
  transB: 9,
  ldc: 10,
  bias: 11,
  accumulate: 12,
  cache: 13,
  cacheValid: 14,
  size: 15,
} as const;

/**
 * Declares an i32 local for each named field of the GEMM parameter record and loads the field
 * into it from the record at local `P` (the kernels' preamble).
 */
export function loadParams<K extends Exclude<keyof typeof GP, 'size'>>(
  f: Fn,
  P: number,
  keys: readonly K[],
): Record<K, number> {
  const locals = {} as Record<K, number>;
  for (const key of keys) {
    const local = f.local('i32');
    f.get(P)
      .load('i32', GP[key] * 4)
      .set(local);
    locals[key] = local;
  }
  return locals;
}

/**
 * The f32 GEMM variants of a backend, by the rows of C they suit: a 4×8 register tile in general,
 * 1×16 and 2×16 tiles for one and two rows (batch-1 inference would waste most of a 4-row tile).
 */
export function gemmVariants(base: GemmShape): { readonly name: string; readonly shape: GemmShape }[] {
  return [
    { name: 'gemm_f32', shape: base },
    { name: 'gemm_f32_m1', shape: { ...base, mr: 1, nr: 16 } },
    { name: 'gemm_f32_m2', shape: { ...base, mr: 2, nr: 16 } },
  ];
}

/** The variant for an m-row product. */
export function gemmVariantFor(m: number): number {
  return m === 1 ? 1 : m === 2 ? 2 : 0;
}

/** Bytes of per-thread scratch the GEMM needs: packed A block, packed B block, one tile. */
export function gemmScratch(s: GemmShape): { packA: number; packB: number; tile: number } {
  const mcPad = Math.ceil(s.mc / s.mr) * s.mr;
  const ncPad = Math.ceil(s.nc / s.nr) * s.nr;
  return { packA: mcPad * s.kc * 4, packB: ncPad * s.kc * 4, tile: s.mr * s.nr * 4 };
}

/** Bytes of a packed-B cache for a k×n operand. */
export function packedBBytes(s: GemmShape, k: number, n: number): number {
  return Math.ceil(n / s.nr) * s.nr * k * 4;
}

export function emitGemmF32(s: GemmShape, name = 'gemm_f32'): Fn {
  const { mr, nr, kc: KC, mc: MC, nc: NC } = s;
  const nv = nr / 4;
  if (!Number.isInteger(nv) || nv < 1)
    throw new Error(`emitGemmF32: nr must be a multiple of 4, found ${nr}`);
  // gemm_f32(P, i0, i1, j0, j1, packA, packB, tile)
  const f = new Fn(name, ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const P = 0;
  const [i0, i1, j0, j1, packA, packB, tile] = [1, 2, 3, 4, 5, 6, 7];
  const L = () => f.local('i32');
  const { a, b, c, n, k, lda, transA, ldb, transB, ldc, bias, accumulate, cache, cacheValid } = loadParams(
    f,
    P,
    [
      'a',
      'b',
      'c',
      'n',
      'k',
      'lda',
      'transA',
      'ldb',
      'transB',
      'ldc',
      'bias',
      'accumulate',
      'cache',
      'cacheValid',
    ],
  );

  const jc = L();
  const ncEnd = L();
  const pc = L();
  const kc = L();
  const ic = L();
  const mcEnd = L();
  const jr = L();
  const ir = L();
  const bBase = L();
  const jOrigin = L();
  const npad = L();
  const doPack = L();
  const first = L();
  const ap = L();
  const bp = L();
  const pEnd = L();
  const pEnd1 = L();
  const rows = L();
  const cols = L();
  const cp = L();
  const t0 = L();
  const t1 = L();
  const t2 = L();
  const t3 = L();
  const src = L();
  const dst = L();
  const acc: number[][] = Array.from({ length: mr }, () => Array.from({ length: nv }, () => f.local('v128')));
  const bv: number[] = Array.from({ length: nv }, () => f.local('v128'));
  const av = f.local('v128');

  // npad = ceil(n / nr) * nr
  f.get(n)
    .i32(nr - 1)
    .op(OP.i32_add)
    .i32(nr)
    .op(OP.i32_div_u)
    .i32(nr)
    .op(OP.i32_mul)
    .set(npad);

  // for (jc = j0; jc < j1; jc += NC)
  f.forRange(
    jc,
    () => f.get(j0),
    j1,
    NC,
    () => {
      // ncEnd = min(jc + NC, j1)
      f.get(jc).i32(NC).op(OP.i32_add).tee(ncEnd).get(j1).get(ncEnd).get(j1).op(OP.i32_lt_s).op(OP.select);
      f.set(ncEnd);
      f.forRange(
        pc,
        () => f.i32(0),
        k,
        KC,
        () => {
          // kc = min(KC, k - pc)
          f.get(k)
            .get(pc)
            .op(OP.i32_sub)
            .tee(kc)
            .i32(KC)
            .get(kc)
            .i32(KC)
            .op(OP.i32_lt_s)
            .op(OP.select)
            .set(kc);
          f.get(pc).op(OP.i32_eqz).set(first);
          // Where the packed B block lives.
          f.get(cache).if();
          f.get(cache).get(pc).get(npad).op(OP.i32_mul).i32(2).op(OP.i32_shl).op(OP.i32_add).set(bBase);
          f.i32(0).set(jOrigin);
          f.get(cacheValid).op(OP.i32_eqz).set(doPack);
          f.else();
          f.get(packB).set(bBase);
          f.get(jc).set(jOrigin);
          f.i32(1).set(doPack);
          f.end();
          f.get(doPack).if();
          emitPackB();
          f.end();
          // for (ic = i0; ic < i1; ic += MC)
          f.forRange(
            ic,
            () => f.get(i0),
            i1,
            MC,
            () => {
              f.get(ic)
                .i32(MC)
                .op(OP.i32_add)
                .tee(mcEnd)
                .get(i1)
                .get(mcEnd)
                .get(i1)
                .op(OP.i32_lt_s)
                .op(OP.select);
              f.set(mcEnd);
              emitPackA();
              f.forRange(
                jr,
                () => f.get(jc),
                ncEnd,
                nr,
                () => {
                  // bp0 = bBase + ((jr - jOrigin) / nr) * kc * nr * 4
                  f.get(bBase)
                    .get(jr)
                    .get(jOrigin)
                    .op(OP.i32_sub)
                    .i32(nr)
                    .op(OP.i32_div_u)
                    .get(kc)
                    .op(OP.i32_mul)
                    .i32(nr * 4)
                    .op(OP.i32_mul)
                    .op(OP.i32_add)
                    .set(t2);
                  // cols = min(nr, ncEnd - jr)
                  f.get(ncEnd).get(jr).op(OP.i32_sub).tee(cols).i32(nr).get(cols).i32(nr).op(OP.i32_lt_s);
                  f.op(OP.select).set(cols);
                  f.forRange(
                    ir,
                    () => f.get(ic),
                    mcEnd,
                    mr,
                    () => {
                      f.get(packA)
                        .get(ir)
                        .get(ic)
                        .op(OP.i32_sub)
                        .i32(mr)
                        .op(OP.i32_div_u)
                        .get(kc)
                        .op(OP.i32_mul)
                        .i32(mr * 4)
                        .op(OP.i32_mul)
                        .op(OP.i32_add)
                        .set(ap);
                      f.get(t2).set(bp);
                      emitMicro();
                      f.get(mcEnd).get(ir).op(OP.i32_sub).tee(rows).i32(mr).get(rows).i32(mr).op(OP.i32_lt_s);
                      f.op(OP.select).set(rows);
                      emitStore();
                    },
                  );
                },
              );
            },
          );
        },
      );
    },
  );
  return f;

  /** Packs op(B)[pc:pc+kc, jc:ncEnd] into panels at bBase (panel of column j at (j-jOrigin)/nr). */
  function emitPackB(): void {
    // for (jr = jc; jr < ncEnd; jr += nr): dst = panel base; for p in 0..kc: for j in 0..nr
    f.forRange(
      jr,
      () => f.get(jc),
      ncEnd,
      nr,
      () => {
        f.get(bBase)
          .get(jr)
          .get(jOrigin)
          .op(OP.i32_sub)
          .i32(nr)
          .op(OP.i32_div_u)
          .get(kc)
          .op(OP.i32_mul)
          .i32(nr * 4)
          .op(OP.i32_mul)
          .op(OP.i32_add)
          .set(dst);
        f.get(n)
          .get(jr)
          .op(OP.i32_sub)
          .tee(cols)
          .i32(nr)
          .get(cols)
          .i32(nr)
          .op(OP.i32_lt_s)
          .op(OP.select)
          .set(cols);
        f.get(transB).op(OP.i32_eqz).get(cols).i32(nr).op(OP.i32_eq).op(OP.i32_and).if();
        // B stored [k×n]: row pc+p, columns jr..jr+nr are contiguous.
        // src = b + ((pc) * ldb + jr) * 4
        f.get(b).get(pc).get(ldb).op(OP.i32_mul).get(jr).op(OP.i32_add).i32(2).op(OP.i32_shl).op(OP.i32_add);
        f.set(src);
        f.get(dst)
          .get(kc)
          .i32(nr * 4)
          .op(OP.i32_mul)
          .op(OP.i32_add)
          .set(pEnd);
        f.block().loop();
        f.get(dst).get(pEnd).op(OP.i32_ge_u).brIf(1);
        for (let v = 0; v < nv; v++)
          f.get(dst)
            .get(src)
            .load('v128', v * 16)
            .store('v128', v * 16);
        f.get(dst)
          .i32(nr * 4)
          .op(OP.i32_add)
          .set(dst);
        f.get(src).get(ldb).i32(2).op(OP.i32_shl).op(OP.i32_add).set(src);
        f.br(0).end().end();
        f.else();
        // General: op(B)[p, j] = transB ? b[j*ldb + p] : b[p*ldb + j]; zero beyond n.
        // t0 = element stride along p, t1 = along j (in bytes)
        f.get(transB).if('i32').i32(4).else().get(ldb).i32(2).op(OP.i32_shl).end().set(t0);
        f.get(transB).if('i32').get(ldb).i32(2).op(OP.i32_shl).else().i32(4).end().set(t1);
        // src = b + pc*t0 + jr*t1
        f.get(b).get(pc).get(t0).op(OP.i32_mul).op(OP.i32_add).get(jr).get(t1).op(OP.i32_mul).op(OP.i32_add);
        f.set(src);
        // for j in 0..nr: column j of the panel
        f.forRange(
          t3,
          () => f.i32(0),
          constLocal(nr),
          1,
          () => {
            f.get(t3).get(cols).op(OP.i32_lt_s).if();
            // for p in 0..kc: dst[p*nr + j] = src[p*t0 + j*t1]
            f.get(src).get(t3).get(t1).op(OP.i32_mul).op(OP.i32_add).set(cp);
            f.get(dst).get(t3).i32(2).op(OP.i32_shl).op(OP.i32_add).set(ap);
            f.get(ap)
              .get(kc)
              .i32(nr * 4)
              .op(OP.i32_mul)
              .op(OP.i32_add)
              .set(pEnd);
            f.block().loop();
            f.get(ap).get(pEnd).op(OP.i32_ge_u).brIf(1);
            f.get(ap).get(cp).load('f32').store('f32');
            f.get(ap)
              .i32(nr * 4)
              .op(OP.i32_add)
              .set(ap);
            f.get(cp).get(t0).op(OP.i32_add).set(cp);
            f.br(0).end().end();
            f.else();
            f.get(dst).get(t3).i32(2).op(OP.i32_shl).op(OP.i32_add).set(ap);
            f.get(ap)
              .get(kc)
              .i32(nr * 4)
              .op(OP.i32_mul)
              .op(OP.i32_add)
              .set(pEnd);
            f.block().loop();
            f.get(ap).get(pEnd).op(OP.i32_ge_u).brIf(1);
            f.get(ap).f32(0).store('f32');
            f.get(ap)
              .i32(nr * 4)
              .op(OP.i32_add)
              .set(ap);
            f.br(0).end().end();
            f.end();
          },
        );
        f.end();
      },
    );
  }

  /** Packs op(A)[ic:mcEnd, pc:pc+kc] into panels of mr rows at packA ([kc][mr], zero-padded rows). */
  function emitPackA(): void {
    // t0 = stride along p, t1 = stride along rows (bytes)
    f.get(transA).if('i32').get(lda).i32(2).op(OP.i32_shl).else().i32(4).end().set(t0);
    f.get(transA).if('i32').i32(4).else().get(lda).i32(2).op(OP.i32_shl).end().set(t1);
    const mrL = constLocal(mr);
    f.forRange(
      ir,
      () => f.get(ic),
      mcEnd,
      mr,
      () => {
        // dst = packA + ((ir - ic)/mr) * kc * mr * 4
        f.get(packA).get(ir).get(ic).op(OP.i32_sub).i32(mr).op(OP.i32_div_u).get(kc).op(OP.i32_mul);
        f.i32(mr * 4)
          .op(OP.i32_mul)
          .op(OP.i32_add)
          .set(dst);
        // Transposed A with a whole panel: the mr rows at step p are contiguous, copied as vectors.
        f.get(transA)
          .get(ir)
          .i32(mr)
          .op(OP.i32_add)
          .get(mcEnd)
          .op(OP.i32_le_s)
          .op(OP.i32_and)
          .i32(mr % 4 === 0 ? 1 : 0);
        f.op(OP.i32_and).if();
        f.get(a)
          .get(pc)
          .get(t0)
          .op(OP.i32_mul)
          .op(OP.i32_add)
          .get(ir)
          .i32(2)
          .op(OP.i32_shl)
          .op(OP.i32_add)
          .set(cp);
        f.get(dst).set(ap);
        f.get(ap)
          .get(kc)
          .i32(mr * 4)
          .op(OP.i32_mul)
          .op(OP.i32_add)
          .set(pEnd);
        f.block().loop();
        f.get(ap).get(pEnd).op(OP.i32_ge_u).brIf(1);
        for (let v = 0; v < mr / 4; v++)
          f.get(ap)
            .get(cp)
            .load('v128', v * 16)
            .store('v128', v * 16);
        f.get(ap)
          .i32(mr * 4)
          .op(OP.i32_add)
          .set(ap);
        f.get(cp).get(t0).op(OP.i32_add).set(cp);
        f.br(0).end().end();
        f.else();
        if (mr === 4) {
          // Row-major A with a whole panel: 4×4 blocks loaded by rows and transposed in registers.
          f.get(transA)
            .op(OP.i32_eqz)
            .get(ir)
            .i32(4)
            .op(OP.i32_add)
            .get(mcEnd)
            .op(OP.i32_le_s)
            .op(OP.i32_and);
          f.if();
          emitPackARowMajor4();
          f.else();
        }
        f.forRange(
          t3,
          () => f.i32(0),
          mrL,
          1,
          () => {
            f.get(dst).get(t3).i32(2).op(OP.i32_shl).op(OP.i32_add).set(ap);
            f.get(ap)
              .get(kc)
              .i32(mr * 4)
              .op(OP.i32_mul)
              .op(OP.i32_add)
              .set(pEnd);
            f.get(ir).get(t3).op(OP.i32_add).get(mcEnd).op(OP.i32_lt_s).if();
            // src = a + pc*t0 + (ir+t3)*t1
            f.get(a).get(pc).get(t0).op(OP.i32_mul).op(OP.i32_add);
            f.get(ir).get(t3).op(OP.i32_add).get(t1).op(OP.i32_mul).op(OP.i32_add).set(cp);
            f.block().loop();
            f.get(ap).get(pEnd).op(OP.i32_ge_u).brIf(1);
            f.get(ap).get(cp).load('f32').store('f32');
            f.get(ap)
              .i32(mr * 4)
              .op(OP.i32_add)
              .set(ap);
            f.get(cp).get(t0).op(OP.i32_add).set(cp);
            f.br(0).end().end();
            f.else();
            f.block().loop();
            f.get(ap).get(pEnd).op(OP.i32_ge_u).brIf(1);
            f.get(ap).f32(0).store('f32');
            f.get(ap)
              .i32(mr * 4)
              .op(OP.i32_add)
              .set(ap);
            f.br(0).end().end();
            f.end();
          },
        );
        if (mr === 4) f.end();
        f.end();
      },
    );
  }

  /** Packs 4 full rows of row-major A (from row ir, columns pc..pc+kc) into the panel at dst. */
  function emitPackARowMajor4(): void {
    const [r0, r1, r2, r3] = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')];
    const [u0, u1, u2, u3] = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')];
    const row = f.local('i32');
    const end4 = f.local('i32');
    // cp = a + (ir*lda + pc)*4 ; row = lda*4 bytes ; ap = dst ; end4 = dst + (kc & ~3)*16
    f.get(a)
      .get(ir)
      .get(lda)
      .op(OP.i32_mul)
      .get(pc)
      .op(OP.i32_add)
      .i32(2)
      .op(OP.i32_shl)
      .op(OP.i32_add)
      .set(cp);
    f.get(lda).i32(2).op(OP.i32_shl).set(row);
    f.get(dst).set(ap);
    f.get(dst).get(kc).i32(-4).op(OP.i32_and).i32(4).op(OP.i32_shl).op(OP.i32_add).set(end4);
    f.get(dst).get(kc).i32(4).op(OP.i32_shl).op(OP.i32_add).set(pEnd);
    f.block().loop();
    f.get(ap).get(end4).op(OP.i32_ge_u).brIf(1);
    f.get(cp).load('v128').set(r0);
    f.get(cp).get(row).op(OP.i32_add).load('v128').set(r1);
    f.get(cp).get(row).i32(1).op(OP.i32_shl).op(OP.i32_add).load('v128').set(r2);
    f.get(cp).get(row).i32(3).op(OP.i32_mul).op(OP.i32_add).load('v128').set(r3);
    // u0 = (a0 b0 a1 b1), u1 = (a2 b2 a3 b3), u2 = (c0 d0 c1 d1), u3 = (c2 d2 c3 d3)
    shuffle32(r0, r1, [0, 4, 1, 5], u0);
    shuffle32(r0, r1, [2, 6, 3, 7], u1);
    shuffle32(r2, r3, [0, 4, 1, 5], u2);
    shuffle32(r2, r3, [2, 6, 3, 7], u3);
    // column p: (a_p b_p c_p d_p)
    f.get(ap);
    shuffle32(u0, u2, [0, 1, 4, 5]);
    f.store('v128', 0);
    f.get(ap);
    shuffle32(u0, u2, [2, 3, 6, 7]);
    f.store('v128', 16);
    f.get(ap);
    shuffle32(u1, u3, [0, 1, 4, 5]);
    f.store('v128', 32);
    f.get(ap);
    shuffle32(u1, u3, [2, 3, 6, 7]);
    f.store('v128', 48);
    f.get(ap).i32(64).op(OP.i32_add).set(ap);
    f.get(cp).i32(16).op(OP.i32_add).set(cp);
    f.br(0).end().end();
    // The last kc % 4 columns one value at a time.
    f.block().loop();
    f.get(ap).get(pEnd).op(OP.i32_ge_u).brIf(1);
    for (let r = 0; r < 4; r++) {
      f.get(ap).get(cp);
      if (r > 0) f.get(row).i32(r).op(OP.i32_mul).op(OP.i32_add);
      f.load('f32').store('f32', r * 4);
    }
    f.get(ap).i32(16).op(OP.i32_add).set(ap);
    f.get(cp).i32(4).op(OP.i32_add).set(cp);
    f.br(0).end().end();
  }

  /** i8x16.shuffle of two vectors by 32-bit lanes (0–3 from x, 4–7 from y); result set or left on the stack. */
  function shuffle32(x: number, y: number, lanes: readonly number[], into?: number): void {
    f.get(x).get(y).simd(SIMD.shuffle);
    for (const l of lanes) for (let b = 0; b < 4; b++) f.op(l * 4 + b);
    if (into !== undefined) f.set(into);
  }

  /** A new i32 local set to v (forRange takes its bound from a local). */
  function constLocal(v: number): number {
    const l = f.local('i32');
    f.i32(v).set(l);
    return l;
  }

  /** acc[r][v] = Σ_p A[r,p]·B[p, 4v..4v+4] over the packed panels at ap, bp. */
  function emitMicro(): void {
    for (const row of acc) for (const x of row) f.i32x4(0).set(x);
    const U = s.unroll;
    // pEnd = bp + (kc - kc % U) * nr * 4 ; pEnd1 = bp + kc * nr * 4
    f.get(bp)
      .get(kc)
      .get(kc)
      .i32(U)
      .op(OP.i32_rem_u)
      .op(OP.i32_sub)
      .i32(nr * 4)
      .op(OP.i32_mul)
      .op(OP.i32_add);
    f.set(pEnd);
    f.get(bp)
      .get(kc)
      .i32(nr * 4)
      .op(OP.i32_mul)
      .op(OP.i32_add)
      .set(pEnd1);
    const step = (u: number) => {
      for (let v = 0; v < nv; v++)
        f.get(bp)
          .load('v128', u * nr * 4 + v * 16)
          .set(bv[v]!);
      for (let r = 0; r < mr; r++) {
        f.get(ap)
          .splat32(u * mr * 4 + r * 4)
          .set(av);
        for (let v = 0; v < nv; v++) {
          if (s.fma) {
            f.get(av).get(bv[v]!).get(acc[r]![v]!).simd(SIMD.f32x4_relaxed_madd).set(acc[r]![v]!);
          } else {
            f.get(acc[r]![v]!).get(av).get(bv[v]!).simd(SIMD.f32x4_mul).simd(SIMD.f32x4_add).set(acc[r]![v]!);
          }
        }
      }
    };
    f.block().loop();
    f.get(bp).get(pEnd).op(OP.i32_ge_u).brIf(1);
    for (let u = 0; u < U; u++) step(u);
    f.get(ap)
      .i32(U * mr * 4)
      .op(OP.i32_add)
      .set(ap);
    f.get(bp)
      .i32(U * nr * 4)
      .op(OP.i32_add)
      .set(bp);
    f.br(0).end().end();
    if (U > 1) {
      f.block().loop();
      f.get(bp).get(pEnd1).op(OP.i32_ge_u).brIf(1);
      step(0);
      f.get(ap)
        .i32(mr * 4)
        .op(OP.i32_add)
        .set(ap);
      f.get(bp)
        .i32(nr * 4)
        .op(OP.i32_add)
        .set(bp);
      f.br(0).end().end();
    }
  }

  /**
   * Epilogue: C tile (+)= acc (+ bias on the first k block). C is read back unless this is the
   * first k block of a non-accumulating product.
   */
  function emitStore(): void {
    // cp = c + (ir*ldc + jr)*4
    f.get(c)
      .get(ir)
      .get(ldc)
      .op(OP.i32_mul)
      .get(jr)
      .op(OP.i32_add)
      .i32(2)
      .op(OP.i32_shl)
      .op(OP.i32_add)
      .set(cp);
    f.get(rows).i32(mr).op(OP.i32_eq).get(cols).i32(nr).op(OP.i32_eq).op(OP.i32_and).if();
    // Full tile.
    f.get(first).op(OP.i32_eqz).get(accumulate).op(OP.i32_or).if();
    for (let r = 0; r < mr; r++) {
      for (let v = 0; v < nv; v++) {
        f.get(acc[r]![v]!).get(cp);
        if (r > 0)
          f.get(ldc)
            .i32(r * 4)
            .op(OP.i32_mul)
            .op(OP.i32_add);
        f.load('v128', v * 16)
          .simd(SIMD.f32x4_add)
          .set(acc[r]![v]!);
      }
    }
    f.end();
    f.get(first).if();
    f.get(bias).if();
    for (let v = 0; v < nv; v++) {
      f.get(bias)
        .get(jr)
        .i32(2)
        .op(OP.i32_shl)
        .op(OP.i32_add)
        .load('v128', v * 16)
        .set(bv[v]!);
    }
    for (let r = 0; r < mr; r++) {
      for (let v = 0; v < nv; v++) f.get(acc[r]![v]!).get(bv[v]!).simd(SIMD.f32x4_add).set(acc[r]![v]!);
    }
    f.end();
    f.end();
    for (let r = 0; r < mr; r++) {
      for (let v = 0; v < nv; v++) {
        f.get(cp);
        if (r > 0)
          f.get(ldc)
            .i32(r * 4)
            .op(OP.i32_mul)
            .op(OP.i32_add);
        f.get(acc[r]![v]!).store('v128', v * 16);
      }
    }
    f.else();
    // Edge tile: through the scratch tile, element by element.
    for (let r = 0; r < mr; r++) {
      for (let v = 0; v < nv; v++)
        f.get(tile)
          .get(acc[r]![v]!)
          .store('v128', (r * nr + v * 4) * 4);
    }
    f.forRange(
      t0,
      () => f.i32(0),
      rows,
      1,
      () => {
        f.forRange(
          t1,
          () => f.i32(0),
          cols,
          1,
          () => {
            // dst = cp + (t0*ldc + t1)*4
            f.get(cp)
              .get(t0)
              .get(ldc)
              .op(OP.i32_mul)
              .get(t1)
              .op(OP.i32_add)
              .i32(2)
              .op(OP.i32_shl)
              .op(OP.i32_add);
            f.set(dst);
            f.get(dst);
            f.get(tile)
              .get(t0)
              .i32(nr)
              .op(OP.i32_mul)
              .get(t1)
              .op(OP.i32_add)
              .i32(2)
              .op(OP.i32_shl)
              .op(OP.i32_add);
            f.load('f32');
            f.get(first).op(OP.i32_eqz).get(accumulate).op(OP.i32_or).if('f32');
            f.get(dst).load('f32');
            f.else();
            f.f32(0);
            f.end();
            f.op(OP.f32_add);
            f.get(bias).i32(0).op(OP.i32_ne).get(first).op(OP.i32_and).if('f32');
            f.get(bias).get(jr).get(t1).op(OP.i32_add).i32(2).op(OP.i32_shl).op(OP.i32_add).load('f32');
            f.else();
            f.f32(0);
            f.end();
            f.op(OP.f32_add);
            f.store('f32');
          },
        );
      },
    );
    f.end();
  }
}
