import type { DType, ReduceOp } from '@recur/tensor';
import { Fn, ModuleBuilder, OP, SIMD, type ValType } from './emit.js';
import { emitGemmF32, type GemmShape, GP, gemmVariants } from './gemm.js';
import { emitGemvF32, GEMV_MAX_ROWS } from './gemv.js';

/**
 * The fixed kernels, assembled once per backend into one module: the f32 GEMM (see gemm.ts) and
 * its matrix–vector forms for up to four rows (gemv.ts), a plain f64 GEMM (exact, for gradient checks), reductions for every op and dtype, gather and
 * scatter-add. All take byte addresses into the shared memory.
 */
export const REDUCE_OPS: readonly ReduceOp[] = ['sum', 'max', 'min', 'argmax', 'argmin'];
export const DTYPES: readonly DType[] = ['f32', 'f64', 'i32'];

export function reduceName(op: ReduceOp, t: DType): string {
  return `reduce_${op}_${t}`;
}

export function scatterName(t: DType): string {
  return `scatter_${t}`;
}

export function buildCoreModule(
  memory: ConstructorParameters<typeof ModuleBuilder>[0],
  gemm: GemmShape,
): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder(memory);
  for (const v of gemmVariants(gemm)) mb.add(emitGemmF32(v.shape, v.name));
  for (let m = 1; m <= GEMV_MAX_ROWS; m++) mb.add(emitGemvF32(m, gemm.fma));
  mb.add(emitGemmF64());
  for (const op of REDUCE_OPS) for (const t of DTYPES) mb.add(emitReduce(op, t));
  mb.add(emitGather());
  for (const t of DTYPES) mb.add(emitScatter(t));
  mb.add(emitBulk('fill_bytes', 'fill'));
  mb.add(emitBulk('move_bytes', 'copy'));
  return mb.toBytes();
}

/**
 * fill_bytes(dst, byte, n) and move_bytes(dst, src, n): one memory.fill / memory.copy (which
 * handles overlap). The backend zeroes and moves bytes through these rather than through typed
 * arrays: on a shared memory, engines take a slow path for TypedArray fill/copyWithin (Node 20's
 * V8: zeroing 32 KiB took 9.9 µs against 0.4 µs on an unshared memory, copyWithin 2.5 times
 * longer), while the wasm instructions take 0.4 µs on either.
 */
function emitBulk(name: string, op: 'fill' | 'copy'): Fn {
  const f = new Fn(name, ['i32', 'i32', 'i32']);
  f.get(0).get(1).get(2);
  if (op === 'fill') f.memoryFill();
  else f.memoryCopy();
  return f;
}

