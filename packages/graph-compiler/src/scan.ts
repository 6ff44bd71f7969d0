import { type DType, fill, isFloat, type Tensor } from '@recur/tensor';
import { GraphBuilder } from './builder.js';
import { cotangentName, gradGraph } from './grad.js';
import { type Graph, isElementwise, isOp, type Node, type OpNode, type SourceKind } from './ir.js';
import { CARRY_PREFIX, type Loop, type Program, STEP_PREFIX } from './program.js';
import { trace } from './trace.js';
import { GraphError } from './verify.js';

export interface ValueSpec {
  readonly shape: readonly number[];
  readonly dtype?: DType;
}

/**
 * What a recurrent step works on: the carried state and the per-step inputs (shapes of one step,
 * without the time axis), and the parameters (shapes, or example tensors).
 */
export interface ScanSpec {
  readonly carry: Readonly<Record<string, ValueSpec>>;
  readonly xs: Readonly<Record<string, ValueSpec>>;
  readonly params: Readonly<Record<string, ValueSpec | Tensor>>;
}

export type StepFn = (
  carry: Readonly<Record<string, Tensor>>,
  x: Readonly<Record<string, Tensor>>,
  params: Readonly<Record<string, Tensor>>,
) => {
  readonly carry: Readonly<Record<string, Tensor>>;
  readonly y?: Readonly<Record<string, Tensor>>;
};

/** A traced step: sources `carry:K`, `x:N` and the parameters; outputs the new carries, then the ys. */
export interface StepGraph {
  readonly graph: Graph;
  readonly carries: readonly string[];
  readonly xs: readonly string[];
  readonly ys: readonly string[];
  readonly params: readonly string[];
}

/** Environment names used by programs built from a step. */
export const names = {
  init: (k: string) => `init:${k}`,
  final: (k: string) => `final:${k}`,
  ys: (n: string) => `ys:${n}`,
  dfinal: (k: string) => `dfinal:${k}`,
  dys: (n: string) => `dys:${n}`,
  dinit: (k: string) => `dinit:${k}`,
  dxs: (n: string) => `dxs:${n}`,
  dparam: (p: string) => `dparam:${p}`,
  saved: (i: number) => `saved:${i}`,
};

/**
 * Traces one step of a recurrence, once, on placeholder values of the given shapes. The step must
 * return every carry it was given (same shapes), and may return per-step outputs `y`.
 */
export function traceStep(step: StepFn, spec: ScanSpec): StepGraph {
  const carries = Object.keys(spec.carry);
  const xs = Object.keys(spec.xs);
  const params = Object.keys(spec.params);
  const seen = new Set<string>();
  for (const n of [...xs, ...params]) {
    if (seen.has(n) || n.includes(':')) {
      throw new GraphError(
        `traceStep: expected distinct per-step input and parameter names without ':', found '${n}' ${seen.has(n) ? 'twice' : ''}. Rename it.`,
      );
    }
    seen.add(n);
  }
  const example = (v: ValueSpec | Tensor): Tensor => fill(v.shape, 0.1, { dtype: v.dtype ?? 'f32' });
  const inputs: Record<string, Tensor> = {};
  for (const k of carries) inputs[CARRY_PREFIX + k] = example(spec.carry[k]!);
  for (const n of xs) inputs[STEP_PREFIX + n] = example(spec.xs[n]!);
  const ps: Record<string, Tensor> = {};
  for (const p of params) ps[p] = example(spec.params[p]!);

  let ys: string[] = [];
  const { graph } = trace(
    (ins, pr) => {
      const carry: Record<string, Tensor> = {};
      for (const k of carries) carry[k] = ins[CARRY_PREFIX + k]!;
      const x: Record<string, Tensor> = {};
      for (const n of xs) x[n] = ins[STEP_PREFIX + n]!;
      const result = step(carry, x, pr);
      const outs: Tensor[] = [];
      for (const k of carries) {
        const v = result.carry[k];
        const want = inputs[CARRY_PREFIX + k]!;
        if (!v) throw new GraphError(`traceStep: expected the step to return carry '${k}', found none.`);
        if (v.dtype !== want.dtype || v.shape.join() !== want.shape.join()) {
          throw new GraphError(
            `traceStep: carry '${k}' enters the step as ${want.dtype}[${want.shape}] but leaves it as ${v.dtype}[${v.shape}]; a carry must keep its shape and dtype.`,
          );
        }
        outs.push(v);
      }
      const extra = Object.keys(result.carry).filter((k) => !carries.includes(k));
      if (extra.length > 0) {
        throw new GraphError(`traceStep: the step returned carries not in the spec: ${extra.join(', ')}.`);
      }
      ys = Object.keys(result.y ?? {});
      for (const n of ys) outs.push(result.y![n]!);
      return outs;
    },
    inputs,
    ps,
  );
  return { graph, carries, xs, ys, params };
}

