import { Fn, OP, SIMD } from './emit.js';
import { loadParams } from './gemm.js';

/**
 * Matrix–vector products (and products with a few rows): C[m×n] (+)= op(A)·op(B) (+ bias) for
 * m ≤ GEMV_MAX_ROWS, on the operands as they lie in memory, without packing. One function per m
 * (`gemv_f32_m1` … `gemv_f32_m4`) with the GEMM's parameter record and arguments, computing all m
 * rows for the columns [j0, j1) of C.
 *
 * - transB (y = x·Wᵀ, W row-major [n×k], the usual layout of a layer's weights): every output is a
 *   dot product of a row of A with a row of W, both contiguous. Four rows of W are streamed at once
 *   against one or two rows of A held in vector accumulators (f32x4 lanes over k), then reduced
 *   across lanes with shuffles into one vector of four outputs. Rows of A beyond two are done in a
 *   second pass over the same four rows of W, which are in L1 by then. A transposed A (unless it
 *   is one contiguous row) is first copied row-major into the thread's packA scratch.
 * - otherwise (B row-major [k×n]): each row of B contributes a scaled row to C; a block of 16 (or
 *   8) columns of C stays in registers while the loop walks down the rows of B.
 *
 * Every output gets the same arithmetic wherever its column falls in [j0, j1), so splitting the
 * columns across threads gives bit-identical results: a dot product sums lane l of k in
 * 4-strides, the rest of k (k mod 4) in lane 0, then (l0 + l2) + (l1 + l3); C (when accumulating)
 * and then the bias are added last.
 */
export const GEMV_MAX_ROWS = 4;

export function gemvName(m: number): string {
  return `gemv_f32_m${m}`;
}

/**
 * Bytes of packA scratch a GEMV with a transposed A of m rows and depth k needs (with lda = m, as
 * the backend passes it: one row is contiguous as it is).
 */
export function gemvPackABytes(m: number, k: number): number {
  return m > 1 ? m * k * 4 : 0;
}