/** C = (accumulate ? C : 0) + bias + op(A)·op(B) over rows [i0,i1), columns [j0,j1); one dot product per element. */
function emitGemmF64(): Fn {
  // gemm_f64(P, i0, i1, j0, j1, packA, packB, tile): the scratch arguments are unused.
  const f = new Fn('gemm_f64', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const L = () => f.local('i32');
  const v: Record<string, number> = { i0: 1, i1: 2, j0: 3, j1: 4 };
  const names = [
    'a',
    'b',
    'c',
    'm',
    'n',
    'k',
    'lda',
    'transA',
    'ldb',
    'transB',
    'ldc',
    'bias',
    'accumulate',
  ] as const;
  for (const name of names) {
    v[name] = L();
    f.get(0)
      .load('i32', GP[name] * 4)
      .set(v[name]);
  }
  const [sap, sak, sbk, sbn, i, j, p, pa, pb, cp] = [L(), L(), L(), L(), L(), L(), L(), L(), L(), L()];
  const acc = f.local('f64');
  // Byte strides: A(i, p) at a + i*sap + p*sak; B(p, j) at b + p*sbk + j*sbn.
  f.get(v.transA!).if('i32').i32(8).else().get(v.lda!).i32(3).op(OP.i32_shl).end().set(sap);
  f.get(v.transA!).if('i32').get(v.lda!).i32(3).op(OP.i32_shl).else().i32(8).end().set(sak);
  f.get(v.transB!).if('i32').i32(8).else().get(v.ldb!).i32(3).op(OP.i32_shl).end().set(sbk);
  f.get(v.transB!).if('i32').get(v.ldb!).i32(3).op(OP.i32_shl).else().i32(8).end().set(sbn);
  f.forRange(
    i,
    () => f.get(v.i0!),
    v.i1!,
    1,
    () => {
      f.forRange(
        j,
        () => f.get(v.j0!),
        v.j1!,
        1,
        () => {
          f.get(v.c!)
            .get(i)
            .get(v.ldc!)
            .op(OP.i32_mul)
            .get(j)
            .op(OP.i32_add)
            .i32(3)
            .op(OP.i32_shl)
            .op(OP.i32_add)
            .set(cp);
          f.get(v.accumulate!).if('f64').get(cp).load('f64').else().f64(0).end().set(acc);
          f.get(v.bias!).if();
          f.get(acc)
            .get(v.bias!)
            .get(j)
            .i32(3)
            .op(OP.i32_shl)
            .op(OP.i32_add)
            .load('f64')
            .op(OP.f64_add)
            .set(acc);
          f.end();
          f.get(v.a!).get(i).get(sap).op(OP.i32_mul).op(OP.i32_add).set(pa);
          f.get(v.b!).get(j).get(sbn).op(OP.i32_mul).op(OP.i32_add).set(pb);
          f.forRange(
            p,
            () => f.i32(0),
            v.k!,
            1,
            () => {
              f.get(acc).get(pa).load('f64').get(pb).load('f64').op(OP.f64_mul).op(OP.f64_add).set(acc);
              f.get(pa).get(sak).op(OP.i32_add).set(pa);
              f.get(pb).get(sbk).op(OP.i32_add).set(pb);
            },
          );
          f.get(cp).get(acc).store('f64');
        },
      );
    },
  );
  return f;
}

/**
 * reduce(in, out, size, inner, o0, o1, i0, i1): out[o, i] = reduce over s of in[o, s, i] for o in
 * [o0, o1) and i in [i0, i1).
 * Sums accumulate in f64 (f32 inputs four lanes at a time when inner >= 4); max/min propagate NaN;
 * argmax/argmin report the first extreme index (or the first NaN) as i32.
 */
function emitReduce(op: ReduceOp, t: DType): Fn {
  const f = new Fn(reduceName(op, t), ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [IN, OUT, SIZE, INNER, O0, O1, I0, I1] = [0, 1, 2, 3, 4, 5, 6, 7];
  const L = () => f.local('i32');
  const [o, i, s, p, rowStep, outp, best] = [L(), L(), L(), L(), L(), L(), L()];
  const es = t === 'f64' ? 8 : 4;
  const vt: ValType = t;
  const acc = f.local(op === 'sum' ? (t === 'i32' ? 'i32' : 'f64') : vt);
  const x = f.local(vt);
  const arg = op === 'argmax' || op === 'argmin';
  const outEs = arg ? 4 : es;
  f.get(INNER).i32(es).op(OP.i32_mul).set(rowStep);
  const vacc0 = f.local('v128');
  const vacc1 = f.local('v128');
  const vx = f.local('v128');
  f.forRange(
    o,
    () => f.get(O0),
    O1,
    1,
    () => {
      f.get(I0).set(i);
      if (op === 'sum' && t === 'f32') {
        // Four columns at a time: f64x2 accumulators over the promoted halves.
        const iEnd = L();
        f.get(I1).i32(3).op(OP.i32_sub).set(iEnd);
        f.block().loop();
        f.get(i).get(iEnd).op(OP.i32_ge_s).brIf(1);
        f.v128(new Uint8Array(16)).set(vacc0).v128(new Uint8Array(16)).set(vacc1);
        // p = in + ((o*size)*inner + i)*4
        f.get(IN).get(o).get(SIZE).op(OP.i32_mul).get(INNER).op(OP.i32_mul).get(i).op(OP.i32_add).i32(2);
        f.op(OP.i32_shl).op(OP.i32_add).set(p);
        f.forRange(
          s,
          () => f.i32(0),
          SIZE,
          1,
          () => {
            f.get(p).load('v128').set(vx);
            f.get(vacc0).get(vx).simd(SIMD.f64x2_promote_low_f32x4).simd(SIMD.f64x2_add).set(vacc0);
            f.get(vacc1).get(vx).get(vx).simd(SIMD.shuffle);
            for (const b of [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]) f.op(b);
            f.simd(SIMD.f64x2_promote_low_f32x4).simd(SIMD.f64x2_add).set(vacc1);
            f.get(p).get(rowStep).op(OP.i32_add).set(p);
          },
        );
        // out + (o*inner + i)*4
        f.get(OUT)
          .get(o)
          .get(INNER)
          .op(OP.i32_mul)
          .get(i)
          .op(OP.i32_add)
          .i32(2)
          .op(OP.i32_shl)
          .op(OP.i32_add)
          .set(outp);
        for (let lane = 0; lane < 4; lane++) {
          f.get(outp)
            .get(lane < 2 ? vacc0 : vacc1)
            .lane(SIMD.f64x2_extract_lane, lane % 2);
          f.op(OP.f32_demote_f64).store('f32', lane * 4);
        }
        f.get(i).i32(4).op(OP.i32_add).set(i);
        f.br(0).end().end();
      }
      // Remaining columns one at a time.
      f.block().loop();
      f.get(i).get(I1).op(OP.i32_ge_s).brIf(1);
      f.get(IN)
        .get(o)
        .get(SIZE)
        .op(OP.i32_mul)
        .get(INNER)
        .op(OP.i32_mul)
        .get(i)
        .op(OP.i32_add)
        .i32(es === 8 ? 3 : 2);
      f.op(OP.i32_shl).op(OP.i32_add).set(p);
      if (op === 'sum') {
        if (t === 'i32') f.i32(0);
        else f.f64(0);
        f.set(acc);
      } else {
        f.get(p).load(vt).set(acc);
        f.i32(0).set(best);
      }
      f.forRange(
        s,
        () => f.i32(op === 'sum' ? 0 : 1),
        SIZE,
        1,
        () => {
          if (op !== 'sum') f.get(p).get(rowStep).op(OP.i32_add).set(p);
          f.get(p).load(vt).set(x);
          if (op === 'sum') {
            f.get(acc).get(x);
            if (t === 'f32') f.op(OP.f64_promote_f32);
            f.op(t === 'i32' ? OP.i32_add : OP.f64_add).set(acc);
            f.get(p).get(rowStep).op(OP.i32_add).set(p);
            return;
          }
          const wantMax = op === 'max' || op === 'argmax';
          const cmp =
            t === 'i32'
              ? wantMax
                ? OP.i32_gt_s
                : OP.i32_lt_s
              : t === 'f32'
                ? wantMax
                  ? OP.f32_gt
                  : OP.f32_lt
                : wantMax
                  ? OP.f64_gt
                  : OP.f64_lt;
          // take = x is NaN or x beats acc; once acc is NaN it stays (checked before taking).
          if (t !== 'i32') {
            f.get(acc)
              .get(acc)
              .op(t === 'f32' ? OP.f32_ne : OP.f64_ne)
              .brIf(1);
          }
          f.get(x).get(acc).op(cmp);
          if (t !== 'i32')
            f.get(x)
              .get(x)
              .op(t === 'f32' ? OP.f32_ne : OP.f64_ne)
              .op(OP.i32_or);
          f.if();
          f.get(x).set(acc);
          f.get(s).set(best);
          f.end();
        },
      );
      f.get(OUT)
        .get(o)
        .get(INNER)
        .op(OP.i32_mul)
        .get(i)
        .op(OP.i32_add)
        .i32(outEs === 8 ? 3 : 2);
      f.op(OP.i32_shl).op(OP.i32_add);
      if (arg) f.get(best).store('i32');
      else if (op === 'sum' && t === 'f32') f.get(acc).op(OP.f32_demote_f64).store('f32');
      else f.get(acc).store(op === 'sum' && t === 'f64' ? 'f64' : vt);
      f.get(i).i32(1).op(OP.i32_add).set(i);
      f.br(0).end().end();
    },
  );
  return f;
}

/** gather(table, idx, out, axisSize, inner, count, rowBytes, o0, o1): rows copied with memory.copy. */
function emitGather(): Fn {
  const f = new Fn('gather', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [TABLE, IDX, OUT, AXIS, COUNT, ROW, O0, O1] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [o, j] = [f.local('i32'), f.local('i32')];
  f.forRange(
    o,
    () => f.get(O0),
    O1,
    1,
    () => {
      f.forRange(
        j,
        () => f.i32(0),
        COUNT,
        1,
        () => {
          // dst = out + (o*count + j)*row ; src = table + (o*axis + idx[j])*row
          f.get(OUT)
            .get(o)
            .get(COUNT)
            .op(OP.i32_mul)
            .get(j)
            .op(OP.i32_add)
            .get(ROW)
            .op(OP.i32_mul)
            .op(OP.i32_add);
          f.get(TABLE).get(o).get(AXIS).op(OP.i32_mul);
          f.get(IDX).get(j).i32(2).op(OP.i32_shl).op(OP.i32_add).load('i32');
          f.op(OP.i32_add).get(ROW).op(OP.i32_mul).op(OP.i32_add);
          f.get(ROW).memoryCopy();
        },
      );
    },
  );
  return f;
}

/** scatter_T(out, idx, upd, axisSize, inner, count, o0, o1): out[o, idx[j], :] += upd[o, j, :]. */
function emitScatter(t: DType): Fn {
  const f = new Fn(scatterName(t), ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [OUT, IDX, UPD, AXIS, INNER, COUNT, O0, O1] = [0, 1, 2, 3, 4, 5, 6, 7];
  const L = () => f.local('i32');
  const [o, j, i, dst, src] = [L(), L(), L(), L(), L()];
  const es = t === 'f64' ? 8 : 4;
  const sh = t === 'f64' ? 3 : 2;
  const vt: ValType = t;
  f.forRange(
    o,
    () => f.get(O0),
    O1,
    1,
    () => {
      f.forRange(
        j,
        () => f.i32(0),
        COUNT,
        1,
        () => {
          f.get(OUT).get(o).get(AXIS).op(OP.i32_mul);
          f.get(IDX).get(j).i32(2).op(OP.i32_shl).op(OP.i32_add).load('i32');
          f.op(OP.i32_add).get(INNER).op(OP.i32_mul).i32(sh).op(OP.i32_shl).op(OP.i32_add).set(dst);
          f.get(UPD).get(o).get(COUNT).op(OP.i32_mul).get(j).op(OP.i32_add).get(INNER).op(OP.i32_mul);
          f.i32(sh).op(OP.i32_shl).op(OP.i32_add).set(src);
          f.forRange(
            i,
            () => f.i32(0),
            INNER,
            1,
            () => {
              f.get(dst).get(dst).load(vt).get(src).load(vt);
              f.op(t === 'i32' ? OP.i32_add : t === 'f32' ? OP.f32_add : OP.f64_add).store(vt);
              f.get(dst).i32(es).op(OP.i32_add).set(dst);
              f.get(src).i32(es).op(OP.i32_add).set(src);
            },
          );
        },
      );
    },
  );
  return f;
}
