import {
  applyEager,
  engine,
  OPS,
  type OpDef,
  type OpName,
  type Tensor,
  withInterceptor,
} from '@recur/tensor';
import type { Graph, Node } from './ir.js';
import { GraphError } from './verify.js';

const NAME_OF = new Map<OpDef<unknown>, OpName>(
  (Object.entries(OPS) as [OpName, OpDef<unknown>][]).map(([name, def]) => [def, name]),
);

export interface TraceResult {
  readonly graph: Graph;
  /** The values of the traced call (computed eagerly while tracing). */
  readonly outputs: Tensor[];
}

/**
 * Traces `fn` by running it once on example values and recording every primitive op it applies.
 * Composite ops (softmax, cross-entropy, ...) are recorded as the ops they decompose into.
 * Tensors named in `inputs` become graph inputs, those in `params` parameters, and any other
 * tensor that an op reads becomes a constant holding its current values.
 */
export function trace(
  fn: (
    inputs: Readonly<Record<string, Tensor>>,
    params: Readonly<Record<string, Tensor>>,
  ) => Tensor | readonly Tensor[],
  inputs: Readonly<Record<string, Tensor>>,
  params: Readonly<Record<string, Tensor>> = {},
): TraceResult {
  const nodes: Node[] = [];
  const ids = new Map<Tensor, number>();
  const source = (t: Tensor, kind: 'input' | 'param', name: string): void => {
    if (ids.has(t))
      throw new GraphError(`trace: the tensor named '${name}' is passed twice; pass each tensor once.`);
    ids.set(t, nodes.length);
    nodes.push({ id: nodes.length, kind, name, shape: [...t.shape], dtype: t.dtype });
  };
  for (const [name, t] of Object.entries(inputs)) source(t, 'input', name);
  for (const [name, t] of Object.entries(params)) source(t, 'param', name);

  const idOf = (t: Tensor): number => {
    const known = ids.get(t);
    if (known !== undefined) return known;
    if (!t.backend.readSync) {
      throw new GraphError(
        `trace: a tensor of shape [${t.shape}] is read but is neither an input nor a parameter, and backend '${t.backend.name}' cannot read it synchronously to capture it as a constant. Pass it in params.`,
      );
    }
    const id = nodes.length;
    ids.set(t, id);
    nodes.push({
      id,
      kind: 'const',
      name: `c${id}`,
      shape: [...t.shape],
      dtype: t.dtype,
      value: Array.from(t.dataSync()),
    });
    return id;
  };

  const interceptor = {
    apply<A>(op: OpDef<A>, args: readonly Tensor[], attrs: A): Tensor {
      if (op.decompose) {
        op.infer(args, attrs);
        return op.decompose(args, attrs);
      }
      const name = NAME_OF.get(op as OpDef<unknown>);
      if (!name)
        throw new GraphError(`trace: op '${op.name}' is not in the op table, so it cannot be recorded.`);
      const inputIds = args.map(idOf);
      const out = withInterceptor(null, () => applyEager(op, args, attrs));
      const id = nodes.length;
      ids.set(out, id);
      nodes.push({
        id,
        kind: 'op',
        op: name,
        inputs: inputIds,
        attrs: attrs as never,
        shape: [...out.shape],
        dtype: out.dtype,
      });
      return out;
    },
  };

  const result = engine.noGrad(() => withInterceptor(interceptor, () => fn(inputs, params)));
  const outputs = Array.isArray(result) ? [...(result as readonly Tensor[])] : [result as Tensor];
  return { graph: { nodes, outputs: outputs.map(idOf) }, outputs };
}
