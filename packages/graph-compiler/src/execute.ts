import { applyEager, engine, fromData, OPS, type OpDef, type Tensor } from '@recur/tensor';
import { type Graph, isOp } from './ir.js';
import { GraphError } from './verify.js';

/**
 * Interprets a graph eagerly, node by node, on the backend of the fed tensors (or the active one).
 * The reference semantics that every optimisation pass must preserve.
 */
export function execute(
  g: Graph,
  feeds: Readonly<Record<string, Tensor>>,
  params: Readonly<Record<string, Tensor>> = {},
): Tensor[] {
  return engine.noGrad(() =>
    engine.tidy(() => {
      const values: Tensor[] = [];
      for (const n of g.nodes) {
        if (isOp(n)) {
          values.push(
            applyEager(
              OPS[n.op] as OpDef<unknown>,
              n.inputs.map((i) => values[i]!),
              n.attrs,
            ),
          );
          continue;
        }
        if (n.kind === 'const') {
          values.push(fromData(n.value ?? [], n.shape, { dtype: n.dtype }));
          continue;
        }
        const t = (n.kind === 'input' ? feeds : params)[n.name];
        if (!t) {
          throw new GraphError(
            `execute: expected a value for ${n.kind} '${n.name}' of shape [${n.shape}], found none.`,
          );
        }
        if (
          t.dtype !== n.dtype ||
          t.shape.length !== n.shape.length ||
          t.shape.some((d, k) => d !== n.shape[k])
        ) {
          throw new GraphError(
            `execute: expected ${n.kind} '${n.name}' as ${n.dtype}[${n.shape}], found ${t.dtype}[${t.shape}].`,
          );
        }
        values.push(t);
      }
      return g.outputs.map((o) => values[o]!);
    }),
  );
}
