import { bytesPerElement, type DType, type Expr, ex, OPS, type OpDef } from '@recur/tensor';
import { isElementwise as elementwiseNode, type Graph, isOp, type Node, type OpNode } from './ir.js';
import { bodySource, type Loop, type Program, sourcesOf } from './program.js';
import { GraphError } from './verify.js';

/**
 * Where a value lives: a logical buffer, an element offset, per-dimension strides, and in a loop
 * an offset per step (`step`·t) and an alternate buffer used on odd iterations (ping-pong carries).
 */
export interface Slot {
  readonly buf: number;
  readonly alt: number | null;
  readonly offset: number;
  readonly step: number;
  readonly strides: readonly number[];
  readonly shape: readonly number[];
}

export type BufferKind = 'external' | 'const' | 'value' | 'temp';

export interface LogicalBuffer {
  readonly id: number;
  readonly kind: BufferKind;
  readonly dtype: DType;
  readonly size: number;
  /** External inputs: the environment name bound at run time, and the shape expected. Consts: the values. */
  readonly name?: string;
  readonly shape?: readonly number[];
  readonly value?: readonly number[];
  /** Timeline positions of the first write and the last read (planning). */
  first: number;
  last: number;
}

export type Kernel =
  | {
      readonly kind: 'gemm';
      readonly a: Slot;
      readonly b: Slot;
      readonly out: Slot;
      readonly bias: Slot | null;
      readonly transA: boolean;
      readonly transB: boolean;
      readonly batch: number;
      readonly m: number;
      readonly n: number;
      readonly k: number;
      readonly aBatchStride: number;
      readonly bBatchStride: number;
    }
  | {
      readonly kind: 'fused';
      readonly shape: readonly number[];
      readonly inputs: readonly Slot[];
      readonly outputs: readonly { readonly expr: Expr; readonly slot: Slot }[];
    }
  | { readonly kind: 'copy'; readonly src: Slot; readonly dst: Slot }
  | { readonly kind: 'op'; readonly node: OpNode; readonly inputs: readonly Slot[]; readonly out: Slot };

export interface LoweredLoop {
  readonly kind: 'loop';
  readonly reverse: boolean;
  /** Run once before the first step (carry initialisation, zeroing sums). */
  readonly prologue: readonly Kernel[];
  readonly kernels: readonly Kernel[];
}

export interface LoweredBlock {
  readonly kind: 'block';
  readonly kernels: readonly Kernel[];
}

export interface Lowered {
  readonly steps: number;
  readonly buffers: LogicalBuffer[];
  readonly stages: readonly (LoweredBlock | LoweredLoop)[];
  /** Where each environment value ends up. */
  readonly env: ReadonlyMap<string, Slot>;
  /** Pairs [input, output] of buffers a fused kernel may share (it reads and writes in place). */
  readonly inPlace: readonly (readonly [number, number])[];
  /**
   * Pairs [X, Y] of stacked buffers a loop's kernel may share although both are live across the
   * loop: at each step it writes Y only over the part of X it has just read, and X is dead after.
   */
  readonly stepInPlace: readonly (readonly [number, number])[];
}

const VIEW_OPS = new Set(['reshape', 'slice', 'transpose', 'broadcastTo']);
const dense = (shape: readonly number[]): number[] => {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = shape[i] === 1 ? 0 : acc;
    acc *= shape[i]!;
  }
  return s;
};
const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** True when the slot reads its elements in row-major order without gaps. */
export function isDense(s: Slot): boolean {
  const d = dense(s.shape);
  return s.shape.every((n, i) => n === 1 || s.strides[i] === d[i]);
}

function isWhole(s: Slot, buffers: readonly LogicalBuffer[]): boolean {
  return (
    s.offset === 0 && s.step === 0 && s.alt === null && isDense(s) && buffers[s.buf]!.size === sizeOf(s.shape)
  );
}

/**
 * Lowers a program to kernels over logical buffers. Elementwise ops of one shape become fused
 * kernels (one expression per result, several results per kernel); slices, transposes, broadcasts
 * and reshapes of dense values become views; an add of a vector to a matmul result becomes the
 * GEMM's bias epilogue; results are written where their consumer wants them (a column block of a
 * concatenation, step t of a stacked output, the next carry buffer) instead of being copied there.
 *
 * `externals` lists the environment values bound by the caller (inputs and parameters) with their
 * shapes; `keep` the environment values the caller reads afterwards.
 */
