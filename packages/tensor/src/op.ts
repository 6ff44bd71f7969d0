import type { Backend, BackendBuffer } from './backend.js';
import type { Expr } from './expr.js';
import type { Tensor, TensorMeta } from './tensor.js';

/** What a VJP rule sees: the saved inputs and output, the attributes, which inputs need a gradient. */
export interface VjpContext<A> {
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  readonly attrs: A;
  readonly needsGrad: readonly boolean[];
}

/**
 * An op, defined once. `infer` is its shape/dtype rule. It executes in exactly one of three ways:
 * - `expr`: an elementwise op, given as a scalar expression over its (broadcast) inputs;
 * - `run`: a lowering to backend primitives writing into a freshly allocated output;
 * - `alias`: the output is a view of input 0's storage with a new shape (reshape);
 * - `decompose`: a composite written with other ops (autograd then flows through those).
 * `vjp` maps the output gradient to one gradient per input (null where none is needed), written
 * with other ops so that any backend and the graph compiler can use it.
 */
export interface OpDef<A> {
  readonly name: string;
  infer(inputs: readonly TensorMeta[], attrs: A): TensorMeta;
  expr?(inputs: readonly Expr[], attrs: A): Expr;
  run?(backend: Backend, inputs: readonly Tensor[], out: BackendBuffer, outMeta: TensorMeta, attrs: A): void;
  alias?: true;
  decompose?(inputs: readonly Tensor[], attrs: A): Tensor;
  vjp?(grad: Tensor, ctx: VjpContext<A>): readonly (Tensor | null)[];
  /** Which values the VJP reads; unsaved ones are not kept alive. Default: both. */
  readonly saves?: { readonly inputs: boolean; readonly output: boolean };
}

export const SAVES_NOTHING = { inputs: false, output: false } as const;
export const SAVES_INPUTS = { inputs: true, output: false } as const;
export const SAVES_OUTPUT = { inputs: false, output: true } as const;
