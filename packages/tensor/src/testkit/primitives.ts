/**
 * Conformance cases for the Backend primitives (spec 1), called directly: buffers, elementwise,
 * matmul, reduce, gather, scatterAdd, copy and sync. Inputs come from a seeded `Rng` (one seed per
 * case name, so every failure reproduces); results are always read back with `await read(...)`
 * (so asynchronous GPU backends run them too) and compared against naive references computed
 * right here in plain JavaScript. Cases that need a dtype the backend lacks pass without running.
 */
import type { Backend, BackendBuffer, MatmulCall, ReduceOp } from '../backend.js';
import { allocTyped, bytesPerElement, type DType } from '../dtype.js';
import { RecurError } from '../errors.js';
import { BINARY_OPS, type BinaryOp, type Expr, evalExpr, ex, UNARY_OPS, type UnaryOp } from '../expr.js';
import { Rng } from '../random.js';
import { sizeOf, stridesOf } from '../shape.js';

export interface ConformanceCase {
  readonly name: string;
  run(backend: Backend): Promise<void>;
}

/** Every conformance case of the Backend primitives. */
export function primitiveCases(): ConformanceCase[] {
  return [
    ...memoryCases(),
    ...elementwiseCases(),
    ...matmulCases(),
    ...reduceCases(),
    ...indexedCases(),
    ...copyCases(),
    ...orderingCases(),
  ];
}

// ------------------------------------------------------------------------------------ comparing

export interface CloseOptions {
  /** Multiplies the absolute tolerance; pass k for sums of k terms. */
  readonly absScale?: number;
  /** Exact equality (NaN still matches NaN): copies, gathers and round trips move values unchanged. */
  readonly exact?: boolean;
}

const TOLERANCE: Readonly<Record<DType, { readonly rel: number; readonly abs: number }>> = {
  f64: { rel: 1e-12, abs: 1e-12 },
  f32: { rel: 1e-5, abs: 1e-6 },
  i32: { rel: 0, abs: 0 },
};

/**
 * Throws a RecurError naming the case, the first mismatching index, the expected and the found
 * value. NaN must match NaN and infinities must match exactly.
 */
export function assertClose(
  name: string,
  found: ArrayLike<number>,
  expected: ArrayLike<number>,
  dtype: DType,
  options: CloseOptions = {},
): void {
  if (found.length !== expected.length) {
    throw new RecurError(`${name}: expected ${expected.length} values, found ${found.length}.`);
  }
  const rel = options.exact ? 0 : TOLERANCE[dtype].rel;
  const abs = options.exact ? 0 : TOLERANCE[dtype].abs * (options.absScale ?? 1);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const f = found[i]!;
    if (!isClose(f, e, rel, abs)) {
      throw new RecurError(
        `${name}: at index ${i}, expected ${e}, found ${f} (${dtype}, tolerance ${rel} relative + ${abs} absolute).`,
      );
    }
  }
}

function isClose(found: number, expected: number, rel: number, abs: number): boolean {
  if (Number.isNaN(expected)) return Number.isNaN(found);
  if (!Number.isFinite(expected)) return found === expected;
  return Math.abs(found - expected) <= abs + rel * Math.abs(expected);
}

function check(ok: boolean, name: string, expected: string, found: string): void {
  if (!ok) throw new RecurError(`${name}: expected ${expected}, found ${found}.`);
}

// ------------------------------------------------------------------------------- case plumbing

const ARRAY_TAG: Readonly<Record<DType, string>> = {
  f32: 'Float32Array',
  f64: 'Float64Array',
  i32: 'Int32Array',
};

/** A buffer on the backend together with the host values written into it (as stored). */
interface Host {
  readonly buffer: BackendBuffer;
  readonly values: readonly number[];
}

/** Per-case state: the backend, a seeded Rng, and the buffers to free when the case ends. */
class Ctx {
  readonly rng: Rng;
  private readonly live = new Set<BackendBuffer>();

  constructor(
    readonly backend: Backend,
    readonly name: string,
  ) {
    this.rng = new Rng(seedOf(name));
  }

  alloc(dtype: DType, size: number): BackendBuffer {
    const buffer = this.backend.alloc(dtype, size);
    this.live.add(buffer);
    return buffer;
  }

  upload(dtype: DType, values: readonly number[]): Host {
    const data = allocTyped(dtype, values.length);
    data.set(values);
    const buffer = this.alloc(dtype, values.length);
    this.backend.write(buffer, data);
    return { buffer, values: Array.from(data) };
  }

  free(buffer: BackendBuffer): void {
    this.live.delete(buffer);
    this.backend.free(buffer);
  }

  /** Reads a buffer, checking that the host copy has its length and dtype. */
  async read(buffer: BackendBuffer): Promise<number[]> {
    const data = await this.backend.read(buffer);
    check(data.length === buffer.size, `${this.name}: read`, `${buffer.size} values`, `${data.length}`);
    const tag = data[Symbol.toStringTag];
    check(tag === ARRAY_TAG[buffer.dtype], `${this.name}: read`, `a ${ARRAY_TAG[buffer.dtype]}`, `a ${tag}`);
    return Array.from(data);
  }

  async expect(
    buffer: BackendBuffer,
    expected: readonly number[],
    label = '',
    options?: CloseOptions,
  ): Promise<void> {
    assertClose(
      label ? `${this.name} ${label}` : this.name,
      await this.read(buffer),
      expected,
      buffer.dtype,
      options,
    );
  }

  dispose(): void {
    for (const buffer of this.live) this.backend.free(buffer);
    this.live.clear();
  }
}

function seedOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A case that runs only when the backend stores every dtype in `needs`, and frees what it allocates. */
function defineCase(
  name: string,
  needs: readonly DType[],
  body: (ctx: Ctx) => Promise<void>,
): ConformanceCase {
  return {
    name,
    async run(backend: Backend): Promise<void> {
      if (!needs.every((d) => backend.capabilities.dtypes.includes(d))) return;
      const ctx = new Ctx(backend, name);
      try {
        await body(ctx);
      } finally {
        ctx.dispose();
      }
    },
  };
}

const ALL: readonly DType[] = ['f32', 'f64', 'i32'];
const FLOATS: readonly DType[] = ['f32', 'f64'];