export function lower(
  p: Program,
  externals: ReadonlyMap<string, { shape: readonly number[]; dtype: DType }>,
  keep: ReadonlySet<string>,
): Lowered {
  const buffers: LogicalBuffer[] = [];
  const newBuffer = (kind: BufferKind, dtype: DType, size: number, extra: Partial<LogicalBuffer> = {}) => {
    const b: LogicalBuffer = {
      id: buffers.length,
      kind,
      dtype,
      size,
      first: Infinity,
      last: -Infinity,
      ...extra,
    };
    buffers.push(b);
    return b.id;
  };
  const whole = (buf: number, shape: readonly number[]): Slot => ({
    buf,
    alt: null,
    offset: 0,
    step: 0,
    strides: dense(shape),
    shape: [...shape],
  });
  const env = new Map<string, Slot>();
  for (const [name, m] of externals)
    env.set(name, whole(newBuffer('external', m.dtype, sizeOf(m.shape), { name, shape: m.shape }), m.shape));
  const envSlot = (name: string, who: string): Slot => {
    const s = env.get(name);
    if (!s) throw new GraphError(`lower: ${who} reads '${name}', which no input or earlier stage provides.`);
    return s;
  };

  // How many stages read each environment value (kept values count as read afterwards).
  const readers = new Map<string, number>();
  const readBy = (names: Iterable<string>) => {
    for (const n of new Set(names)) readers.set(n, (readers.get(n) ?? 0) + 1);
  };
  for (const stage of p.stages) {
    if (stage.kind === 'block') readBy(sourcesOf(stage.graph).map((s) => s.name));
    else
      readBy([
        ...sourcesOf(stage.body)
          .map(bodySource)
          .filter((b) => b.kind !== 'carry')
          .map((b) => b.name),
        ...stage.carries.map((c) => c.init),
      ]);
  }
  readBy(keep);

  const stages: (LoweredBlock | LoweredLoop)[] = [];
  for (const stage of p.stages) {
    if (stage.kind === 'block') {
      const sources = new Map<number, Slot>();
      for (const s of sourcesOf(stage.graph)) sources.set(s.id, envSlot(s.name, 'a block'));
      const wants = stage.graph.outputs.map(() => null);
      const { kernels, slots } = lowerGraph(stage.graph, sources, wants, newBuffer, whole, buffers);
      stage.outputs.forEach((name, i) => {
        env.set(name, slots.get(stage.graph.outputs[i]!)!);
      });
      stages.push({ kind: 'block', kernels });
    } else {
      stages.push(lowerLoop(stage, p.steps, env, envSlot, newBuffer, whole, buffers, readers, keep));
    }
  }

  // Timeline: every kernel gets a position; loops touch their buffers for their whole span.
  let pos = 0;
  const touch = (s: Slot, at: number) => {
    for (const id of s.alt === null ? [s.buf] : [s.buf, s.alt]) {
      const b = buffers[id]!;
      b.first = Math.min(b.first, at);
      b.last = Math.max(b.last, at);
    }
  };
  const inPlace: [number, number][] = [];
  const visitKernel = (k: Kernel, at: number, inLoop: Set<number> | null) => {
    for (const s of slotsOf(k)) {
      if (inLoop && buffers[s.buf]!.kind === 'temp' && s.alt === null && s.step === 0) inLoop.add(s.buf);
      touch(s, at);
    }
    if (k.kind !== 'fused') return;
    // In place: a whole temp input and a whole temp output of the same layout.
    for (const o of k.outputs) {
      for (const i of k.inputs) {
        if (
          isWhole(o.slot, buffers) &&
          isWhole(i, buffers) &&
          (buffers[o.slot.buf]!.kind === 'temp' || buffers[o.slot.buf]!.kind === 'value') &&
          (buffers[i.buf]!.kind === 'temp' || buffers[i.buf]!.kind === 'value') &&
          buffers[i.buf]!.size === buffers[o.slot.buf]!.size &&
          buffers[i.buf]!.dtype === buffers[o.slot.buf]!.dtype &&
          i.shape.join() === o.slot.shape.join()
        )
          inPlace.push([i.buf, o.slot.buf]);
      }
    }
  };
  const spans: { loop: LoweredLoop; start: number; end: number }[] = [];
  for (const st of stages) {
    if (st.kind === 'block') {
      for (const k of st.kernels) visitKernel(k, pos++, null);
      continue;
    }
    const start = pos;
    for (const k of st.prologue) visitKernel(k, pos++, null);
    const temps = new Set<number>();
    for (const k of st.kernels) visitKernel(k, pos++, temps);
    // Values that persist across steps are live for the whole loop.
    for (const k of st.kernels) {
      for (const s of slotsOf(k)) {
        if (temps.has(s.buf)) continue;
        touch(s, start);
        touch(s, pos);
      }
    }
    spans.push({ loop: st, start, end: pos });
    pos++;
  }
  for (const name of keep) {
    const s = env.get(name);
    if (s) touch(s, pos);
  }
  for (const b of buffers) if (b.kind === 'external' || b.kind === 'const') b.last = Infinity;
  const stepInPlace = spans.flatMap(({ loop, start, end }) => stepInPlacePairs(loop, start, end, buffers));
  return { steps: p.steps, buffers, stages, env, inPlace, stepInPlace };
}

/**
 * Pairs [X, Y] of stacked buffers where a loop's fused kernel may write Y over X: X is read only
 * by that kernel and never after the loop, Y is written only by it and first in this loop (later
 * kernels of the step may read what it wrote), both
 * are addressed step by step with the same step, and every element of Y the kernel writes at a
 * step is either outside what it reads of X or exactly where it reads the same index of X (the
 * backend contract lets an output overwrite the very view it reads).
 */