/** A forward-only program: one loop over the traced step. */
export function forwardProgram(s: StepGraph, steps: number): Program {
  checkSteps(steps);
  const loop: Loop = {
    kind: 'loop',
    body: s.graph,
    reverse: false,
    carries: s.carries.map((k) => ({ name: k, init: names.init(k), final: names.final(k) })),
    outputs: [
      ...s.carries.map((k) => ({ kind: 'carry' as const, name: k })),
      ...s.ys.map((n) => ({ kind: 'stack' as const, name: names.ys(n) })),
    ],
  };
  return { steps, stages: [loop] };
}

export interface TrainPrograms {
  /** Computes `final:K` and `ys:N`, and saves what the backward program needs. */
  readonly forward: Program;
  /**
   * From `dfinal:K` and `dys:N` (the cotangents of the forward results) computes `dinit:K`,
   * `dxs:N` and `dparam:P`, running the step's VJP backwards over time.
   */
  readonly backward: Program;
}

/**
 * Differentiates the step once (graph-level reverse mode) and splits the result into a forward
 * loop that also stacks the step values the VJP needs, and a reverse loop over the VJP whose carry
 * is the gradient of the carry.
 */
export function trainPrograms(s: StepGraph, steps: number): TrainPrograms {
  checkSteps(steps);
  const out = s.graph.outputs.map((o) => s.graph.nodes[o]!);
  out.forEach((n, i) => {
    if (!isFloat(n.dtype)) {
      const what =
        i < s.carries.length ? `carry '${s.carries[i]}'` : `output '${s.ys[i - s.carries.length]}'`;
      throw new GraphError(`trainPrograms: ${what} is ${n.dtype}; training needs float carries and outputs.`);
    }
  });
  const wrt = [...s.carries.map((k) => CARRY_PREFIX + k), ...s.xs.map((n) => STEP_PREFIX + n), ...s.params];
  const { graph: j } = gradGraph(s.graph, wrt);
  const nOut = s.graph.outputs.length;
  const ctName = new Map<string, number>(out.map((_, i) => [cotangentName(i), i]));

  // Classify: depends on a cotangent (backward), depends on a per-step value (varying).
  const backward = new Array<boolean>(j.nodes.length).fill(false);
  const varying = new Array<boolean>(j.nodes.length).fill(false);
  for (const n of j.nodes) {
    if (isOp(n)) {
      backward[n.id] = n.inputs.some((i) => backward[i]);
      varying[n.id] = n.inputs.some((i) => varying[i]);
    } else if (n.kind !== 'const') {
      backward[n.id] = ctName.has(n.name);
      varying[n.id] = n.name.startsWith(CARRY_PREFIX) || n.name.startsWith(STEP_PREFIX);
    }
  }
  const gradOutputs = j.outputs.slice(nOut);
  const saved: number[] = [];
  const savedIndex = new Map<number, number>();
  const isStepInput = (n: Node) => !isOp(n) && n.kind !== 'const' && n.name.startsWith(STEP_PREFIX);
  const markSaved = (id: number) => {
    const n = j.nodes[id]!;
    if (backward[id] || !varying[id] || isStepInput(n) || savedIndex.has(id)) return;
    savedIndex.set(id, saved.length);
    saved.push(id);
  };
  const visited = new Set<number>();
  const stack = [...gradOutputs];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (visited.has(id)) continue;
    visited.add(id);
    const n = j.nodes[id]!;
    if (!backward[id]) {
      markSaved(id);
      if (varying[id]) continue;
    }
    if (isOp(n)) stack.push(...n.inputs);
  }
  // Recompute instead of saving: an elementwise value computable from saved values and per-step
  // inputs through elementwise ops alone is cheaper to recompute in the backward step (inside its
  // fused kernel) than to store for all T steps.
  for (let changed = true; changed; ) {
    changed = false;
    for (const id of [...saved].sort((a, b) => b - a)) {
      const memo = new Map<number, boolean>();
      const avail = (i: number): boolean => {
        if (i !== id && (savedIndex.has(i) || !varying[i] || isStepInput(j.nodes[i]!))) return true;
        const known = memo.get(i);
        if (known !== undefined) return known;
        memo.set(i, false);
        const n = j.nodes[i]!;
        const ok = isElementwise(n) && (n as OpNode).inputs.every(avail);
        memo.set(i, ok);
        return ok;
      };
      if (!avail(id)) continue;
      saved.splice(saved.indexOf(id), 1);
      savedIndex.delete(id);
      changed = true;
    }
  }
  saved.sort((a, b) => a - b);
  saved.forEach((id, i) => {
    savedIndex.set(id, i);
  });

  const fwdBody = extract(j, [...j.outputs.slice(0, nOut), ...saved], (n) =>
    isOp(n) || n.kind === 'const' ? null : { kind: n.kind, name: n.name },
  );
  const forward: Program = {
    steps,
    stages: [
      {
        kind: 'loop',
        body: fwdBody,
        reverse: false,
        carries: s.carries.map((k) => ({ name: k, init: names.init(k), final: names.final(k) })),
        outputs: [
          ...s.carries.map((k) => ({ kind: 'carry' as const, name: k })),
          ...s.ys.map((n) => ({ kind: 'stack' as const, name: names.ys(n) })),
          ...saved.map((_, i) => ({ kind: 'stack' as const, name: names.saved(i) })),
        ],
      },
    ],
  };

  const bwdBody = extract(j, gradOutputs, (n) => {
    const si = savedIndex.get(n.id);
    if (si !== undefined) return { kind: 'input', name: STEP_PREFIX + names.saved(si) };
    if (isOp(n) || n.kind === 'const') return null;
    const ct = ctName.get(n.name);
    if (ct === undefined) return { kind: n.kind, name: n.name };
    return ct < s.carries.length
      ? { kind: 'input', name: CARRY_PREFIX + s.carries[ct]! }
      : { kind: 'input', name: STEP_PREFIX + names.dys(s.ys[ct - s.carries.length]!) };
  });
  const bwd: Program = {
    steps,
    stages: [
      {
        kind: 'loop',
        body: bwdBody,
        reverse: true,
        carries: s.carries.map((k) => ({ name: k, init: names.dfinal(k), final: names.dinit(k) })),
        outputs: [
          ...s.carries.map((k) => ({ kind: 'carry' as const, name: k })),
          ...s.xs.map((n) => ({ kind: 'stack' as const, name: names.dxs(n) })),
          ...s.params.map((p) => ({ kind: 'sum' as const, name: names.dparam(p) })),
        ],
      },
    ],
  };
  return { forward, backward: bwd };
}

