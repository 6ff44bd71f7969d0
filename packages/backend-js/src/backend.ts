import {
  type AnyTypedArray,
  allocTyped,
  type Backend,
  type BackendBuffer,
  type BackendCapabilities,
  BackendError,
  bytesPerElement,
  type CopyCall,
  type DType,
  type ElementwiseCall,
  exprArity,
  exprKey,
  type GatherCall,
  type MatmulCall,
  type MemoryInfo,
  RecurError,
  type ReduceCall,
  type ScatterAddCall,
  stridesOf,
} from '@recur/tensor';
import { compileElementwise, type ElementwiseKernel } from './codegen.js';
import { Gemm } from './gemm.js';

/** A buffer of the JS backend: a typed array of its dtype. */
export class JsBuffer implements BackendBuffer {
  freed = false;
  constructor(
    readonly dtype: DType,
    readonly size: number,
    readonly data: AnyTypedArray,
  ) {}
}

type Layout = 'dense' | 'scalar' | 'strided';

/**
 * The reference backend: plain TypedArrays, synchronous, single-threaded. Elementwise kernels are
 * generated JavaScript (one function per expression and layout, cached); GEMM is cache-blocked
 * and register-blocked. Every other backend is checked against this one.
 */
export class JsBackend implements Backend {
  readonly spec = 1 as const;
  readonly name = 'js';
  readonly capabilities: BackendCapabilities = {
    dtypes: ['f32', 'f64', 'i32'],
    syncRead: true,
    f16: false,
    maxBuffersPerKernel: 64,
    threads: 1,
  };
  private live = 0;
  private bytes = 0;
  private readonly kernels = new Map<string, ElementwiseKernel>();
  private readonly gemm = new Gemm();
  private disposed = false;

  alloc(dtype: DType, size: number): JsBuffer {
    this.checkAlive();
    if (!Number.isInteger(size) || size < 0) {
      throw new BackendError(`js.alloc: expected a non-negative integer size, found ${size}.`);
    }
    this.live++;
    this.bytes += size * bytesPerElement(dtype);
    return new JsBuffer(dtype, size, allocTyped(dtype, size));
  }

  write(buffer: BackendBuffer, data: AnyTypedArray): void {
    const b = this.buf(buffer);
    if (data.length !== b.size) {
      throw new BackendError(`js.write: expected ${b.size} values, found ${data.length}.`);
    }
    b.data.set(data);
  }

  readSync(buffer: BackendBuffer): AnyTypedArray {
    return this.buf(buffer).data.slice();
  }

  read(buffer: BackendBuffer): Promise<AnyTypedArray> {
    try {
      return Promise.resolve(this.readSync(buffer));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  free(buffer: BackendBuffer): void {
    const b = this.buf(buffer);
    b.freed = true;
    this.live--;
    this.bytes -= b.size * bytesPerElement(b.dtype);
  }

  memory(): MemoryInfo {
    return { buffers: this.live, bytes: this.bytes };
  }

  elementwise(call: ElementwiseCall): void {
    const inputs = call.inputs.map((v) => this.buf(v.buffer).data);
    const exprs = [call.expr, ...(call.more ?? []).map((m) => m.expr)];
    const arity = Math.max(...exprs.map(exprArity));
    if (arity > call.inputs.length) {
      throw new BackendError(
        `js.elementwise: the expression reads ${arity} inputs, found ${call.inputs.length}.`,
      );
    }
    const dense = stridesOf(call.shape);
    const outs = [
      { buffer: call.out, offset: call.outView?.offset ?? 0, strides: call.outView?.strides ?? dense },
      ...(call.more ?? []).map((m) => ({ buffer: m.out, offset: m.offset, strides: m.strides })),
    ];
    const size = call.shape.reduce((a, b) => a * b, 1);
    for (const o of outs) {
      const last = o.offset + call.shape.reduce((acc, d, i) => acc + (d - 1) * o.strides[i]!, 0);
      if (size > 0 && (o.offset < 0 || last >= o.buffer.size)) {
        throw new BackendError(
          `js.elementwise: an output view (offset ${o.offset}, strides [${o.strides}]) over [${call.shape}] reaches past its buffer of ${o.buffer.size} elements.`,
        );
      }
    }
    const layouts: Layout[] = call.inputs.map((v) => layoutOf(v.strides, dense, call.shape));
    const flat =
      layouts.every((l) => l !== 'strided') &&
      outs.every((o) => layoutOf(o.strides, dense, call.shape) === 'dense');
    const key = `${exprs.map(exprKey).join(';')}|${flat ? layouts.join(',') : 'strided'}|${call.inputs.length}`;
    let kernel = this.kernels.get(key);
    if (!kernel) {
      kernel = compileElementwise(exprs, call.inputs.length, flat ? layouts.map((l) => l === 'dense') : null);
      this.kernels.set(key, kernel);
    }
    kernel(
      outs.map((o) => this.buf(o.buffer).data),
      outs.map((o) => o.offset),
      outs.map((o) => o.strides),
      call.shape,
      inputs,
      call.inputs.map((v) => v.offset),
      call.inputs.map((v) => v.strides),
    );
  }

  matmul(call: MatmulCall): void {
    const a = this.buf(call.a);
    const b = this.buf(call.b);
    const out = this.buf(call.out);
    if (a.dtype === 'i32' || b.dtype === 'i32' || out.dtype === 'i32') {
      throw new BackendError(
        `js.matmul: expected f32 or f64 buffers, found ${a.dtype}, ${b.dtype} -> ${out.dtype}.`,
      );
    }
    const bias = call.bias ? this.buf(call.bias.buffer) : null;
    const { m, n, k } = call;
    for (let i = 0; i < call.batch; i++) {
      this.gemm.run({
        a: a.data as Float32Array | Float64Array,
        b: b.data as Float32Array | Float64Array,
        c: out.data as Float32Array | Float64Array,
        m,
        n,
        k,
        transA: call.transA,
        transB: call.transB,
        aOffset: call.aOffset + i * call.aBatchStride,
        bOffset: call.bOffset + i * call.bBatchStride,
        cOffset: call.outOffset + i * m * n,
        bias: bias ? (bias.data as Float32Array | Float64Array) : null,
        biasOffset: call.bias?.offset ?? 0,
        accumulate: call.accumulate,
      });
    }
  }

  reduce(call: ReduceCall): void {
    const x = this.buf(call.input).data;
    const out = this.buf(call.out).data;
    const { outer, size, inner, op } = call;
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * size * inner + i;
        let acc: number;
        switch (op) {
          case 'sum': {
            acc = 0;
            for (let s = 0; s < size; s++) acc += x[base + s * inner]!;
            break;
          }
          case 'max':
          case 'min': {
            acc = x[base]!;
            for (let s = 1; s < size; s++) {
              const v = x[base + s * inner]!;
              if (Number.isNaN(v) || (op === 'max' ? v > acc : v < acc)) acc = v;
              if (Number.isNaN(acc)) break;
            }
            break;
          }
          case 'argmax':
          case 'argmin': {
            let best = x[base]!;
            acc = 0;
            for (let s = 1; s < size && !Number.isNaN(best); s++) {
              const v = x[base + s * inner]!;
              if (Number.isNaN(v) || (op === 'argmax' ? v > best : v < best)) {
                best = v;
                acc = s;
              }
            }
            break;
          }
        }
        out[o * inner + i] = acc;
      }
    }
  }