function stepInPlacePairs(
  loop: LoweredLoop,
  start: number,
  end: number,
  buffers: readonly LogicalBuffer[],
): [number, number][] {
  const kernels = [...loop.prologue, ...loop.kernels];
  const on = (buf: number) => (s: Slot) => s.buf === buf || s.alt === buf;
  const uses = (buf: number) => kernels.flatMap(slotsOf).filter(on(buf)).length;
  const writes = (buf: number) => kernels.flatMap(writtenBy).filter(on(buf)).length;
  const stacked = (s: Slot) => s.alt === null && s.step !== 0;
  const local = (b: LogicalBuffer) => b.kind === 'temp' || b.kind === 'value';
  const pairs: [number, number][] = [];
  for (const k of loop.kernels) {
    if (k.kind !== 'fused') continue;
    const ins = k.inputs.filter(stacked);
    const outs = k.outputs.map((o) => o.slot).filter(stacked);
    for (const x of new Set(ins.map((s) => s.buf))) {
      for (const y of new Set(outs.map((s) => s.buf))) {
        const bx = buffers[x]!;
        const by = buffers[y]!;
        if (x === y || !local(bx) || !local(by) || bx.dtype !== by.dtype || by.size > bx.size) continue;
        if (bx.last > end || by.first < start) continue;
        const xs = ins.filter((s) => s.buf === x);
        const ys = outs.filter((s) => s.buf === y);
        // Only this kernel touches X; only this kernel writes Y (later kernels may read it).
        if (uses(x) !== xs.length || writes(y) !== ys.length) continue;
        if (overwritesOnlyWhatItReads(xs, ys)) pairs.push([x, y]);
      }
    }
  }
  return pairs;
}

/** True when, within one step, each written slot is disjoint from or identical to the read ones. */
function overwritesOnlyWhatItReads(reads: readonly Slot[], writes: readonly Slot[]): boolean {
  const step = reads[0]!.step;
  const key = (s: Slot) => `${s.offset}|${s.strides.join()}|${s.shape.join()}`;
  const within = (s: Slot) =>
    s.step === step &&
    s.offset >= 0 &&
    s.strides.every((d) => d >= 0) &&
    s.offset + s.shape.reduce((a, n, i) => a + (n - 1) * s.strides[i]!, 0) < step;
  if (![...reads, ...writes].every(within)) return false;
  const addresses = (s: Slot): number[] => {
    let out = [s.offset];
    s.shape.forEach((n, i) => {
      const next: number[] = [];
      for (const a of out) for (let j = 0; j < n; j++) next.push(a + j * s.strides[i]!);
      out = next;
    });
    return out;
  };
  const owner = new Map<number, string>();
  for (const r of reads) {
    const k = key(r);
    for (const a of addresses(r)) {
      const o = owner.get(a);
      if (o !== undefined && o !== k) return false;
      owner.set(a, k);
    }
  }
  return writes.every((w) => {
    const k = key(w);
    return addresses(w).every((a) => {
      const o = owner.get(a);
      return o === undefined || o === k;
    });
  });
}

type NewBuffer = (kind: BufferKind, dtype: DType, size: number, extra?: Partial<LogicalBuffer>) => number;
type Whole = (buf: number, shape: readonly number[]) => Slot;