/** One case per dtype, named `${prefix}/${dtype}`. */
function perDType(
  prefix: string,
  dtypes: readonly DType[],
  body: (ctx: Ctx, dtype: DType) => Promise<void>,
  alsoNeeds: readonly DType[] = [],
): ConformanceCase[] {
  return dtypes.map((t) => defineCase(`${prefix}/${t}`, [t, ...alsoNeeds], (ctx) => body(ctx, t)));
}

// ------------------------------------------------------------------------------------ values

/** A value generator; `i` is the element index, for placing special values. */
type Gen = (rng: Rng, i: number) => number;

const normal =
  (scale = 1): Gen =>
  (r) =>
    scale * r.normal();
const uniform =
  (lo: number, hi: number): Gen =>
  (r) =>
    lo + (hi - lo) * r.uniform();
const ints =
  (lo: number, hi: number): Gen =>
  (r) =>
    lo + r.int(hi - lo + 1);
/** Either sign, magnitude in [lo, hi]: divisors kept away from zero. */
const signed =
  (g: Gen): Gen =>
  (r, i) =>
    (r.int(2) === 0 ? -1 : 1) * g(r, i);
/** `specials` cycled into every `every`-th element, `g` elsewhere. */
const withSpecials =
  (g: Gen, specials: readonly number[], every = 3): Gen =>
  (r, i) =>
    i % every === 0 ? specials[(i / every) % specials.length]! : g(r, i);

const I32_MIN = -2147483648;
const I32_MAX = 2147483647;
/** Any value of the dtype in a modest range: normals for floats, small integers for i32. */
const anyOf = (t: DType): Gen => (t === 'i32' ? ints(-50, 50) : normal(2));

function values(rng: Rng, n: number, gen: Gen): number[] {
  return Array.from({ length: n }, (_, i) => gen(rng, i));
}

function zerosList(n: number): number[] {
  return new Array<number>(n).fill(0);
}

// ---------------------------------------------------------------------------- index helpers

/** Calls `fn` with every multi-index of `shape` in row-major order (once for rank 0). */
function forEachIndex(shape: readonly number[], fn: (idx: readonly number[]) => void): void {
  if (sizeOf(shape) === 0) return;
  const idx = new Array<number>(shape.length).fill(0);
  for (;;) {
    fn(idx);
    let d = shape.length - 1;
    while (d >= 0 && ++idx[d]! === shape[d]) idx[d--] = 0;
    if (d < 0) return;
  }
}

function at(offset: number, strides: readonly number[], idx: readonly number[]): number {
  let p = offset;
  for (let d = 0; d < idx.length; d++) p += idx[d]! * strides[d]!;
  return p;
}

/** Elements a buffer needs to hold the view (non-negative strides). */
function extent(shape: readonly number[], offset: number, strides: readonly number[]): number {
  if (sizeOf(shape) === 0) return offset;
  const last = shape.map((d) => d - 1);
  return at(offset, strides, last) + 1;
}

// ---------------------------------------------------------------------------- memory cases

const ROUND_TRIP_SPECIALS: Readonly<Record<DType, readonly number[]>> = {
  f32: [Number.NaN, Infinity, -Infinity, 1e-40, 3.4e38, -0, 1.5],
  f64: [Number.NaN, Infinity, -Infinity, 5e-324, Number.MAX_VALUE, -0, 0.1],
  i32: [I32_MIN, I32_MAX, 0, -1],
};

function roundTripGen(t: DType): Gen {
  return withSpecials(t === 'i32' ? ints(I32_MIN, I32_MAX) : normal(1e3), ROUND_TRIP_SPECIALS[t]);
}

function memoryCases(): ConformanceCase[] {
  return [
    ...perDType('memory/alloc-zero-filled', ALL, async (ctx, t) => {
      await ctx.expect(ctx.alloc(t, 37), zerosList(37), '', { exact: true });
      await ctx.expect(ctx.alloc(t, 0), [], 'size 0');
      // A recycled buffer must come back zero-filled too.
      ctx.free(ctx.upload(t, values(ctx.rng, 37, ints(1, 9))).buffer);
      await ctx.expect(ctx.alloc(t, 37), zerosList(37), 'after free', { exact: true });
    }),
    ...perDType('memory/write-read-round-trip', ALL, async (ctx, t) => {
      const h = ctx.upload(t, values(ctx.rng, 29, roundTripGen(t)));
      await ctx.expect(h.buffer, h.values, '', { exact: true });
    }),
    ...perDType('memory/read-sync', ALL, async (ctx, t) => {
      const b = ctx.backend;
      check(
        !b.capabilities.syncRead || b.readSync !== undefined,
        ctx.name,
        'readSync when capabilities.syncRead',
        'none',
      );
      if (!b.readSync) return;
      const h = ctx.upload(t, values(ctx.rng, 11, roundTripGen(t)));
      assertClose(ctx.name, b.readSync(h.buffer), h.values, t, { exact: true });
    }),
    ...perDType('memory/read-returns-copy', ALL, async (ctx, t) => {
      const h = ctx.upload(t, values(ctx.rng, 9, anyOf(t)));
      (await ctx.backend.read(h.buffer)).fill(42);
      await ctx.expect(h.buffer, h.values, 'after mutating a read result', { exact: true });
    }),
    ...perDType('memory/write-copies-source', ALL, async (ctx, t) => {
      const data = allocTyped(t, 9);
      data.set(values(ctx.rng, 9, anyOf(t)));
      const expected = Array.from(data);
      const buffer = ctx.alloc(t, 9);
      ctx.backend.write(buffer, data);
      data.fill(42);
      await ctx.expect(buffer, expected, 'after mutating the written array', { exact: true });
    }),
    defineCase('memory/accounting', [], async (ctx) => {
      const b = ctx.backend;
      const dtypes = ALL.filter((t) => b.capabilities.dtypes.includes(t));
      const before = b.memory();
      const buffers = dtypes.map((t) => ctx.alloc(t, 10));
      const during = b.memory();
      const bytes = dtypes.reduce((s, t) => s + 10 * bytesPerElement(t), 0);
      check(
        during.buffers === before.buffers + buffers.length,
        `${ctx.name} buffers after alloc`,
        `${before.buffers + buffers.length}`,
        `${during.buffers}`,
      );
      check(
        during.bytes >= before.bytes + bytes,
        `${ctx.name} bytes after alloc`,
        `at least ${before.bytes + bytes}`,
        `${during.bytes}`,
      );
      for (const buffer of buffers) ctx.free(buffer);
      const after = b.memory();
      check(
        after.buffers === before.buffers,
        `${ctx.name} buffers after free`,
        `${before.buffers}`,
        `${after.buffers}`,
      );
      check(
        after.bytes === before.bytes,
        `${ctx.name} bytes after free`,
        `${before.bytes}`,
        `${after.bytes}`,
      );
    }),
  ];
}

