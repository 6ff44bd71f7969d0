import { type Backend, engine, type Tensor } from '@recur/tensor';
import { Executable } from './executable.js';
import type { Graph } from './ir.js';
import { type Lowered, lower } from './lower.js';
import { cse } from './passes/cse.js';
import { dce } from './passes/dce.js';
import { groupGemms } from './passes/group-gemms.js';
import { hoist } from './passes/hoist.js';
import { sinkViews } from './passes/sink-views.js';
import { type MemoryPlan, planMemory } from './plan.js';
import type { Program, Stage } from './program.js';
import {
  forwardProgram,
  names,
  type ScanSpec,
  type StepFn,
  type StepGraph,
  traceStep,
  trainPrograms,
} from './scan.js';
import { GraphError } from './verify.js';

export interface CompileOptions {
  /** Number of time steps the compiled program runs. */
  readonly steps: number;
  /** Also build the backward program (gradients of inputs, initial carries and parameters). */
  readonly train?: boolean;
  /** Where the program runs (default: the active backend). */
  readonly backend?: Backend;
  /**
   * Where the step is traced and constants are captured, which needs synchronous reads (default:
   * `backend` when it reads synchronously, else the active backend when that does). Pass a CPU
   * backend here to compile for an asynchronous one, e.g. `{ backend: gpu, host: new JsBackend() }`.
   */
  readonly host?: Backend;
}

export interface CompileStats {
  /** Nodes of the traced step (and, when training, of its differentiated form) before optimisation. */
  readonly nodesBefore: number;
  /** Nodes of all optimised graphs (loop bodies and the hoisted blocks). */
  readonly nodesAfter: number;
  /** Kernels each step launches: forward loop, and backward loop when training. */
  readonly kernelsPerStep: { readonly forward: number; readonly backward?: number };
  /** GEMMs moved out of the loops (run once over all steps). */
  readonly hoistedGemms: number;
  readonly compileMs: number;
  readonly peakBytesPlanned: number;
  readonly peakBytesUnplanned: number;
}

/** The optimisation pipeline for one graph; every pass keeps values (see the property tests). */
export function optimizeGraph(g: Graph): Graph {
  return dce(cse(dce(g)));
}

/**
 * Rewrites after hoisting: grouping gate GEMMs (after hoisting, so that a loop GEMM is never
 * merged with one that could leave the loop) and sinking slices below elementwise ops.
 */
export function prepareForLowering(g: Graph): Graph {
  return dce(cse(sinkViews(groupGemms(g))));
}

/** The whole pipeline over a program: CSE and DCE, hoisting, then grouping and view sinking. */
export function optimizeProgram(p: Program, prefix: string): Program {
  const early = (s: Stage): Stage =>
    s.kind === 'loop' ? { ...s, body: optimizeGraph(s.body) } : { ...s, graph: optimizeGraph(s.graph) };
  const late = (s: Stage): Stage =>
    s.kind === 'loop'
      ? { ...s, body: prepareForLowering(optimizeGraph(s.body)) }
      : { ...s, graph: prepareForLowering(optimizeGraph(s.graph)) };
  return {
    steps: p.steps,
    stages: hoist({ steps: p.steps, stages: p.stages.map(early) }, prefix).stages.map(late),
  };
}

/**
 * A recurrence compiled once for a number of steps: the step is traced, differentiated (when
 * training) and optimised once, whatever the number of steps; the plan then replays it.
 */
export class CompiledScan {
  readonly step: StepGraph;
  readonly programs: { readonly forward: Program; readonly backward: Program | null };
  readonly before: { readonly forward: Program; readonly backward: Program | null };
  readonly lowered: Lowered;
  readonly plan: MemoryPlan;
  readonly stats: CompileStats;
  private readonly exe: Executable;
  private readonly forwardStages: number;

  constructor(
    stepFn: StepFn,
    readonly spec: ScanSpec,
    readonly options: CompileOptions,
  ) {
    const t0 = performance.now();
    const backend = options.backend ?? engine.backend;
    const host = hostFor(backend, options.host);
    this.step = engine.withBackend(host, () => traceStep(stepFn, spec));
    const steps = options.steps;
    let fwd: Program;
    let bwd: Program | null = null;
    if (options.train) {
      const tp = engine.withBackend(host, () => trainPrograms(this.step, steps));
      fwd = tp.forward;
      bwd = tp.backward;
    } else {
      fwd = forwardProgram(this.step, steps);
    }
    this.before = { forward: fwd, backward: bwd };
    const of = optimizeProgram(fwd, 'f');
    const ob = bwd ? optimizeProgram(bwd, 'b') : null;
    this.programs = { forward: of, backward: ob };

    const externals = new Map<string, { shape: readonly number[]; dtype: 'f32' | 'f64' | 'i32' }>();
    const dt = (v: { dtype?: 'f32' | 'f64' | 'i32' }) => v.dtype ?? 'f32';
    for (const [k, v] of Object.entries(spec.carry)) {
      externals.set(names.init(k), { shape: v.shape, dtype: dt(v) });
      if (ob) externals.set(names.dfinal(k), { shape: v.shape, dtype: dt(v) });
    }
    for (const [n, v] of Object.entries(spec.xs))
      externals.set(n, { shape: [steps, ...v.shape], dtype: dt(v) });
    for (const [p, v] of Object.entries(spec.params)) externals.set(p, { shape: v.shape, dtype: dt(v) });
    if (ob) {
      const out = this.step.graph.outputs.map((o) => this.step.graph.nodes[o]!);
      this.step.ys.forEach((n, i) => {
        const node = out[this.step.carries.length + i]!;
        externals.set(names.dys(n), { shape: [steps, ...node.shape], dtype: node.dtype });
      });
    }
    const keep = new Set<string>([
      ...this.step.carries.map(names.final),
      ...this.step.ys.map(names.ys),
      ...(ob
        ? [
            ...this.step.carries.map(names.dinit),
            ...this.step.xs.map(names.dxs),
            ...this.step.params.map(names.dparam),
          ]
        : []),
    ]);
    const whole: Program = { steps, stages: [...of.stages, ...(ob?.stages ?? [])] };
    this.forwardStages = of.stages.length;
    this.lowered = lower(whole, externals, keep);
    this.plan = planMemory(this.lowered);
    this.exe = new Executable(backend, this.lowered, this.plan);

    const count = (p: Program | null) =>
      p?.stages.reduce((a, s) => a + (s.kind === 'loop' ? s.body : s.graph).nodes.length, 0) ?? 0;
    const loopKernels = (from: number, to: number) =>
      this.lowered.stages.slice(from, to).reduce((a, s) => a + (s.kind === 'loop' ? s.kernels.length : 0), 0);
    const blockGemms = this.lowered.stages.reduce(
      (a, s) => a + (s.kind === 'block' ? s.kernels.filter((k) => k.kind === 'gemm').length : 0),
      0,
    );
    this.stats = {
      nodesBefore: count(fwd) + count(bwd),
      nodesAfter: count(of) + count(ob),
      kernelsPerStep: {
        forward: loopKernels(0, this.forwardStages),
        ...(ob ? { backward: loopKernels(this.forwardStages, this.lowered.stages.length) } : {}),
      },
      hoistedGemms: blockGemms,
      compileMs: performance.now() - t0,
      peakBytesPlanned: this.plan.plannedBytes,
      peakBytesUnplanned: this.plan.unplannedBytes,
    };
  }

