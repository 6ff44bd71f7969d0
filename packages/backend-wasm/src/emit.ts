/**
 * A small WebAssembly binary emitter: enough of the MVP, bulk memory, and SIMD128 (plus relaxed
 * SIMD's fused multiply-add where the engine has it) to assemble the kernels of this package at
 * run time. No toolchain is involved: every module is built from these opcodes in memory.
 */

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';

const TYPE_CODE: Readonly<Record<ValType, number>> = {
  i32: 0x7f,
  i64: 0x7e,
  f32: 0x7d,
  f64: 0x7c,
  v128: 0x7b,
};

export function uleb(n: number, out: number[] = []): number[] {
  n >>>= 0;
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

export function sleb(n: number, out: number[] = []): number[] {
  n |= 0;
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const F32 = new Float32Array(1);
const F64 = new Float64Array(1);
const B32 = new Uint8Array(F32.buffer);
const B64 = new Uint8Array(F64.buffer);

/** Block types for `block`, `loop` and `if`. */
export type BlockType = ValType | 'void';

/** SIMD opcodes (after the 0xfd prefix) used by this package. */
export const SIMD = {
  load: 0x00,
  load32_splat: 0x09,
  load64_splat: 0x0a,
  store: 0x0b,
  const: 0x0c,
  shuffle: 0x0d,
  i32x4_splat: 0x11,
  f32x4_splat: 0x13,
  f64x2_splat: 0x14,
  i32x4_extract_lane: 0x1b,
  i32x4_replace_lane: 0x1c,
  f32x4_extract_lane: 0x1f,
  f32x4_replace_lane: 0x20,
  f64x2_extract_lane: 0x21,
  f64x2_replace_lane: 0x22,
  i32x4_eq: 0x37,
  i32x4_ne: 0x38,
  i32x4_lt_s: 0x39,
  i32x4_gt_s: 0x3b,
  i32x4_le_s: 0x3d,
  i32x4_ge_s: 0x3f,
  f32x4_eq: 0x41,
  f32x4_ne: 0x42,
  f32x4_lt: 0x43,
  f32x4_gt: 0x44,
  f32x4_le: 0x45,
  f32x4_ge: 0x46,
  not: 0x4d,
  and: 0x4e,
  andnot: 0x4f,
  or: 0x50,
  xor: 0x51,
  bitselect: 0x52,
  load32_lane: 0x56,
  store32_lane: 0x5a,
  load32_zero: 0x5c,
  load64_zero: 0x5d,
  f64x2_promote_low_f32x4: 0x5f,
  f32x4_nearest: 0x6a,
  i32x4_abs: 0xa0,
  i32x4_neg: 0xa1,
  i32x4_shl: 0xab,
  i32x4_shr_s: 0xac,
  i32x4_add: 0xae,
  i32x4_sub: 0xb1,
  i32x4_mul: 0xb5,
  i32x4_min_s: 0xb6,
  i32x4_max_s: 0xb8,
  f32x4_abs: 0xe0,
  f32x4_neg: 0xe1,
  f32x4_sqrt: 0xe3,
  f32x4_add: 0xe4,
  f32x4_sub: 0xe5,
  f32x4_mul: 0xe6,
  f32x4_div: 0xe7,
  f32x4_min: 0xe8,
  f32x4_max: 0xe9,
  f32x4_pmin: 0xea,
  f32x4_pmax: 0xeb,
  f64x2_add: 0xf0,
  f64x2_mul: 0xf2,
  i32x4_trunc_sat_f32x4_s: 0xf8,
  f32x4_convert_i32x4_s: 0xfa,
  f32x4_relaxed_madd: 0x105,
} as const;

/** Scalar opcodes used by this package. */
export const OP = {
  unreachable: 0x00,
  return: 0x0f,
  drop: 0x1a,
  select: 0x1b,
  i32_eqz: 0x45,
  i32_eq: 0x46,
  i32_ne: 0x47,
  i32_lt_s: 0x48,
  i32_lt_u: 0x49,
  i32_gt_s: 0x4a,
  i32_gt_u: 0x4b,
  i32_le_s: 0x4c,
  i32_le_u: 0x4d,
  i32_ge_s: 0x4e,
  i32_ge_u: 0x4f,
  f32_eq: 0x5b,
  f32_ne: 0x5c,
  f32_lt: 0x5d,
  f32_gt: 0x5e,
  f32_le: 0x5f,
  f32_ge: 0x60,
  f64_eq: 0x61,
  f64_ne: 0x62,
  f64_lt: 0x63,
  f64_gt: 0x64,
  f64_le: 0x65,
  f64_ge: 0x66,
  i32_add: 0x6a,
  i32_sub: 0x6b,
  i32_mul: 0x6c,
  i32_div_s: 0x6d,
  i32_div_u: 0x6e,
  i32_rem_u: 0x70,
  i32_and: 0x71,
  i32_or: 0x72,
  i32_xor: 0x73,
  i32_shl: 0x74,
  i32_shr_s: 0x75,
  i32_shr_u: 0x76,
  f32_abs: 0x8b,
  f32_neg: 0x8c,
  f32_sqrt: 0x91,
  f32_add: 0x92,
  f32_sub: 0x93,
  f32_mul: 0x94,
  f32_div: 0x95,
  f32_min: 0x96,
  f32_max: 0x97,
  f32_copysign: 0x98,
  f64_abs: 0x99,
  f64_neg: 0x9a,
  f64_sqrt: 0x9f,
  f64_add: 0xa0,
  f64_sub: 0xa1,
  f64_mul: 0xa2,
  f64_div: 0xa3,
  f64_min: 0xa4,
  f64_max: 0xa5,
  f64_copysign: 0xa6,
  i32_wrap_i64: 0xa7,
  f32_convert_i32_s: 0xb2,
  f32_demote_f64: 0xb6,
  f64_convert_i32_s: 0xb7,
  f64_promote_f32: 0xbb,
} as const;

/**
 * One function body under construction. Instructions are appended with the methods below; locals
 * are allocated by type with `local()`. Memory instructions take byte offsets (static immediates).
 */
export class Fn {
  readonly code: number[] = [];
  /** Instructions run before `code`: initialisation of hoisted constants. */
  readonly prologue: number[] = [];
  /**
   * When set, each distinct v128 constant is computed once into a local at function entry instead
   * of at every use (engines rebuild a v128.const with several instructions inside loops).
   */
  hoistConstants = false;
  private readonly localTypes: ValType[] = [];
  private readonly constLocals = new Map<string, number>();

  constructor(
    readonly name: string | null,
    readonly params: readonly ValType[],
    readonly results: readonly ValType[] = [],
  ) {}

  /** A new local of the given type; its index follows the parameters. */
  local(type: ValType): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  get locals(): readonly ValType[] {
    return this.localTypes;
  }

  op(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }

  simd(opcode: number): this {
    this.code.push(0xfd);
    uleb(opcode, this.code);
    return this;
  }

  get(i: number): this {
    this.code.push(0x20);
    uleb(i, this.code);
    return this;
  }

  set(i: number): this {
    this.code.push(0x21);
    uleb(i, this.code);
    return this;
  }

  tee(i: number): this {
    this.code.push(0x22);
    uleb(i, this.code);
    return this;
  }

  i32(n: number): this {
    this.code.push(0x41);
    sleb(n, this.code);
    return this;
  }

  f32(x: number): this {
    F32[0] = x;
    this.code.push(0x43, ...B32);
    return this;
  }

  f64(x: number): this {
    F64[0] = x;
    this.code.push(0x44, ...B64);
    return this;
  }

  /** v128.const from 16 bytes. */
  v128(bytes: ArrayLike<number>): this {
    if (this.hoistConstants) {
      const b = Array.from({ length: 16 }, (_, i) => bytes[i]! & 0xff);
      const key = b.join(',');
      let l = this.constLocals.get(key);
      if (l === undefined) {
        l = this.local('v128');
        this.prologue.push(0xfd, ...uleb(SIMD.const), ...b, 0x21, ...uleb(l));
        this.constLocals.set(key, l);
      }
      return this.get(l);
    }
    this.simd(SIMD.const);
    for (let i = 0; i < 16; i++) this.code.push(bytes[i]! & 0xff);
    return this;
  }

  f32x4(x: number): this {
    F32[0] = x;
    return this.v128([...B32, ...B32, ...B32, ...B32]);
  }

  i32x4(n: number): this {
    const b = [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
    return this.v128([...b, ...b, ...b, ...b]);
  }

  private memarg(align: number, offset: number): this {
    this.code.push(align);
    uleb(offset, this.code);
    return this;
  }

  load(type: ValType, offset = 0): this {
    switch (type) {
      case 'i32':
        return this.op(0x28).memarg(2, offset);
      case 'i64':
        return this.op(0x29).memarg(3, offset);
      case 'f32':
        return this.op(0x2a).memarg(2, offset);
      case 'f64':
        return this.op(0x2b).memarg(3, offset);
      case 'v128':
        return this.simd(SIMD.load).memarg(4, offset);
    }
  }

  store(type: ValType, offset = 0): this {
    switch (type) {
      case 'i32':
        return this.op(0x36).memarg(2, offset);
      case 'i64':
        return this.op(0x37).memarg(3, offset);
      case 'f32':
        return this.op(0x38).memarg(2, offset);
      case 'f64':
        return this.op(0x39).memarg(3, offset);
      case 'v128':
        return this.simd(SIMD.store).memarg(4, offset);
    }
  }

  /** v128.load32_splat: one 32-bit value into every lane. */
  splat32(offset = 0): this {
    return this.simd(SIMD.load32_splat).memarg(2, offset);
  }

  /** v128.load32_zero: one 32-bit value into lane 0, the other lanes zero. */
  load32Zero(offset = 0): this {
    return this.simd(SIMD.load32_zero).memarg(2, offset);
  }

  /** v128.load32_lane: [addr, vec] -> vec with lane replaced from memory. */
  loadLane32(lane: number, offset = 0): this {
    this.simd(SIMD.load32_lane).memarg(2, offset);
    this.code.push(lane);
    return this;
  }

  /** v128.store32_lane: [addr, vec] -> stores one lane. */
  storeLane32(lane: number, offset = 0): this {
    this.simd(SIMD.store32_lane).memarg(2, offset);
    this.code.push(lane);
    return this;
  }

  lane(opcode: number, lane: number): this {
    this.simd(opcode);
    this.code.push(lane);
    return this;
  }

  private blockType(t: BlockType): number {
    return t === 'void' ? 0x40 : TYPE_CODE[t];
  }

  block(t: BlockType = 'void'): this {
    return this.op(0x02, this.blockType(t));
  }

  loop(t: BlockType = 'void'): this {
    return this.op(0x03, this.blockType(t));
  }

  if(t: BlockType = 'void'): this {
    return this.op(0x04, this.blockType(t));
  }

  else(): this {
    return this.op(0x05);
  }

  end(): this {
    return this.op(0x0b);
  }

  br(depth: number): this {
    this.code.push(0x0c);
    uleb(depth, this.code);
    return this;
  }

  brIf(depth: number): this {
    this.code.push(0x0d);
    uleb(depth, this.code);
    return this;
  }

  call(index: number): this {
    this.code.push(0x10);
    uleb(index, this.code);
    return this;
  }

  /** A 0xfc-prefixed instruction (saturating truncations, bulk memory). */
  misc(opcode: number, ...imm: number[]): this {
    this.code.push(0xfc);
    uleb(opcode, this.code);
    this.code.push(...imm);
    return this;
  }

  /**
   * A 0xfe-prefixed atomic memory instruction of the threads proposal (e.g. 0x10
   * i32.atomic.load, 0x17 i32.atomic.store, 0x1e i32.atomic.rmw.add), naturally aligned i32.
   */
  atomic(opcode: number, offset = 0): this {
    this.code.push(0xfe);
    uleb(opcode, this.code);
    return this.memarg(2, offset);
  }

  /** memory.copy [dst, src, n]. */
  memoryCopy(): this {
    return this.misc(10, 0, 0);
  }

  /** memory.fill [dst, byte, n]. */
  memoryFill(): this {
    return this.misc(11, 0);
  }

  /**
   * `for (i = from; i < to; i += step) body()`, with i, to as i32 locals (signed compare). The body
   * runs inside a block/loop pair; `br(1)` inside it (at the body's own depth) leaves the loop.
   */
  forRange(i: number, from: () => void, to: number, step: number, body: () => void): this {
    from();
    this.set(i);
    this.block().loop();
    this.get(i).get(to).op(OP.i32_ge_s).brIf(1);
    body();
    this.get(i).i32(step).op(OP.i32_add).set(i);
    this.br(0).end().end();
    return this;
  }
}

interface FuncImport {
  readonly module: string;
  readonly name: string;
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

/** A module: an imported memory, imported functions, and defined functions (exported by name). */
export class ModuleBuilder {
  private readonly imports: FuncImport[] = [];
  private readonly funcs: Fn[] = [];

  constructor(
    private readonly memory: { readonly shared: boolean; readonly initial: number; readonly maximum: number },
  ) {}

  /** Imports a function; returns its function index. Import all functions before defining any. */
  importFunc(module: string, name: string, params: readonly ValType[], results: readonly ValType[]): number {
    if (this.funcs.length > 0) throw new Error('ModuleBuilder: import functions before defining any.');
    this.imports.push({ module, name, params, results });
    return this.imports.length - 1;
  }

  /** Adds a function; returns its function index. */
  add(fn: Fn): number {
    this.funcs.push(fn);
    return this.imports.length + this.funcs.length - 1;
  }

  /** Index the next added function will have (for recursive or forward calls). */
  nextIndex(): number {
    return this.imports.length + this.funcs.length;
  }

  toBytes(): Uint8Array<ArrayBuffer> {
    const types: string[] = [];
    const typeBytes: number[][] = [];
    const typeOf = (params: readonly ValType[], results: readonly ValType[]): number => {
      const key = `${params.join(',')}>${results.join(',')}`;
      let i = types.indexOf(key);
      if (i < 0) {
        i = types.length;
        types.push(key);
        typeBytes.push([
          0x60,
          ...uleb(params.length),
          ...params.map((p) => TYPE_CODE[p]),
          ...uleb(results.length),
          ...results.map((r) => TYPE_CODE[r]),
        ]);
      }
      return i;
    };
    const importTypes = this.imports.map((f) => typeOf(f.params, f.results));
    const funcTypes = this.funcs.map((f) => typeOf(f.params, f.results));

    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const section = (id: number, body: number[]) => {
      out.push(id);
      uleb(body.length, out);
      for (const b of body) out.push(b);
    };
    const name = (s: string): number[] => {
      const b = [...new TextEncoder().encode(s)];
      return [...uleb(b.length), ...b];
    };

    section(1, [...uleb(typeBytes.length), ...typeBytes.flat()]);

    const imp: number[] = [];
    uleb(this.imports.length + 1, imp);
    const m = this.memory;
    imp.push(...name('env'), ...name('memory'), 0x02, m.shared ? 0x03 : 0x01);
    uleb(m.initial, imp);
    uleb(m.maximum, imp);
    this.imports.forEach((f, i) => {
      imp.push(...name(f.module), ...name(f.name), 0x00);
      uleb(importTypes[i]!, imp);
    });
    section(2, imp);

    section(3, [...uleb(this.funcs.length), ...funcTypes.flatMap((t) => uleb(t))]);

    const exports = this.funcs
      .map((f, i) => ({ f, index: this.imports.length + i }))
      .filter((e) => e.f.name !== null);
    section(7, [
      ...uleb(exports.length),
      ...exports.flatMap((e) => [...name(e.f.name!), 0x00, ...uleb(e.index)]),
    ]);

    const bodies: number[] = [];
    uleb(this.funcs.length, bodies);
    for (const f of this.funcs) {
      const body: number[] = [];
      // Run-length encode consecutive locals of one type.
      const groups: [number, ValType][] = [];
      for (const t of f.locals) {
        const last = groups[groups.length - 1];
        if (last && last[1] === t) last[0]++;
        else groups.push([1, t]);
      }
      uleb(groups.length, body);
      for (const [n, t] of groups) {
        uleb(n, body);
        body.push(TYPE_CODE[t]);
      }
      for (const b of f.prologue) body.push(b);
      for (const b of f.code) body.push(b);
      body.push(0x0b);
      uleb(body.length, bodies);
      for (const b of body) bodies.push(b);
    }
    section(10, bodies);
    return new Uint8Array(out);
  }
}
