import { applyEager, type Backend, engine, fromData, OPS, type OpDef, type Tensor } from '@recur/tensor';
import { type Graph, isOp, type Node } from '../ir.js';
import { GraphError } from '../verify.js';

/**
 * Constant folding: an op whose inputs are all constants is evaluated once, at compile time, on a
 * CPU backend, and becomes a constant (e.g. a bias pair summed, a weight transposed ahead of time).
 */
export function constantFold(g: Graph, backend: Backend = engine.backend): Graph {
  if (!backend.readSync) {
    throw new GraphError(
      `constantFold: expected a backend with synchronous reads, found '${backend.name}'. Pass a JsBackend.`,
    );
  }
  return engine.withBackend(backend, () =>
    engine.noGrad(() =>
      engine.tidy(() => {
        const values = new Map<number, Tensor>();
        const nodes: Node[] = g.nodes.map((n) => {
          if (n.kind === 'const') {
            values.set(n.id, fromData(n.value ?? [], n.shape, { dtype: n.dtype }));
            return n;
          }
          if (!isOp(n) || !n.inputs.every((i) => values.has(i))) return n;
          const out = applyEager(
            OPS[n.op] as OpDef<unknown>,
            n.inputs.map((i) => values.get(i)!),
            n.attrs,
          );
          values.set(n.id, out);
          return {
            id: n.id,
            kind: 'const',
            name: `c${n.id}`,
            shape: n.shape,
            dtype: n.dtype,
            value: Array.from(out.dataSync()),
          };
        });
        return { nodes, outputs: g.outputs };
      }),
    ),
  );
}
