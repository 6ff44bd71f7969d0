import { JsBackend } from '@recur/backend-js';
import {
  type CompiledScan,
  type CompileStats,
  compileScan,
  type ScanSpec,
  type StepFn,
  type ValueSpec,
} from '@recur/graph-compiler';
import {
  apply,
  type Backend,
  type BackendBuffer,
  engine,
  isIntercepted,
  type OpDef,
  reshape,
  slice,
  type Tensor,
  where,
} from '@recur/tensor';
import { CellsError, describe } from './errors.js';
import type { RecurrentMode } from './sequence.js';
import {
  affine,
  type CellWeights,
  gruStepFromInput,
  lstmStepFromInput,
  type RecurrentWeights,
  rnnStepFromInput,
} from './steps.js';

/** What the compiled-program cache of a layer has done so far (see `RecurrentLayer.compileStats`). */
export interface CompileCacheStats {
  /** Compiled programs held now. */
  readonly programs: number;
  /** Programs compiled so far (each a new shape, dtype, backend, or training/inference variant). */
  readonly compiles: number;
  /** Calls that reused a program compiled earlier. */
  readonly reuses: number;
  /**
   * Backward passes that had to run their scan forward again first, because the program had
   * since served another call with the same shapes (see "Compiled mode" in the README).
   */
  readonly recomputes: number;
  /** Milliseconds spent compiling, in total. */
  readonly compileMs: number;
  /** The compiler's statistics of the most recently compiled program, if any. */
  readonly last: CompileStats | null;
}

/**
 * Programs that hold the forward state of an earlier call which has not run its backward yet are
 * not reused while fewer than this many exist for one key; beyond it the least recently used one
 * is taken over (its backward then runs the forward again first).
 */
let host: JsBackend | null = null;

/** The CPU backend that steps are traced on when the target backend reads asynchronously. */
function tracingHost(): JsBackend {
  host ??= new JsBackend();
  return host;
}

const MAX_PROGRAMS_PER_KEY = 4;

/** Parameter names of the compiled step, in the order the op takes them as inputs. */
type ParamKey = 'whh' | 'bhh' | 'whr';

function paramsOf(w: CellWeights): [ParamKey, Tensor][] {
  const all: [ParamKey, Tensor | undefined][] = [
    ['whh', w.weightHh],
    ['bhh', w.biasHh],
    ['whr', w.weightHr],
  ];
  return all.filter((e): e is [ParamKey, Tensor] => e[1] !== undefined);
}

/**
 * The step the compiler traces for one direction of one layer. Its per-step input `x` is the input
 * projection `x W_ihᵀ + b_ih`, computed for all steps at once before the scan as an ordinary op,
 * so that autograd computes the gradient of the layer's input only when something needs it. With
 * `masked`, a per-step `[B, 1]` input `m` (1 at valid steps, 0 in padding) keeps the carry and
 * zeroes the output at padded steps, exactly as the eager loop does with `where`.
 */
function scanStep(mode: RecurrentMode, masked: boolean): StepFn {
  return (carry, xs, p) => {
    const w: RecurrentWeights = { weightHh: p.whh!, biasHh: p.bhh, weightHr: p.whr };
    const x = xs.x!;
    const h = carry.h!;
    let hNext: Tensor;
    let cNext: Tensor | undefined;
    switch (mode) {
      case 'rnn_tanh':
        hNext = rnnStepFromInput(x, h, w, 'tanh');
        break;
      case 'rnn_relu':
        hNext = rnnStepFromInput(x, h, w, 'relu');
        break;
      case 'lstm': {
        const s = lstmStepFromInput(x, h, carry.c!, w);
        hNext = s.h;
        cNext = s.c;
        break;
      }
      case 'gru':
        hNext = gruStepFromInput(x, h, w, { resetAfter: true });
        break;
      case 'gru_reset_before':
        hNext = gruStepFromInput(x, h, w, { resetAfter: false });
        break;
    }
    const m = masked ? xs.m! : null;
    const next: Record<string, Tensor> = { h: m ? where(m, hNext, h) : hNext };
    if (cNext) next.c = m ? where(m, cNext, carry.c!) : cNext;
    return { carry: next, y: { y: m ? where(m, hNext, 0) : hNext } };
  };
}