function lowerLoop(
  loop: Loop,
  steps: number,
  env: Map<string, Slot>,
  envSlot: (name: string, who: string) => Slot,
  newBuffer: NewBuffer,
  whole: Whole,
  buffers: LogicalBuffer[],
  readers: ReadonlyMap<string, number>,
  keep: ReadonlySet<string>,
): LoweredLoop {
  const g = loop.body;
  const prologue: Kernel[] = [];
  const sources = new Map<number, Slot>();
  const carryBufs = new Map<string, { a: number; b: number; shape: readonly number[] }>();
  const carryNode = new Map<string, Node>();
  for (const s of sourcesOf(g)) {
    const src = bodySource(s);
    if (src.kind === 'carry') carryNode.set(src.name, s);
  }
  for (const c of loop.carries) {
    const i = loop.outputs.findIndex((o) => o.kind === 'carry' && o.name === c.name);
    const node = g.nodes[g.outputs[i]!]!;
    const a = newBuffer('temp', node.dtype, sizeOf(node.shape));
    const b = newBuffer('temp', node.dtype, sizeOf(node.shape));
    carryBufs.set(c.name, { a, b, shape: node.shape });
    prologue.push({ kind: 'copy', src: envSlot(c.init, 'a loop'), dst: whole(a, node.shape) });
  }
  for (const s of sourcesOf(g)) {
    const src = bodySource(s);
    if (src.kind === 'carry') {
      const cb = carryBufs.get(src.name);
      if (!cb)
        throw new GraphError(
          `lower: the loop body reads carry '${src.name}', which the loop does not carry.`,
        );
      sources.set(s.id, { ...whole(cb.a, s.shape), alt: cb.b });
    } else if (src.kind === 'step') {
      const whole0 = envSlot(src.name, 'a loop');
      if (whole0.step !== 0 || whole0.alt !== null)
        throw new GraphError(`lower: '${src.name}' is not a stacked value.`);
      sources.set(s.id, {
        ...whole0,
        step: whole0.strides[0]! === 0 ? 0 : whole0.strides[0]!,
        strides: whole0.strides.slice(1),
        shape: whole0.shape.slice(1),
      });
    } else {
      sources.set(s.id, envSlot(src.name, 'a loop'));
    }
  }
  const carryOf = (n: Node): string | null => {
    if (isOp(n) || n.kind === 'const') return null;
    const src = bodySource(n);
    return src.kind === 'carry' ? src.name : null;
  };
  // Where each body output must go.
  const wants: Slot[][] = g.outputs.map(() => []);
  const after: [string, Slot][] = [];
  // A stacked output that is a carry's new value, when that carry is also saved step by step
  // (training), is a view of the saved stack one slot on: no second copy.
  const savedCarries = new Set(
    loop.outputs.flatMap((o, i) => (o.kind === 'stack' ? [carryOf(g.nodes[g.outputs[i]!]!)] : [])),
  );
  const savedBuf = new Map<string, number>();
  const views: [string, string, readonly number[]][] = [];
  loop.outputs.forEach((o, i) => {
    const n = g.nodes[g.outputs[i]!]!;
    if (o.kind === 'carry') {
      const cb = carryBufs.get(o.name)!;
      wants[i]!.push({ ...whole(cb.b, n.shape), alt: cb.a });
      const lastInB = steps % 2 === 1;
      const final = loop.carries.find((c) => c.name === o.name)!.final;
      after.push([final, whole(lastInB ? cb.b : cb.a, n.shape)]);
    } else if (o.kind === 'stack') {
      const carry = carryOf(n);
      const size = sizeOf(n.shape);
      if (carry) {
        // Step t's incoming carry is what step t-1 (t+1 backwards) produced: the producer of the
        // carry also writes one slot ahead, and the initial value is copied into the first slot.
        const buf = newBuffer('value', n.dtype, (steps + 1) * size);
        savedBuf.set(carry, buf);
        const full = { ...whole(buf, [steps, ...n.shape]), offset: loop.reverse ? size : 0 };
        const j = loop.outputs.findIndex((x) => x.kind === 'carry' && x.name === carry);
        wants[j]!.push({
          buf,
          alt: null,
          offset: loop.reverse ? 0 : size,
          step: size,
          strides: dense(n.shape),
          shape: [...n.shape],
        });
        const init = envSlot(loop.carries.find((c) => c.name === carry)!.init, 'a loop');
        prologue.push({
          kind: 'copy',
          src: init,
          dst: { ...whole(buf, n.shape), offset: loop.reverse ? steps * size : 0 },
        });
        after.push([o.name, full]);
        return;
      }
      const sameAsCarry = loop.outputs.find(
        (x, j) => x.kind === 'carry' && g.outputs[j] === g.outputs[i] && savedCarries.has(x.name),
      );
      if (sameAsCarry) {
        views.push([o.name, sameAsCarry.name, n.shape]);
        return;
      }
      const buf = newBuffer('value', n.dtype, steps * size);
      const full = whole(buf, [steps, ...n.shape]);
      wants[i]!.push({
        ...full,
        step: full.strides[0]!,
        strides: full.strides.slice(1),
        shape: [...n.shape],
      });
      after.push([o.name, full]);
    } else {
      const buf = newBuffer('value', n.dtype, sizeOf(n.shape));
      after.push([o.name, whole(buf, n.shape)]);
    }
  });
  for (const [name, carry, shape] of views) {
    const size = sizeOf(shape);
    after.push([
      name,
      { ...whole(savedBuf.get(carry)!, [steps, ...shape]), offset: loop.reverse ? 0 : size },
    ]);
  }
  const { kernels, slots } = lowerGraph(g, sources, wants, newBuffer, whole, buffers);
  relocateStacks(loop, kernels, prologue, after, env, readers, keep, newBuffer, buffers, steps);
  // Sums accumulate one step at a time.
  loop.outputs.forEach((o, i) => {
    if (o.kind !== 'sum') return;
    const n = g.nodes[g.outputs[i]!]!;
    const acc = after.find(([name]) => name === o.name)![1];
    const v = slots.get(g.outputs[i]!)!;
    prologue.push({
      kind: 'fused',
      shape: n.shape,
      inputs: [],
      outputs: [{ expr: ex.const(0, n.dtype), slot: acc }],
    });
    kernels.push({
      kind: 'fused',
      shape: n.shape,
      inputs: [acc, v],
      outputs: [{ expr: ex.binary('add', ex.input(0, n.dtype), ex.input(1, n.dtype)), slot: acc }],
    });
  });
  for (const [name, s] of after) env.set(name, s);
  return { kind: 'loop', reverse: loop.reverse, prologue, kernels };
}

/**
 * Places stacked results over the stacked inputs they are computed from. When a fused kernel
 * computes step t of a stacked output from step t of a stacked input of the same shape (e.g. a
 * gate activation from its column block of the hoisted input projection), and nothing but this
 * loop reads that input, the output is written into a shadow buffer shaped like the input, at the
 * very element positions the kernel reads. The planner can then give the shadow the input's
 * memory (`Lowered.stepInPlace`): each step overwrites only what it has just read.
 */
