import { type DType, type Expr, ex, exprChildren, exprKey } from '@recur/tensor';
import { Fn, OP, SIMD, type ValType } from './emit.js';
import { VMath } from './vmath.js';

/**
 * Elementwise kernels generated from expression trees. A call's index space is first simplified
 * (size-1 dimensions dropped, dimensions merged where every view is contiguous across them); the
 * last remaining dimension is the inner loop, the others are rows. Each view reads (or writes) its
 * inner dimension contiguously ('c'), as one broadcast value ('b') or with a stride ('s').
 *
 * Two code shapes:
 * - vector: f32/i32 expressions (the gate math of recurrent cells) run 4 lanes at a time in
 *   SIMD128, loading contiguous views with v128 loads and strided ones lane by lane; the last
 *   elements of a row go through the same vector code one lane at a time, so every element gets
 *   the same arithmetic. exp, log, tanh and sigmoid are polynomial (see vmath.ts).
 * - scalar: anything else (f64, pow, integer division, float-to-int casts), one element at a time,
 *   with exp/log/tanh/pow/sign from the host's Math so results equal the reference semantics.
 *
 * Subexpressions that occur more than once (by structure) are computed once per element.
 */
export type ViewClass = 'c' | 'b' | 's';

export interface EwSignature {
  readonly exprs: readonly Expr[];
  readonly inDTypes: readonly DType[];
  readonly outDTypes: readonly DType[];
  readonly inClass: readonly ViewClass[];
  readonly outClass: readonly ViewClass[];
  /** Dimensions after simplification (>= 1). */
  readonly rank: number;
}

/** Math functions imported by scalar kernels (module 'm'). */
export const MATH_IMPORTS = ['exp', 'log', 'tanh', 'pow', 'sign'] as const;

export function mathImports(): Record<string, (...x: number[]) => number> {
  return { exp: Math.exp, log: Math.log, tanh: Math.tanh, pow: Math.pow, sign: Math.sign };
}

const bytesOf = (t: DType) => (t === 'f64' ? 8 : 4);
const valType = (t: DType): ValType => t;

/** Whether every node can run in 4-lane SIMD over f32/i32 with results equal to the reference. */
export function vectorizable(exprs: readonly Expr[], inDTypes: readonly DType[]): boolean {
  if (inDTypes.some((t) => t === 'f64')) return false;
  const ok = (e: Expr): boolean => {
    if (e.dtype === 'f64') return false;
    switch (e.kind) {
      case 'input':
      case 'const':
        return true;
      case 'cast':
        if (e.dtype === 'i32' && e.a.dtype !== 'i32') return false;
        return ok(e.a);
      case 'unary':
        if (e.dtype === 'i32' && !['neg', 'abs', 'relu', 'sign'].includes(e.op)) return false;
        return ok(e.a);
      case 'binary':
        if (e.op === 'pow') return false;
        if (e.a.dtype === 'i32' && e.op === 'div') return false;
        if (e.a.dtype !== e.b.dtype) return false;
        if (e.dtype === 'i32' && e.a.dtype !== 'i32' && !isComparison(e.op)) return false;
        return ok(e.a) && ok(e.b);
      case 'where':
        return e.a.dtype === e.b.dtype && ok(e.cond) && ok(e.a) && ok(e.b);
    }
  };
  return exprs.every(ok);
}

function isComparison(op: string): boolean {
  return op === 'eq' || op === 'ne' || op === 'lt' || op === 'le' || op === 'gt' || op === 'ge';
}

/** Record layout (i32 words): inner size, R-1 outer sizes, then per view: base, inner stride, R-1 outer strides. */
export function paramWords(rank: number, views: number): number {
  return rank + views * (1 + rank);
}

/**
 * Emits `ew(P, rowStart, rowEnd, colStart, colEnd)`: computes rows [rowStart, rowEnd) and, within
 * each, inner indices [colStart, colEnd).
 */