/** One compiled program and the call whose forward state it holds (null: none, free to reuse). */
interface Entry {
  readonly scan: CompiledScan;
  owner: ScanCall | null;
  lastUse: number;
}

/** Shapes of one direction's scan: `x [T, B, G·hidden]` (projected), `h [B, hOut]`, `c [B, hidden]` (LSTM). */
interface Layout {
  readonly steps: number;
  readonly batch: number;
  readonly hOut: number;
  readonly hidden: number;
  readonly lstm: boolean;
  readonly gateWidth: number;
  readonly dtype: 'f32' | 'f64';
  readonly masked: boolean;
  readonly params: readonly (readonly [ParamKey, readonly number[]])[];
}

/** The sizes of the packed output: ys, then the final h, then the final c (LSTM). */
function packedSizes(l: Layout): { ys: number; h: number; c: number } {
  return { ys: l.steps * l.batch * l.hOut, h: l.batch * l.hOut, c: l.lstm ? l.batch * l.hidden : 0 };
}

/**
 * One call of a compiled scan as an autograd op. Inputs are `[x, m?, h0, c0?, ...params]`; the
 * output packs the stacked outputs and the final states into one vector (autograd records one
 * output per op), which the caller slices apart.
 */
class ScanCall {
  entry: Entry | null = null;

  constructor(
    readonly cache: ScanCache,
    readonly key: string,
    readonly layout: Layout,
    readonly train: boolean,
    readonly backend: Backend,
  ) {}

  private bind(inputs: readonly Tensor[]): {
    init: Record<string, Tensor>;
    xs: Record<string, Tensor>;
    params: Record<string, Tensor>;
  } {
    const l = this.layout;
    let i = 0;
    const xs: Record<string, Tensor> = { x: inputs[i++]! };
    if (l.masked) xs.m = inputs[i++]!;
    const init: Record<string, Tensor> = { h: inputs[i++]! };
    if (l.lstm) init.c = inputs[i++]!;
    const params: Record<string, Tensor> = {};
    for (const [k] of l.params) params[k] = inputs[i++]!;
    return { init, xs, params };
  }

  /** Runs the compiled forward and writes the packed result into `out`. */
  forward(inputs: readonly Tensor[], out: BackendBuffer): void {
    const entry = this.cache.acquire(this);
    this.entry = entry;
    const { init, xs, params } = this.bind(inputs);
    const r = entry.scan.forward(init, xs, params);
    const sizes = packedSizes(this.layout);
    const parts: [Tensor, number][] = [
      [r.ys.y!, 0],
      [r.final.h!, sizes.ys],
    ];
    if (this.layout.lstm) parts.push([r.final.c!, sizes.ys + sizes.h]);
    for (const [t, offset] of parts) {
      this.backend.copy({
        src: { buffer: t.storage.buffer, offset: 0, strides: [1] },
        out,
        outOffset: offset,
        outStrides: [1],
        shape: [t.size],
      });
    }
    for (const t of [...Object.values(r.ys), ...Object.values(r.final)]) t.dispose();
    // Without a backward to come, the program is free for the next call at once.
    entry.owner = this.train ? this : null;
  }

