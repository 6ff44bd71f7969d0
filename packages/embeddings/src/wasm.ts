/**
 * The vector loops of word2vec training as a tiny WebAssembly module with 128-bit SIMD, assembled
 * here from opcodes (no toolchain needed). All pointers are byte offsets into the imported memory
 * `env.memory`; lengths count f32 values. Every function handles any length (a scalar tail after
 * the 4-wide part).
 *
 * - `dot(a, b, n) -> f32`: sum of a[k] * b[k] (two 4-wide accumulators, then lanes 0..3, then the tail).
 * - `update(e, w, x, g, n)`: e[k] += g * w[k]; w[k] += g * x[k] (the output-layer step of word2vec.c).
 * - `add(dst, src, n)`: dst[k] += src[k].
 * - `scale(dst, s, n)`: dst[k] *= s.
 * - `zero(dst, n)`: dst[k] = 0.
 */

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
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

const name = (s: string): number[] => {
  const b = [...new TextEncoder().encode(s)];
  return [...uleb(b.length), ...b];
};
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];

const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const i32 = (n: number) => [0x41, ...sleb(n)];
const ADD = [0x6a];
const SHL = [0x74];
const SHR_U = [0x76];
const AND = [0x71];
const GE_U = [0x4f];
const f32load = (off: number) => [0x2a, 2, ...uleb(off)];
const f32store = (off: number) => [0x38, 2, ...uleb(off)];
const FADD = [0x92];
const FMUL = [0x94];
const F32_ZERO = [0x43, 0, 0, 0, 0];
const vload = (off: number) => [0xfd, 0x00, 2, ...uleb(off)];
const vstore = (off: number) => [0xfd, 0x0b, 2, ...uleb(off)];
const SPLAT = [0xfd, 0x13];
const lane = (l: number) => [0xfd, 0x1f, l];
const VADD = [0xfd, 0xe4, 0x01];
const VMUL = [0xfd, 0xe6, 0x01];
const VZERO = [0xfd, 0x0c, ...new Array<number>(16).fill(0)];
const BLOCK = [0x02, 0x40];
const LOOP = [0x03, 0x40];
const br = (d: number) => [0x0c, d];
const brIf = (d: number) => [0x0d, d];
const END = [0x0b];

/** `p += step` for each local index in `ptrs`. */
const advance = (ptrs: number[], step: number): number[][] =>
  ptrs.map((p) => [...get(p), ...i32(step), ...ADD, ...set(p)]);

/** A counted loop over `ptrs[0]` up to local `end`: `body`, then every pointer moves by `step` bytes. */
const loopTo = (end: number, ptrs: number[], step: number, body: number[][]): number[][] => [
  BLOCK,
  LOOP,
  get(ptrs[0]!),
  get(end),
  GE_U,
  brIf(1),
  ...body,
  ...advance(ptrs, step),
  br(0),
  END,
  END,
];

/** `end = ptr + (n >> shift << 2 + shift)` bytes: the vector part (shift 2 or 3) of n floats. */
const vectorEnd = (ptr: number, n: number, shift: number, end: number): number[][] => [
  get(ptr),
  get(n),
  i32(shift),
  SHR_U,
  i32(shift + 2),
  SHL,
  ADD,
  set(end),
];

/** `end = ptr + (n & mask) * 4` bytes: the scalar tail. */
const tailEnd = (ptr: number, n: number, mask: number, end: number): number[][] => [
  get(ptr),
  get(n),
  i32(mask),
  AND,
  i32(2),
  SHL,
  ADD,
  set(end),
];

interface Func {
  name: string;
  params: number[];
  results: number[];
  locals: [number, number][];
  code: number[][];
}

// dot(a 0, b 1, n 2) -> f32; locals: end 3, acc0 4, acc1 5, s 6
const dot: Func = {
  name: 'dot',
  params: [I32, I32, I32],
  results: [F32],
  locals: [
    [1, I32],
    [2, V128],
    [1, F32],
  ],
  code: [
    ...vectorEnd(0, 2, 3, 3),
    VZERO,
    set(4),
    VZERO,
    set(5),
    ...loopTo(3, [0, 1], 32, [
      [...get(4), ...get(0), ...vload(0), ...get(1), ...vload(0), ...VMUL, ...VADD, ...set(4)],
      [...get(5), ...get(0), ...vload(16), ...get(1), ...vload(16), ...VMUL, ...VADD, ...set(5)],
    ]),
    [...get(4), ...get(5), ...VADD, ...set(4)],
    [...get(4), ...lane(0), ...get(4), ...lane(1), ...FADD, ...get(4), ...lane(2), ...FADD],
    [...get(4), ...lane(3), ...FADD, ...set(6)],
    ...tailEnd(0, 2, 7, 3),
    ...loopTo(3, [0, 1], 4, [
      [...get(6), ...get(0), ...f32load(0), ...get(1), ...f32load(0), ...FMUL, ...FADD, ...set(6)],
    ]),
    get(6),
  ],
};

