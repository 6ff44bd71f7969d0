/// <reference types="@webgpu/types" preserve="true" />
import {
  type AnyTypedArray,
  allocTyped,
  type Backend,
  type BackendBuffer,
  type BackendCapabilities,
  BackendError,
  type CopyCall,
  type DType,
  type ElementwiseCall,
  type Expr,
  ex,
  type GatherCall,
  type MatmulCall,
  type MemoryInfo,
  RecurError,
  type ReduceCall,
  type ScatterAddCall,
  type StridedView,
  stridesOf,
} from '@recur/tensor';
import { DeviceLostError, GpuOutOfMemoryError, WebGpuError } from './errors.js';
import { type BindingSlot, WG } from './kernels/common.js';
import {
  checkElementwiseTypes,
  type EwOperand,
  elementwiseKernel,
  type KernelSpec,
} from './kernels/elementwise.js';
import { gemmDirectKernel, gemmKernel, gemmTile } from './kernels/gemm.js';
import {
  gatherKernel,
  grid,
  reduceKernel,
  STATUS_GATHER,
  STATUS_INIT,
  STATUS_WORDS,
  scatterAddKernel,
} from './kernels/reduce.js';

// WebGPU's flag values, spelled out so that the core needs no globals (Node has none by default).
const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
const MAP_READ = 0x1;
const COMPUTE = 0x4;

/** What the adapter says about itself, for reports and benchmark tables. */
export interface WebGpuAdapterInfo {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
}

export interface WebGpuBackendOptions {
  /** Bytes of freed device buffers kept for reuse (default 256 MiB); the rest are destroyed. */
  readonly poolBytes?: number;
  /** Destroy the device in `dispose()` (default false: the caller owns a device it passes in). */
  readonly ownsDevice?: boolean;
  /** The adapter's description, when known. */
  readonly adapterInfo?: WebGpuAdapterInfo;
  /**
   * Bytes of the per-command-buffer parameter arena (default 1 MiB, 256 bytes per dispatch): when it
   * fills, queued work is submitted and a new command buffer begins.
   */
  readonly paramArenaBytes?: number;
  /** Bytes of the staging area for small `write`s, copied in order inside the command buffer (default 4 MiB). */
  readonly uploadArenaBytes?: number;
  /** Binds at most this many storage buffers per kernel (default and cap: the device's limit). */
  readonly maxStorageBuffersPerKernel?: number;
  /**
   * Submit early after this many dispatches, so that the GPU starts on a long sequence while the
   * CPU still encodes the rest (no readback either way). Default 0: one command buffer until a
   * read, `sync`, `flush` or a full parameter arena.
   */
  readonly submitEvery?: number;
  /** Fixes the GEMM register tile (t×t per thread) instead of choosing it per shape (for tuning). */
  readonly gemmTile?: 1 | 2 | 4;
  /**
   * GEMM kernel: 'tiled' stages tiles in workgroup memory (GPUs); 'direct' reads storage without
   * barriers (CPU drivers such as SwiftShader). Default: 'direct' on SwiftShader, else 'tiled'.
   */
  readonly gemmKernel?: 'tiled' | 'direct';
}

/** Counters of the work a backend has encoded and submitted (for tests and profiles). */
export interface WebGpuStats {
  readonly dispatches: number;
  readonly submits: number;
  readonly pipelines: number;
  readonly bindGroups: number;
  /** Device buffers created so far (a pool hit creates none). */
  readonly buffersCreated: number;
  /** Bytes of freed device buffers held in the pool. */
  readonly pooledBytes: number;
}

/** A device buffer owned by the backend; several logical buffers may use it over time (pooling). */
interface Phys {
  readonly gpu: GPUBuffer;
  readonly bytes: number;
  readonly id: number;
  /** Bind-group cache keys that reference this buffer, dropped when it is destroyed. */
  readonly groups: Set<string>;
}

/** A buffer of the WebGPU backend. */
export class WebGpuBuffer implements BackendBuffer {
  freed = false;
  constructor(
    readonly dtype: DType,
    readonly size: number,
    /** @internal */ readonly phys: Phys,
  ) {}
}

interface Pipeline {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  readonly layoutKey: string;
  readonly uniformBytes: number;
}

const DTYPES: readonly DType[] = ['f32', 'i32'];
/** Elements from which a contiguous copy or a zero fill leaves the compute pass for a transfer command. */
const BIG_COPY = 1 << 20;