  /** The VJP: unpacks the cotangent and runs the compiled backward (after the forward again if needed). */
  backward(g: Tensor, inputs: readonly Tensor[], needsGrad: readonly boolean[]): (Tensor | null)[] {
    const l = this.layout;
    const sizes = packedSizes(l);
    const dys = { y: reshape(slice(g, [0], [sizes.ys]), [l.steps, l.batch, l.hOut]) };
    const dfinal: Record<string, Tensor> = {
      h: reshape(slice(g, [sizes.ys], [sizes.ys + sizes.h]), [l.batch, l.hOut]),
    };
    if (l.lstm) {
      dfinal.c = reshape(slice(g, [sizes.ys + sizes.h], [sizes.ys + sizes.h + sizes.c]), [l.batch, l.hidden]);
    }
    let entry = this.entry;
    if (!entry || entry.owner !== this) {
      // The program ran another call since (or this graph is walked a second time): replay our
      // forward from the saved inputs, then differentiate it.
      entry = this.cache.acquire(this);
      this.entry = entry;
      const { init, xs, params } = this.bind(inputs);
      const r = entry.scan.forward(init, xs, params);
      for (const t of [...Object.values(r.ys), ...Object.values(r.final)]) t.dispose();
      this.cache.countRecompute();
    }
    const grads = entry.scan.backward(dfinal, dys);
    // The backward consumed the saved forward values: a second backward must run the forward again.
    entry.owner = null;
    for (const t of [dys.y, ...Object.values(dfinal)]) t.dispose();
    const out: (Tensor | null)[] = [grads.xs.x!];
    if (l.masked) {
      grads.xs.m?.dispose();
      out.push(null);
    }
    out.push(grads.init.h!);
    if (l.lstm) out.push(grads.init.c!);
    for (const [k] of l.params) out.push(grads.params[k]!);
    return out.map((t, i) => {
      if (t && !needsGrad[i]) {
        t.dispose();
        return null;
      }
      return t;
    });
  }
}

interface ScanAttrs {
  readonly call: ScanCall;
}

const compiledScanOp: OpDef<ScanAttrs> = {
  name: 'compiledScan',
  infer: (inputs, { call }) => {
    const s = packedSizes(call.layout);
    return { shape: [s.ys + s.h + s.c], dtype: inputs[0]!.dtype };
  },
  run: (_backend, inputs, out, _meta, { call }) => call.forward(inputs, out),
  saves: { inputs: true, output: false },
  vjp: (g, { inputs, attrs, needsGrad }) => attrs.call.backward(g, inputs, needsGrad),
};

/** The result of one direction of one layer over a time-major sequence. */
export interface DirectionResult {
  /** `[T, B, hOut]`, zero at padded steps. */
  readonly output: Tensor;
  /** `[B, hOut]` */
  readonly h: Tensor;
  /** `[B, hidden]`, LSTM only. */
  readonly c?: Tensor;
}

/**
 * A layer's compiled programs, one per cell (layer and direction), shape, dtype, backend and
 * training/inference variant, so repeated calls with the same shapes compile nothing. Each
 * program is a `compileScan` of the layer's step function; a call of it is one autograd op whose
 * backward runs the program's compiled backward.
 */
export class ScanCache {
  private readonly entries = new Map<string, { backend: Backend; list: Entry[] }>();
  private clock = 0;
  private compiles = 0;
  private reuses = 0;
  private recomputes = 0;
  private compileMs = 0;
  private last: CompileStats | null = null;

  constructor(
    readonly mode: RecurrentMode,
    /** The layer's name, for error messages. */
    readonly where = 'RecurrentLayer',
  ) {}

  /**
   * Runs one direction of one layer: `x [T, B, D]`, `mask [T, B, 1]` (1 at valid steps) or null,
   * `h0 [B, hOut]`, `c0 [B, hidden]` (LSTM). The sequence runs forward in time; a reverse
   * direction reorders `x` before and the output after.
   */
  run(
    cell: number,
    x: Tensor,
    mask: Tensor | null,
    h0: Tensor,
    c0: Tensor | undefined,
    w: CellWeights,
  ): DirectionResult {
    const [steps, batch, features] = x.shape as [number, number, number];
    const lstm = this.mode === 'lstm';
    const gates = w.weightIh.shape[0]!;
    const projected = reshape(affine(reshape(x, [steps * batch, features]), w.weightIh, w.biasIh), [
      steps,
      batch,
      gates,
    ]);
    const params = paramsOf(w);
    const layout: Layout = {
      steps,
      batch,
      hOut: h0.shape[1]!,
      hidden: lstm ? c0!.shape[1]! : h0.shape[1]!,
      lstm,
      gateWidth: gates,
      dtype: x.dtype as 'f32' | 'f64',
      masked: mask !== null,
      params: params.map(([k, t]) => [k, t.shape] as const),
    };
    const inputs: Tensor[] = [projected];
    if (mask) inputs.push(mask);
    inputs.push(h0);
    if (lstm) inputs.push(c0!);
    for (const [, t] of params) inputs.push(t);
    const train = engine.gradEnabled && inputs.some((t) => t.requiresGrad);
    const key = [
      cell,
      steps,
      batch,
      x.dtype,
      x.backend.name,
      train ? 'train' : 'infer',
      mask ? 'masked' : 'dense',
    ].join('|');
    const call = new ScanCall(this, key, layout, train, x.backend);
    if (isIntercepted()) {
      throw new CellsError(
        describe(
          `${this.where}.forward`,
          'eager execution while the graph compiler traces the layer',
          'a layer in compiled mode, which runs its own compiled programs and cannot be traced',
          'Call layer.compile(false) before tracing; the traced graph is compiled anyway.',
        ),
      );
    }
    const packed = apply(compiledScanOp, inputs, { call });
    const sizes = packedSizes(layout);
    const output = reshape(slice(packed, [0], [sizes.ys]), [steps, batch, layout.hOut]);
    const h = reshape(slice(packed, [sizes.ys], [sizes.ys + sizes.h]), [batch, layout.hOut]);
    if (!lstm) return { output, h };
    const c = reshape(slice(packed, [sizes.ys + sizes.h], [sizes.ys + sizes.h + sizes.c]), [
      batch,
      layout.hidden,
    ]);
    return { output, h, c };
  }