// ------------------------------------------------------------------------------- elementwise

interface EwInput {
  readonly dtype: DType;
  readonly gen: Gen;
  readonly offset?: number;
  /** Default: dense strides of the call's shape. */
  readonly strides?: readonly number[];
}

interface EwSpec {
  readonly shape: readonly number[];
  readonly expr: Expr;
  readonly inputs: readonly EwInput[];
  /** [from, to]: input `to` copies input `from` at every third element (dense inputs), for ties. */
  readonly tie?: readonly [number, number];
  /** Compare exactly: the result is representable (casts, selections, fills). */
  readonly exact?: boolean;
}

function exprDTypes(e: Expr, into: Set<DType> = new Set()): Set<DType> {
  into.add(e.dtype);
  if (e.kind === 'unary' || e.kind === 'cast') exprDTypes(e.a, into);
  if (e.kind === 'binary') exprDTypes(e.b, exprDTypes(e.a, into));
  if (e.kind === 'where') exprDTypes(e.b, exprDTypes(e.a, exprDTypes(e.cond, into)));
  return into;
}

async function checkElementwise(ctx: Ctx, spec: EwSpec): Promise<void> {
  const { shape, expr } = spec;
  const views = spec.inputs.map((input) => {
    const strides = input.strides ?? stridesOf(shape);
    const offset = input.offset ?? 0;
    return { input, strides, offset, data: values(ctx.rng, extent(shape, offset, strides) + 2, input.gen) };
  });
  if (spec.tie) {
    const [from, to] = spec.tie;
    const src = views[from]!.data;
    const dst = views[to]!.data;
    for (let i = 0; i < dst.length; i += 3) dst[i] = src[i]!;
  }
  const hosts = views.map((v) => ({ ...v, host: ctx.upload(v.input.dtype, v.data) }));
  const out = ctx.alloc(expr.dtype, sizeOf(shape));
  ctx.backend.elementwise({
    expr,
    inputs: hosts.map((h) => ({ buffer: h.host.buffer, offset: h.offset, strides: h.strides })),
    out,
    shape,
  });
  const expected: number[] = [];
  forEachIndex(shape, (idx) => {
    const args = hosts.map((h) => h.host.values[at(h.offset, h.strides, idx)]!);
    expected.push(evalExpr(expr, args));
  });
  await ctx.expect(out, expected, '', { exact: spec.exact ?? false });
}

function elementwiseCase(name: string, spec: EwSpec): ConformanceCase {
  const needs = new Set(exprDTypes(spec.expr));
  for (const input of spec.inputs) needs.add(input.dtype);
  return defineCase(`elementwise/${name}`, [...needs], (ctx) => checkElementwise(ctx, spec));
}

/** Input domains per op: log/sqrt positive, exp bounded, exact zeros where the op has a kink. */
const WITH_ZEROS = withSpecials(normal(2), [0], 5);
const POSITIVE = { float: uniform(0.1, 5), int: ints(1, 50) };
const SIGNED = { float: WITH_ZEROS, int: ints(-20, 20) };
const UNARY_DOMAIN: Readonly<Record<UnaryOp, { readonly float: Gen; readonly int: Gen }>> = {
  neg: SIGNED,
  exp: { float: uniform(-5, 5), int: ints(-5, 5) },
  log: POSITIVE,
  sqrt: POSITIVE,
  abs: SIGNED,
  tanh: { float: normal(2), int: ints(-3, 3) },
  sigmoid: { float: normal(3), int: ints(-6, 6) },
  relu: SIGNED,
  sign: SIGNED,
};

interface BinaryDomain {
  readonly float: readonly [Gen, Gen];
  readonly int: readonly [Gen, Gen];
  readonly tie: boolean;
}

function binaryDomain(op: BinaryOp): BinaryDomain {
  if (op === 'div') {
    return {
      float: [normal(2), signed(uniform(0.25, 4))],
      int: [ints(-50, 50), signed(ints(1, 9))],
      tie: false,
    };
  }
  if (op === 'pow')
    return { float: [uniform(0.5, 3), uniform(-2, 2)], int: [ints(1, 5), ints(0, 4)], tie: false };
  const tie = op !== 'add' && op !== 'sub' && op !== 'mul';
  return { float: [normal(2), normal(2)], int: [ints(-50, 50), ints(-50, 50)], tie };
}

const SWEEP_SHAPE = [3, 7];
const x = (index: number, t: DType): Expr => ex.input(index, t);

function sweepCases(): ConformanceCase[] {
  return ALL.flatMap((t) => [
    ...UNARY_OPS.map((op) => {
      const gen = t === 'i32' ? UNARY_DOMAIN[op].int : UNARY_DOMAIN[op].float;
      return elementwiseCase(`unary/${op}/${t}`, {
        shape: SWEEP_SHAPE,
        expr: ex.unary(op, x(0, t)),
        inputs: [{ dtype: t, gen }],
      });
    }),
    ...BINARY_OPS.map((op) => {
      const d = binaryDomain(op);
      const [ga, gb] = t === 'i32' ? d.int : d.float;
      return elementwiseCase(`binary/${op}/${t}`, {
        shape: SWEEP_SHAPE,
        expr: ex.binary(op, x(0, t), x(1, t)),
        inputs: [
          { dtype: t, gen: ga },
          { dtype: t, gen: gb },
        ],
        tie: d.tie ? [0, 1] : undefined,
      });
    }),
  ]);
}

/** Two inputs of dtype t combined by `op`, with the given views. */
function pair(
  t: DType,
  op: BinaryOp,
  shape: readonly number[],
  a: Partial<EwInput>,
  b: Partial<EwInput>,
): EwSpec {
  return {
    shape,
    expr: ex.binary(op, x(0, t), x(1, t)),
    inputs: [
      { dtype: t, gen: anyOf(t), ...a },
      { dtype: t, gen: anyOf(t), ...b },
    ],
  };
}

interface EwLayout {
  readonly name: string;
  readonly dtypes: readonly DType[];
  readonly build: (t: DType) => EwSpec;
}