export function emitGemvF32(m: number, fma: boolean): Fn {
  if (!Number.isInteger(m) || m < 1 || m > GEMV_MAX_ROWS) {
    throw new Error(`emitGemvF32: expected 1 to ${GEMV_MAX_ROWS} rows, found ${m}`);
  }
  // gemv_f32_mM(P, i0, i1, j0, j1, packA, packB, tile): i0, i1, packB and tile are unused.
  const f = new Fn(gemvName(m), ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const P = 0;
  const [j0, j1, packA] = [3, 4, 5];
  const L = () => f.local('i32');
  const V = () => f.local('v128');
  const { a, b, c, k, lda, transA, ldb, transB, ldc, bias, accumulate } = loadParams(f, P, [
    'a',
    'b',
    'c',
    'k',
    'lda',
    'transA',
    'ldb',
    'transB',
    'ldc',
    'bias',
    'accumulate',
  ]);

  const j = L();
  const left = L();
  const p = L();
  const kb = L();
  const rowB = L();
  const cp = L();
  const t0 = L();
  const t1 = L();
  const res = V();
  const tmp = V();
  const ACC = 8;
  const acc: number[] = Array.from({ length: ACC }, V);
  const xv: number[] = [V(), V()];
  const wv = V();
  /** Pushes the byte address of C[row, j]: c + (row·ldc + j)·4. */
  const cAddress = (row: number): void => {
    f.get(c).get(ldc).i32(row).op(OP.i32_mul).get(j).op(OP.i32_add).i32(2).op(OP.i32_shl).op(OP.i32_add);
  };

  f.get(k).i32(2).op(OP.i32_shl).set(kb);
  f.get(ldb).i32(2).op(OP.i32_shl).set(rowB);
  f.get(transB).if();
  emitDot();
  f.else();
  emitAxpy();
  f.end();
  return f;

  /** acc += x·y, lane by lane (fused where the engine has relaxed SIMD and it was asked for). */
  function madd(accL: number, x: number, y: number): void {
    if (fma) f.get(x).get(y).get(accL).simd(SIMD.f32x4_relaxed_madd).set(accL);
    else f.get(accL).get(x).get(y).simd(SIMD.f32x4_mul).simd(SIMD.f32x4_add).set(accL);
  }

  /** i8x16.shuffle of two vectors by 32-bit lanes (0–3 from x, 4–7 from y), left on the stack. */
  function shuffle32(x: number, y: number, lanes: readonly number[]): void {
    f.get(x).get(y).simd(SIMD.shuffle);
    for (const l of lanes) for (let q = 0; q < 4; q++) f.op(l * 4 + q);
  }

  /** res = ((l0 + l2) + (l1 + l3)) of each of the four accumulators, as the lanes of one vector. */
  function reduceLanes(v: readonly number[]): void {
    const [a0, a1, a2, a3] = v as [number, number, number, number];
    shuffle32(a0, a1, [0, 4, 1, 5]);
    shuffle32(a0, a1, [2, 6, 3, 7]);
    f.simd(SIMD.f32x4_add).set(tmp);
    shuffle32(a2, a3, [0, 4, 1, 5]);
    shuffle32(a2, a3, [2, 6, 3, 7]);
    f.simd(SIMD.f32x4_add).set(res);
    shuffle32(tmp, res, [0, 1, 4, 5]);
    shuffle32(tmp, res, [2, 3, 6, 7]);
    f.simd(SIMD.f32x4_add).set(res);
  }

  /**
   * Stores res to the `count` (a local; all four when ≥ 4) elements of C at cp, after adding C
   * (when accumulating) and the bias of column j onwards. Partial vectors go lane by lane, so
   * nothing outside C or the bias is touched.
   */
  function storeVector(count: number | null, biasOffset: number): void {
    const full = () => {
      f.get(accumulate).if();
      f.get(res).get(cp).load('v128').simd(SIMD.f32x4_add).set(res);
      f.end();
      f.get(bias).if();
      f.get(res).get(bias).get(j).i32(2).op(OP.i32_shl).op(OP.i32_add).load('v128', biasOffset);
      f.simd(SIMD.f32x4_add).set(res);
      f.end();
      f.get(cp).get(res).store('v128');
    };
    if (count === null) {
      full();
      return;
    }
    f.get(count).i32(4).op(OP.i32_ge_s).if();
    full();
    f.else();
    const lanes = (addr: () => void) => {
      f.i32x4(0).set(tmp);
      for (let l = 0; l < 4; l++) {
        f.get(count).i32(l).op(OP.i32_gt_s).if();
        addr();
        f.get(tmp)
          .loadLane32(l, l * 4)
          .set(tmp);
        f.end();
      }
      f.get(res).get(tmp).simd(SIMD.f32x4_add).set(res);
    };
    f.get(accumulate).if();
    lanes(() => f.get(cp));
    f.end();
    f.get(bias).if();
    lanes(() => f.get(bias).get(j).i32(2).op(OP.i32_shl).op(OP.i32_add));
    f.end();
    for (let l = 0; l < 4; l++) {
      f.get(count).i32(l).op(OP.i32_gt_s).if();
      f.get(cp)
        .get(res)
        .storeLane32(l, l * 4);
      f.end();
    }
    f.end();
  }

  /** C = A·Bᵀ: dot products of rows of A with rows of B, four rows of B at a time. */
  function emitDot(): void {
    const rowA = L();
    const w: number[] = [L(), L(), L(), L()];
    const x: number[] = [L(), L()];
    const k16 = L();
    const k32 = L();
    // A transposed ([k×lda] in memory) and not a single contiguous row: copy it row-major into
    // packA first.
    f.get(transA).get(lda).i32(1).op(OP.i32_ne).op(OP.i32_and).if();
    f.get(a).set(t0);
    f.get(packA).set(t1);
    f.get(packA).get(kb).op(OP.i32_add).set(cp);
    f.block().loop();
    f.get(t1).get(cp).op(OP.i32_ge_u).brIf(1);
    for (let i = 0; i < m; i++) {
      f.get(t1);
      if (i > 0) f.get(kb).i32(i).op(OP.i32_mul).op(OP.i32_add);
      f.get(t0)
        .load('f32', i * 4)
        .store('f32');
    }
    f.get(t0).get(lda).i32(2).op(OP.i32_shl).op(OP.i32_add).set(t0);
    f.get(t1).i32(4).op(OP.i32_add).set(t1);
    f.br(0).end().end();
    f.get(packA).set(a);
    f.get(kb).set(rowA);
    f.else();
    f.get(lda).i32(2).op(OP.i32_shl).set(rowA);
    f.end();
    f.get(kb).i32(-16).op(OP.i32_and).set(k16);
    f.get(kb).i32(-32).op(OP.i32_and).set(k32);
    f.forRange(
      j,
      () => f.get(j0),
      j1,
      4,
      () => {
        f.get(j1).get(j).op(OP.i32_sub).set(left);
        // Rows of B for this block; past the end, the last row again (computed, never stored).
        f.get(b).get(j).get(rowB).op(OP.i32_mul).op(OP.i32_add).set(w[0]!);
        for (let r = 1; r < 4; r++) {
          f.get(w[r - 1]!)
            .get(rowB)
            .i32(0)
            .get(left)
            .i32(r)
            .op(OP.i32_gt_s)
            .op(OP.select);
          f.op(OP.i32_add).set(w[r]!);
        }
        for (let i0 = 0; i0 < m; i0 += 2) dotGroup(i0, Math.min(2, m - i0));
      },
    );

    /** Rows i0 … i0+g-1 of A against the four rows of B at w. */
    function dotGroup(i0: number, g: number): void {
      for (let i = 0; i < g; i++) {
        f.get(a);
        if (i0 + i > 0)
          f.get(rowA)
            .i32(i0 + i)
            .op(OP.i32_mul)
            .op(OP.i32_add);
        f.set(x[i]!);
      }
      for (let q = 0; q < 4 * g; q++) f.i32x4(0).set(acc[q]!);
      f.i32(0).set(p);
      /** One step of four (or one) along k: load the rows of A, then each row of B and multiply. */
      const step = (load: (addr: () => void, into: number) => void) => {
        for (let i = 0; i < g; i++) load(() => f.get(x[i]!).get(p).op(OP.i32_add), xv[i]!);
        for (let r = 0; r < 4; r++) {
          load(() => f.get(w[r]!).get(p).op(OP.i32_add), wv);
          for (let i = 0; i < g; i++) madd(acc[i * 4 + r]!, xv[i]!, wv);
        }
      };
      const vec = (off: number) =>
        step((addr, into) => {
          addr();
          f.load('v128', off).set(into);
        });
      const loopWhile = (end: number, stride: number, body: () => void) => {
        f.block().loop();
        f.get(p).get(end).op(OP.i32_ge_u).brIf(1);
        body();
        f.get(p).i32(stride).op(OP.i32_add).set(p);
        f.br(0).end().end();
      };
      if (g === 1) {
        // Two steps of four per iteration (one row of A leaves registers to spare).
        loopWhile(k32, 32, () => {
          vec(0);
          vec(16);
        });
      }
      loopWhile(k16, 16, () => vec(0));
      // k mod 4: one element at a time, in lane 0.
      loopWhile(kb, 4, () =>
        step((addr, into) => {
          addr();
          f.load32Zero().set(into);
        }),
      );
      for (let i = 0; i < g; i++) {
        reduceLanes(acc.slice(i * 4, i * 4 + 4));
        // cp = c + ((i0+i)*ldc + j)*4
        cAddress(i0 + i);
        f.set(cp);
        storeVector(left, 0);
      }
    }
  }

  /** C = A·B with B row-major [k×n]: a block of columns of C in registers while k runs. */
  function emitAxpy(): void {
    // Columns per block: 32 for one row (two cache lines of each row of B), 16 for two, 8 beyond.
    const nv = m === 1 ? 8 : m === 2 ? 4 : 2;
    // Element (i, p) of op(A) at a + i*rs + p*ps.
    const rs = L();
    const ps = L();
    const pEnd = L();
    const bp = L();
    const ar: number[] = Array.from({ length: m }, L);
    f.get(transA).if('i32').i32(4).else().get(lda).i32(2).op(OP.i32_shl).end().set(rs);
    f.get(transA).if('i32').get(lda).i32(2).op(OP.i32_shl).else().i32(4).end().set(ps);
    f.get(k).get(ps).op(OP.i32_mul).set(pEnd);
    for (let i = 0; i < m; i++) {
      f.get(a);
      if (i > 0) f.get(rs).i32(i).op(OP.i32_mul).op(OP.i32_add);
      f.set(ar[i]!);
    }
    const av: number[] = Array.from({ length: m }, V);
    f.get(j0).set(j);
    for (const width of nv === 2 ? [2, 1] : [nv, 1]) {
      // while (j + 4*width <= j1)
      f.block().loop();
      f.get(j)
        .i32(4 * width)
        .op(OP.i32_add)
        .get(j1)
        .op(OP.i32_gt_s)
        .brIf(1);
      for (let q = 0; q < m * width; q++) f.i32x4(0).set(acc[q]!);
      f.i32(0).set(p);
      f.get(b).get(j).i32(2).op(OP.i32_shl).op(OP.i32_add).set(bp);
      f.block().loop();
      f.get(p).get(pEnd).op(OP.i32_ge_u).brIf(1);
      for (let i = 0; i < m; i++) f.get(ar[i]!).get(p).op(OP.i32_add).splat32().set(av[i]!);
      for (let v = 0; v < width; v++) {
        f.get(bp)
          .load('v128', v * 16)
          .set(wv);
        for (let i = 0; i < m; i++) madd(acc[i * width + v]!, av[i]!, wv);
      }
      f.get(p).get(ps).op(OP.i32_add).set(p);
      f.get(bp).get(rowB).op(OP.i32_add).set(bp);
      f.br(0).end().end();
      for (let i = 0; i < m; i++) {
        for (let v = 0; v < width; v++) {
          f.get(acc[i * width + v]!).set(res);
          cAddress(i);
          f.i32(v * 16)
            .op(OP.i32_add)
            .set(cp);
          storeVector(null, v * 16);
        }
      }
      f.get(j)
        .i32(4 * width)
        .op(OP.i32_add)
        .set(j);
      f.br(0).end().end();
    }
    // The last n mod 4 columns, one at a time (scalar f32: same operations as a lane).
    const s: number[] = Array.from({ length: m }, () => f.local('f32'));
    f.block().loop();
    f.get(j).get(j1).op(OP.i32_ge_s).brIf(1);
    for (const x of s) f.f32(0).set(x);
    f.i32(0).set(p);
    f.get(b).get(j).i32(2).op(OP.i32_shl).op(OP.i32_add).set(bp);
    f.block().loop();
    f.get(p).get(pEnd).op(OP.i32_ge_u).brIf(1);
    for (let i = 0; i < m; i++) {
      f.get(s[i]!)
        .get(ar[i]!)
        .get(p)
        .op(OP.i32_add)
        .load('f32')
        .get(bp)
        .load('f32')
        .op(OP.f32_mul)
        .op(OP.f32_add)
        .set(s[i]!);
    }
    f.get(p).get(ps).op(OP.i32_add).set(p);
    f.get(bp).get(rowB).op(OP.i32_add).set(bp);
    f.br(0).end().end();
    for (let i = 0; i < m; i++) {
      cAddress(i);
      f.set(cp);
      f.get(accumulate).if();
      f.get(s[i]!).get(cp).load('f32').op(OP.f32_add).set(s[i]!);
      f.end();
      f.get(bias).if();
      f.get(s[i]!)
        .get(bias)
        .get(j)
        .i32(2)
        .op(OP.i32_shl)
        .op(OP.i32_add)
        .load('f32')
        .op(OP.f32_add)
        .set(s[i]!);
      f.end();
      f.get(cp).get(s[i]!).store('f32');
    }
    f.get(j).i32(1).op(OP.i32_add).set(j);
    f.br(0).end().end();
  }
}
