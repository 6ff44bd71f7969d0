import {
  add,
  apply,
  concat,
  fill,
  fromData,
  isFloat,
  OPS,
  type OpDef,
  pad,
  type Tensor,
} from '@recur/tensor';
import { type Graph, isOp, type Node, type SourceNode } from './ir.js';
import { trace } from './trace.js';
import { GraphError } from './verify.js';

/** The name of the cotangent input that `gradGraph` adds for output `i`. */
export const cotangentName = (i: number): string => `ct:${i}`;

export interface GradGraph {
  /**
   * Sources: the original graph's sources, then one input `ct:i` per differentiable output i (the
   * cotangent of that output). Outputs: the original outputs, then one gradient per `wrt` name.
   */
  readonly graph: Graph;
}

/** A gradient contribution: a full-shape value, or the gradient of a slice of the value. */
type Contribution = { g: Tensor } | { slice: { begin: number[]; end: number[] }; g: Tensor };

/**
 * Graph-level reverse-mode AD. Builds one graph computing the original outputs and the
 * vector-Jacobian products with respect to the sources named in `wrt`, by replaying the graph and
 * applying each op's VJP rule (written with ops, so it records as graph nodes) in reverse order.
 *
 * Gradients flowing back from several slices of one value are assembled with a single concat when
 * the slices tile the value along one axis (the gate split of a recurrent cell), instead of a sum of
 * zero-padded pieces, so the backward graph stays as small as the forward one.
 */
export function gradGraph(g: Graph, wrt: readonly string[]): GradGraph {
  const sources = g.nodes.filter((n): n is SourceNode => !isOp(n) && n.kind !== 'const');
  const byName = new Map(sources.map((s) => [s.name, s]));
  for (const name of wrt) {
    const s = byName.get(name);
    if (!s) {
      throw new GraphError(
        `gradGraph: expected 'wrt' to name inputs or params of the graph, found '${name}'. Known: ${[...byName.keys()].join(', ')}.`,
      );
    }
    if (!isFloat(s.dtype)) {
      throw new GraphError(`gradGraph: '${name}' is ${s.dtype}; gradients exist only for float sources.`);
    }
  }
  const example = (n: { shape: readonly number[]; dtype: Node['dtype'] }): Tensor =>
    fill(n.shape, isFloat(n.dtype) ? 0.5 : 0, { dtype: n.dtype });

  const inputs: Record<string, Tensor> = {};
  const params: Record<string, Tensor> = {};
  for (const s of sources) (s.kind === 'input' ? inputs : params)[s.name] = example(s);
  const outNodes = g.outputs.map((o) => g.nodes[o]!);
  outNodes.forEach((n, i) => {
    if (isFloat(n.dtype)) inputs[cotangentName(i)] = example(n);
  });

  // Which nodes lie on a path from a wrt source (and so need a gradient).
  const needs = new Array<boolean>(g.nodes.length).fill(false);
  for (const n of g.nodes) {
    if (isOp(n)) needs[n.id] = isFloat(n.dtype) && n.inputs.some((i) => needs[i]);
    else needs[n.id] = n.kind !== 'const' && wrt.includes(n.name);
  }

  const { graph } = trace(
    (ins, ps) => {
      const values: Tensor[] = g.nodes.map(() => null as unknown as Tensor);
      for (const n of g.nodes) {
        if (isOp(n)) {
          values[n.id] = apply(
            OPS[n.op] as OpDef<unknown>,
            n.inputs.map((i) => values[i]!),
            n.attrs,
          );
        } else if (n.kind === 'const') {
          values[n.id] = fromData(n.value ?? [], n.shape, { dtype: n.dtype });
        } else {
          values[n.id] = (n.kind === 'input' ? ins : ps)[n.name]!;
        }
      }
      const contributions: Contribution[][] = g.nodes.map(() => []);
      outNodes.forEach((n, i) => {
        const ct = ins[cotangentName(i)];
        if (ct && needs[n.id]) contributions[n.id]!.push({ g: ct });
      });
      const grads: (Tensor | null)[] = g.nodes.map(() => null);
      for (let id = g.nodes.length - 1; id >= 0; id--) {
        const n = g.nodes[id]!;
        if (!needs[id] || contributions[id]!.length === 0) continue;
        const grad = combine(values[id]!, contributions[id]!);
        grads[id] = grad;
        if (!isOp(n)) continue;
        const args = n.inputs.map((i) => values[i]!);
        const needsGrad = n.inputs.map((i) => needs[i]!);
        if (n.op === 'slice') {
          const attrs = n.attrs as { begin: number[]; end: number[] };
          contributions[n.inputs[0]!]!.push({ slice: attrs, g: grad });
          continue;
        }
        const def = OPS[n.op] as OpDef<unknown>;
        if (!def.vjp) {
          throw new GraphError(
            `gradGraph: %${id} = ${n.op} lies between a 'wrt' source and an output, but ${n.op} has no gradient.`,
          );
        }
        const parts = def.vjp(grad, { inputs: args, output: values[id]!, attrs: n.attrs, needsGrad });
        parts.forEach((p, k) => {
          if (p && needsGrad[k]) contributions[n.inputs[k]!]!.push({ g: p });
        });
      }
      const wrtGrads = wrt.map((name) => {
        const s = byName.get(name)!;
        return grads[s.id] ?? fill(s.shape, 0, { dtype: s.dtype });
      });
      return [...g.outputs.map((o) => values[o]!), ...wrtGrads];
    },
    inputs,
    params,
  );
  return { graph };
}