const CAST_SPECIALS = [0.5, -0.5, 2.999, -2.999, -1, 0, 7.25];
const NAN_A = withSpecials(normal(), [Number.NaN, Infinity, -Infinity], 3);
const NAN_B = withSpecials(normal(), [Number.NaN, -Infinity], 4);

const EW_LAYOUTS: readonly EwLayout[] = [
  {
    name: 'broadcast-row-col',
    dtypes: ALL,
    build: (t) => pair(t, 'add', [3, 4], { strides: [1, 0] }, { strides: [0, 1] }),
  },
  {
    name: 'broadcast-scalar',
    dtypes: ALL,
    build: (t) => pair(t, 'mul', [5, 3], {}, { strides: [0, 0], offset: 2 }),
  },
  { name: 'offset', dtypes: ALL, build: (t) => pair(t, 'sub', [7], { offset: 3 }, { offset: 5 }) },
  { name: 'transposed', dtypes: ALL, build: (t) => pair(t, 'sub', [3, 4], { strides: [1, 3] }, {}) },
  {
    name: 'rank3-permuted',
    dtypes: ALL,
    build: (t) => pair(t, 'add', [2, 3, 4], { strides: [1, 2, 6] }, { strides: [0, 1, 0], offset: 1 }),
  },
  {
    name: 'size-one-dims',
    dtypes: ALL,
    build: (t) => pair(t, 'mul', [1, 5, 1], { strides: [1000, 1, 77] }, { strides: [9, 2, 5], offset: 1 }),
  },
  {
    name: 'rank0',
    dtypes: ALL,
    build: (t) => pair(t, 'add', [], { offset: 2, strides: [] }, { strides: [] }),
  },
  { name: 'zero-size-rows', dtypes: ALL, build: (t) => pair(t, 'add', [0, 3], {}, {}) },
  { name: 'zero-size-cols', dtypes: ALL, build: (t) => pair(t, 'mul', [3, 0], {}, {}) },
  {
    name: 'fused-sigmoid-tanh',
    dtypes: FLOATS,
    build: (t) => ({
      shape: [4, 5],
      expr: ex.binary(
        'mul',
        ex.unary('sigmoid', ex.binary('add', ex.binary('mul', x(0, t), x(1, t)), x(2, t))),
        ex.unary('tanh', x(3, t)),
      ),
      inputs: [
        { dtype: t, gen: normal() },
        { dtype: t, gen: normal() },
        { dtype: t, gen: normal(), strides: [1, 4], offset: 1 },
        { dtype: t, gen: normal(), strides: [0, 1] },
      ],
    }),
  },
  {
    name: 'fill-const',
    dtypes: ALL,
    build: (t) => ({ shape: [3, 5], expr: ex.const(t === 'i32' ? -7 : Math.PI, t), inputs: [] }),
  },
  {
    name: 'where-i32-cond',
    dtypes: ALL,
    build: (t) => ({
      shape: [4, 6],
      expr: ex.where(x(0, 'i32'), x(1, t), x(2, t)),
      inputs: [
        { dtype: 'i32', gen: ints(-2, 2) },
        { dtype: t, gen: anyOf(t) },
        { dtype: t, gen: anyOf(t), strides: [0, 1] },
      ],
      exact: true,
    }),
  },
  {
    name: 'where-compare',
    dtypes: FLOATS,
    build: (t) => ({
      shape: [5, 4],
      expr: ex.where(ex.binary('gt', x(0, t), x(1, t)), x(0, t), ex.binary('mul', x(1, t), ex.const(0.5, t))),
      inputs: [
        { dtype: t, gen: normal() },
        { dtype: t, gen: normal() },
      ],
      tie: [0, 1],
    }),
  },
  {
    name: 'cast-to-i32',
    dtypes: FLOATS,
    build: (t) => ({
      shape: [4, 7],
      expr: ex.cast(x(0, t), 'i32'),
      inputs: [{ dtype: t, gen: withSpecials(uniform(-1000, 1000), CAST_SPECIALS) }],
    }),
  },
  // Values exactly representable in f32, so the check does not depend on how a device rounds.
  {
    name: 'cast-from-i32',
    dtypes: FLOATS,
    build: (t) => ({
      shape: [4, 7],
      expr: ex.cast(x(0, 'i32'), t),
      inputs: [
        {
          dtype: 'i32',
          gen: withSpecials(ints(-(2 ** 24), 2 ** 24), [I32_MIN, 2 ** 30, 2 ** 24 + 2, -(2 ** 24) - 4]),
        },
      ],
      exact: true,
    }),
  },
  {
    name: 'cast-f64-to-f32',
    dtypes: ['f32'],
    build: () => ({
      shape: [9],
      expr: ex.cast(x(0, 'f64'), 'f32'),
      inputs: [{ dtype: 'f64', gen: normal(1e3) }],
      exact: true,
    }),
  },
  {
    name: 'mixed-i32-float',
    dtypes: FLOATS,
    build: (t) => ({
      shape: [3, 5],
      expr: ex.binary('mul', ex.binary('add', x(0, 'i32'), x(1, t)), ex.const(0.25, t)),
      inputs: [
        { dtype: 'i32', gen: ints(-50, 50) },
        { dtype: t, gen: normal(), strides: [1, 0] },
      ],
    }),
  },
  ...(['max', 'min'] as const).map(
    (op): EwLayout => ({
      name: `nan-${op}`,
      dtypes: FLOATS,
      build: (t) => pair(t, op, [4, 6], { gen: NAN_A }, { gen: NAN_B }),
    }),
  ),
  ...(['add', 'sub', 'mul'] as const).map(
    (op): EwLayout => ({
      name: `i32-wrap-${op}`,
      dtypes: ['i32'],
      build: (t) => pair(t, op, [11], { gen: ints(I32_MIN, I32_MAX) }, { gen: ints(I32_MIN, I32_MAX) }),
    }),
  ),
];

/**
 * Fused kernels: several outputs over one index space, placed by offset and strides (column blocks
 * of one wider matrix, as a fused gate kernel writes them), with shared subexpressions, and one
 * output computed in place over its own input.
 */