/**
 * The WebGPU backend. Every primitive only *encodes* its work into a shared command encoder (one
 * compute pass across consecutive dispatches); nothing is submitted until a `read`, `sync` or
 * `flush`, so a compiled sequence (the hoisted GEMM, T recurrent steps, the backward loop) goes to
 * the GPU as one command buffer. Kernel parameters live in one uniform arena bound with dynamic
 * offsets, so bind groups are cached per set of buffers and reused across time steps. Device
 * buffers are pooled by size class and released deterministically on `free`.
 */
export class WebGpuBackend implements Backend {
  readonly spec = 1 as const;
  readonly name = 'webgpu';
  readonly capabilities: BackendCapabilities;
  readonly adapterInfo: WebGpuAdapterInfo;
  /** The device limits this backend honours (read from the device it was given). */
  readonly limits: {
    readonly maxStorageBuffersPerShaderStage: number;
    readonly maxStorageBufferBindingSize: number;
    readonly maxBufferSize: number;
    readonly maxComputeWorkgroupsPerDimension: number;
    readonly minUniformBufferOffsetAlignment: number;
  };

  private readonly queue: GPUQueue;
  private readonly gemmDirect: boolean;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly paramArena: GPUBuffer;
  private readonly paramShadow: Int32Array;
  private paramUsed = 0;
  private sinceSubmit = 0;
  private readonly uploadArena: GPUBuffer;
  private uploadUsed = 0;
  private readonly status: Phys;
  private readonly statusInit: GPUBuffer;
  private statusDirty = false;

  private readonly pipelines = new Map<string, Pipeline>();
  private readonly layouts = new Map<string, { bind: GPUBindGroupLayout; pipe: GPUPipelineLayout }>();
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly pool = new Map<number, Phys[]>();
  private readonly staging = new Map<number, GPUBuffer[]>();
  private readonly destroyAfterSubmit: Phys[] = [];
  private readonly allPhys = new Set<Phys>();
  private pooledBytes = 0;
  private readonly poolLimit: number;
  private nextId = 1;

  private live = 0;
  private bytes = 0;
  private counters = { dispatches: 0, submits: 0, buffersCreated: 0 };

  private pendingErrors: Promise<Error | null>[] = [];
  private lostInfo: { reason: string; message: string } | null = null;
  private disposed = false;

  constructor(
    readonly device: GPUDevice,
    private readonly options: WebGpuBackendOptions = {},
  ) {
    const l = device.limits;
    this.limits = {
      maxStorageBuffersPerShaderStage: Math.min(
        l.maxStorageBuffersPerShaderStage,
        Math.max(4, options.maxStorageBuffersPerKernel ?? Number.POSITIVE_INFINITY),
      ),
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      minUniformBufferOffsetAlignment: l.minUniformBufferOffsetAlignment,
    };
    this.capabilities = {
      dtypes: DTYPES,
      syncRead: false,
      f16: false,
      maxBuffersPerKernel: this.limits.maxStorageBuffersPerShaderStage,
      threads: 1,
    };
    this.adapterInfo = options.adapterInfo ?? {
      vendor: '',
      architecture: '',
      device: '',
      description: 'unknown adapter',
    };
    this.poolLimit = options.poolBytes ?? 256 * 2 ** 20;
    const cpuDriver = /swiftshader|llvmpipe|lavapipe/i.test(
      `${this.adapterInfo.description} ${this.adapterInfo.architecture} ${this.adapterInfo.vendor}`,
    );
    this.gemmDirect = (options.gemmKernel ?? (cpuDriver ? 'direct' : 'tiled')) === 'direct';
    this.queue = device.queue;
    device.lost.then((info) => {
      this.lostInfo = { reason: String(info.reason), message: info.message };
    });
    const arena = roundUp(options.paramArenaBytes ?? 2 ** 20, l.minUniformBufferOffsetAlignment);
    this.paramArena = device.createBuffer({
      label: 'recur params',
      size: arena,
      usage: USAGE.UNIFORM | USAGE.COPY_DST,
    });
    this.paramShadow = new Int32Array(arena / 4);
    this.uploadArena = device.createBuffer({
      label: 'recur uploads',
      size: roundUp(options.uploadArenaBytes ?? 4 * 2 ** 20, 4),
      usage: USAGE.COPY_SRC | USAGE.COPY_DST,
    });
    this.status = this.newPhys(STATUS_WORDS * 4, 'recur status');
    this.statusInit = device.createBuffer({
      label: 'recur status init',
      size: STATUS_WORDS * 4,
      usage: USAGE.COPY_SRC | USAGE.COPY_DST,
    });
    this.queue.writeBuffer(this.statusInit, 0, STATUS_INIT);
    this.queue.writeBuffer(this.status.gpu, 0, STATUS_INIT);
  }

  // ------------------------------------------------------------------------------- buffers