function relocateStacks(
  loop: Loop,
  kernels: Kernel[],
  prologue: readonly Kernel[],
  after: [string, Slot][],
  env: ReadonlyMap<string, Slot>,
  readers: ReadonlyMap<string, number>,
  keep: ReadonlySet<string>,
  newBuffer: NewBuffer,
  buffers: readonly LogicalBuffer[],
  steps: number,
): void {
  const touching = (buf: number) =>
    [...prologue, ...kernels].reduce(
      (a, k) => a + slotsOf(k).filter((s) => s.buf === buf || s.alt === buf).length,
      0,
    );
  // Stacked inputs only this loop reads, through one source.
  const stepNames = new Map<number, string>();
  for (const s of sourcesOf(loop.body)) {
    const src = bodySource(s);
    if (src.kind !== 'step') continue;
    const slot = env.get(src.name);
    if (!slot || (readers.get(src.name) ?? 0) !== 1) continue;
    const aliases = [...env.values()].filter((e) => e.buf === slot.buf).length;
    if (aliases === 1) stepNames.set(slot.buf, src.name);
  }
  const shadows = new Map<number, { buf: number; used: Set<string> }>();
  const geometry = (s: Slot) => `${s.offset}|${s.strides.join()}|${s.shape.join()}`;
  loop.outputs.forEach((o) => {
    // Results the caller reads stay dense where they are.
    if (o.kind !== 'stack' || keep.has(o.name)) return;
    const entry = after.find(([name]) => name === o.name);
    if (!entry) return;
    const v = entry[1].buf;
    if (buffers[v]!.kind !== 'value' || touching(v) !== 1) return;
    const ki = kernels.findIndex((k) => k.kind === 'fused' && k.outputs.some((x) => x.slot.buf === v));
    const k = kernels[ki];
    if (k?.kind !== 'fused') return;
    const out = k.outputs.find((x) => x.slot.buf === v)!;
    const reads = inputsOf(out.expr);
    const like = k.inputs.find((i, j) => {
      const x = buffers[i.buf]!;
      return (
        reads.has(j) &&
        stepNames.has(i.buf) &&
        i.alt === null &&
        i.step !== 0 &&
        x.dtype === buffers[v]!.dtype &&
        x.size === steps * i.step &&
        i.shape.join() === out.slot.shape.join() &&
        !shadows.get(i.buf)?.used.has(geometry(i))
      );
    });
    if (!like) return;
    let shadow = shadows.get(like.buf);
    if (!shadow) {
      shadow = { buf: newBuffer('value', buffers[v]!.dtype, buffers[like.buf]!.size), used: new Set() };
      shadows.set(like.buf, shadow);
    }
    shadow.used.add(geometry(like));
    const placed: Slot = { ...like, buf: shadow.buf };
    kernels[ki] = {
      ...k,
      outputs: k.outputs.map((x) => (x === out ? { expr: x.expr, slot: placed } : x)),
    };
    entry[1] = {
      buf: shadow.buf,
      alt: null,
      offset: like.offset,
      step: 0,
      strides: [like.step, ...like.strides],
      shape: [steps, ...like.shape],
    };
  });
}

/**
 * Lowers one graph. `sources` gives the slot of every source; `wants[i]` the places output i must
 * be written to (nothing for block outputs, which stay where they are computed).
 */