function fusedOutputCases(): ConformanceCase[] {
  return perDType('elementwise/fused-outputs', FLOATS, async (ctx, t) => {
    const [rows, cols] = [3, 5];
    const shape = [rows, cols];
    const a = values(ctx.rng, rows * cols, normal(2));
    const b = values(ctx.rng, cols, normal(2));
    const ha = ctx.upload(t, a);
    const hb = ctx.upload(t, b);
    const inPlace = ctx.upload(t, a);
    const s = ex.unary('tanh', ex.binary('add', x(0, t), x(1, t)));
    const exprs = [s, ex.binary('mul', s, s), ex.unary('sigmoid', s)];
    const wide = ctx.alloc(t, 1 + rows * 3 * cols);
    ctx.backend.elementwise({
      expr: exprs[0]!,
      inputs: [
        { buffer: inPlace.buffer, offset: 0, strides: [cols, 1] },
        { buffer: hb.buffer, offset: 0, strides: [0, 1] },
      ],
      out: wide,
      shape,
      outView: { offset: 1, strides: [3 * cols, 1] },
      more: [
        { expr: exprs[1]!, out: wide, offset: 1 + cols, strides: [3 * cols, 1] },
        { expr: exprs[2]!, out: inPlace.buffer, offset: 0, strides: [cols, 1] },
      ],
    });
    const ref = (r: number, c: number) => Math.tanh(ha.values[r * cols + c]! + hb.values[c]!);
    const wideExpected = [0];
    const placedExpected: number[] = [];
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) wideExpected.push(ref(r, c));
      for (let c = 0; c < cols; c++) wideExpected.push(ref(r, c) * ref(r, c));
      for (let c = 0; c < cols; c++) wideExpected.push(0);
      for (let c = 0; c < cols; c++) placedExpected.push(1 / (1 + Math.exp(-ref(r, c))));
    }
    await ctx.expect(wide, wideExpected, 'placed outputs');
    await ctx.expect(inPlace.buffer, placedExpected, 'in-place output');
  });
}

/**
 * Two outputs written in place over two column blocks that both outputs read at the same index:
 * a backend must read every input of an index before writing any output of it.
 */
function crossedInPlaceCases(): ConformanceCase[] {
  return perDType('elementwise/in-place-crossed', FLOATS, async (ctx, t) => {
    const [rows, cols] = [4, 6];
    const buf = ctx.upload(t, values(ctx.rng, rows * 2 * cols, normal(2)));
    const view = (offset: number) => ({ buffer: buf.buffer, offset, strides: [2 * cols, 1] });
    const p = x(0, t);
    const q = x(1, t);
    ctx.backend.elementwise({
      expr: ex.binary('add', ex.binary('mul', p, q), q),
      inputs: [view(0), view(cols)],
      out: buf.buffer,
      shape: [rows, cols],
      outView: { offset: cols, strides: [2 * cols, 1] },
      more: [{ expr: ex.binary('sub', p, q), out: buf.buffer, offset: 0, strides: [2 * cols, 1] }],
    });
    const before = buf.values;
    const expected = [...before];
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const pv = before[r * 2 * cols + c]!;
        const qv = before[r * 2 * cols + cols + c]!;
        expected[r * 2 * cols + c] = pv - qv;
        expected[r * 2 * cols + cols + c] = pv * qv + qv;
      }
    }
    await ctx.expect(buf.buffer, expected, 'outputs written over the inputs they read');
  });
}

function elementwiseCases(): ConformanceCase[] {
  return [
    ...fusedOutputCases(),
    ...crossedInPlaceCases(),
    ...sweepCases(),
    ...EW_LAYOUTS.flatMap((layout) =>
      layout.dtypes.map((t) => elementwiseCase(`${layout.name}/${t}`, layout.build(t))),
    ),
  ];
}

// ------------------------------------------------------------------------------------ matmul

interface MatmulSpec {
  readonly batch?: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly transA?: boolean;
  readonly transB?: boolean;
  readonly aOffset?: number;
  readonly bOffset?: number;
  readonly outOffset?: number;
  /** Default: m·k (dense batches). */
  readonly aBatchStride?: number;
  /** Default: k·n. */
  readonly bBatchStride?: number;
  /** Offset of the bias vector in its buffer; absent = no bias. */
  readonly biasOffset?: number;
  readonly accumulate?: boolean;
}

type MatmulParams = Omit<MatmulCall, 'a' | 'b' | 'out' | 'bias'> & { readonly biasOffset: number | null };

function matmulParams(s: MatmulSpec): MatmulParams {
  return {
    batch: s.batch ?? 1,
    m: s.m,
    n: s.n,
    k: s.k,
    transA: s.transA ?? false,
    transB: s.transB ?? false,
    aOffset: s.aOffset ?? 0,
    bOffset: s.bOffset ?? 0,
    outOffset: s.outOffset ?? 0,
    aBatchStride: s.aBatchStride ?? s.m * s.k,
    bBatchStride: s.bBatchStride ?? s.k * s.n,
    biasOffset: s.biasOffset ?? null,
    accumulate: s.accumulate ?? false,
  };
}

function matmulCall(
  p: MatmulParams,
  a: BackendBuffer,
  b: BackendBuffer,
  out: BackendBuffer,
  bias: BackendBuffer | null,
): MatmulCall {
  const { biasOffset, ...rest } = p;
  return {
    ...rest,
    a,
    b,
    out,
    bias: bias && biasOffset !== null ? { buffer: bias, offset: biasOffset } : null,
  };
}

/** Naive triple loop over the batch; `init` is the output buffer's prior contents. */
function refMatmul(
  p: MatmulParams,
  a: readonly number[],
  b: readonly number[],
  bias: readonly number[] | null,
  init: readonly number[],
  dtype: DType,
): number[] {
  const { m, n, k } = p;
  const out = init.slice();
  for (let bi = 0; bi < p.batch; bi++) {
    const aBase = p.aOffset + bi * p.aBatchStride;
    const bBase = p.bOffset + bi * p.bBatchStride;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = p.accumulate ? out[p.outOffset + (bi * m + i) * n + j]! : 0;
        if (bias) acc += bias[(p.biasOffset ?? 0) + j]!;
        for (let q = 0; q < k; q++) {
          acc +=
            a[aBase + (p.transA ? q * m + i : i * k + q)]! * b[bBase + (p.transB ? j * k + q : q * n + j)]!;
        }
        out[p.outOffset + (bi * m + i) * n + j] = dtype === 'f32' ? Math.fround(acc) : acc;
      }
    }
  }
  return out;
}

/** Size of an operand buffer holding `batch` matrices of `size` elements, plus one element of slack. */
function operandSize(offset: number, batchStride: number, size: number, batch: number): number {
  return offset + Math.max(batch - 1, 0) * batchStride + size + 1;
}