  gather(call: GatherCall): void {
    const table = this.buf(call.table).data;
    const idx = this.buf(call.indices).data;
    const out = this.buf(call.out).data;
    const { outer, axisSize, inner } = call;
    const count = idx.length;
    for (let j = 0; j < count; j++) checkIndex('gather', idx[j]!, axisSize, j);
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < count; j++) {
        const src = (o * axisSize + idx[j]!) * inner;
        const dst = (o * count + j) * inner;
        if (inner === 1) out[dst] = table[src]!;
        else out.set(table.subarray(src, src + inner), dst);
      }
    }
  }

  scatterAdd(call: ScatterAddCall): void {
    const out = this.buf(call.out).data;
    const idx = this.buf(call.indices).data;
    const upd = this.buf(call.updates).data;
    const { outer, axisSize, inner } = call;
    const count = idx.length;
    for (let j = 0; j < count; j++) checkIndex('scatterAdd', idx[j]!, axisSize, j);
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < count; j++) {
        const dst = (o * axisSize + idx[j]!) * inner;
        const src = (o * count + j) * inner;
        for (let i = 0; i < inner; i++) out[dst + i] = out[dst + i]! + upd[src + i]!;
      }
    }
  }

  copy(call: CopyCall): void {
    const src = this.buf(call.src.buffer).data;
    const out = this.buf(call.out).data;
    const { shape, outStrides } = call;
    const inStrides = call.src.strides;
    const rank = shape.length;
    let n = 1;
    for (const d of shape) n *= d;
    if (n === 0) return;
    const inner = rank === 0 ? 1 : shape[rank - 1]!;
    const si = rank === 0 ? 1 : inStrides[rank - 1]!;
    const so = rank === 0 ? 1 : outStrides[rank - 1]!;
    const sameType = src.constructor === out.constructor;
    const idx = new Int32Array(Math.max(rank - 1, 1));
    let pi = call.src.offset;
    let po = call.outOffset;
    for (let done = 0; done < n; done += inner) {
      if (si === 1 && so === 1 && sameType && inner > 8) {
        out.set(src.subarray(pi, pi + inner), po);
      } else {
        for (let j = 0, qi = pi, qo = po; j < inner; j++, qi += si, qo += so) out[qo] = src[qi]!;
      }
      for (let d = rank - 2; d >= 0; d--) {
        idx[d]!++;
        pi += inStrides[d]!;
        po += outStrides[d]!;
        if (idx[d]! < shape[d]!) break;
        idx[d] = 0;
        pi -= inStrides[d]! * shape[d]!;
        po -= outStrides[d]! * shape[d]!;
      }
    }
  }

  sync(): Promise<void> {
    return Promise.resolve();
  }

  dispose(): void {
    this.disposed = true;
    this.kernels.clear();
  }

  private checkAlive(): void {
    if (this.disposed) throw new BackendError('js: this backend was disposed; create a new JsBackend.');
  }

  private buf(buffer: BackendBuffer): JsBuffer {
    this.checkAlive();
    if (!(buffer instanceof JsBuffer)) {
      throw new BackendError(
        `js: expected a buffer allocated by the js backend, found ${buffer?.constructor?.name ?? typeof buffer}. Tensors from different backends cannot be mixed.`,
      );
    }
    if (buffer.freed)
      throw new BackendError('js: expected a live buffer, found one already freed (use after dispose).');
    return buffer;
  }
}

function layoutOf(strides: readonly number[], dense: readonly number[], shape: readonly number[]): Layout {
  let allZero = true;
  let isDense = true;
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    if (strides[d] !== 0) allZero = false;
    if (strides[d] !== dense[d]) isDense = false;
  }
  return allZero ? 'scalar' : isDense ? 'dense' : 'strided';
}

function checkIndex(op: string, v: number, size: number, at: number): void {
  if (!(v >= 0 && v < size)) {
    throw new RecurError(
      `${op}: expected indices in [0, ${size - 1}], found ${v} at position ${at}. Check the vocabulary or table size.`,
    );
  }
}