  alloc(dtype: DType, size: number): WebGpuBuffer {
    this.checkAlive();
    if (!DTYPES.includes(dtype)) {
      throw new BackendError(
        `webgpu.alloc: expected dtype f32 or i32, found ${dtype}. WGSL has no f64; compute in f32, or use the js backend for f64 (e.g. gradient checks).`,
      );
    }
    if (!Number.isInteger(size) || size < 0) {
      throw new BackendError(`webgpu.alloc: expected a non-negative integer size, found ${size}.`);
    }
    const bytes = Math.max(4, size * 4);
    const max = Math.min(this.limits.maxStorageBufferBindingSize, this.limits.maxBufferSize);
    if (bytes > max) {
      throw new GpuOutOfMemoryError(
        `webgpu.alloc: expected at most ${max} bytes per buffer (the adapter's maxStorageBufferBindingSize/maxBufferSize), found a request for ${bytes} bytes (${size} × ${dtype}). Use smaller batches or split the tensor.`,
      );
    }
    const cls = sizeClass(bytes, max);
    const reused = this.pool.get(cls)?.pop();
    let phys: Phys;
    if (reused) {
      this.pooledBytes -= reused.bytes;
      phys = reused;
      if (size > 0) this.zeroFill(phys, dtype, size);
    } else {
      phys = this.newPhys(cls, undefined);
    }
    this.live++;
    this.bytes += size * 4;
    return new WebGpuBuffer(dtype, size, phys);
  }

  write(buffer: BackendBuffer, data: AnyTypedArray): void {
    const b = this.buf(buffer, 'write');
    if (data.length !== b.size) {
      throw new BackendError(`webgpu.write: expected ${b.size} values, found ${data.length}.`);
    }
    if (b.size === 0) return;
    let src: AnyTypedArray = data;
    const want = b.dtype === 'f32' ? Float32Array : Int32Array;
    if (!(data instanceof want)) {
      src = allocTyped(b.dtype, b.size);
      src.set(data);
    }
    const bytes = b.size * 4;
    if (bytes > this.uploadArena.size / 4) {
      // Large uploads go straight to the queue, ordered after everything encoded so far.
      this.flush();
      this.queue.writeBuffer(b.phys.gpu, 0, src.buffer, src.byteOffset, bytes);
      return;
    }
    if (this.uploadUsed + bytes > this.uploadArena.size) this.flush();
    // The staging region is written on the queue now and copied in order inside the command
    // buffer, so work encoded before this write still sees the old contents.
    this.queue.writeBuffer(this.uploadArena, this.uploadUsed, src.buffer, src.byteOffset, bytes);
    this.endPass();
    this.enc().copyBufferToBuffer(this.uploadArena, this.uploadUsed, b.phys.gpu, 0, bytes);
    this.uploadUsed += roundUp(bytes, 16);
  }

  async read(buffer: BackendBuffer): Promise<AnyTypedArray> {
    const b = this.buf(buffer, 'read');
    const out = allocTyped(b.dtype, b.size);
    const dataBytes = b.size * 4;
    const statusAt = roundUp(dataBytes, 16);
    const withStatus = this.statusDirty;
    const total = statusAt + (withStatus ? STATUS_WORDS * 4 : 0);
    if (total === 0) {
      await this.checkErrors();
      return out;
    }
    const staging = this.takeStaging(total);
    this.endPass();
    const enc = this.enc();
    if (dataBytes > 0) enc.copyBufferToBuffer(b.phys.gpu, 0, staging, 0, dataBytes);
    if (withStatus) this.encodeStatusRead(staging, statusAt);
    this.flush();
    try {
      await staging.mapAsync(MAP_READ, 0, total);
    } catch (err) {
      this.checkAlive();
      throw new WebGpuError(`webgpu.read: mapping the staging buffer failed: ${(err as Error).message}`);
    }
    const mapped = staging.getMappedRange(0, total);
    if (dataBytes > 0) new Uint8Array(out.buffer).set(new Uint8Array(mapped, 0, dataBytes));
    const st = withStatus ? new Uint32Array(mapped.slice(statusAt, statusAt + STATUS_WORDS * 4)) : null;
    staging.unmap();
    this.returnStaging(staging);
    await this.checkErrors();
    if (st) checkStatus(st);
    return out;
  }

  free(buffer: BackendBuffer): void {
    const b = this.buf(buffer, 'free');
    b.freed = true;
    this.live--;
    this.bytes -= b.size * 4;
    this.release(b.phys);
  }

  memory(): MemoryInfo {
    return { buffers: this.live, bytes: this.bytes };
  }

  stats(): WebGpuStats {
    return {
      ...this.counters,
      pipelines: this.pipelines.size,
      bindGroups: this.bindGroups.size,
      pooledBytes: this.pooledBytes,
    };
  }