async function checkMatmul(ctx: Ctx, dtype: DType, spec: MatmulSpec): Promise<void> {
  const p = matmulParams(spec);
  const gen = normal();
  const a = ctx.upload(
    dtype,
    values(ctx.rng, operandSize(p.aOffset, p.aBatchStride, p.m * p.k, p.batch), gen),
  );
  const b = ctx.upload(
    dtype,
    values(ctx.rng, operandSize(p.bOffset, p.bBatchStride, p.k * p.n, p.batch), gen),
  );
  // The output starts with garbage: overwritten (or accumulated onto) inside the result, kept outside.
  const out = ctx.upload(dtype, values(ctx.rng, p.outOffset + p.batch * p.m * p.n + 3, gen));
  const bias = p.biasOffset === null ? null : ctx.upload(dtype, values(ctx.rng, p.biasOffset + p.n + 1, gen));
  ctx.backend.matmul(matmulCall(p, a.buffer, b.buffer, out.buffer, bias?.buffer ?? null));
  const expected = refMatmul(p, a.values, b.values, bias?.values ?? null, out.values, dtype);
  await ctx.expect(out.buffer, expected, '', { absScale: Math.max(1, p.k) });
}

const MATMUL_SHAPES: readonly MatmulSpec[] = [
  { m: 3, n: 5, k: 6 },
  { m: 5, n: 7, k: 300 },
];

const MATMUL_SPECIAL: Readonly<Record<string, MatmulSpec>> = {
  'batched-strided': { batch: 3, m: 4, n: 3, k: 5, aBatchStride: 23, bBatchStride: 16 },
  'batch-broadcast-b': { batch: 3, m: 2, n: 6, k: 5, bBatchStride: 0 },
  'batch-broadcast-a': { batch: 4, m: 3, n: 2, k: 7, aBatchStride: 0, transA: true },
  offsets: { batch: 2, m: 3, n: 5, k: 4, aOffset: 3, bOffset: 5, outOffset: 4, transB: true },
  bias: { m: 5, n: 6, k: 9, biasOffset: 2 },
  accumulate: { m: 6, n: 5, k: 7, accumulate: true },
  'accumulate-bias-batched': {
    batch: 2,
    m: 3,
    n: 4,
    k: 5,
    accumulate: true,
    biasOffset: 1,
    transB: true,
    outOffset: 2,
  },
  k0: { m: 3, n: 4, k: 0 },
  'k0-bias': { m: 3, n: 4, k: 0, biasOffset: 0 },
  'k0-accumulate-bias': { m: 2, n: 5, k: 0, biasOffset: 3, accumulate: true },
  'row-vector': { m: 1, n: 9, k: 13 },
  'column-vector': { m: 6, n: 1, k: 33, transA: true },
  'wide-n521': { m: 3, n: 521, k: 5, transB: true },
  'empty-m0': { m: 0, n: 4, k: 3 },
};

function matmulCases(): ConformanceCase[] {
  const trans = [false, true].flatMap((transA) => [false, true].map((transB) => ({ transA, transB })));
  const specs: [string, MatmulSpec][] = [
    ...MATMUL_SHAPES.flatMap((s) =>
      trans.map((t): [string, MatmulSpec] => [
        `${t.transA ? 'T' : 'N'}${t.transB ? 'T' : 'N'}-${s.m}x${s.n}x${s.k}`,
        { ...s, ...t },
      ]),
    ),
    ...Object.entries(MATMUL_SPECIAL),
  ];
  return specs.flatMap(([name, spec]) =>
    perDType(`matmul/${name}`, FLOATS, (ctx, t) => checkMatmul(ctx, t, spec)),
  );
}

// ------------------------------------------------------------------------------------ reduce

const REDUCE_OPS: readonly ReduceOp[] = ['sum', 'max', 'min', 'argmax', 'argmin'];
/** [outer, size, inner]. */
const REDUCE_SHAPES: readonly (readonly [number, number, number])[] = [
  [1, 1, 1],
  [1, 10, 1],
  [3, 7, 1],
  [2, 5, 3],
  [4, 1, 3],
  [2, 300, 2],
  [1, 33, 8],
];

function refReduce(
  op: ReduceOp,
  data: readonly number[],
  outer: number,
  size: number,
  inner: number,
): number[] {
  const out: number[] = [];
  const wantMax = op === 'max' || op === 'argmax';
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * size * inner + i;
      let sum = 0;
      let best = data[base]!;
      let arg = 0;
      for (let s = 0; s < size; s++) {
        const v = data[base + s * inner]!;
        sum += v;
        if (wantMax ? v > best : v < best) {
          best = v;
          arg = s;
        }
      }
      out.push(op === 'sum' ? sum : op === 'argmax' || op === 'argmin' ? arg : best);
    }
  }
  return out;
}

async function checkReduce(
  ctx: Ctx,
  op: ReduceOp,
  dtype: DType,
  [outer, size, inner]: readonly [number, number, number],
  data: readonly number[],
  label: string,
): Promise<void> {
  const input = ctx.upload(dtype, data);
  const out = ctx.alloc(op === 'argmax' || op === 'argmin' ? 'i32' : dtype, outer * inner);
  ctx.backend.reduce({ op, input: input.buffer, out, outer, size, inner });
  const expected = refReduce(op, input.values, outer, size, inner);
  await ctx.expect(out, expected, `${label} [outer=${outer}, size=${size}, inner=${inner}]`, {
    absScale: size,
  });
}

/** Fixed rows with ties: argmax/argmin must report the first index. */
const TIE_ROWS = [
  [2, 5, 5, 1, 1],
  [7, 7, 7, 7, 7],
  [0, -1, 3, -1, 3],
];

function reduceCases(): ConformanceCase[] {
  return REDUCE_OPS.flatMap((op) => [
    ...perDType(`reduce/${op}`, ALL, async (ctx, t) => {
      const gens: Readonly<Record<string, Gen>> = {
        random: t === 'i32' ? ints(-1000, 1000) : normal(),
        ties: t === 'i32' ? ints(-2, 2) : (r, i) => 0.5 * ints(-2, 2)(r, i),
      };
      for (const shape of REDUCE_SHAPES) {
        for (const [label, gen] of Object.entries(gens)) {
          await checkReduce(ctx, op, t, shape, values(ctx.rng, sizeOf(shape), gen), label);
        }
      }
    }),
    ...perDType(`reduce/${op}-fixed-ties`, ALL, async (ctx, t) => {
      await checkReduce(ctx, op, t, [3, 5, 1], TIE_ROWS.flat(), 'rows');
      // The same rows laid out along inner: in[0, s, i] = TIE_ROWS[i][s].
      const columns = TIE_ROWS[0]!.flatMap((_, s) => TIE_ROWS.map((row) => row[s]!));
      await checkReduce(ctx, op, t, [1, 5, 3], columns, 'columns');
    }),
  ]);
}