/** Sums gradient contributions; slice gradients that tile one axis become one concat. */
function combine(value: Tensor, parts: readonly Contribution[]): Tensor {
  const whole: Tensor[] = [];
  const slices: { begin: number[]; end: number[]; g: Tensor }[] = [];
  for (const p of parts) {
    if ('slice' in p) slices.push({ ...p.slice, g: p.g });
    else whole.push(p.g);
  }
  if (slices.length > 0) {
    const tiled = tileAlongAxis(value, slices);
    if (tiled) whole.push(tiled);
    else {
      for (const s of slices) {
        whole.push(
          pad(
            s.g,
            s.begin.map((b, i) => [b, value.shape[i]! - s.end[i]!] as [number, number]),
          ),
        );
      }
    }
  }
  let sum = whole[0]!;
  for (let i = 1; i < whole.length; i++) sum = add(sum, whole[i]!);
  return sum;
}

/**
 * When all slices cover the full extent of every axis but one, and are disjoint along that axis,
 * the gradient is their concatenation along it (zero blocks filling any gaps). Otherwise null.
 */
function tileAlongAxis(
  value: Tensor,
  slices: readonly { begin: number[]; end: number[]; g: Tensor }[],
): Tensor | null {
  const shape = value.shape;
  let axis = -1;
  for (const s of slices) {
    for (let d = 0; d < shape.length; d++) {
      if (s.begin[d] === 0 && s.end[d] === shape[d]) continue;
      if (axis !== -1 && axis !== d) return null;
      axis = d;
    }
  }
  if (axis === -1) {
    // Every slice is the whole value: a plain sum.
    let sum = slices[0]!.g;
    for (let i = 1; i < slices.length; i++) sum = add(sum, slices[i]!.g);
    return sum;
  }
  const sorted = [...slices].sort((a, b) => a.begin[axis]! - b.begin[axis]!);
  const pieces: Tensor[] = [];
  let at = 0;
  for (const s of sorted) {
    const b = s.begin[axis]!;
    if (b < at) return null; // overlapping slices: fall back to a sum of padded pieces
    if (b > at) pieces.push(fill(gapShape(shape, axis, b - at), 0, { dtype: value.dtype }));
    pieces.push(s.g);
    at = s.end[axis]!;
  }
  if (at < shape[axis]!)
    pieces.push(fill(gapShape(shape, axis, shape[axis]! - at), 0, { dtype: value.dtype }));
  return pieces.length === 1 ? pieces[0]! : concat(pieces, axis);
}

function gapShape(shape: readonly number[], axis: number, size: number): number[] {
  return shape.map((d, i) => (i === axis ? size : d));
}