export function emitElementwise(sig: EwSignature, imports: ReadonlyMap<string, number>): Fn {
  const vector = vectorizable(sig.exprs, sig.inDTypes);
  const f = new Fn('ew', ['i32', 'i32', 'i32', 'i32', 'i32']);
  f.hoistConstants = true;
  const [P, rowStart, rowEnd, colStart, colEnd] = [0, 1, 2, 3, 4];
  const R = sig.rank;
  const nIn = sig.inDTypes.length;
  const nOut = sig.outDTypes.length;
  const views = [
    ...sig.inDTypes.map((t, i) => ({ dtype: t, cls: sig.inClass[i]!, out: false })),
    ...sig.outDTypes.map((t, i) => ({ dtype: t, cls: sig.outClass[i]!, out: true })),
  ];
  const used = new Set<number>();
  const countUses = new Map<string, number>();
  const keyOf = new Map<Expr, string>();
  const key = (e: Expr) => {
    let k = keyOf.get(e);
    if (k === undefined) {
      k = exprKey(e);
      keyOf.set(e, k);
    }
    return k;
  };
  const visit = (e: Expr) => {
    if (e.kind === 'input') used.add(e.index);
    const k = key(e);
    const c = countUses.get(k) ?? 0;
    countUses.set(k, c + 1);
    if (c > 0) return;
    for (const ch of exprChildren(e)) visit(ch);
  };
  for (const e of sig.exprs) visit(e);

  const I = () => f.local('i32');
  const dims = Array.from({ length: R - 1 }, I);
  const base = views.map(() => I());
  const step = views.map(() => I()); // inner stride in bytes
  const ostr = views.map(() => Array.from({ length: R - 1 }, I)); // outer strides in bytes
  const ptr = views.map(() => I());
  const st2 = views.map((v) => (v.cls === 's' ? I() : -1));
  const st3 = views.map((v) => (v.cls === 's' ? I() : -1));
  const r = I();
  const q = I();
  const idx = I();
  const j = I();
  const jEnd = I();
  const jb = I();

  // Load the parameter record.
  // Word 0 (the inner size) is not needed: each call passes its column range.
  dims.forEach((d, k) => {
    f.get(P)
      .load('i32', 4 * (1 + k))
      .set(d);
  });
  views.forEach((v, vi) => {
    const at = 4 * (R + vi * (1 + R));
    const sz = bytesOf(v.dtype);
    f.get(P).load('i32', at).set(base[vi]!);
    f.get(P)
      .load('i32', at + 4)
      .i32(sz)
      .op(OP.i32_mul)
      .set(step[vi]!);
    ostr[vi]!.forEach((o, k) => {
      f.get(P)
        .load('i32', at + 8 + 4 * k)
        .i32(sz)
        .op(OP.i32_mul)
        .set(o);
    });
    if (v.cls === 's') {
      f.get(step[vi]!).i32(1).op(OP.i32_shl).set(st2[vi]!);
      f.get(step[vi]!).i32(3).op(OP.i32_mul).set(st3[vi]!);
    }
  });

  const vm = vector ? new VMath(f) : null;
  const valLocal = views.map((v) => (vector ? f.local('v128') : f.local(valType(v.dtype))));
  const bound = new Map<string, number>();

  f.forRange(
    r,
    () => f.get(rowStart),
    rowEnd,
    1,
    () => {
      // Row pointers: ptr = base + Σ idx_d · outer stride_d + colStart · inner stride.
      views.forEach((_, vi) => {
        f.get(base[vi]!).get(colStart).get(step[vi]!).op(OP.i32_mul).op(OP.i32_add).set(ptr[vi]!);
      });
      if (R > 1) {
        f.get(r).set(q);
        for (let d = R - 2; d >= 0; d--) {
          f.get(q).get(dims[d]!).op(OP.i32_rem_u).set(idx);
          f.get(q).get(dims[d]!).op(OP.i32_div_u).set(q);
          views.forEach((_, vi) => {
            f.get(ptr[vi]!).get(idx).get(ostr[vi]![d]!).op(OP.i32_mul).op(OP.i32_add).set(ptr[vi]!);
          });
        }
      }
      // Broadcast inputs: one value per row.
      for (let i = 0; i < nIn; i++) {
        if (!used.has(i) || views[i]!.cls !== 'b') continue;
        if (vector) f.get(ptr[i]!).splat32().set(valLocal[i]!);
        else f.get(ptr[i]!).load(valType(views[i]!.dtype)).set(valLocal[i]!);
      }
      f.get(colStart).set(j);
      if (vector) {
        // One byte index jb shared by every contiguous view (their row pointers stay put); only
        // strided views keep pointers of their own. Four lanes at a time while four remain.
        f.i32(0).set(jb);
        f.get(colEnd).get(colStart).op(OP.i32_sub).i32(3).op(OP.i32_sub).i32(2).op(OP.i32_shl).set(jEnd);
        f.block().loop();
        f.get(jb).get(jEnd).op(OP.i32_ge_s).brIf(1);
        emitBody(4);
        f.get(jb).i32(16).op(OP.i32_add).set(jb);
        f.br(0).end().end();
        f.get(colEnd).get(colStart).op(OP.i32_sub).i32(2).op(OP.i32_shl).set(jEnd);
        f.block().loop();
        f.get(jb).get(jEnd).op(OP.i32_ge_s).brIf(1);
        emitBody(1);
        f.get(jb).i32(4).op(OP.i32_add).set(jb);
        f.br(0).end().end();
      } else {
        f.block().loop();
        f.get(j).get(colEnd).op(OP.i32_ge_s).brIf(1);
        emitBody(1);
        f.get(j).i32(1).op(OP.i32_add).set(j);
        f.br(0).end().end();
      }
    },
  );
  return f;

  /** Pushes the address of view vi's current element (contiguous views in vector code: row pointer + jb). */
  function addr(vi: number): void {
    f.get(ptr[vi]!);
    if (vector && views[vi]!.cls === 'c') f.get(jb).op(OP.i32_add);
  }

  function emitBody(lanes: 4 | 1): void {
    bound.clear();
    for (let i = 0; i < nIn; i++) {
      if (!used.has(i)) continue;
      const v = views[i]!;
      if (v.cls === 'b') continue;
      if (!vector) {
        f.get(ptr[i]!).load(valType(v.dtype)).set(valLocal[i]!);
      } else if (lanes === 1) {
        addr(i);
        f.splat32().set(valLocal[i]!);
      } else if (v.cls === 'c') {
        addr(i);
        f.load('v128').set(valLocal[i]!);
      } else {
        f.get(ptr[i]!).splat32().set(valLocal[i]!);
        f.get(ptr[i]!).get(step[i]!).op(OP.i32_add).get(valLocal[i]!).loadLane32(1).set(valLocal[i]!);
        f.get(ptr[i]!).get(st2[i]!).op(OP.i32_add).get(valLocal[i]!).loadLane32(2).set(valLocal[i]!);
        f.get(ptr[i]!).get(st3[i]!).op(OP.i32_add).get(valLocal[i]!).loadLane32(3).set(valLocal[i]!);
      }
    }
    // Compute every output before storing any (an output may overwrite its own input in place).
    sig.exprs.forEach((e, k) => {
      if (vector) emitV(e);
      else emitS(e);
      f.set(valLocal[nIn + k]!);
    });
    for (let k = 0; k < nOut; k++) {
      const vi = nIn + k;
      const v = views[vi]!;
      if (!vector) {
        f.get(ptr[vi]!).get(valLocal[vi]!).store(valType(v.dtype));
      } else if (lanes === 1) {
        addr(vi);
        f.get(valLocal[vi]!).storeLane32(0);
      } else if (v.cls === 'c') {
        addr(vi);
        f.get(valLocal[vi]!).store('v128');
      } else {
        f.get(ptr[vi]!).get(valLocal[vi]!).storeLane32(0);
        f.get(ptr[vi]!).get(step[vi]!).op(OP.i32_add).get(valLocal[vi]!).storeLane32(1);
        f.get(ptr[vi]!).get(st2[vi]!).op(OP.i32_add).get(valLocal[vi]!).storeLane32(2);
        f.get(ptr[vi]!).get(st3[vi]!).op(OP.i32_add).get(valLocal[vi]!).storeLane32(3);
      }
    }
    views.forEach((v, vi) => {
      if (vi < nIn && (!used.has(vi) || v.cls === 'b')) return;
      if (vector && v.cls === 'c') return;
      f.get(ptr[vi]!);
      if (lanes === 4) f.get(step[vi]!).i32(2).op(OP.i32_shl);
      else f.get(step[vi]!);
      f.op(OP.i32_add).set(ptr[vi]!);
    });
  }

  /** CSE wrapper: a node used more than once is computed once per element into a local. */
  function cached(e: Expr, type: ValType, gen: () => void): void {
    if (e.kind === 'input' || e.kind === 'const' || (countUses.get(key(e)) ?? 0) < 2) {
      gen();
      return;
    }
    const k = key(e);
    const known = bound.get(k);
    if (known !== undefined) {
      f.get(known);
      return;
    }
    gen();
    const l = f.local(type);
    f.tee(l);
    bound.set(k, l);
  }

  function tmpV(): number {
    return f.local('v128');
  }

  // ------------------------------------------------------------------------------ vector code

  function emitV(e: Expr): void {
    cached(e, 'v128', () => emitVRaw(e));
  }

  function emitVRaw(e: Expr): void {
    switch (e.kind) {
      case 'input':
        f.get(valLocal[e.index]!);
        return;
      case 'const':
        if (e.dtype === 'i32') f.i32x4(e.value | 0);
        else f.f32x4(e.value);
        return;
      case 'cast':
        emitV(e.a);
        if (e.a.dtype === 'i32' && e.dtype === 'f32') f.simd(SIMD.f32x4_convert_i32x4_s);
        return;
      case 'where': {
        emitV(e.a);
        emitV(e.b);
        emitV(e.cond);
        f.i32x4(0);
        f.simd(e.cond.dtype === 'i32' ? SIMD.i32x4_ne : SIMD.f32x4_ne);
        f.simd(SIMD.bitselect);
        return;
      }
      case 'unary': {
        const int = e.dtype === 'i32';
        if (
          !int &&
          (e.op === 'exp' || e.op === 'log' || e.op === 'tanh' || e.op === 'sigmoid' || e.op === 'sign')
        ) {
          const x = tmpV();
          emitV(e.a);
          f.set(x);
          vm![e.op](x);
          return;
        }
        if (int && e.op === 'sign') {
          const x = tmpV();
          emitV(e.a);
          f.set(x);
          f.get(x).i32x4(0).simd(SIMD.i32x4_lt_s).get(x).i32x4(0).simd(SIMD.i32x4_gt_s).simd(SIMD.i32x4_sub);
          return;
        }
        emitV(e.a);
        switch (e.op) {
          case 'neg':
            f.simd(int ? SIMD.i32x4_neg : SIMD.f32x4_neg);
            return;
          case 'abs':
            f.simd(int ? SIMD.i32x4_abs : SIMD.f32x4_abs);
            return;
          case 'sqrt':
            f.simd(SIMD.f32x4_sqrt);
            return;
          case 'relu':
            // x < 0 ? 0 : x (pmax keeps NaN and -0 as JavaScript does).
            f.i32x4(0).simd(int ? SIMD.i32x4_max_s : SIMD.f32x4_pmax);
            return;
          default:
            throw new Error(`emitV: unexpected unary ${e.op}`);
        }
      }
      case 'binary': {
        const int = e.a.dtype === 'i32';
        emitV(e.a);
        emitV(e.b);
        const cmp: Record<string, [number, number]> = {
          eq: [SIMD.i32x4_eq, SIMD.f32x4_eq],
          ne: [SIMD.i32x4_ne, SIMD.f32x4_ne],
          lt: [SIMD.i32x4_lt_s, SIMD.f32x4_lt],
          le: [SIMD.i32x4_le_s, SIMD.f32x4_le],
          gt: [SIMD.i32x4_gt_s, SIMD.f32x4_gt],
          ge: [SIMD.i32x4_ge_s, SIMD.f32x4_ge],
        };
        const c = cmp[e.op];
        if (c) {
          f.simd(int ? c[0] : c[1])
            .i32x4(1)
            .simd(SIMD.and);
          return;
        }
        const ops: Record<string, [number, number]> = {
          add: [SIMD.i32x4_add, SIMD.f32x4_add],
          sub: [SIMD.i32x4_sub, SIMD.f32x4_sub],
          mul: [SIMD.i32x4_mul, SIMD.f32x4_mul],
          div: [-1, SIMD.f32x4_div],
          min: [SIMD.i32x4_min_s, SIMD.f32x4_min],
          max: [SIMD.i32x4_max_s, SIMD.f32x4_max],
        };
        const o = ops[e.op];
        if (!o || (int && o[0] < 0)) throw new Error(`emitV: unexpected binary ${e.op}`);
        f.simd(int ? o[0] : o[1]);
        return;
      }
    }
  }

  // ------------------------------------------------------------------------------ scalar code

  function emitS(e: Expr): void {
    cached(e, valType(e.dtype), () => emitSRaw(e));
  }

  function callMath(name: string): void {
    f.call(imports.get(name)!);
  }

  /** f64 → i32 as JavaScript's `Math.trunc(x) | 0` (0 for NaN and ±Infinity). */
  function f64ToI32(): void {
    const x = f.local('f64');
    f.set(x);
    f.get(x).misc(6).op(OP.i32_wrap_i64);
    f.i32(0);
    f.get(x).op(OP.f64_abs).f64(9.2e18).op(OP.f64_lt);
    f.op(OP.select);
  }

  function toF64(t: DType): void {
    if (t === 'f32') f.op(OP.f64_promote_f32);
    else if (t === 'i32') f.op(OP.f64_convert_i32_s);
  }

  function fromF64(t: DType): void {
    if (t === 'f32') f.op(OP.f32_demote_f64);
    else if (t === 'i32') f64ToI32();
  }

  function emitSRaw(e: Expr): void {
    switch (e.kind) {
      case 'input':
        f.get(valLocal[e.index]!);
        if (sig.inDTypes[e.index] !== e.dtype) throw new Error('emitS: input dtype mismatch');
        return;
      case 'const':
        if (e.dtype === 'i32') f.i32(e.value | 0);
        else if (e.dtype === 'f32') f.f32(e.value);
        else f.f64(e.value);
        return;
      case 'cast': {
        emitS(e.a);
        const from = e.a.dtype;
        const to = e.dtype;
        if (from === to) return;
        if (to === 'i32') {
          toF64(from);
          f64ToI32();
        } else if (to === 'f64') toF64(from);
        else if (from === 'i32') f.op(OP.f32_convert_i32_s);
        else f.op(OP.f32_demote_f64);
        return;
      }
      case 'where': {
        emitS(e.a);
        emitS(e.b);
        emitS(e.cond);
        if (e.cond.dtype === 'i32') f.i32(0).op(OP.i32_ne);
        else if (e.cond.dtype === 'f32') f.f32(0).op(OP.f32_ne);
        else f.f64(0).op(OP.f64_ne);
        f.op(OP.select);
        return;
      }
      case 'unary': {
        const t = e.dtype;
        if (t === 'i32') {
          const x = f.local('i32');
          emitS(e.a);
          f.set(x);
          switch (e.op) {
            case 'neg':
              f.i32(0).get(x).op(OP.i32_sub);
              return;
            case 'abs':
              f.i32(0).get(x).op(OP.i32_sub).get(x).get(x).i32(0).op(OP.i32_lt_s).op(OP.select);
              return;
            case 'relu':
              f.i32(0).get(x).get(x).i32(0).op(OP.i32_lt_s).op(OP.select);
              return;
            case 'sign':
              f.get(x).i32(0).op(OP.i32_gt_s).get(x).i32(0).op(OP.i32_lt_s).op(OP.i32_sub);
              return;
            default:
              // A float function computed on an integer type: as the reference, in f64, then truncated.
              f.get(x);
              toF64('i32');
              emitMathF64(e.op);
              f64ToI32();
              return;
          }
        }
        const f32 = t === 'f32';
        emitS(e.a);
        switch (e.op) {
          case 'neg':
            f.op(f32 ? OP.f32_neg : OP.f64_neg);
            return;
          case 'abs':
            f.op(f32 ? OP.f32_abs : OP.f64_abs);
            return;
          case 'sqrt':
            f.op(f32 ? OP.f32_sqrt : OP.f64_sqrt);
            return;
          case 'relu': {
            const x = f.local(t);
            f.set(x);
            if (f32) f.f32(0);
            else f.f64(0);
            f.get(x).get(x);
            if (f32) f.f32(0).op(OP.f32_lt);
            else f.f64(0).op(OP.f64_lt);
            f.op(OP.select);
            return;
          }
          default:
            toF64(t);
            emitMathF64(e.op);
            fromF64(t);
            return;
        }
      }
      case 'binary': {
        const at = e.a.dtype;
        const int = at === 'i32';
        if (e.op === 'pow') {
          emitS(e.a);
          toF64(at);
          emitS(e.b);
          toF64(e.b.dtype);
          callMath('pow');
          fromF64(e.dtype);
          return;
        }
        if (int && (e.op === 'div' || e.op === 'min' || e.op === 'max')) {
          const a = f.local('i32');
          const b = f.local('i32');
          emitS(e.a);
          f.set(a);
          emitS(e.b);
          f.set(b);
          if (e.op === 'div') {
            // b == 0 -> 0; INT_MIN / -1 -> INT_MIN (wraps as `| 0`); else truncating division.
            f.get(b).op(OP.i32_eqz).if('i32').i32(0).else();
            f.get(b).i32(-1).op(OP.i32_eq).if('i32').i32(0).get(a).op(OP.i32_sub);
            f.else().get(a).get(b).op(OP.i32_div_s).end();
            f.end();
          } else {
            f.get(a)
              .get(b)
              .get(a)
              .get(b)
              .op(e.op === 'min' ? OP.i32_lt_s : OP.i32_gt_s)
              .op(OP.select);
          }
          return;
        }
        emitS(e.a);
        emitS(e.b);
        const table: Record<string, [number, number, number]> = {
          add: [OP.i32_add, OP.f32_add, OP.f64_add],
          sub: [OP.i32_sub, OP.f32_sub, OP.f64_sub],
          mul: [OP.i32_mul, OP.f32_mul, OP.f64_mul],
          div: [-1, OP.f32_div, OP.f64_div],
          min: [-1, OP.f32_min, OP.f64_min],
          max: [-1, OP.f32_max, OP.f64_max],
          eq: [OP.i32_eq, OP.f32_eq, OP.f64_eq],
          ne: [OP.i32_ne, OP.f32_ne, OP.f64_ne],
          lt: [OP.i32_lt_s, OP.f32_lt, OP.f64_lt],
          le: [OP.i32_le_s, OP.f32_le, OP.f64_le],
          gt: [OP.i32_gt_s, OP.f32_gt, OP.f64_gt],
          ge: [OP.i32_ge_s, OP.f32_ge, OP.f64_ge],
        };
        const row = table[e.op]!;
        f.op(row[at === 'i32' ? 0 : at === 'f32' ? 1 : 2]);
        return;
      }
    }
  }

  /** Applies a float unary op to the f64 on the stack, as the reference does in f64. */
  function emitMathF64(op: string): void {
    switch (op) {
      case 'exp':
      case 'log':
      case 'tanh':
      case 'sign':
        callMath(op);
        return;
      case 'sigmoid': {
        const x = f.local('f64');
        f.set(x);
        f.f64(1).f64(1).get(x).op(OP.f64_neg);
        callMath('exp');
        f.op(OP.f64_add).op(OP.f64_div);
        return;
      }
      case 'sqrt':
        f.op(OP.f64_sqrt);
        return;
      case 'neg':
        f.op(OP.f64_neg);
        return;
      case 'abs':
        f.op(OP.f64_abs);
        return;
      case 'relu': {
        const x = f.local('f64');
        f.set(x);
        f.f64(0).get(x).get(x).f64(0).op(OP.f64_lt).op(OP.select);
        return;
      }
      default:
        throw new Error(`emitMathF64: unexpected op ${op}`);
    }
  }
}