// --------------------------------------------------------------------------- gather, scatterAdd

interface IndexedSpec {
  readonly outer: number;
  readonly axisSize: number;
  readonly inner: number;
  readonly indices: readonly number[];
}

const INDEXED: readonly IndexedSpec[] = [
  { outer: 1, axisSize: 5, inner: 1, indices: [4, 0, 2, 2, 1] },
  { outer: 2, axisSize: 4, inner: 3, indices: [3, 3, 0, 1, 3] },
  { outer: 3, axisSize: 6, inner: 2, indices: [5] },
  { outer: 1, axisSize: 7, inner: 17, indices: [6, 0, 6, 6] },
  { outer: 4, axisSize: 2, inner: 1, indices: [1, 1, 1, 0, 1, 1, 1, 1, 1] },
  { outer: 2, axisSize: 3, inner: 2, indices: [] },
];

/** Visits (position in the [outer, axisSize, inner] table, position in the [outer, count, inner] side). */
function forEachIndexed(s: IndexedSpec, fn: (table: number, side: number) => void): void {
  const count = s.indices.length;
  for (let o = 0; o < s.outer; o++) {
    for (let j = 0; j < count; j++) {
      for (let i = 0; i < s.inner; i++)
        fn((o * s.axisSize + s.indices[j]!) * s.inner + i, (o * count + j) * s.inner + i);
    }
  }
}

function refGather(table: readonly number[], s: IndexedSpec): number[] {
  const out = zerosList(s.outer * s.indices.length * s.inner);
  forEachIndexed(s, (t, side) => {
    out[side] = table[t]!;
  });
  return out;
}

function refScatterAdd(init: readonly number[], updates: readonly number[], s: IndexedSpec): number[] {
  const out = init.slice();
  forEachIndexed(s, (t, side) => {
    out[t] = out[t]! + updates[side]!;
  });
  return out;
}

const describeIndexed = (s: IndexedSpec): string =>
  `[outer=${s.outer}, axisSize=${s.axisSize}, inner=${s.inner}, indices=${s.indices.join(',')}]`;

function indexedCases(): ConformanceCase[] {
  const sideSize = (s: IndexedSpec): number => s.outer * s.indices.length * s.inner;
  const tableSize = (s: IndexedSpec): number => s.outer * s.axisSize * s.inner;
  return [
    ...perDType('gather', ALL, async (ctx, t) => {
      for (const s of INDEXED) {
        const table = ctx.upload(t, values(ctx.rng, tableSize(s), anyOf(t)));
        const indices = ctx.upload('i32', s.indices);
        const out = ctx.upload(t, values(ctx.rng, sideSize(s), anyOf(t))).buffer;
        ctx.backend.gather({
          table: table.buffer,
          indices: indices.buffer,
          out,
          outer: s.outer,
          axisSize: s.axisSize,
          inner: s.inner,
        });
        await ctx.expect(out, refGather(table.values, s), describeIndexed(s), { exact: true });
      }
    }),
    ...perDType('scatterAdd', ALL, async (ctx, t) => {
      for (const s of INDEXED) {
        const out = ctx.upload(t, values(ctx.rng, tableSize(s), anyOf(t)));
        const indices = ctx.upload('i32', s.indices);
        const updates = ctx.upload(t, values(ctx.rng, sideSize(s), anyOf(t)));
        ctx.backend.scatterAdd({
          out: out.buffer,
          indices: indices.buffer,
          updates: updates.buffer,
          outer: s.outer,
          axisSize: s.axisSize,
          inner: s.inner,
        });
        const expected = refScatterAdd(out.values, updates.values, s);
        await ctx.expect(out.buffer, expected, describeIndexed(s), { absScale: s.indices.length });
      }
    }),
  ];
}

// -------------------------------------------------------------------------------------- copy

interface CopyPart {
  readonly shape: readonly number[];
  readonly srcOffset?: number;
  /** Default: dense strides of `shape`. */
  readonly srcStrides?: readonly number[];
  readonly outOffset?: number;
  /** Default: dense strides of `shape`. */
  readonly outStrides?: readonly number[];
}

type ResolvedPart = Required<CopyPart>;

function resolvePart(p: CopyPart): ResolvedPart {
  const dense = stridesOf(p.shape);
  return {
    shape: p.shape,
    srcOffset: p.srcOffset ?? 0,
    srcStrides: p.srcStrides ?? dense,
    outOffset: p.outOffset ?? 0,
    outStrides: p.outStrides ?? dense,
  };
}

function refCopy(init: readonly number[], src: readonly number[], p: ResolvedPart): number[] {
  const out = init.slice();
  forEachIndex(p.shape, (idx) => {
    out[at(p.outOffset, p.outStrides, idx)] = src[at(p.srcOffset, p.srcStrides, idx)]!;
  });
  return out;
}

/** Copies into one output buffer, in order; the output starts with garbage that must survive outside. */
const COPY_SPECS: Readonly<
  Record<string, { readonly outSize: number; readonly parts: readonly CopyPart[] }>
> = {
  transpose: { outSize: 12, parts: [{ shape: [3, 4], srcStrides: [1, 3] }] },
  'slice-offset': { outSize: 6, parts: [{ shape: [2, 3], srcOffset: 7, srcStrides: [6, 1] }] },
  'slice-long-rows': { outSize: 75, parts: [{ shape: [3, 25], srcOffset: 5, srcStrides: [40, 1] }] },
  concat: {
    outSize: 21,
    parts: [
      { shape: [3, 4], outStrides: [7, 1] },
      { shape: [3, 3], outOffset: 4, outStrides: [7, 1] },
    ],
  },
  pad: { outSize: 30, parts: [{ shape: [3, 4], outOffset: 7, outStrides: [6, 1] }] },
  'strided-out': { outSize: 11, parts: [{ shape: [5], outOffset: 1, outStrides: [2] }] },
  'broadcast-row': { outSize: 12, parts: [{ shape: [3, 4], srcStrides: [0, 1] }] },
  'broadcast-scalar': { outSize: 6, parts: [{ shape: [2, 3], srcOffset: 3, srcStrides: [0, 0] }] },
  'rank3-permute': { outSize: 24, parts: [{ shape: [2, 3, 4], srcStrides: [3, 1, 6] }] },
  rank0: { outSize: 5, parts: [{ shape: [], srcOffset: 2, srcStrides: [], outOffset: 3, outStrides: [] }] },
  'zero-size': { outSize: 3, parts: [{ shape: [0, 4] }] },
};