/**
 * Copies the part of `g` that `outputs` need into a new graph, turning every node for which `cut`
 * gives a name into a source of that name (nodes keep their relative order).
 */
export function extract(
  g: Graph,
  outputs: readonly number[],
  cut: (n: Node) => { kind: SourceKind; name: string } | null,
): Graph {
  const need = new Array<boolean>(g.nodes.length).fill(false);
  const cuts = new Map<number, { kind: SourceKind; name: string }>();
  const stack = [...outputs];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (need[id]) continue;
    need[id] = true;
    const n = g.nodes[id]!;
    const c = cut(n);
    if (c) cuts.set(id, c);
    else if (isOp(n)) stack.push(...n.inputs);
  }
  const b = new GraphBuilder();
  const map = new Map<number, number>();
  for (const n of g.nodes) {
    if (!need[n.id]) continue;
    const c = cuts.get(n.id);
    if (c) map.set(n.id, b.source(c.kind, c.name, n.shape, n.dtype));
    else map.set(n.id, b.copy(n, isOp(n) ? n.inputs.map((i) => map.get(i)!) : []));
  }
  return b.build(outputs.map((o) => map.get(o)!));
}

function checkSteps(steps: number): void {
  if (!Number.isInteger(steps) || steps < 1) {
    throw new GraphError(`expected a whole number of steps ≥ 1, found ${steps}.`);
  }
}

/**
 * The fully unrolled recurrence as one flat graph, for small T (inspection and teaching): sources
 * `init:K`, the stacked inputs N ([T, ...]) and the parameters; outputs the final carries, then
 * each y stacked over the steps. Its size grows with T, unlike a program's.
 */
export function unroll(s: StepGraph, steps: number): Graph {
  checkSteps(steps);
  const g = s.graph;
  const b = new GraphBuilder();
  const carry = new Map<string, number>();
  for (const k of s.carries) {
    const n = g.nodes.find((x) => !isOp(x) && x.kind !== 'const' && x.name === CARRY_PREFIX + k);
    const out = g.nodes[g.outputs[s.carries.indexOf(k)]!]!;
    const shape = n?.shape ?? out.shape;
    carry.set(k, b.source('input', names.init(k), shape, n?.dtype ?? out.dtype));
  }
  const ys: number[][] = s.ys.map(() => []);
  for (let t = 0; t < steps; t++) {
    const map = new Map<number, number>();
    for (const n of g.nodes) {
      if (isOp(n)) {
        map.set(
          n.id,
          b.copy(
            n,
            n.inputs.map((i) => map.get(i)!),
          ),
        );
      } else if (n.kind === 'const') {
        map.set(n.id, b.copy(n, []));
      } else if (n.name.startsWith(CARRY_PREFIX)) {
        map.set(n.id, carry.get(n.name.slice(CARRY_PREFIX.length))!);
      } else if (n.name.startsWith(STEP_PREFIX)) {
        const name = n.name.slice(STEP_PREFIX.length);
        const whole = b.source('input', name, [steps, ...n.shape], n.dtype);
        const begin = [t, ...n.shape.map(() => 0)];
        const end = [t + 1, ...n.shape];
        map.set(n.id, b.reshape(b.op('slice', [whole], { begin, end }), n.shape));
      } else {
        map.set(n.id, b.source(n.kind, n.name, n.shape, n.dtype));
      }
    }
    s.carries.forEach((k, i) => {
      carry.set(k, map.get(g.outputs[i]!)!);
    });
    s.ys.forEach((_, i) => {
      const v = map.get(g.outputs[s.carries.length + i]!)!;
      ys[i]!.push(b.reshape(v, [1, ...b.node(v).shape]));
    });
  }
  const stacked = ys.map((list) => (list.length === 1 ? list[0]! : b.op('concat', list, { axis: 0 })));
  return b.build([...s.carries.map((k) => carry.get(k)!), ...stacked]);
}
