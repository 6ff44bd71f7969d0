import { type DType, OPS, type OpAttrs, type OpDef, type OpName, type TensorMeta } from '@recur/tensor';

/** Where a value comes from when it is not computed by an op. */
export type SourceKind = 'input' | 'param' | 'const';

/** A value produced by an op of the op table. */
export interface OpNode<K extends OpName = OpName> {
  readonly id: number;
  readonly kind: 'op';
  readonly op: K;
  readonly inputs: readonly number[];
  readonly attrs: OpAttrs[K];
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/** A graph input (fed per call), a parameter (bound once), or a constant (values held in the graph). */
export interface SourceNode {
  readonly id: number;
  readonly kind: SourceKind;
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Constants only. */
  readonly value?: readonly number[];
}

export type Node = OpNode | SourceNode;

/**
 * A static dataflow graph. Nodes are stored in topological order and every node's id is its
 * index, so dumps are stable and a pass that keeps the order keeps the graph valid.
 */
export interface Graph {
  readonly nodes: readonly Node[];
  readonly outputs: readonly number[];
}

export function metaOf(n: Node): TensorMeta {
  return { shape: n.shape, dtype: n.dtype };
}

export function isOp(n: Node): n is OpNode {
  return n.kind === 'op';
}

/** An op that runs as a scalar expression per element (and so can join a fused kernel). */
export function isElementwise(n: Node): boolean {
  return n.kind === 'op' && !!(OPS[n.op] as OpDef<unknown>).expr;
}

/**
 * Rebuilds a graph from a subset of its nodes in their original order, renumbering ids densely.
 * `replace` maps an old id to the old id whose value it should use instead.
 */
export function rebuild(
  g: Graph,
  keep: (n: Node) => boolean,
  replace: ReadonlyMap<number, number> = new Map(),
): Graph {
  const resolve = (id: number): number => {
    let r = id;
    while (replace.has(r)) r = replace.get(r)!;
    return r;
  };
  const newId = new Map<number, number>();
  const nodes: Node[] = [];
  for (const n of g.nodes) {
    if (replace.has(n.id) || !keep(n)) continue;
    const id = nodes.length;
    newId.set(n.id, id);
    nodes.push(isOp(n) ? { ...n, id, inputs: n.inputs.map((i) => newId.get(resolve(i))!) } : { ...n, id });
  }
  return { nodes, outputs: g.outputs.map((o) => newId.get(resolve(o))!) };
}