/**
 * Rewrites input nodes to read each buffer in its stored dtype (casting to the node's dtype) and
 * casts each result to its output buffer's dtype, so loads and stores always match the memory.
 */
export function conformExprs(
  exprs: readonly Expr[],
  inDTypes: readonly DType[],
  outDTypes: readonly DType[],
): Expr[] {
  const fix = (e: Expr): Expr => {
    switch (e.kind) {
      case 'input': {
        const stored = inDTypes[e.index];
        return stored && stored !== e.dtype ? ex.cast(ex.input(e.index, stored), e.dtype) : e;
      }
      case 'const':
        return e;
      case 'cast': {
        const a = fix(e.a);
        return a === e.a ? e : { ...e, a };
      }
      case 'unary': {
        const a = fix(e.a);
        return a === e.a ? e : { ...e, a };
      }
      case 'binary': {
        const a = fix(e.a);
        const b = fix(e.b);
        return a === e.a && b === e.b ? e : { ...e, a, b };
      }
      case 'where': {
        const cond = fix(e.cond);
        const a = fix(e.a);
        const b = fix(e.b);
        return cond === e.cond && a === e.a && b === e.b ? e : { ...e, cond, a, b };
      }
    }
  };
  return exprs.map((e, k) => ex.cast(fix(e), outDTypes[k]!));
}