  /** Destroys every pooled (freed) device buffer now. */
  trim(): void {
    for (const list of this.pool.values()) for (const p of list) this.retire(p);
    this.pool.clear();
    this.pooledBytes = 0;
  }

  // ---------------------------------------------------------------------------- primitives

  elementwise(call: ElementwiseCall): void {
    this.checkAlive();
    const exprs = [call.expr, ...(call.more ?? []).map((m) => m.expr)];
    const dense = stridesOf(call.shape);
    const outViews = [
      { buffer: call.out, offset: call.outView?.offset ?? 0, strides: call.outView?.strides ?? dense },
      ...(call.more ?? []).map((m) => ({ buffer: m.out, offset: m.offset, strides: m.strides })),
    ];
    const inputs = call.inputs.map((v, i) => this.operand(v, call.shape, `input ${i}`));
    const outputs = outViews.map((v, k) => this.operand(v, call.shape, `output ${k}`));
    const bad = checkElementwiseTypes(exprs, inputs, outputs);
    if (bad) throw new BackendError(`webgpu.elementwise: expected operands matching the expression; ${bad}.`);
    this.runElementwise(exprs, inputs, outputs, call.shape);
  }

  matmul(call: MatmulCall): void {
    const a = this.buf(call.a, 'matmul');
    const b = this.buf(call.b, 'matmul');
    const out = this.buf(call.out, 'matmul');
    const bias = call.bias ? this.buf(call.bias.buffer, 'matmul') : null;
    if (a.dtype !== 'f32' || b.dtype !== 'f32' || out.dtype !== 'f32' || (bias && bias.dtype !== 'f32')) {
      throw new BackendError(
        `webgpu.matmul: expected f32 buffers, found ${a.dtype}, ${b.dtype} -> ${out.dtype}. Cast integer operands to f32.`,
      );
    }
    const { batch, m, n, k } = call;
    if (batch === 0 || m === 0 || n === 0) return;
    const last = (off: number, stride: number, size: number) => off + (batch - 1) * stride + size;
    checkExtent('matmul: A', last(call.aOffset, call.aBatchStride, m * k), a.size, k > 0);
    checkExtent('matmul: B', last(call.bOffset, call.bBatchStride, k * n), b.size, k > 0);
    checkExtent('matmul: out', call.outOffset + batch * m * n, out.size, true);
    if (bias && call.bias) checkExtent('matmul: bias', call.bias.offset + n, bias.size, true);
    const shape = {
      batch,
      m,
      n,
      k,
      transA: call.transA,
      transB: call.transB,
      aOffset: call.aOffset,
      bOffset: call.bOffset,
      outOffset: call.outOffset,
      aBatchStride: call.aBatchStride,
      bBatchStride: call.bBatchStride,
      biasOffset: call.bias?.offset ?? 0,
      accumulate: call.accumulate,
    };
    const tile = this.options.gemmTile ?? gemmTile(shape, 128);
    this.run(
      (this.gemmDirect ? gemmDirectKernel : gemmKernel)(
        { a: a.phys, b: b.phys, out: out.phys, bias: bias?.phys ?? null },
        'f32',
        shape,
        tile,
        this.limits.maxComputeWorkgroupsPerDimension,
      ),
    );
  }

  reduce(call: ReduceCall): void {
    const input = this.buf(call.input, 'reduce');
    const out = this.buf(call.out, 'reduce');
    const { outer, size, inner, op } = call;
    const arg = op === 'argmax' || op === 'argmin';
    if (out.dtype !== (arg ? 'i32' : input.dtype)) {
      throw new BackendError(
        `webgpu.reduce: expected an ${arg ? 'i32' : input.dtype} output for ${op}, found ${out.dtype}.`,
      );
    }
    checkExtent('reduce: input', outer * size * inner, input.size, true);
    checkExtent('reduce: out', outer * inner, out.size, true);
    if (outer * inner === 0) return;
    this.run(reduceKernel(op, input.phys, out.phys, input.dtype, outer, size, inner));
  }

  gather(call: GatherCall): void {
    const table = this.buf(call.table, 'gather');
    const idx = this.buf(call.indices, 'gather');
    const out = this.buf(call.out, 'gather');
    const { outer, axisSize, inner } = call;
    const count = idx.size;
    checkIndices('gather', idx);
    checkExtent('gather: table', outer * axisSize * inner, table.size, true);
    checkExtent('gather: out', outer * count * inner, out.size, true);
    if (out.dtype !== table.dtype) {
      throw new BackendError(`webgpu.gather: expected out of dtype ${table.dtype}, found ${out.dtype}.`);
    }
    if (outer * count * inner === 0) return;
    this.statusDirty = true;
    this.run(
      gatherKernel(table.phys, idx.phys, out.phys, this.status, table.dtype, outer, axisSize, inner, count),
    );
  }

