import type { AnyTypedArray, DType } from './dtype.js';
import type { Expr } from './expr.js';

/**
 * The Backend interface, version 1.
 *
 * A backend owns device buffers and runs a small set of primitives on them. Everything else
 * (every op of `@recur/tensor`, every cell, every compiled graph) is lowered to these calls.
 * Calls may be asynchronous on the device: a primitive only needs to *enqueue* its work, in order.
 * Results become visible through `read` (always available, asynchronous) or `readSync` (only on
 * backends whose capabilities say `syncRead`). All sizes, offsets and strides are in elements.
 */
export interface BackendBuffer {
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
}

export interface BackendCapabilities {
  /** Element types the backend can store and compute with. */
  readonly dtypes: readonly DType[];
  /** True when `readSync` is available (CPU backends); GPU backends read asynchronously. */
  readonly syncRead: boolean;
  /** Whether f16 storage is supported (reserved for future dtypes). */
  readonly f16: boolean;
  /** Most buffers a single kernel may bind (inputs + output); fusion respects it. */
  readonly maxBuffersPerKernel: number;
  /** Worker threads the backend computes with (1 when single-threaded). */
  readonly threads: number;
}

/** A buffer read with an element offset and per-dimension strides (0 = broadcast). */
export interface StridedView {
  readonly buffer: BackendBuffer;
  readonly offset: number;
  readonly strides: readonly number[];
}

/**
 * out[i...] = expr(inputs[0][i...], inputs[1][i...], ...) over `shape`. `out` is written densely
 * from element 0 unless `outView` places it (an offset and strides, e.g. one column block of a
 * wider matrix, or step t of a stacked sequence). `more` lists further outputs computed by the
 * same kernel over the same index space (a fused kernel with several results); a backend should
 * evaluate shared subexpressions once. An output may overlap an input only where it is the very
 * same view (each index writes the element that index reads: in place); a backend therefore reads
 * every input of an index before it writes any output of that index, so the compiler can let
 * several outputs take over the inputs they were computed from (e.g. gate gradients written over
 * the saved gate activations of the same step).
 */
export interface ElementwiseCall {
  readonly expr: Expr;
  readonly inputs: readonly StridedView[];
  readonly out: BackendBuffer;
  readonly shape: readonly number[];
  readonly outView?: { readonly offset: number; readonly strides: readonly number[] };
  readonly more?: readonly ElementwiseOutput[];
}

export interface ElementwiseOutput {
  readonly expr: Expr;
  readonly out: BackendBuffer;
  readonly offset: number;
  readonly strides: readonly number[];
}

/**
 * Batched GEMM: for each batch index, out[m×n] (+)= op(A)[m×k] · op(B)[k×n] (+ bias[n]).
 * A is stored [m×k] row-major ([k×m] when transA), B [k×n] ([n×k] when transB); `out` is dense.
 * A batch stride of 0 broadcasts that operand across the batch.
 */
export interface MatmulCall {
  readonly a: BackendBuffer;
  readonly b: BackendBuffer;
  readonly out: BackendBuffer;
  readonly batch: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly transA: boolean;
  readonly transB: boolean;
  readonly aOffset: number;
  readonly bOffset: number;
  readonly outOffset: number;
  readonly aBatchStride: number;
  readonly bBatchStride: number;
  /** Epilogue: a length-n vector added to every row. */
  readonly bias: { readonly buffer: BackendBuffer; readonly offset: number } | null;
  /** Epilogue: accumulate into `out` (beta = 1) instead of overwriting it. */
  readonly accumulate: boolean;
}

export type ReduceOp = 'sum' | 'max' | 'min' | 'argmax' | 'argmin';

/** Input viewed as [outer, size, inner]; out[o, i] = reduce over s of in[o, s, i]. arg* write i32. */
export interface ReduceCall {
  readonly op: ReduceOp;
  readonly input: BackendBuffer;
  readonly out: BackendBuffer;
  readonly outer: number;
  readonly size: number;
  readonly inner: number;
}

/** out[o, j, i] = table[o, indices[j], i]; table is [outer, axisSize, inner]. */
export interface GatherCall {
  readonly table: BackendBuffer;
  readonly indices: BackendBuffer;
  readonly out: BackendBuffer;
  readonly outer: number;
  readonly axisSize: number;
  readonly inner: number;
}

/** out[o, indices[j], i] += updates[o, j, i]; out is [outer, axisSize, inner]. */
export interface ScatterAddCall {
  readonly out: BackendBuffer;
  readonly indices: BackendBuffer;
  readonly updates: BackendBuffer;
  readonly outer: number;
  readonly axisSize: number;
  readonly inner: number;
}

/** out[outOffset + Σ idx·outStrides] = src[...] over `shape`: transpose, slice, concat, pad, broadcast. */
export interface CopyCall {
  readonly src: StridedView;
  readonly out: BackendBuffer;
  readonly outOffset: number;
  readonly outStrides: readonly number[];
  readonly shape: readonly number[];
}

export interface MemoryInfo {
  /** Live buffers allocated by this backend. */
  readonly buffers: number;
  /** Bytes held by live buffers. */
  readonly bytes: number;
}

export interface Backend {
  /** Interface version; a registry refuses backends written for another version. */
  readonly spec: 1;
  readonly name: string;
  readonly capabilities: BackendCapabilities;

  /** A new zero-filled buffer. */
  alloc(dtype: DType, size: number): BackendBuffer;
  /** Copies host data into a buffer (same dtype and length). */
  write(buffer: BackendBuffer, data: AnyTypedArray): void;
  /** Copies a buffer to the host once all queued work on it is done. */
  read(buffer: BackendBuffer): Promise<AnyTypedArray>;
  /** Synchronous read; present only when `capabilities.syncRead`. */
  readSync?(buffer: BackendBuffer): AnyTypedArray;
  /** Releases a buffer; using it afterwards is an error. */
  free(buffer: BackendBuffer): void;
  memory(): MemoryInfo;

  elementwise(call: ElementwiseCall): void;
  matmul(call: MatmulCall): void;
  reduce(call: ReduceCall): void;
  gather(call: GatherCall): void;
  scatterAdd(call: ScatterAddCall): void;
  copy(call: CopyCall): void;

  /** Resolves when all queued work has finished. */
  sync(): Promise<void>;
  /** Releases every resource; the backend is unusable afterwards. */
  dispose(): void;
}