function lowerGraph(
  g: Graph,
  sources: ReadonlyMap<number, Slot>,
  wants: readonly (readonly Slot[] | null)[],
  newBuffer: NewBuffer,
  whole: Whole,
  buffers: LogicalBuffer[],
): { kernels: Kernel[]; slots: Map<number, Slot> } {
  const N = g.nodes.length;
  const consumers: number[][] = g.nodes.map(() => []);
  for (const n of g.nodes) if (isOp(n)) for (const i of n.inputs) consumers[i]!.push(n.id);
  const isOutput = new Set(g.outputs);
  const op = (id: number): OpNode | null => {
    const n = g.nodes[id]!;
    return isOp(n) ? n : null;
  };
  const isElementwise = (id: number) => {
    const n = op(id);
    return !!n && elementwiseNode(n);
  };

  // Bias epilogue: add(matmul(..), v) with v a vector over the output columns.
  const biasOf = new Map<number, { mm: number; bias: number }>();
  const absorbed = new Set<number>();
  for (const n of g.nodes) {
    if (!isOp(n) || n.op !== 'add') continue;
    for (const [m, v] of [
      [n.inputs[0]!, n.inputs[1]!],
      [n.inputs[1]!, n.inputs[0]!],
    ] as const) {
      const mm = op(m);
      const vn = g.nodes[v]!;
      if (
        mm?.op === 'matmul' &&
        consumers[m]!.length === 1 &&
        !isOutput.has(m) &&
        !absorbed.has(m) &&
        mm.shape.join() === n.shape.join() &&
        vn.shape.length === 1 &&
        vn.shape[0] === n.shape[n.shape.length - 1] &&
        vn.dtype === n.dtype
      ) {
        biasOf.set(n.id, { mm: m, bias: v });
        absorbed.add(m);
        break;
      }
    }
  }

  // Fusion groups: elementwise ops over one shape, without creating a cycle between kernels.
  const group = new Array<number>(N).fill(-1);
  const groupShape: string[] = [];
  const members: number[][] = [];
  const inputsOf = (id: number): readonly number[] => {
    const n = op(id);
    if (!n) return [];
    const b = biasOf.get(id);
    return b ? [...n.inputs, ...op(b.mm)!.inputs] : n.inputs;
  };
  // Whether the kernel computing `from` (transitively) needs group `target`'s kernel.
  const needsGroup = (from: number, target: number): boolean => {
    const seen = new Set<number>();
    const stack = [from];
    while (stack.length > 0) {
      const x = stack.pop()!;
      if (seen.has(x)) continue;
      seen.add(x);
      if (group[x] === target) return true;
      stack.push(...inputsOf(x));
      if (group[x]! >= 0) for (const m of members[group[x]!]!) stack.push(...inputsOf(m));
    }
    return false;
  };
  for (const n of g.nodes) {
    if (!isOp(n) || !isElementwise(n.id) || biasOf.has(n.id)) continue;
    const key = n.shape.join();
    let chosen = -1;
    // Prefer a group an input belongs to, then any group of the same shape (latest first).
    const candidates = [
      ...n.inputs.map((i) => group[i]!),
      ...groupShape.map((_, gi) => groupShape.length - 1 - gi),
    ];
    for (const gi of candidates) {
      if (gi < 0 || groupShape[gi] !== key) continue;
      if (!n.inputs.some((j) => group[j] !== gi && needsGroup(j, gi))) {
        chosen = gi;
        break;
      }
    }
    if (chosen < 0) {
      chosen = groupShape.length;
      groupShape.push(key);
      members.push([]);
    }
    group[n.id] = chosen;
    members[chosen]!.push(n.id);
  }

  // Placement requests: outputs and concatenation inputs written in place.
  const slots = new Map<number, Slot>();
  const place = new Map<number, Slot[]>();
  const request = (id: number, s: Slot) => {
    place.set(id, [...(place.get(id) ?? []), s]);
  };
  g.outputs.forEach((o, i) => {
    for (const w of wants[i] ?? []) request(o, w);
  });
  const concatSlot = new Map<number, Slot>();
  for (let id = N - 1; id >= 0; id--) {
    const n = op(id);
    if (n?.op !== 'concat') continue;
    const reqs = place.get(id) ?? [];
    const target = reqs[0] ?? whole(newBuffer('temp', n.dtype, sizeOf(n.shape)), n.shape);
    concatSlot.set(id, target);
    const axis = (n.attrs as { axis: number }).axis;
    const ax = axis < 0 ? axis + n.shape.length : axis;
    let at = 0;
    for (const i of n.inputs) {
      const shape = g.nodes[i]!.shape;
      request(i, { ...target, offset: target.offset + at * target.strides[ax]!, shape: [...shape] });
      at += shape[ax]!;
    }
  }

  const kernels: Kernel[] = [];
  const pendingCopies = new Map<number, Slot[]>();
  // Units: a fusion group, or a single node that needs a kernel.
  const unitOf = new Array<number>(N).fill(-1);
  const units: { members: number[]; kind: 'fused' | 'gemm' | 'concat' | 'op' | 'view' | 'source' }[] = [];
  const groupUnit = new Map<number, number>();
  for (const n of g.nodes) {
    if (!isOp(n)) {
      unitOf[n.id] = units.length;
      units.push({ members: [n.id], kind: 'source' });
      continue;
    }
    if (absorbed.has(n.id)) continue;
    if (group[n.id]! >= 0) {
      const gu = groupUnit.get(group[n.id]!);
      if (gu !== undefined) {
        unitOf[n.id] = gu;
        units[gu]!.members.push(n.id);
        continue;
      }
      groupUnit.set(group[n.id]!, units.length);
      unitOf[n.id] = units.length;
      units.push({ members: [n.id], kind: 'fused' });
      continue;
    }
    unitOf[n.id] = units.length;
    const kind =
      n.op === 'matmul' || biasOf.has(n.id)
        ? 'gemm'
        : n.op === 'concat'
          ? 'concat'
          : VIEW_OPS.has(n.op)
            ? 'view'
            : 'op';
    units.push({ members: [n.id], kind });
  }
  for (const m of absorbed) {
    const add = [...biasOf.entries()].find(([, v]) => v.mm === m)![0];
    unitOf[m] = unitOf[add]!;
  }

  // Slot of each value, in node order (views derive from their input's slot).
  const temp = (n: Node): Slot => whole(newBuffer('temp', n.dtype, sizeOf(n.shape)), n.shape);
  const canPlace = (id: number, s: Slot): boolean => {
    const u = units[unitOf[id]!]!;
    if (u.kind === 'fused') return true;
    if (u.kind === 'gemm') return isDense(s);
    return false;
  };
  const materialize = (id: number): void => {
    const n = g.nodes[id]!;
    const reqs = place.get(id) ?? [];
    const u = units[unitOf[id]!]!;
    if (u.kind === 'source') {
      slots.set(
        id,
        n.kind === 'const'
          ? whole(newBuffer('const', n.dtype, sizeOf(n.shape), { value: n.value ?? [] }), n.shape)
          : sources.get(id)!,
      );
      for (const r of reqs) addCopy(id, r);
      return;
    }
    if (u.kind === 'view') {
      const v = viewSlot(op(id)!, slots.get(op(id)!.inputs[0]!)!);
      if (v) slots.set(id, v);
      else {
        const t = temp(n);
        const src = slots.get(op(id)!.inputs[0]!)!;
        viewCopies.set(id, { kind: 'copy', src, dst: reshapeDst(t, src.shape) });
        slots.set(id, t);
      }
      for (const r of reqs) addCopy(id, r);
      return;
    }
    if (u.kind === 'concat') {
      slots.set(id, concatSlot.get(id)!);
      for (const r of reqs.slice(1)) addCopy(id, r);
      return;
    }
    const primary = reqs.find((r) => canPlace(id, r));
    slots.set(id, primary ?? temp(n));
    const extra = reqs.filter((r) => r !== primary);
    if (u.kind === 'fused') extraOuts.set(id, extra);
    else for (const r of extra) addCopy(id, r);
  };
  const extraOuts = new Map<number, Slot[]>();
  // Views that cannot address their input (a reshape of a strided value) copy it densely first.
  const viewCopies = new Map<number, Kernel>();
  const addCopy = (id: number, dst: Slot) => {
    pendingCopies.set(id, [...(pendingCopies.get(id) ?? []), dst]);
  };
  for (const n of g.nodes) {
    if (absorbed.has(n.id)) continue;
    materialize(n.id);
  }

  // Which fused members are needed outside their group.
  const needOutside = (id: number): boolean =>
    isOutput.has(id) ||
    place.has(id) ||
    consumers[id]!.some((c) => unitOf[c] !== unitOf[id] || absorbed.has(c));

  // Emit units in dependency order.
  const unitDeps = units.map(() => new Set<number>());
  units.forEach((u, ui) => {
    for (const m of u.members) {
      const n = op(m);
      const ins = n ? [...n.inputs, ...(biasOf.has(m) ? op(biasOf.get(m)!.mm)!.inputs : [])] : [];
      for (const i of ins) if (unitOf[i] !== ui && !absorbed.has(i)) unitDeps[ui]!.add(unitOf[i]!);
    }
  });
  const done = new Array<boolean>(units.length).fill(false);
  const order: number[] = [];
  const visit = (ui: number) => {
    if (done[ui]) return;
    done[ui] = true;
    for (const d of [...unitDeps[ui]!].sort((a, b) => a - b)) visit(d);
    order.push(ui);
  };
  for (let ui = 0; ui < units.length; ui++) visit(ui);

  for (const ui of order) {
    const u = units[ui]!;
    const id = u.members[u.members.length - 1]!;
    if (u.kind === 'fused') emitFused(u.members);
    else if (u.kind === 'gemm') emitGemm(id);
    else if (u.kind === 'op') emitOp(id);
    else if (u.kind === 'view' && viewCopies.has(id)) kernels.push(viewCopies.get(id)!);
    for (const m of u.members)
      for (const dst of pendingCopies.get(m) ?? []) kernels.push({ kind: 'copy', src: slots.get(m)!, dst });
  }
  return { kernels, slots };

  function emitFused(members: number[]): void {
    const inSet = new Set(members);
    const inputs: Slot[] = [];
    const inputIndex = new Map<number, number>();
    const exprs = new Map<number, Expr>();
    const inputExpr = (i: number): Expr => {
      if (inSet.has(i)) return exprs.get(i)!;
      let k = inputIndex.get(i);
      if (k === undefined) {
        k = inputs.length;
        inputIndex.set(i, k);
        inputs.push(broadcastSlot(slots.get(i)!, shape));
      }
      return ex.input(k, g.nodes[i]!.dtype);
    };
    const shape = g.nodes[members[0]!]!.shape;
    for (const m of members) {
      const n = op(m)!;
      const def = OPS[n.op] as OpDef<unknown>;
      exprs.set(m, def.expr!(n.inputs.map(inputExpr), n.attrs));
    }
    const outputs: { expr: Expr; slot: Slot }[] = [];
    for (const m of members) {
      if (!needOutside(m)) continue;
      outputs.push({ expr: exprs.get(m)!, slot: slots.get(m)! });
      for (const s of extraOuts.get(m) ?? []) outputs.push({ expr: exprs.get(m)!, slot: s });
    }
    kernels.push({ kind: 'fused', shape, inputs, outputs });
  }

  function emitGemm(id: number): void {
    const b = biasOf.get(id);
    const mm = op(b ? b.mm : id)!;
    const { transA, transB } = mm.attrs as { transA: boolean; transB: boolean };
    const out = slots.get(id)!;
    const a = matrix(mm.inputs[0]!);
    const w = matrix(mm.inputs[1]!);
    const r = mm.shape.length;
    const m = mm.shape[r - 2]!;
    const n = mm.shape[r - 1]!;
    const k = g.nodes[mm.inputs[0]!]!.shape[g.nodes[mm.inputs[0]!]!.shape.length - (transA ? 2 : 1)]!;
    const batch = sizeOf(mm.shape.slice(0, -2));
    let bias: Slot | null = null;
    if (b) {
      bias = slots.get(b.bias)!;
      if (!isDense(bias) || bias.alt !== null) bias = contiguous(b.bias);
    }
    kernels.push({
      kind: 'gemm',
      a: a.slot,
      b: w.slot,
      out,
      bias,
      transA: a.flip ? !transA : transA,
      transB: w.flip ? !transB : transB,
      batch,
      m,
      n,
      k,
      aBatchStride: a.batchStride,
      bBatchStride: w.batchStride,
    });
  }

  /** A GEMM operand: dense rows, or a transposed dense matrix (flip the trans flag). */
  function matrix(id: number): { slot: Slot; flip: boolean; batchStride: number } {
    let s = slots.get(id)!;
    const r = s.shape.length;
    const ok = (x: Slot) => {
      const rr = x.shape.length;
      if (rr > 3) return null;
      const [rows, cols] = [x.shape[rr - 2]!, x.shape[rr - 1]!];
      const [sr, sc] = [x.strides[rr - 2]!, x.strides[rr - 1]!];
      const batchStride = rr === 3 ? x.strides[0]! : 0;
      const rowsOk = (st: number, n: number) => n === 1 || st === n;
      if ((cols === 1 || sc === 1) && (rows === 1 || sr === cols)) {
        if (rr === 3 && x.shape[0]! > 1 && batchStride !== 0 && batchStride < rows * cols) return null;
        return { flip: false, batchStride };
      }
      if ((rows === 1 || sr === 1) && rowsOk(sc, rows)) {
        if (rr === 3 && x.shape[0]! > 1 && batchStride !== 0 && batchStride < rows * cols) return null;
        return { flip: true, batchStride };
      }
      return null;
    };
    let res = r >= 2 ? ok(s) : null;
    if (!res) {
      s = contiguous(id);
      res = ok(s)!;
    }
    return { slot: s, ...res };
  }

  function contiguous(id: number): Slot {
    const s = slots.get(id)!;
    if (isDense(s)) return s;
    const t = temp(g.nodes[id]!);
    kernels.push({ kind: 'copy', src: s, dst: t });
    return t;
  }

  function emitOp(id: number): void {
    const n = op(id)!;
    const inputs = n.inputs.map((i) => {
      const s = slots.get(i)!;
      if (isWhole(s, buffers)) return s;
      const t = temp(g.nodes[i]!);
      kernels.push({ kind: 'copy', src: s, dst: t });
      return t;
    });
    let out = slots.get(id)!;
    if (!isWhole(out, buffers)) {
      const t = temp(n);
      kernels.push({ kind: 'op', node: n, inputs, out: t });
      kernels.push({ kind: 'copy', src: t, dst: out });
      out = t;
      return;
    }
    kernels.push({ kind: 'op', node: n, inputs, out });
  }
}