  scatterAdd(call: ScatterAddCall): void {
    const out = this.buf(call.out, 'scatterAdd');
    const idx = this.buf(call.indices, 'scatterAdd');
    const upd = this.buf(call.updates, 'scatterAdd');
    const { outer, axisSize, inner } = call;
    const count = idx.size;
    checkIndices('scatterAdd', idx);
    checkExtent('scatterAdd: out', outer * axisSize * inner, out.size, true);
    checkExtent('scatterAdd: updates', outer * count * inner, upd.size, true);
    if (out.dtype !== upd.dtype) {
      throw new BackendError(
        `webgpu.scatterAdd: expected updates of dtype ${out.dtype}, found ${upd.dtype}.`,
      );
    }
    if (outer * count * inner === 0) return;
    this.statusDirty = true;
    this.run(
      scatterAddKernel(out.phys, idx.phys, upd.phys, this.status, out.dtype, outer, axisSize, inner, count),
    );
  }

  copy(call: CopyCall): void {
    this.checkAlive();
    const src = this.operand(call.src, call.shape, 'copy source');
    const out = this.operand(
      { buffer: call.out, offset: call.outOffset, strides: call.outStrides },
      call.shape,
      'copy destination',
    );
    if (src.dtype !== out.dtype) {
      throw new BackendError(
        `webgpu.copy: expected source and destination of one dtype, found ${src.dtype} and ${out.dtype}.`,
      );
    }
    const n = call.shape.reduce((a, b) => a * b, 1);
    if (n === 0) return;
    // A large contiguous block is a plain buffer copy; a small one stays a dispatch, so that the
    // compute pass (and its batching) is not broken.
    if ((!this.pass || n >= BIG_COPY) && src.buffer !== out.buffer) {
      const dense = stridesOf(call.shape);
      if (
        call.src.strides.every((v, d) => v === dense[d]) &&
        call.outStrides.every((v, d) => v === dense[d])
      ) {
        this.endPass();
        this.enc().copyBufferToBuffer(src.buffer.gpu, src.offset * 4, out.buffer.gpu, out.offset * 4, n * 4);
        return;
      }
    }
    this.runElementwise([ex.input(0, src.dtype)], [src], [out], call.shape);
  }

  // ----------------------------------------------------------------------- synchronisation

  /** Submits all encoded work now without waiting for it (reads and `sync` do this themselves). */
  flush(): void {
    if (this.disposed || !this.encoder) return;
    this.endPass();
    if (this.paramUsed > 0) {
      this.queue.writeBuffer(this.paramArena, 0, this.paramShadow.buffer, 0, this.paramUsed);
    }
    const encoder = this.encoder;
    this.encoder = null;
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    this.queue.submit([encoder.finish()]);
    this.watch(this.device.popErrorScope(), 'running queued work');
    this.watch(this.device.popErrorScope(), 'running queued work', true);
    this.counters.submits++;
    this.sinceSubmit = 0;
    this.paramUsed = 0;
    this.uploadUsed = 0;
    for (const p of this.destroyAfterSubmit.splice(0)) this.destroy(p);
  }

