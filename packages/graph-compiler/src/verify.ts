import { OPS, type OpDef, RecurError, type TensorMeta } from '@recur/tensor';
import { type Graph, isOp, metaOf } from './ir.js';

export class GraphError extends RecurError {
  override name = 'GraphError';
}

/**
 * Checks a graph: ids equal positions, inputs refer to earlier nodes (topological order), each
 * op's recorded shape and dtype equal its shape rule's, outputs exist. Throws a GraphError naming
 * the first bad node.
 */
export function verify(g: Graph): void {
  g.nodes.forEach((n, i) => {
    if (n.id !== i) throw new GraphError(`verify: expected node ${i} to have id ${i}, found ${n.id}.`);
    if (!isOp(n)) {
      if (n.kind === 'const' && (!n.value || n.value.length !== n.shape.reduce((a, b) => a * b, 1))) {
        throw new GraphError(
          `verify: constant %${i} holds ${n.value?.length ?? 0} values for shape [${n.shape}].`,
        );
      }
      return;
    }
    for (const input of n.inputs) {
      if (!(Number.isInteger(input) && input >= 0 && input < i)) {
        throw new GraphError(`verify: %${i} = ${n.op}: expected inputs defined before it, found %${input}.`);
      }
    }
    const def = OPS[n.op] as OpDef<unknown>;
    if (!def) throw new GraphError(`verify: %${i}: expected a known op, found '${n.op}'.`);
    let meta: TensorMeta;
    try {
      meta = def.infer(
        n.inputs.map((id) => metaOf(g.nodes[id]!)),
        n.attrs,
      );
    } catch (err) {
      throw new GraphError(
        `verify: %${i} = ${n.op}: its shape rule rejects the inputs: ${(err as Error).message}`,
      );
    }
    const same =
      meta.dtype === n.dtype &&
      meta.shape.length === n.shape.length &&
      meta.shape.every((d, k) => d === n.shape[k]);
    if (!same) {
      throw new GraphError(
        `verify: %${i} = ${n.op}: expected ${meta.dtype}[${meta.shape}] from the shape rule, found ${n.dtype}[${n.shape}] recorded.`,
      );
    }
  });
  for (const o of g.outputs) {
    if (!(o >= 0 && o < g.nodes.length)) throw new GraphError(`verify: output %${o} does not exist.`);
  }
}