/** The slot read over a larger (broadcast) index space: size-1 and missing axes get stride 0. */
function broadcastSlot(s: Slot, shape: readonly number[]): Slot {
  if (s.shape.length === shape.length && s.shape.every((d, i) => d === shape[i])) return s;
  const lead = shape.length - s.shape.length;
  return {
    ...s,
    strides: shape.map((d, i) =>
      i < lead || (s.shape[i - lead] === 1 && d !== 1) ? 0 : s.strides[i - lead]!,
    ),
    shape: [...shape],
  };
}

/** A copy destination that receives `srcShape` elements into a dense buffer of another shape. */
function reshapeDst(t: Slot, srcShape: readonly number[]): Slot {
  return { ...t, shape: [...srcShape], strides: dense(srcShape) };
}

/** The slot of a view op over `s`, or null when the view needs its own dense copy. */
function viewSlot(n: OpNode, s: Slot): Slot | null {
  const a = n.attrs as Record<string, unknown>;
  switch (n.op) {
    case 'slice': {
      const begin = a.begin as number[];
      return {
        ...s,
        offset: s.offset + begin.reduce((acc, b, i) => acc + b * s.strides[i]!, 0),
        shape: [...n.shape],
      };
    }
    case 'transpose': {
      const perm = a.perm as number[];
      return { ...s, strides: perm.map((p) => s.strides[p]!), shape: [...n.shape] };
    }
    case 'broadcastTo': {
      const lead = n.shape.length - s.shape.length;
      return {
        ...s,
        strides: n.shape.map((d, i) =>
          i < lead ? 0 : s.shape[i - lead] === 1 && d !== 1 ? 0 : s.strides[i - lead]!,
        ),
        shape: [...n.shape],
      };
    }
    case 'reshape':
      return isDense(s) ? { ...s, strides: dense(n.shape), shape: [...n.shape] } : null;
    default:
      return null;
  }
}

