import { type DType, OPS, type OpAttrs, type OpDef, type OpName } from '@recur/tensor';
import { type Graph, isOp, metaOf, type Node, type SourceKind } from './ir.js';
import { GraphError } from './verify.js';

/**
 * Builds a graph node by node, inferring each op's shape and dtype from the op table. Sources are
 * deduplicated by name, so asking twice for input 'x' gives one node.
 */
export class GraphBuilder {
  readonly nodes: Node[] = [];
  private readonly sources = new Map<string, number>();

  source(kind: SourceKind, name: string, shape: readonly number[], dtype: DType): number {
    const known = this.sources.get(name);
    if (known !== undefined) {
      const n = this.nodes[known]!;
      if (n.dtype !== dtype || n.shape.length !== shape.length || n.shape.some((d, i) => d !== shape[i])) {
        throw new GraphError(
          `GraphBuilder: source '${name}' was declared as ${n.dtype}[${n.shape}], now as ${dtype}[${shape}].`,
        );
      }
      return known;
    }
    const id = this.nodes.length;
    this.nodes.push({ id, kind, name, shape: [...shape], dtype });
    this.sources.set(name, id);
    return id;
  }

  constant(shape: readonly number[], dtype: DType, value: readonly number[]): number {
    const id = this.nodes.length;
    this.nodes.push({ id, kind: 'const', name: `c${id}`, shape: [...shape], dtype, value: [...value] });
    return id;
  }

  op<K extends OpName>(op: K, inputs: readonly number[], attrs: OpAttrs[K]): number {
    const def = OPS[op] as OpDef<unknown>;
    const meta = def.infer(
      inputs.map((i) => metaOf(this.node(i))),
      attrs,
    );
    const id = this.nodes.length;
    this.nodes.push({
      id,
      kind: 'op',
      op,
      inputs: [...inputs],
      attrs: attrs as never,
      shape: [...meta.shape],
      dtype: meta.dtype,
    });
    return id;
  }

  /** Copies node `n` of another graph, with its inputs remapped. */
  copy(n: Node, inputs: readonly number[]): number {
    if (isOp(n)) return this.op(n.op, inputs, n.attrs as never);
    if (n.kind === 'const') return this.constant(n.shape, n.dtype, n.value ?? []);
    return this.source(n.kind, n.name, n.shape, n.dtype);
  }

  reshape(x: number, shape: readonly number[]): number {
    const n = this.node(x);
    if (n.shape.length === shape.length && n.shape.every((d, i) => d === shape[i])) return x;
    return this.op('reshape', [x], { shape: [...shape] });
  }

  node(id: number): Node {
    const n = this.nodes[id];
    if (!n) throw new GraphError(`GraphBuilder: node %${id} does not exist.`);
    return n;
  }

  build(outputs: readonly number[]): Graph {
    return { nodes: [...this.nodes], outputs: [...outputs] };
  }
}
