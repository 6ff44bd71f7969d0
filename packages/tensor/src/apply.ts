import type { BackendBuffer, StridedView } from './backend.js';
import { engine } from './engine.js';
import { RecurError } from './errors.js';
import { ex } from './expr.js';
import { type Edge, GradNode } from './grad-node.js';
import type { OpDef } from './op.js';
import { broadcastStrides, sizeOf } from './shape.js';
import { Storage } from './storage.js';
import { Tensor, type TensorMeta } from './tensor.js';

/**
 * Hooks that let another executor (the graph compiler's tracer) take over op application.
 * When set, `apply` hands every op to it instead of running it eagerly.
 */
export interface OpInterceptor {
  apply<A>(op: OpDef<A>, inputs: readonly Tensor[], attrs: A): Tensor;
}

let interceptor: OpInterceptor | null = null;

/** @internal Installs an interceptor for the duration of `fn` (used by tracing). */
export function withInterceptor<T>(i: OpInterceptor | null, fn: () => T): T {
  const prev = interceptor;
  interceptor = i;
  try {
    return fn();
  } finally {
    interceptor = prev;
  }
}

/** True while an interceptor (the graph compiler's tracer) records ops instead of running them. */
export function isIntercepted(): boolean {
  return interceptor !== null;
}

/** Applies an op eagerly on the inputs' backend, recording it for autograd when needed. */
export function apply<A>(op: OpDef<A>, inputs: readonly Tensor[], attrs: A): Tensor {
  if (interceptor) return interceptor.apply(op, inputs, attrs);
  return applyEager(op, inputs, attrs);
}

export function applyEager<A>(op: OpDef<A>, inputs: readonly Tensor[], attrs: A): Tensor {
  const backend = inputs.length > 0 ? inputs[0]!.backend : engine.backend;
  for (const t of inputs) {
    if (t.backend !== backend) {
      throw new RecurError(
        `${op.name}: expected all inputs on one backend, found '${backend.name}' and '${t.backend.name}'. Move tensors with their data, e.g. tensor(await t.data(), t.shape).`,
      );
    }
  }
  const meta = op.infer(inputs, attrs);
  if (op.decompose) return op.decompose(inputs, attrs);

  let out: Tensor;
  if (op.alias) {
    out = Tensor.share(inputs[0]!, meta.shape);
  } else {
    const buffer = backend.alloc(meta.dtype, sizeOf(meta.shape));
    const storage = new Storage(backend, buffer);
    try {
      if (op.expr) runElementwise(op, inputs, buffer, meta, attrs);
      else if (op.run) op.run(backend, inputs, buffer, meta, attrs);
      else
        throw new RecurError(`${op.name}: the op defines no way to execute (expr, run, alias or decompose).`);
    } catch (err) {
      storage.release();
      throw err;
    }
    out = new Tensor(storage, meta.shape, meta.dtype);
  }

  if (engine.gradEnabled && op.vjp && inputs.some((t) => t.requiresGrad)) record(op, inputs, attrs, out);
  return out;
}

function runElementwise<A>(
  op: OpDef<A>,
  inputs: readonly Tensor[],
  out: BackendBuffer,
  meta: TensorMeta,
  attrs: A,
): void {
  const expr = op.expr!(
    inputs.map((t, i) => ex.input(i, t.dtype)),
    attrs,
  );
  const views: StridedView[] = inputs.map((t) => ({
    buffer: t.storage.buffer,
    offset: 0,
    strides: broadcastStrides(t.shape, meta.shape),
  }));
  (inputs[0]?.backend ?? engine.backend).elementwise({ expr, inputs: views, out, shape: meta.shape });
}

function record<A>(op: OpDef<A>, inputs: readonly Tensor[], attrs: A, out: Tensor): void {
  const saves = op.saves ?? { inputs: true, output: true };
  const next: Edge[] = inputs.map((t) => {
    if (!t.requiresGrad) return null;
    return t.gradFn ? { node: t.gradFn } : { leaf: t };
  });
  const savedInputs = inputs.map((t) => (saves.inputs ? engine.keep(Tensor.share(t)) : null));
  const savedOutput = saves.output ? engine.keep(Tensor.share(out)) : null;
  const versions = inputs.map((t) => t.storage.version);
  versions.push(out.storage.version);
  out.gradFn = new GradNode(op, attrs, next, { inputs: savedInputs, output: savedOutput, versions });
  out.requiresGrad = true;
}