function copyCases(): ConformanceCase[] {
  return Object.entries(COPY_SPECS).flatMap(([name, spec]) =>
    perDType(`copy/${name}`, ALL, async (ctx, t) => {
      const gen = t === 'i32' ? ints(I32_MIN, I32_MAX) : normal();
      const out = ctx.upload(t, values(ctx.rng, spec.outSize, gen));
      let expected = out.values;
      for (const part of spec.parts.map(resolvePart)) {
        const src = ctx.upload(
          t,
          values(ctx.rng, extent(part.shape, part.srcOffset, part.srcStrides) + 1, gen),
        );
        ctx.backend.copy({
          src: { buffer: src.buffer, offset: part.srcOffset, strides: part.srcStrides },
          out: out.buffer,
          outOffset: part.outOffset,
          outStrides: part.outStrides,
          shape: part.shape,
        });
        expected = refCopy(expected, src.values, part);
      }
      await ctx.expect(out.buffer, expected, '', { exact: true });
    }),
  );
}

// -------------------------------------------------------------------------- sync and ordering

/** out = expr(input) over a dense 1-D buffer, enqueued only. */
function enqueueUnary(ctx: Ctx, expr: Expr, input: BackendBuffer): BackendBuffer {
  const out = ctx.alloc(expr.dtype, input.size);
  ctx.backend.elementwise({
    expr,
    inputs: [{ buffer: input, offset: 0, strides: [1] }],
    out,
    shape: [input.size],
  });
  return out;
}

const mapExpr = (expr: Expr, xs: readonly number[]): number[] => xs.map((v) => evalExpr(expr, [v]));

function orderingCases(): ConformanceCase[] {
  return [
    ...perDType('sync/resolves', FLOATS, async (ctx, t) => {
      await ctx.backend.sync();
      const h = ctx.upload(t, values(ctx.rng, 16, normal()));
      const expr = ex.unary('exp', x(0, t));
      const out = enqueueUnary(ctx, expr, h.buffer);
      await ctx.backend.sync();
      await ctx.expect(out, mapExpr(expr, h.values));
    }),
    ...perDType('ordering/write-after-enqueue', FLOATS, async (ctx, t) => {
      const h = ctx.upload(t, values(ctx.rng, 10, normal()));
      const expr = ex.unary('neg', x(0, t));
      const first = enqueueUnary(ctx, expr, h.buffer);
      const next = allocTyped(t, 10);
      next.set(values(ctx.rng, 10, normal()));
      ctx.backend.write(h.buffer, next);
      const second = enqueueUnary(ctx, expr, h.buffer);
      await ctx.expect(first, mapExpr(expr, h.values), 'work enqueued before the write');
      await ctx.expect(second, mapExpr(expr, Array.from(next)), 'work enqueued after the write');
    }),
    ...perDType('ordering/free-after-enqueue', FLOATS, async (ctx, t) => {
      const h = ctx.upload(t, values(ctx.rng, 12, normal()));
      const double = ex.binary('mul', x(0, t), ex.const(2, t));
      const plusOne = ex.binary('add', x(0, t), ex.const(1, t));
      const temp = enqueueUnary(ctx, double, h.buffer);
      const out = enqueueUnary(ctx, plusOne, temp);
      ctx.free(temp);
      ctx.free(h.buffer);
      await ctx.expect(out, mapExpr(plusOne, mapExpr(double, h.values)));
    }),
    ...perDType('ordering/chain-without-reads', FLOATS, (ctx, t) => checkChain(ctx, t), ['i32']),
  ];
}

/** elementwise → matmul(+bias) → reduce → gather → scatterAdd → copy, reading only the end. */
async function checkChain(ctx: Ctx, t: DType): Promise<void> {
  const b = ctx.backend;
  const input = ctx.upload(t, values(ctx.rng, 24, normal()));
  const tanh = ex.unary('tanh', x(0, t));
  const y = enqueueUnary(ctx, tanh, input.buffer);
  const w = ctx.upload(t, values(ctx.rng, 18, normal()));
  const bias = ctx.upload(t, values(ctx.rng, 3, normal()));
  const mm = matmulParams({ m: 4, n: 3, k: 6, biasOffset: 0 });
  const z = ctx.alloc(t, 12);
  b.matmul(matmulCall(mm, y, w.buffer, z, bias.buffer));
  const maxes = ctx.alloc(t, 4);
  b.reduce({ op: 'max', input: z, out: maxes, outer: 4, size: 3, inner: 1 });
  const gather: IndexedSpec = { outer: 1, axisSize: 4, inner: 1, indices: [3, 0, 3] };
  const picked = ctx.alloc(t, 3);
  b.gather({
    table: maxes,
    indices: ctx.upload('i32', gather.indices).buffer,
    out: picked,
    outer: 1,
    axisSize: 4,
    inner: 1,
  });
  const scatter: IndexedSpec = { outer: 1, axisSize: 2, inner: 1, indices: [1, 1, 0] };
  const sums = ctx.alloc(t, 2);
  b.scatterAdd({
    out: sums,
    indices: ctx.upload('i32', scatter.indices).buffer,
    updates: picked,
    outer: 1,
    axisSize: 2,
    inner: 1,
  });
  const copy = resolvePart({ shape: [2, 2], srcStrides: [0, 1], outOffset: 1, outStrides: [2, 1] });
  const final = ctx.alloc(t, 5);
  b.copy({
    src: { buffer: sums, offset: 0, strides: copy.srcStrides },
    out: final,
    outOffset: 1,
    outStrides: copy.outStrides,
    shape: copy.shape,
  });

  const zv = refMatmul(mm, mapExpr(tanh, input.values), w.values, bias.values, zerosList(12), t);
  const sv = refScatterAdd(zerosList(2), refGather(refReduce('max', zv, 4, 3, 1), gather), scatter);
  await ctx.expect(final, refCopy(zerosList(5), sv, copy), '', { absScale: 6 });
}