  async sync(): Promise<void> {
    this.checkAlive();
    if (this.statusDirty) {
      const staging = this.takeStaging(STATUS_WORDS * 4);
      this.endPass();
      this.encodeStatusRead(staging, 0);
      this.flush();
      await staging.mapAsync(MAP_READ);
      const st = new Uint32Array(staging.getMappedRange().slice(0));
      staging.unmap();
      this.returnStaging(staging);
      await this.checkErrors();
      checkStatus(st);
      return;
    }
    this.flush();
    await this.queue.onSubmittedWorkDone();
    await this.checkErrors();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.pass) this.pass.end();
    this.pass = null;
    this.encoder = null;
    for (const p of this.allPhys) p.gpu.destroy();
    this.allPhys.clear();
    this.pool.clear();
    for (const list of this.staging.values()) for (const s of list) s.destroy();
    this.staging.clear();
    this.paramArena.destroy();
    this.uploadArena.destroy();
    this.statusInit.destroy();
    this.pipelines.clear();
    this.bindGroups.clear();
    if (this.options.ownsDevice) this.device.destroy();
  }

  // ------------------------------------------------------------------------------ internals

  private runElementwise(
    exprs: readonly Expr[],
    inputs: readonly EwOperand<Phys>[],
    outputs: readonly EwOperand<Phys>[],
    shape: readonly number[],
  ): void {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n === 0) return;
    const spec = elementwiseKernel(exprs, inputs, outputs, shape);
    if (spec.slots.length <= this.limits.maxStorageBuffersPerShaderStage) {
      this.run(spec);
      return;
    }
    this.runSplit(exprs, inputs, outputs, shape);
  }

  /**
   * A fused kernel that binds more buffers than a shader stage may: inputs that an output
   * overwrites are first copied aside, then the outputs run in groups that fit.
   */
  private runSplit(
    exprs: readonly Expr[],
    inputs: readonly EwOperand<Phys>[],
    outputs: readonly EwOperand<Phys>[],
    shape: readonly number[],
  ): void {
    const limit = this.limits.maxStorageBuffersPerShaderStage;
    const written = new Set(outputs.map((o) => o.buffer));
    const temps: WebGpuBuffer[] = [];
    const safe = inputs.map((v) => {
      if (!written.has(v.buffer)) return v;
      const t = this.alloc(
        v.dtype,
        shape.reduce((a, b) => a * b, 1),
      );
      temps.push(t);
      const copy: EwOperand<Phys> = { buffer: t.phys, dtype: v.dtype, offset: 0, strides: stridesOf(shape) };
      this.run(elementwiseKernel([ex.input(0, v.dtype)], [v], [copy], shape));
      return copy;
    });
    let group: number[] = [];
    const emit = () => {
      if (group.length === 0) return;
      this.run(
        elementwiseKernel(
          group.map((k) => exprs[k]!),
          safe,
          group.map((k) => outputs[k]!),
          shape,
        ),
      );
      group = [];
    };
    for (let k = 0; k < outputs.length; k++) {
      const trial = elementwiseKernel(
        [...group, k].map((j) => exprs[j]!),
        safe,
        [...group, k].map((j) => outputs[j]!),
        shape,
      );
      if (trial.slots.length > limit) {
        emit();
        const alone = elementwiseKernel([exprs[k]!], safe, [outputs[k]!], shape);
        if (alone.slots.length > limit) {
          throw new WebGpuError(
            `webgpu.elementwise: expected at most ${limit} buffers per kernel (the adapter's maxStorageBuffersPerShaderStage), found an output that alone reads ${alone.slots.length - 1} buffers. Fuse fewer inputs into one kernel.`,
          );
        }
      }
      group.push(k);
    }
    emit();
    for (const t of temps) this.free(t);
  }

  /** Zeroes the first `size` elements of a reused buffer, in order, without breaking an open pass. */
  private zeroFill(phys: Phys, dtype: DType, size: number): void {
    if (!this.pass || size >= BIG_COPY) {
      this.endPass();
      this.enc().clearBuffer(phys.gpu, 0, size * 4);
      return;
    }
    const zero = ex.const(0, dtype);
    this.run(elementwiseKernel([zero], [], [{ buffer: phys, dtype, offset: 0, strides: [1] }], [size]));
  }

  /** Encodes one dispatch: parameters into the arena, cached pipeline and bind group. */
  private run(spec: KernelSpec<Phys>): void {
    this.checkAlive();
    const groups = spec.groups ?? grid(Math.ceil((spec.threads ?? 0) / WG));
    if (groups[0] * groups[1] * groups[2] === 0) return;
    const align = this.limits.minUniformBufferOffsetAlignment;
    const uniformBytes = Math.max(1, Math.ceil(spec.params.length / 4)) * 16;
    const slotBytes = roundUp(uniformBytes, align);
    if (this.paramUsed + slotBytes > this.paramArena.size) this.flush();
    const offset = this.paramUsed;
    this.paramShadow.set(spec.params, offset / 4);
    this.paramUsed += slotBytes;
    const pipe = this.pipeline(spec, uniformBytes);
    const group = this.bindGroup(pipe, spec.slots);
    const pass = this.computePass();
    pass.setPipeline(pipe.pipeline);
    pass.setBindGroup(0, group, [offset]);
    pass.dispatchWorkgroups(groups[0], groups[1], groups[2]);
    this.counters.dispatches++;
    const every = this.options.submitEvery ?? 0;
    if (every > 0 && ++this.sinceSubmit >= every) this.flush();
  }

  private pipeline(spec: KernelSpec<Phys>, uniformBytes: number): Pipeline {
    // A kernel's key fixes its parameter count, hence its uniform block: no need to add it.
    const key = spec.key;
    const known = this.pipelines.get(key);
    if (known) return known;
    const layoutKey = `${uniformBytes}:${spec.slots.map((s) => (s.write ? 'w' : 'r')).join('')}`;
    let layout = this.layouts.get(layoutKey);
    if (!layout) {
      const bind = this.device.createBindGroupLayout({
        entries: [
          {
            binding: 0,
            visibility: COMPUTE,
            buffer: { type: 'uniform', hasDynamicOffset: true, minBindingSize: uniformBytes },
          },
          ...spec.slots.map(
            (s, i): GPUBindGroupLayoutEntry => ({
              binding: i + 1,
              visibility: COMPUTE,
              buffer: { type: s.write ? 'storage' : 'read-only-storage' },
            }),
          ),
        ],
      });
      layout = { bind, pipe: this.device.createPipelineLayout({ bindGroupLayouts: [bind] }) };
      this.layouts.set(layoutKey, layout);
    }
    const code = spec.source();
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code, label: spec.key.slice(0, 80) });
    const pipeline = this.device.createComputePipeline({
      layout: layout.pipe,
      compute: { module, entryPoint: 'main' },
    });
    this.watch(this.device.popErrorScope(), `compiling kernel ${spec.key.slice(0, 120)}\n${code}`);
    const p: Pipeline = { pipeline, layout: layout.bind, layoutKey, uniformBytes };
    this.pipelines.set(key, p);
    return p;
  }

  private bindGroup(pipe: Pipeline, slots: readonly BindingSlot<Phys>[]): GPUBindGroup {
    const key = `${pipe.layoutKey}|${slots.map((s) => s.buffer.id).join(',')}`;
    const known = this.bindGroups.get(key);
    if (known) return known;
    if (this.bindGroups.size >= 8192) {
      this.bindGroups.clear();
      for (const p of this.allPhys) p.groups.clear();
    }
    const group = this.device.createBindGroup({
      layout: pipe.layout,
      entries: [
        { binding: 0, resource: { buffer: this.paramArena, offset: 0, size: pipe.uniformBytes } },
        ...slots.map((s, i) => ({ binding: i + 1, resource: { buffer: s.buffer.gpu } })),
      ],
    });
    this.bindGroups.set(key, group);
    for (const s of slots) s.buffer.groups.add(key);
    return group;
  }

  private enc(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  private computePass(): GPUComputePassEncoder {
    this.pass ??= this.enc().beginComputePass();
    return this.pass;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  private newPhys(bytes: number, label: string | undefined): Phys {
    this.device.pushErrorScope('out-of-memory');
    const gpu = this.device.createBuffer({
      size: bytes,
      usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST,
      ...(label ? { label } : {}),
    });
    this.watch(this.device.popErrorScope(), `allocating a buffer of ${bytes} bytes`, true);
    const p: Phys = { gpu, bytes, id: this.nextId++, groups: new Set() };
    this.allPhys.add(p);
    this.counters.buffersCreated++;
    return p;
  }

  /** Returns a freed buffer to the pool, or destroys it (after the next submit) past the pool's limit. */
  private release(p: Phys): void {
    if (this.pooledBytes + p.bytes > this.poolLimit) {
      this.retire(p);
      return;
    }
    const list = this.pool.get(p.bytes);
    if (list) list.push(p);
    else this.pool.set(p.bytes, [p]);
    this.pooledBytes += p.bytes;
  }

  private retire(p: Phys): void {
    if (this.encoder) this.destroyAfterSubmit.push(p);
    else this.destroy(p);
  }

  private destroy(p: Phys): void {
    for (const key of p.groups) this.bindGroups.delete(key);
    p.groups.clear();
    this.allPhys.delete(p);
    p.gpu.destroy();
  }

  private takeStaging(bytes: number): GPUBuffer {
    const cls = roundUp(bytes, 256);
    const reused = this.staging.get(cls)?.pop();
    if (reused) return reused;
    return this.device.createBuffer({ size: cls, usage: USAGE.MAP_READ | USAGE.COPY_DST });
  }

  private returnStaging(s: GPUBuffer): void {
    const list = this.staging.get(s.size) ?? [];
    if (list.length >= 4) {
      s.destroy();
      return;
    }
    list.push(s);
    this.staging.set(s.size, list);
  }

  private encodeStatusRead(staging: GPUBuffer, at: number): void {
    const enc = this.enc();
    enc.copyBufferToBuffer(this.status.gpu, 0, staging, at, STATUS_WORDS * 4);
    enc.copyBufferToBuffer(this.statusInit, 0, this.status.gpu, 0, STATUS_WORDS * 4);
    this.statusDirty = false;
  }

  /** Keeps an error-scope result; it is reported by the next read or sync. */
  private watch(scope: Promise<GPUError | null>, what: string, oom = false): void {
    this.pendingErrors.push(
      scope.then(
        (e) =>
          e
            ? oom
              ? new GpuOutOfMemoryError(
                  `webgpu: the device ran out of memory while ${what}: ${e.message}. Free tensors (tidy/dispose), lower the batch size, or call trim().`,
                )
              : new WebGpuError(`webgpu: the device reported an error while ${what}: ${e.message}`)
            : null,
        () => null,
      ),
    );
    if (this.pendingErrors.length > 64) {
      const all = this.pendingErrors;
      this.pendingErrors = [Promise.all(all).then((es) => es.find((e) => e !== null) ?? null)];
    }
  }

  private async checkErrors(): Promise<void> {
    const pending = this.pendingErrors;
    this.pendingErrors = [];
    const errors = await Promise.all(pending);
    this.checkAlive();
    const first = errors.find((e) => e !== null);
    if (first) throw first;
  }

  private checkAlive(): void {
    if (this.disposed) {
      throw new BackendError(
        'webgpu: this backend was disposed; create a new one with createWebGpuBackend().',
      );
    }
    if (this.lostInfo) {
      throw new DeviceLostError(
        `webgpu: expected a live GPU device, found it lost (reason: ${this.lostInfo.reason}${this.lostInfo.message ? `, ${this.lostInfo.message}` : ''}). Its buffers are gone; create a new backend and upload the parameters again.`,
      );
    }
  }

  private buf(buffer: BackendBuffer, op: string): WebGpuBuffer {
    this.checkAlive();
    if (!(buffer instanceof WebGpuBuffer)) {
      throw new BackendError(
        `webgpu.${op}: expected a buffer allocated by the webgpu backend, found ${buffer?.constructor?.name ?? typeof buffer}. Tensors from different backends cannot be mixed.`,
      );
    }
    if (buffer.freed) {
      throw new BackendError(
        `webgpu.${op}: expected a live buffer, found one already freed (use after dispose).`,
      );
    }
    if (!this.allPhys.has(buffer.phys)) {
      throw new BackendError(
        `webgpu.${op}: expected a buffer of this backend, found one of another instance.`,
      );
    }
    return buffer;
  }

  private operand(
    v: StridedView | { buffer: BackendBuffer; offset: number; strides: readonly number[] },
    shape: readonly number[],
    what: string,
  ): EwOperand<Phys> & { buffer: Phys } {
    const b = this.buf(v.buffer, 'elementwise');
    if (v.strides.length !== shape.length) {
      throw new BackendError(
        `webgpu: ${what} expected ${shape.length} strides for shape [${shape}], found [${v.strides}].`,
      );
    }
    if (shape.every((d) => d > 0)) {
      let lo = v.offset;
      let hi = v.offset;
      shape.forEach((d, i) => {
        const s = v.strides[i]! * (d - 1);
        if (s < 0) lo += s;
        else hi += s;
      });
      if (lo < 0 || hi >= b.size) {
        throw new BackendError(
          `webgpu: ${what} (offset ${v.offset}, strides [${v.strides}]) over [${shape}] reaches elements ${lo}..${hi}, outside its buffer of ${b.size} elements.`,
        );
      }
    }
    return { buffer: b.phys, dtype: b.dtype, offset: v.offset, strides: v.strides };
  }
}

function roundUp(v: number, to: number): number {
  return Math.ceil(v / to) * to;
}

/** Pool size classes: 256-byte steps up to 64 KiB, then quarter-power-of-two steps (≤ 25% slack). */
function sizeClass(bytes: number, max: number): number {
  let cls: number;
  if (bytes <= 65536) cls = roundUp(bytes, 256);
  else {
    const step = 2 ** Math.floor(Math.log2(bytes)) / 4;
    cls = roundUp(bytes, step);
  }
  return cls > max ? roundUp(bytes, 4) : cls;
}

function checkExtent(what: string, end: number, size: number, needed: boolean): void {
  if (needed && end > size) {
    throw new BackendError(
      `webgpu.${what}: expected the operand to fit its buffer of ${size} elements, found it reaching element ${end - 1}.`,
    );
  }
}

function checkIndices(op: string, idx: WebGpuBuffer): void {
  if (idx.dtype !== 'i32') {
    throw new BackendError(`webgpu.${op}: expected i32 indices, found ${idx.dtype}.`);
  }
}

function checkStatus(st: Uint32Array): void {
  if (st[0]! === 0) return;
  const op = st[1]! === STATUS_GATHER ? 'gather' : 'scatterAdd';
  throw new RecurError(
    `${op}: expected indices within the table's axis, found ${st[0]} out of range (the first at position ${st[2]}). The out-of-range rows were left as zero / skipped; check the vocabulary or table size.`,
  );
}