/** The input indices an expression reads. */
function inputsOf(e: Expr, into = new Set<number>()): Set<number> {
  switch (e.kind) {
    case 'input':
      into.add(e.index);
      break;
    case 'unary':
    case 'cast':
      inputsOf(e.a, into);
      break;
    case 'binary':
      inputsOf(e.a, into);
      inputsOf(e.b, into);
      break;
    case 'where':
      inputsOf(e.cond, into);
      inputsOf(e.a, into);
      inputsOf(e.b, into);
      break;
  }
  return into;
}

/** The slots a kernel writes. */
function writtenBy(k: Kernel): Slot[] {
  switch (k.kind) {
    case 'fused':
      return k.outputs.map((o) => o.slot);
    case 'copy':
      return [k.dst];
    default:
      return [k.out];
  }
}

/** Every slot a kernel reads or writes. */
export function slotsOf(k: Kernel): Slot[] {
  switch (k.kind) {
    case 'gemm':
      return [k.a, k.b, k.out, ...(k.bias ? [k.bias] : [])];
    case 'fused':
      return [...k.inputs, ...k.outputs.map((o) => o.slot)];
    case 'copy':
      return [k.src, k.dst];
    case 'op':
      return [...k.inputs, k.out];
  }
}

export function bytesOf(b: LogicalBuffer): number {
  return b.size * bytesPerElement(b.dtype);
}