  /**
   * Runs the recurrence: `init` holds each carry's initial value, `xs` each per-step input stacked
   * over time ([steps, ...]), `params` the parameters. Returns the final carries and the stacked ys.
   */
  forward(
    init: Readonly<Record<string, Tensor>>,
    xs: Readonly<Record<string, Tensor>>,
    params: Readonly<Record<string, Tensor>>,
  ): { final: Record<string, Tensor>; ys: Record<string, Tensor> } {
    expectNames('forward: init', init, this.step.carries);
    expectNames('forward: xs', xs, this.step.xs);
    expectNames('forward: params', params, this.step.params);
    const bind = new Map<string, Tensor>();
    for (const [k, v] of Object.entries(init)) bind.set(names.init(k), v);
    for (const [n, v] of Object.entries(xs)) bind.set(n, v);
    for (const [p, v] of Object.entries(params)) bind.set(p, v);
    this.exe.run(bind, 0, this.forwardStages);
    return {
      final: Object.fromEntries(this.step.carries.map((k) => [k, this.exe.read(names.final(k))])),
      ys: Object.fromEntries(this.step.ys.map((n) => [n, this.exe.read(names.ys(n))])),
    };
  }

  /**
   * After `forward` (with the same inputs still alive): from the cotangents of the final carries
   * and of the ys, the gradients of the initial carries, the inputs and the parameters.
   */
  backward(
    dfinal: Readonly<Record<string, Tensor>>,
    dys: Readonly<Record<string, Tensor>>,
  ): { init: Record<string, Tensor>; xs: Record<string, Tensor>; params: Record<string, Tensor> } {
    if (!this.programs.backward) {
      throw new GraphError(
        'CompiledScan.backward: expected a scan compiled for training, found a forward-only one. Compile with { train: true }.',
      );
    }
    expectNames('backward: dfinal', dfinal, this.step.carries);
    expectNames('backward: dys', dys, this.step.ys);
    const bind = new Map<string, Tensor>();
    for (const [k, v] of Object.entries(dfinal)) bind.set(names.dfinal(k), v);
    for (const [n, v] of Object.entries(dys)) bind.set(names.dys(n), v);
    this.exe.run(bind, this.forwardStages);
    return {
      init: Object.fromEntries(this.step.carries.map((k) => [k, this.exe.read(names.dinit(k))])),
      xs: Object.fromEntries(this.step.xs.map((n) => [n, this.exe.read(names.dxs(n))])),
      params: Object.fromEntries(this.step.params.map((p) => [p, this.exe.read(names.dparam(p))])),
    };
  }

  dispose(): void {
    this.exe.dispose();
  }
}

function hostFor(target: Backend, host: Backend | undefined): Backend {
  if (host) {
    if (!host.readSync)
      throw new GraphError(
        `compileScan: expected a host backend that reads synchronously, found '${host.name}', which reads asynchronously. Pass a CPU backend such as new JsBackend() as host.`,
      );
    return host;
  }
  if (target.readSync) return target;
  if (engine.backend.readSync) return engine.backend;
  throw new GraphError(
    `compileScan: backend '${target.name}' reads asynchronously, so the step cannot be traced on it. Pass a CPU backend to trace on, e.g. { backend, host: new JsBackend() }.`,
  );
}

function expectNames(where: string, given: Readonly<Record<string, Tensor>>, want: readonly string[]): void {
  const missing = want.filter((n) => !(n in given));
  const extra = Object.keys(given).filter((n) => !want.includes(n));
  if (missing.length > 0 || extra.length > 0) {
    throw new GraphError(
      `CompiledScan.${where}: expected exactly [${want.join(', ')}], found [${Object.keys(given).join(', ')}]${missing.length ? `; missing ${missing.join(', ')}` : ''}${extra.length ? `; unknown ${extra.join(', ')}` : ''}.`,
    );
  }
}

export function compileScan(step: StepFn, spec: ScanSpec, options: CompileOptions): CompiledScan {
  return new CompiledScan(step, spec, options);
}