  /** A program for `call` that holds no pending forward state, compiling one if needed. */
  acquire(call: ScanCall): Entry {
    let slot = this.entries.get(call.key);
    if (slot && slot.backend !== call.backend) {
      // Another backend instance with the same name: start over for it.
      for (const e of slot.list) e.scan.dispose();
      this.entries.delete(call.key);
      slot = undefined;
    }
    if (!slot) {
      slot = { backend: call.backend, list: [] };
      this.entries.set(call.key, slot);
    }
    let entry = slot.list.find((e) => e.owner === null);
    if (entry) {
      this.reuses++;
    } else if (slot.list.length < MAX_PROGRAMS_PER_KEY) {
      entry = { scan: this.compile(call), owner: null, lastUse: 0 };
      slot.list.push(entry);
    } else {
      // Every program holds the state of a call still waiting for its backward; take the least
      // recently used one over (that call's backward will run its forward again).
      entry = slot.list.reduce((a, b) => (b.lastUse < a.lastUse ? b : a));
      if (entry.owner) entry.owner.entry = null;
      this.reuses++;
    }
    entry.owner = null;
    entry.lastUse = ++this.clock;
    return entry;
  }

  countRecompute(): void {
    this.recomputes++;
  }

  private compile(call: ScanCall): CompiledScan {
    const l = call.layout;
    const t0 = performance.now();
    const scan = engine.tidy(() => {
      const dt = l.dtype;
      const carry: Record<string, ValueSpec> = { h: { shape: [l.batch, l.hOut], dtype: dt } };
      if (l.lstm) carry.c = { shape: [l.batch, l.hidden], dtype: dt };
      const xs: Record<string, ValueSpec> = { x: { shape: [l.batch, l.gateWidth], dtype: dt } };
      if (l.masked) xs.m = { shape: [l.batch, 1], dtype: dt };
      const params = Object.fromEntries(l.params.map(([k, shape]) => [k, { shape, dtype: dt }]));
      const spec: ScanSpec = { carry, xs, params };
      return compileScan(scanStep(this.mode, l.masked), spec, {
        steps: l.steps,
        train: call.train,
        backend: call.backend,
        // A GPU backend reads asynchronously: the step is traced on the CPU and runs on the GPU.
        ...(call.backend.readSync ? {} : { host: tracingHost() }),
      });
    });
    this.compileMs += performance.now() - t0;
    this.compiles++;
    this.last = scan.stats;
    return scan;
  }

  stats(): CompileCacheStats {
    let programs = 0;
    for (const s of this.entries.values()) programs += s.list.length;
    return {
      programs,
      compiles: this.compiles,
      reuses: this.reuses,
      recomputes: this.recomputes,
      compileMs: this.compileMs,
      last: this.last,
    };
  }

  /** Frees every compiled program (the statistics stay). */
  clear(): void {
    for (const s of this.entries.values()) for (const e of s.list) e.scan.dispose();
    this.entries.clear();
  }
}