// update(e 0, w 1, x 2, g 3, n 4); locals: end 5, gv 6, wv 7, wf 8
const update: Func = {
  name: 'update',
  params: [I32, I32, I32, F32, I32],
  results: [],
  locals: [
    [1, I32],
    [2, V128],
    [1, F32],
  ],
  code: [
    [...get(3), ...SPLAT, ...set(6)],
    ...vectorEnd(0, 4, 2, 5),
    ...loopTo(5, [0, 1, 2], 16, [
      [...get(1), ...vload(0), ...set(7)],
      [...get(0), ...get(0), ...vload(0), ...get(6), ...get(7), ...VMUL, ...VADD, ...vstore(0)],
      [...get(1), ...get(7), ...get(6), ...get(2), ...vload(0), ...VMUL, ...VADD, ...vstore(0)],
    ]),
    ...tailEnd(0, 4, 3, 5),
    ...loopTo(5, [0, 1, 2], 4, [
      [...get(1), ...f32load(0), ...set(8)],
      [...get(0), ...get(0), ...f32load(0), ...get(3), ...get(8), ...FMUL, ...FADD, ...f32store(0)],
      [...get(1), ...get(8), ...get(3), ...get(2), ...f32load(0), ...FMUL, ...FADD, ...f32store(0)],
    ]),
  ],
};

// add(dst 0, src 1, n 2); locals: end 3
const add: Func = {
  name: 'add',
  params: [I32, I32, I32],
  results: [],
  locals: [[1, I32]],
  code: [
    ...vectorEnd(0, 2, 2, 3),
    ...loopTo(3, [0, 1], 16, [
      [...get(0), ...get(0), ...vload(0), ...get(1), ...vload(0), ...VADD, ...vstore(0)],
    ]),
    ...tailEnd(0, 2, 3, 3),
    ...loopTo(3, [0, 1], 4, [
      [...get(0), ...get(0), ...f32load(0), ...get(1), ...f32load(0), ...FADD, ...f32store(0)],
    ]),
  ],
};

// scale(dst 0, s 1, n 2); locals: end 3, sv 4
const scale: Func = {
  name: 'scale',
  params: [I32, F32, I32],
  results: [],
  locals: [
    [1, I32],
    [1, V128],
  ],
  code: [
    [...get(1), ...SPLAT, ...set(4)],
    ...vectorEnd(0, 2, 2, 3),
    ...loopTo(3, [0], 16, [[...get(0), ...get(0), ...vload(0), ...get(4), ...VMUL, ...vstore(0)]]),
    ...tailEnd(0, 2, 3, 3),
    ...loopTo(3, [0], 4, [[...get(0), ...get(0), ...f32load(0), ...get(1), ...FMUL, ...f32store(0)]]),
  ],
};

// zero(dst 0, n 1); locals: end 2
const zero: Func = {
  name: 'zero',
  params: [I32, I32],
  results: [],
  locals: [[1, I32]],
  code: [
    ...vectorEnd(0, 1, 2, 2),
    ...loopTo(2, [0], 16, [[...get(0), ...VZERO, ...vstore(0)]]),
    ...tailEnd(0, 1, 3, 2),
    ...loopTo(2, [0], 4, [[...get(0), ...F32_ZERO, ...f32store(0)]]),
  ],
};

const FUNCS = [dot, update, add, scale, zero];

/** The module's bytes, importing `env.memory` with `pages` 64 KiB pages (shared for worker threads). */
export function vectorKernelBytes(pages: number, shared: boolean): Uint8Array<ArrayBuffer> {
  const limits = shared ? [0x03, ...uleb(pages), ...uleb(pages)] : [0x01, ...uleb(pages), ...uleb(pages)];
  const body = (f: Func): number[] => {
    const b = [...vec(f.locals.map(([count, type]) => [...uleb(count), type])), ...f.code.flat(), ...END];
    return [...uleb(b.length), ...b];
  };
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(
      1,
      vec(FUNCS.map((f) => [0x60, ...vec(f.params.map((t) => [t])), ...vec(f.results.map((t) => [t]))])),
    ),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, ...limits]])),
    ...section(3, vec(FUNCS.map((_, i) => uleb(i)))),
    ...section(7, vec(FUNCS.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(FUNCS.map(body))),
  ]);
}

/** The exports of the module. */
export interface VectorKernel {
  dot(a: number, b: number, n: number): number;
  update(e: number, w: number, x: number, g: number, n: number): void;
  add(dst: number, src: number, n: number): void;
  scale(dst: number, s: number, n: number): void;
  zero(dst: number, n: number): void;
}

/** Largest memory we ask for (2 GiB); beyond it training uses the plain JavaScript loops. */
export const MAX_WASM_PAGES = 32768;

/** Memory plus compiled module for the SIMD loops, or undefined where WebAssembly SIMD is unavailable. */
export function createVectorMemory(
  bytes: number,
  shared: boolean,
): { memory: WebAssembly.Memory; module: WebAssembly.Module } | undefined {
  const pages = Math.max(1, Math.ceil(bytes / 65536));
  if (pages > MAX_WASM_PAGES || typeof WebAssembly === 'undefined') return undefined;
  try {
    const code = vectorKernelBytes(pages, shared);
    if (!WebAssembly.validate(code)) return undefined;
    const module = new WebAssembly.Module(code);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared });
    return { memory, module };
  } catch {
    return undefined;
  }
}
