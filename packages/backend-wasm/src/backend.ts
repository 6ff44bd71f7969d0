import {
  type AnyTypedArray,
  type Backend,
  type BackendBuffer,
  type BackendCapabilities,
  BackendError,
  bytesPerElement,
  type CopyCall,
  type DType,
  type ElementwiseCall,
  type Expr,
  ex,
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
import { buildCoreModule, reduceName, scatterName } from './core.js';
import {
  conformExprs,
  type EwSignature,
  emitElementwise,
  MATH_IMPORTS,
  mathImports,
  paramWords,
  type ViewClass,
} from './elementwise.js';
import { Fn, ModuleBuilder, SIMD } from './emit.js';
import { detectEnvironment } from './env.js';
import {
  DEFAULT_GEMM,
  type GemmShape,
  GP,
  gemmScratch,
  gemmVariantFor,
  gemmVariants,
  packedBBytes,
} from './gemm.js';
import { GEMV_MAX_ROWS, gemvName, gemvPackABytes } from './gemv.js';
import { Heap } from './heap.js';
import { CONTROL_BYTES, type SharedModule, TABLE_BYTES, ThreadPool } from './pool.js';

export interface WasmBackendOptions {
  /** Threads to compute with, the calling thread included (default: min(available cores, 4)). */
  readonly threads?: number;
  /** Upper limit of the WebAssembly memory in MiB (default 2048). */
  readonly maxMemoryMB?: number;
  /** Initial size of the memory in MiB (default 32). */
  readonly initialMemoryMB?: number;
  /**
   * How long an idle thread spins before it sleeps, in iterations of an atomic load (default
   * 20 000, tens of microseconds). Spinning keeps back-to-back kernels from paying a wake-up each.
   */
  readonly spin?: number;
  /** Use relaxed SIMD's fused multiply-add in the GEMM where the engine has it (default true). */
  readonly fma?: boolean;
  /**
   * Run jobs on the calling thread alone for a while after parallel ones did not pay off, as on a
   * machine busy with other work (default true). See `threadStats()`.
   */
  readonly adaptive?: boolean;
}

/** How the threads were used (see `WasmBackend.threadStats()`). */
export interface ThreadStats {
  /** Jobs split across the threads. */
  readonly parallelJobs: number;
  /** Jobs large enough to split that ran on the calling thread alone, after parallel ones did not pay off. */
  readonly soloJobs: number;
  /** Times the backend switched to the calling thread alone. */
  readonly backoffs: number;
}

/** How the backend computes, and why it is single-threaded when it is. */
export interface ThreadingInfo {
  /** Threads in use, the calling thread included. */
  readonly threads: number;
  /** Threads asked for (the option, or its default). */
  readonly requested: number;
  /** Whether the memory is a shared WebAssembly.Memory. */
  readonly sharedMemory: boolean;
  /** Why fewer threads than requested run, or null. */
  readonly reason: string | null;
  readonly environment: 'node' | 'browser' | 'other';
  /** Whether the GEMM uses relaxed SIMD's fused multiply-add. */
  readonly fma: boolean;
}

/** A buffer of the wasm backend: a block of the backend's memory. */
export class WasmBuffer implements BackendBuffer {
  freed = false;
  /** Counts writes, so that a packed copy of a constant operand knows when it is stale. */
  version = 0;
  constructor(
    readonly dtype: DType,
    readonly size: number,
    /** Byte address in the backend's memory. */
    readonly ptr: number,
    readonly id: number,
  ) {}
}

interface PackedB {
  readonly ptr: number;
  readonly bytes: number;
  readonly bufferId: number;
  version: number;
}

const MB = 1024 * 1024;
const NO_EXTRA = (): readonly number[] => [];
const PAGE = 65536;
/** Below this much work (elements × expression size) an elementwise call runs on one thread. */
const EW_PARALLEL_WORK = 64 * 1024;
/** Below this many flops a GEMM runs on one thread. */
const GEMM_PARALLEL_FLOPS = 1 << 21;
/**
 * Below this many flops a product of at most GEMV_MAX_ROWS rows runs on one thread. Such a product
 * streams B once and is bound by how fast one core reads it, so two cores each reading half gain
 * from about 2^19 flops (a 1×2048×128 product, 25 µs on one thread: 18 µs on two; 1×1024×128
 * breaks even).
 */
const GEMV_PARALLEL_FLOPS = 1 << 19;
/** Most bytes of packed weight matrices kept between calls. */
const PACK_CACHE_BYTES = 64 * MB;

/** Whether the engine validates a module using relaxed SIMD's f32x4.relaxed_madd. */
export function hasRelaxedSimd(): boolean {
  const f = new Fn(null, [], ['v128']);
  f.f32x4(1).f32x4(2).f32x4(3).simd(SIMD.f32x4_relaxed_madd);
  const mb = new ModuleBuilder({ shared: false, initial: 1, maximum: 1 });
  mb.add(f);
  try {
    return WebAssembly.validate(mb.toBytes());
  } catch {
    return false;
  }
}

/**
 * Recur's WebAssembly backend: one WebAssembly.Memory (shared when threads are on) holds every
 * buffer; SIMD128 kernels are assembled at run time by a small emitter (elementwise kernels from
 * each expression tree, a packed register-blocked GEMM, reductions, gather and scatter-add), and
 * large calls are split across worker threads. Create it with `await WasmBackend.create()`.
 */
export class WasmBackend implements Backend {
  readonly spec = 1 as const;
  readonly name = 'wasm';
  readonly capabilities: BackendCapabilities;
  readonly threadingInfo: ThreadingInfo;

  private live = 0;
  private bytes = 0;
  private nextId = 1;
  private disposed = false;
  private readonly kernels = new Map<string, SharedModule>();
  private readonly exprIds = new WeakMap<Expr, { readonly id: number; readonly arity: number }>();
  private readonly exprIdByKey = new Map<string, number>();
  private readonly copyExprs = new Map<string, Expr>();
  private nextModuleId = 1;
  private readonly core: SharedModule;
  private readonly coreIndex: ReadonlyMap<string, number>;
  /** memory.fill / memory.copy of the core module (see emitBulk in core.ts for why not typed arrays). */
  private readonly fillBytes: (dst: number, byte: number, n: number) => unknown;
  private readonly moveBytes: (dst: number, src: number, n: number) => unknown;
  private readonly params: number;
  private readonly gemmParams: number;
  private readonly scratch: { packA: number; packB: number; tile: number }[];
  private readonly variants: ReturnType<typeof gemmVariants>;
  /** Bytes of each thread's packA scratch. */
  private readonly scratchPackABytes: number;
  private readonly packCache = new Map<string, PackedB>();
  private readonly packSeen = new Map<string, number>();
  private packCacheBytes = 0;
  private views: {
    buffer: ArrayBufferLike;
    u8: Uint8Array;
    i32: Int32Array;
    f32: Float32Array;
    f64: Float64Array;
  } | null = null;

  private constructor(
    private readonly wasmMemory: WebAssembly.Memory,
    private readonly heap: Heap,
    private readonly pool: ThreadPool | null,
    private readonly shared: boolean,
    gemm: GemmShape,
    core: { bytes: Uint8Array<ArrayBuffer>; ptr: number },
    info: ThreadingInfo,
    private readonly maxPages: number,
  ) {
    this.threadingInfo = info;
    this.capabilities = {
      dtypes: ['f32', 'f64', 'i32'],
      syncRead: true,
      f16: false,
      maxBuffersPerKernel: 64,
      threads: info.threads,
    };
    const inst = new WebAssembly.Instance(
      new WebAssembly.Module(core.bytes as Uint8Array<ArrayBuffer>),
      this.importObject(),
    );
    const names = Object.keys(inst.exports);
    this.coreIndex = new Map(names.map((n, i) => [n, i]));
    this.core = {
      id: 0,
      ptr: core.ptr,
      len: core.bytes.length,
      fns: Object.values(inst.exports) as ((...a: number[]) => unknown)[],
    };
    this.fillBytes = this.core.fns[this.coreIndex.get('fill_bytes')!]!;
    this.moveBytes = this.core.fns[this.coreIndex.get('move_bytes')!]!;
    this.params = heap.alloc(4096);
    this.gemmParams = heap.alloc(GP.size * 4);
    this.variants = gemmVariants(gemm);
    const sizes = this.variants.map((v) => gemmScratch(v.shape));
    const sc = {
      packA: Math.max(...sizes.map((x) => x.packA)),
      packB: Math.max(...sizes.map((x) => x.packB)),
      tile: Math.max(...sizes.map((x) => x.tile)),
    };
    this.scratchPackABytes = sc.packA;
    this.scratch = Array.from({ length: info.threads }, () => ({
      packA: heap.alloc(sc.packA),
      packB: heap.alloc(sc.packB),
      tile: heap.alloc(sc.tile),
    }));
  }

  /** Creates a backend; threads start here (asynchronously), so this is the way to get one. */
  static async create(options: WasmBackendOptions = {}): Promise<WasmBackend> {
    const env = await detectEnvironment();
    const requested = options.threads ?? Math.max(1, Math.min(env.cores, 4));
    if (!Number.isInteger(requested) || requested < 1) {
      throw new BackendError(
        `WasmBackend.create: expected threads to be a positive integer, found ${options.threads}. Pass e.g. { threads: 2 }.`,
      );
    }
    // wasm32 addresses at most 4 GiB (65 536 pages).
    const maxPages = Math.min(65536, Math.max(1, Math.floor(((options.maxMemoryMB ?? 2048) * MB) / PAGE)));
    const initialPages = Math.min(maxPages, Math.ceil(((options.initialMemoryMB ?? 32) * MB) / PAGE));
    let reason: string | null = null;
    if (requested > 1 && env.threadsUnavailable) reason = env.threadsUnavailable;
    let shared = requested > 1 && reason === null;
    let memory: WebAssembly.Memory;
    try {
      memory = new WebAssembly.Memory({ initial: initialPages, maximum: maxPages, shared });
    } catch (err) {
      if (!shared) throw err;
      reason = `a shared WebAssembly.Memory could not be created (${(err as Error).message})`;
      shared = false;
      memory = new WebAssembly.Memory({ initial: initialPages, maximum: maxPages });
    }
    const fma = (options.fma ?? true) && hasRelaxedSimd();
    const gemm: GemmShape = { ...DEFAULT_GEMM, fma };
    const heap = new Heap(memory, maxPages);
    const control = heap.alloc(CONTROL_BYTES);
    const table = heap.alloc(TABLE_BYTES);
    const coreBytes = buildCoreModule({ shared, initial: 1, maximum: maxPages }, gemm);
    const corePtr = heap.alloc(coreBytes.length);
    new Uint8Array(memory.buffer).set(coreBytes, corePtr);
    let pool: ThreadPool | null = null;
    if (shared) {
      try {
        pool = await ThreadPool.start(
          env,
          memory,
          control,
          table,
          Math.min(requested, 64),
          options.spin ?? 20000,
        );
      } catch (err) {
        reason = `worker threads could not be started (${(err as Error).message})`;
      }
      if (pool) pool.stragglers.enabled = options.adaptive ?? true;
    }
    const threads = pool?.threads ?? 1;
    const info: ThreadingInfo = {
      threads,
      requested,
      sharedMemory: shared,
      reason: threads < requested ? (reason ?? `${requested} threads requested`) : null,
      environment: env.kind,
      fma,
    };
    return new WasmBackend(
      memory,
      heap,
      pool,
      shared,
      gemm,
      { bytes: coreBytes, ptr: corePtr },
      info,
      maxPages,
    );
  }

  // ------------------------------------------------------------------------------------ memory

  private importObject(): WebAssembly.Imports {
    return { env: { memory: this.wasmMemory }, m: mathImports() };
  }

  private v() {
    const buf = this.wasmMemory.buffer;
    if (this.views && this.views.buffer === buf && this.views.u8.length === buf.byteLength) return this.views;
    this.views = {
      buffer: buf,
      u8: new Uint8Array(buf),
      i32: new Int32Array(buf),
      f32: new Float32Array(buf),
      f64: new Float64Array(buf),
    };
    return this.views;
  }

  private typed(b: WasmBuffer): AnyTypedArray {
    const v = this.v();
    switch (b.dtype) {
      case 'f32':
        return v.f32.subarray(b.ptr >> 2, (b.ptr >> 2) + b.size);
      case 'i32':
        return v.i32.subarray(b.ptr >> 2, (b.ptr >> 2) + b.size);
      case 'f64':
        return v.f64.subarray(b.ptr >> 3, (b.ptr >> 3) + b.size);
    }
  }

  alloc(dtype: DType, size: number): WasmBuffer {
    this.checkAlive();
    if (!Number.isInteger(size) || size < 0) {
      throw new BackendError(`wasm.alloc: expected a non-negative integer size, found ${size}.`);
    }
    const bytes = size * bytesPerElement(dtype);
    const ptr = this.heap.alloc(bytes);
    if (bytes > 0) this.fillBytes(ptr, 0, bytes);
    this.live++;
    this.bytes += bytes;
    return new WasmBuffer(dtype, size, ptr, this.nextId++);
  }

  write(buffer: BackendBuffer, data: AnyTypedArray): void {
    const b = this.buf(buffer);
    if (data.length !== b.size) {
      throw new BackendError(`wasm.write: expected ${b.size} values, found ${data.length}.`);
    }
    this.typed(b).set(data);
    b.version++;
  }

  readSync(buffer: BackendBuffer): AnyTypedArray {
    return this.typed(this.buf(buffer)).slice();
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
    const bytes = b.size * bytesPerElement(b.dtype);
    this.heap.free(b.ptr, bytes);
    this.live--;
    this.bytes -= bytes;
    for (const [key, p] of this.packCache) {
      if (p.bufferId === b.id) this.dropPacked(key, p);
    }
  }

  memory(): MemoryInfo {
    return { buffers: this.live, bytes: this.bytes };
  }

  /** How the worker threads were used so far (all zero on one thread). */
  threadStats(): ThreadStats {
    const p = this.pool?.stragglers;
    return { parallelJobs: p?.parallelJobs ?? 0, soloJobs: p?.soloJobs ?? 0, backoffs: p?.backoffs ?? 0 };
  }

  /** The allocator's view: bytes in blocks (user buffers, packed weights, scratch), its footprint, the memory size. */
  heapInfo(): { usedBytes: number; footprintBytes: number; memoryBytes: number; kernels: number } {
    return {
      usedBytes: this.heap.used,
      footprintBytes: this.heap.highWater,
      memoryBytes: this.wasmMemory.buffer.byteLength,
      kernels: this.kernels.size,
    };
  }

  // ------------------------------------------------------------------------------- elementwise

  elementwise(call: ElementwiseCall): void {
    this.checkAlive();
    const exprs = [call.expr];
    const outs: View[] = [
      {
        buffer: this.buf(call.out),
        offset: call.outView?.offset ?? 0,
        strides: call.outView?.strides ?? stridesOf(call.shape),
      },
    ];
    for (const m of call.more ?? []) {
      exprs.push(m.expr);
      outs.push({ buffer: this.buf(m.out), offset: m.offset, strides: m.strides });
    }
    let arity = 0;
    for (const e of exprs) arity = Math.max(arity, this.exprInfo(e).arity);
    if (arity > call.inputs.length) {
      throw new BackendError(
        `wasm.elementwise: the expression reads ${arity} inputs, found ${call.inputs.length}.`,
      );
    }
    for (const v of call.inputs) this.buf(v.buffer);
    const ins = call.inputs as readonly View[];
    this.runElementwise(exprs, ins, outs, call.shape);
  }

  copy(call: CopyCall): void {
    this.checkAlive();
    const src = this.buf(call.src.buffer);
    const out = this.buf(call.out);
    if (src.dtype === out.dtype && this.copyDense(call, src, out)) return;
    const ck = `${src.dtype}>${out.dtype}`;
    let expr = this.copyExprs.get(ck);
    if (!expr) {
      expr = ex.cast(ex.input(0, src.dtype), out.dtype);
      this.copyExprs.set(ck, expr);
    }
    this.runElementwise(
      [expr],
      [{ buffer: src, offset: call.src.offset, strides: call.src.strides }],
      [{ buffer: out, offset: call.outOffset, strides: call.outStrides }],
      call.shape,
    );
  }

  /**
   * A copy between two dense row-major views of one dtype that do not partly overlap is a plain
   * block move (streaming one step at a time makes several of these per step, a few KiB each).
   * Returns false, having done nothing, for anything else.
   */
  private copyDense(call: CopyCall, src: WasmBuffer, out: WasmBuffer): boolean {
    const { shape } = call;
    const si = call.src.strides;
    const so = call.outStrides;
    if (si.length !== shape.length || so.length !== shape.length) return false;
    let total = 1;
    for (let d = shape.length - 1; d >= 0; d--) {
      const size = shape[d]!;
      if (size !== 1 && (si[d] !== total || so[d] !== total)) return false;
      total *= size;
    }
    const from = call.src.offset;
    const to = call.outOffset;
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to < 0) return false;
    if (from + total > src.size || to + total > out.size) return false;
    const es = bytesPerElement(src.dtype);
    const s0 = src.ptr + from * es;
    const d0 = out.ptr + to * es;
    const bytes = total * es;
    if (s0 !== d0 && s0 < d0 + bytes && d0 < s0 + bytes) return false;
    if (bytes > 0 && s0 !== d0) this.moveBytes(d0, s0, bytes);
    out.version++;
    return true;
  }

  private runElementwise(
    exprsIn: readonly Expr[],
    ins: readonly View[],
    outs: readonly View[],
    shape: readonly number[],
  ): void {
    const rank0 = shape.length;
    const nIn = ins.length;
    const nv = nIn + outs.length;
    const view = (k: number): View => (k < nIn ? ins[k]! : outs[k - nIn]!);
    let total = 1;
    for (const d of shape) total *= d;
    for (let k = 0; k < nv; k++) {
      const v = view(k);
      if (v.strides.length !== rank0) {
        throw new BackendError(
          `wasm.elementwise: expected strides of rank ${rank0} for shape [${shape}], found [${v.strides}].`,
        );
      }
      if (total > 0) checkView(k < nIn ? 'an input' : 'an output', v, shape);
    }
    if (total === 0) return;

    // Simplify the index space: drop size-1 dimensions, merge dimensions contiguous in every view.
    // strides[k * rank0 + d] is view k's stride along simplified dimension d.
    const dims: number[] = [];
    const strides: number[] = new Array<number>(nv * Math.max(rank0, 1));
    for (let d = 0; d < rank0; d++) {
      const size = shape[d]!;
      if (size === 1) continue;
      const last = dims.length - 1;
      let merge = last >= 0;
      for (let k = 0; merge && k < nv; k++) merge = strides[k * rank0 + last] === view(k).strides[d]! * size;
      const at = merge ? last : dims.length;
      if (merge) dims[last] = dims[last]! * size;
      else dims.push(size);
      for (let k = 0; k < nv; k++) strides[k * rank0 + at] = view(k).strides[d]!;
    }
    const stride0 = Math.max(rank0, 1);
    if (dims.length === 0) {
      dims.push(1);
      for (let k = 0; k < nv; k++) strides[k * stride0] = 1;
    }
    const R = dims.length;
    const sr = rank0 === 0 ? 1 : rank0;
    const clsOf = (k: number): ViewClass => {
      const st = strides[k * sr + R - 1];
      return st === 1 ? 'c' : st === 0 ? 'b' : 's';
    };
    let key = '';
    for (const e of exprsIn) key += `${this.exprInfo(e).id},`;
    for (let k = 0; k < nv; k++) key += `${view(k).buffer.dtype}${clsOf(k)}${k === nIn - 1 ? '|' : ','}`;
    key += `${nIn}|${R}`;
    let mod = this.kernels.get(key);
    if (!mod) {
      const inDTypes = ins.map((v) => v.buffer.dtype);
      const outDTypes = outs.map((v) => v.buffer.dtype);
      mod = this.kernel(key, {
        exprs: conformExprs(exprsIn, inDTypes, outDTypes),
        inDTypes,
        outDTypes,
        inClass: ins.map((_, k) => clsOf(k)),
        outClass: outs.map((_, k) => clsOf(nIn + k)),
        rank: R,
      });
    }
    // Parameter record.
    const words = paramWords(R, nv);
    if (words * 4 > 4096) {
      throw new BackendError(
        `wasm.elementwise: expected at most ${Math.floor(1024 / (R + 1)) - 1} buffers per kernel, found ${nv}.`,
      );
    }
    const i32 = this.v().i32;
    const P = this.params >> 2;
    i32[P] = dims[R - 1]!;
    for (let d = 0; d < R - 1; d++) i32[P + 1 + d] = dims[d]!;
    for (let k = 0; k < nv; k++) {
      const v = view(k);
      const at = P + R + k * (1 + R);
      i32[at] = v.buffer.ptr + v.offset * bytesPerElement(v.buffer.dtype);
      i32[at + 1] = strides[k * sr + R - 1]!;
      for (let d = 0; d < R - 1; d++) i32[at + 2 + d] = strides[k * sr + d]!;
    }

    const inner = dims[R - 1]!;
    const rows = total / inner;
    const work = this.pool && total >= 1024 ? total * exprWeight(exprsIn) : 0;
    const threads = this.splitThreads(work >= EW_PARALLEL_WORK);
    const chunks: number[][] = [];
    if (threads > 1) {
      // About two chunks per thread, by rows when there are enough, else by columns (multiples of 4).
      const want = 2 * threads;
      if (rows >= want) {
        for (const [r0, r1] of splitRange(rows, want)) chunks.push([this.params, r0, r1, 0, inner]);
      } else {
        for (const [q0, q1] of splitRange(Math.ceil(inner / 4), want)) {
          chunks.push([this.params, 0, rows, q0 * 4, Math.min(inner, q1 * 4)]);
        }
      }
    } else {
      chunks.push([this.params, 0, rows, 0, inner]);
    }
    this.run(mod, 0, chunks, NO_EXTRA);
    for (const o of outs) o.buffer.version++;
  }

  /** The compiled module for a signature (generated and cached on first use). */
  /** A small id per distinct expression (by structure) and its arity, memoised per expression object. */
  private exprInfo(e: Expr): { readonly id: number; readonly arity: number } {
    let info = this.exprIds.get(e);
    if (info === undefined) {
      const k = exprKey(e);
      let id = this.exprIdByKey.get(k);
      if (id === undefined) {
        id = this.exprIdByKey.size;
        this.exprIdByKey.set(k, id);
      }
      info = { id, arity: exprArity(e) };
      this.exprIds.set(e, info);
    }
    return info;
  }

  /** Generates, compiles and caches the module for a kernel signature. */
  private kernel(key: string, sig: EwSignature): SharedModule {
    const mb = new ModuleBuilder({ shared: this.shared, initial: 1, maximum: this.maxPages });
    const imports = new Map<string, number>();
    for (const name of MATH_IMPORTS) {
      imports.set(name, mb.importFunc('m', name, name === 'pow' ? ['f64', 'f64'] : ['f64'], ['f64']));
    }
    mb.add(emitElementwise(sig, imports));
    const bytes = mb.toBytes();
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), this.importObject());
    let ptr = 0;
    if (this.pool) {
      ptr = this.heap.alloc(bytes.length);
      this.v().u8.set(bytes, ptr);
    }
    const mod: SharedModule = {
      id: this.nextModuleId++,
      ptr,
      len: bytes.length,
      fns: Object.values(inst.exports) as ((...a: number[]) => unknown)[],
    };
    this.kernels.set(key, mod);
    return mod;
  }

  private run(
    mod: SharedModule,
    fn: number,
    chunks: readonly (readonly number[])[],
    extra: (thread: number) => readonly number[],
  ): void {
    if (this.pool) this.pool.run(mod, fn, chunks, extra);
    else {
      const own = extra(0);
      for (const c of chunks) mod.fns[fn]!(...c, ...own);
    }
  }

  /**
   * Threads to split a job across: one when it is too small to gain from more, or while the pool
   * runs jobs on the caller alone (see StragglerPolicy: then the job is not cut up at all).
   */
  private splitThreads(large: boolean): number {
    if (!this.pool || !large) return 1;
    return this.pool.stragglers.solo() ? 1 : this.pool.threads;
  }

  /** Per-thread GEMM scratch as trailing arguments. */
  private readonly scratchArgs = (t: number): readonly number[] => {
    const sc = this.scratch[t]!;
    return [sc.packA, sc.packB, sc.tile];
  };

  // ------------------------------------------------------------------------------------ matmul

  matmul(call: MatmulCall): void {
    this.checkAlive();
    const a = this.buf(call.a);
    const b = this.buf(call.b);
    const out = this.buf(call.out);
    const t = out.dtype;
    if (t === 'i32' || a.dtype !== t || b.dtype !== t || (call.bias && call.bias.buffer.dtype !== t)) {
      throw new BackendError(
        `wasm.matmul: expected f32 or f64 operands of one dtype, found ${a.dtype} · ${b.dtype} -> ${out.dtype}${call.bias ? ` (bias ${call.bias.buffer.dtype})` : ''}.`,
      );
    }
    const { m, n, k, batch } = call;
    if (batch === 0 || m === 0 || n === 0) return;
    const bias = call.bias ? this.buf(call.bias.buffer) : null;
    const span = (off: number, bs: number, size: number) => off + Math.max(0, batch - 1) * bs + size;
    checkSpan('A', a, call.aOffset, span(call.aOffset, call.aBatchStride, m * k));
    checkSpan('B', b, call.bOffset, span(call.bOffset, call.bBatchStride, k * n));
    checkSpan('out', out, call.outOffset, call.outOffset + batch * m * n);
    if (bias && call.bias) checkSpan('bias', bias, call.bias.offset, call.bias.offset + n);
    const es = bytesPerElement(t);
    for (let i = 0; i < batch; i++) {
      const aOff = call.aOffset + i * call.aBatchStride;
      const bOff = call.bOffset + i * call.bBatchStride;
      const cOff = call.outOffset + i * m * n;
      if (k === 0) {
        this.fillEpilogue(out, cOff, m, n, call.accumulate, bias, call.bias?.offset ?? 0);
        continue;
      }
      const base = {
        a: a.ptr + aOff * es,
        b: b.ptr + bOff * es,
        c: out.ptr + cOff * es,
        bias: bias ? bias.ptr + (call.bias?.offset ?? 0) * es : 0,
      };
      if (t === 'f32') this.gemmF32(call, b, bOff, base);
      else this.gemmF64(call, base);
    }
    out.version++;
  }

  private gemmF32(
    call: MatmulCall,
    b: WasmBuffer,
    bOff: number,
    base: { a: number; b: number; c: number; bias: number },
  ): void {
    const { m, n, k, transA, transB } = call;
    const variant = this.variants[gemmVariantFor(m)]!;
    const { mr, nr } = variant.shape;
    const flops = 2 * m * n * k;
    // A packed copy of B kept across calls when the same unchanged operand comes back.
    const key = `${b.id}:${bOff}:${transB ? 1 : 0}:${k}:${n}:${nr}`;
    const packed = this.packCache.get(key);
    const cached = packed !== undefined && packed.version === b.version;
    const seen = this.packSeen.get(key) === b.version;
    // A product with a few rows reads B once whatever the kernel: without a packed copy at hand,
    // the matrix–vector kernels stream B as it lies instead of packing it first.
    if (
      m <= GEMV_MAX_ROWS &&
      !cached &&
      !seen &&
      !(transA && transB && gemvPackABytes(m, k) > this.scratchPackABytes)
    ) {
      this.packSeen.set(key, b.version);
      if (this.packSeen.size > 256) this.packSeen.delete(this.packSeen.keys().next().value!);
      this.gemvF32(call, base, this.splitThreads(flops >= GEMV_PARALLEL_FLOPS));
      return;
    }
    // Chunks of C for the threads to claim: blocks of columns (each chunk packs all of A) or of
    // rows (each chunk packs, or streams a cached packed copy of, all of B), whichever moves less.
    const panels = Math.ceil(n / nr);
    const rowPanels = Math.ceil(m / mr);
    let parts: [number, number, number, number][] = [[0, m, 0, n]];
    let byRows = false;
    const threads = this.splitThreads(
      flops >= (m <= GEMV_MAX_ROWS ? GEMV_PARALLEL_FLOPS : GEMM_PARALLEL_FLOPS),
    );
    if (threads > 1) {
      const want = 2 * threads;
      byRows = m > n ? rowPanels >= threads : panels < threads;
      if (byRows) {
        parts = splitRange(rowPanels, Math.min(want, rowPanels)).map(([p0, p1]) => [
          p0 * mr,
          Math.min(m, p1 * mr),
          0,
          n,
        ]);
      } else {
        parts = splitRange(panels, Math.min(want, panels)).map(([p0, p1]) => [
          0,
          m,
          p0 * nr,
          Math.min(n, p1 * nr),
        ]);
      }
    }
    let cache = 0;
    let cacheValid = 0;
    if (cached) {
      cache = packed.ptr;
      cacheValid = 1;
      this.packCache.delete(key);
      this.packCache.set(key, packed);
    } else if (!byRows && seen) {
      const p = packed ?? this.newPacked(key, b, packedBBytes(variant.shape, k, n));
      if (p) {
        p.version = b.version;
        cache = p.ptr;
      }
    } else {
      this.packSeen.set(key, b.version);
      if (this.packSeen.size > 256) this.packSeen.delete(this.packSeen.keys().next().value!);
    }
    this.writeGemmParams(call, base, cache, cacheValid);
    this.run(
      this.core,
      this.coreIndex.get(variant.name)!,
      parts.map((p) => [this.gemmParams, ...p]),
      this.scratchArgs,
    );
  }

  /** C (+)= op(A)·op(B) for m ≤ GEMV_MAX_ROWS on the unpacked operands, columns split across `threads`. */
  private gemvF32(
    call: MatmulCall,
    base: { a: number; b: number; c: number; bias: number },
    threads: number,
  ): void {
    const { m, n } = call;
    let parts: [number, number][] = [[0, n]];
    if (threads > 1) {
      // Blocks of 16 columns (64 bytes of C), about two chunks per thread.
      const blocks = Math.ceil(n / 16);
      parts = splitRange(blocks, Math.min(2 * threads, blocks)).map(([b0, b1]) => [
        b0 * 16,
        Math.min(n, b1 * 16),
      ]);
    }
    this.writeGemmParams(call, base);
    this.run(
      this.core,
      this.coreIndex.get(gemvName(m))!,
      parts.map(([j0, j1]) => [this.gemmParams, 0, m, j0, j1]),
      this.scratchArgs,
    );
  }

  /** The GEMM kernels' parameter block: operands, sizes, leading dimensions and the packed-B cache. */
  private writeGemmParams(
    call: MatmulCall,
    base: { a: number; b: number; c: number; bias: number },
    cache = 0,
    cacheValid = 0,
  ): void {
    const { m, n, k, transA, transB } = call;
    const i32 = this.v().i32;
    const w = this.gemmParams >> 2;
    i32[w + GP.a] = base.a;
    i32[w + GP.b] = base.b;
    i32[w + GP.c] = base.c;
    i32[w + GP.m] = m;
    i32[w + GP.n] = n;
    i32[w + GP.k] = k;
    i32[w + GP.lda] = transA ? m : k;
    i32[w + GP.transA] = transA ? 1 : 0;
    i32[w + GP.ldb] = transB ? k : n;
    i32[w + GP.transB] = transB ? 1 : 0;
    i32[w + GP.ldc] = n;
    i32[w + GP.bias] = base.bias;
    i32[w + GP.accumulate] = call.accumulate ? 1 : 0;
    i32[w + GP.cache] = cache;
    i32[w + GP.cacheValid] = cacheValid;
  }

  private newPacked(key: string, b: WasmBuffer, bytes: number): PackedB | null {
    if (bytes > PACK_CACHE_BYTES / 4) return null;
    while (this.packCacheBytes + bytes > PACK_CACHE_BYTES && this.packCache.size > 0) {
      const [oldest, p] = this.packCache.entries().next().value!;
      this.dropPacked(oldest, p);
    }
    const p: PackedB = { ptr: this.heap.alloc(bytes), bytes, bufferId: b.id, version: -1 };
    this.packCache.set(key, p);
    this.packCacheBytes += bytes;
    return p;
  }

  private dropPacked(key: string, p: PackedB): void {
    this.packCache.delete(key);
    this.heap.free(p.ptr, p.bytes);
    this.packCacheBytes -= p.bytes;
  }

  private gemmF64(call: MatmulCall, base: { a: number; b: number; c: number; bias: number }): void {
    const { m, n, k } = call;
    const threads = this.splitThreads(2 * m * n * k >= GEMM_PARALLEL_FLOPS && m >= (this.pool?.threads ?? 1));
    const parts = threads > 1 ? splitRange(m, 2 * threads) : [[0, m]];
    this.writeGemmParams(call, base);
    this.run(
      this.core,
      this.coreIndex.get('gemm_f64')!,
      parts.map(([i0, i1]) => [this.gemmParams, i0!, i1!, 0, n]),
      this.scratchArgs,
    );
  }

  /** k = 0: out = (accumulate ? out : 0) + bias. */
  private fillEpilogue(
    out: WasmBuffer,
    off: number,
    m: number,
    n: number,
    accumulate: boolean,
    bias: WasmBuffer | null,
    biasOff: number,
  ): void {
    const c = this.typed(out);
    const bv = bias ? this.typed(bias) : null;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        const at = off + i * n + j;
        c[at] = (accumulate ? c[at]! : 0) + (bv ? bv[biasOff + j]! : 0);
      }
    }
  }

  // ------------------------------------------------------------------------ reduce, gather, scatter

  reduce(call: ReduceCall): void {
    this.checkAlive();
    const input = this.buf(call.input);
    const out = this.buf(call.out);
    const { outer, size, inner, op } = call;
    const arg = op === 'argmax' || op === 'argmin';
    if (out.dtype !== (arg ? 'i32' : input.dtype)) {
      throw new BackendError(
        `wasm.reduce: expected a ${arg ? 'i32' : input.dtype} output for ${op} over ${input.dtype}, found ${out.dtype}.`,
      );
    }
    if (outer * inner === 0) return;
    if (size === 0) {
      throw new BackendError(`wasm.reduce: expected a non-empty reduced axis for ${op}, found size 0.`);
    }
    checkSpan('input', input, 0, outer * size * inner);
    checkSpan('out', out, 0, outer * inner);
    const fn = this.coreIndex.get(reduceName(op, input.dtype))!;
    const threads = this.splitThreads(outer * size * inner >= EW_PARALLEL_WORK);
    const chunks: number[][] = [];
    const want = 2 * threads;
    if (threads > 1) {
      if (outer >= want) {
        for (const [o0, o1] of splitRange(outer, want))
          chunks.push([input.ptr, out.ptr, size, inner, o0, o1, 0, inner]);
      } else {
        for (const [q0, q1] of splitRange(Math.ceil(inner / 4), want)) {
          chunks.push([input.ptr, out.ptr, size, inner, 0, outer, q0 * 4, Math.min(inner, q1 * 4)]);
        }
      }
    } else {
      chunks.push([input.ptr, out.ptr, size, inner, 0, outer, 0, inner]);
    }
    this.run(this.core, fn, chunks, NO_EXTRA);
    out.version++;
  }

  gather(call: GatherCall): void {
    this.checkAlive();
    const table = this.buf(call.table);
    const indices = this.buf(call.indices);
    const out = this.buf(call.out);
    const { outer, axisSize, inner } = call;
    const count = indices.size;
    if (indices.dtype !== 'i32' || out.dtype !== table.dtype) {
      throw new BackendError(
        `wasm.gather: expected i32 indices and an output of the table's dtype ${table.dtype}, found ${indices.dtype} indices and a ${out.dtype} output.`,
      );
    }
    this.checkIndices('gather', indices, axisSize);
    checkSpan('table', table, 0, outer * axisSize * inner);
    checkSpan('out', out, 0, outer * count * inner);
    if (outer * count * inner === 0) return;
    const rowBytes = inner * bytesPerElement(table.dtype);
    this.run(
      this.core,
      this.coreIndex.get('gather')!,
      [[table.ptr, indices.ptr, out.ptr, axisSize, count, rowBytes, 0, outer]],
      NO_EXTRA,
    );
    out.version++;
  }

  scatterAdd(call: ScatterAddCall): void {
    this.checkAlive();
    const out = this.buf(call.out);
    const indices = this.buf(call.indices);
    const updates = this.buf(call.updates);
    const { outer, axisSize, inner } = call;
    const count = indices.size;
    if (indices.dtype !== 'i32' || out.dtype !== updates.dtype) {
      throw new BackendError(
        `wasm.scatterAdd: expected i32 indices and updates of the output's dtype ${out.dtype}, found ${indices.dtype} indices and ${updates.dtype} updates.`,
      );
    }
    this.checkIndices('scatterAdd', indices, axisSize);
    checkSpan('out', out, 0, outer * axisSize * inner);
    checkSpan('updates', updates, 0, outer * count * inner);
    if (outer * count * inner === 0) return;
    this.run(
      this.core,
      this.coreIndex.get(scatterName(out.dtype))!,
      [[out.ptr, indices.ptr, updates.ptr, axisSize, inner, count, 0, outer]],
      NO_EXTRA,
    );
    out.version++;
  }

  private checkIndices(op: string, indices: WasmBuffer, size: number): void {
    const idx = this.typed(indices);
    for (let j = 0; j < idx.length; j++) {
      const v = idx[j]!;
      if (!(v >= 0 && v < size)) {
        throw new RecurError(
          `${op}: expected indices in [0, ${size - 1}], found ${v} at position ${j}. Check the vocabulary or table size.`,
        );
      }
    }
  }

  // ------------------------------------------------------------------------------------ misc

  sync(): Promise<void> {
    return Promise.resolve();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pool?.dispose();
    this.kernels.clear();
    this.packCache.clear();
    this.views = null;
  }

  private checkAlive(): void {
    if (this.disposed) {
      throw new BackendError('wasm: this backend was disposed; create a new one with WasmBackend.create().');
    }
  }

  private buf(buffer: BackendBuffer): WasmBuffer {
    this.checkAlive();
    if (!(buffer instanceof WasmBuffer)) {
      throw new BackendError(
        `wasm: expected a buffer allocated by the wasm backend, found ${buffer?.constructor?.name ?? typeof buffer}. Tensors from different backends cannot be mixed.`,
      );
    }
    if (buffer.freed) {
      throw new BackendError('wasm: expected a live buffer, found one already freed (use after dispose).');
    }
    return buffer;
  }
}

interface View {
  readonly buffer: WasmBuffer;
  readonly offset: number;
  readonly strides: readonly number[];
}

/** Rejects a view that reaches outside its buffer (the kernels do not check addresses). */
function checkView(what: string, v: View, shape: readonly number[]): void {
  let lo = v.offset;
  let hi = v.offset;
  for (let i = 0; i < shape.length; i++) {
    const s = v.strides[i]! * (shape[i]! - 1);
    if (s < 0) lo += s;
    else hi += s;
  }
  if (lo < 0 || hi >= v.buffer.size || !Number.isInteger(lo) || !Number.isInteger(hi)) {
    throw new BackendError(
      `wasm.elementwise: ${what} view (offset ${v.offset}, strides [${v.strides}]) over [${shape}] reaches elements ${lo}..${hi}, outside its buffer of ${v.buffer.size} elements. Check the offsets and strides.`,
    );
  }
}

function checkSpan(what: string, b: WasmBuffer, from: number, to: number): void {
  if (from < 0 || to > b.size || !Number.isInteger(from) || !Number.isInteger(to)) {
    throw new BackendError(
      `wasm: expected the ${what} operand to lie within its buffer of ${b.size} elements, found elements ${from}..${to - 1} used. Check the offsets and sizes.`,
    );
  }
}

/** Splits [0, n) into at most `parts` contiguous non-empty ranges of nearly equal size. */
function splitRange(n: number, parts: number): [number, number][] {
  const out: [number, number][] = [];
  for (let t = 0; t < parts; t++) {
    const a = Math.floor((n * t) / parts);
    const b = Math.floor((n * (t + 1)) / parts);
    if (b > a) out.push([a, b]);
  }
  return out;
}

/** A rough cost per element of an expression (transcendentals weigh more). */
function exprWeight(exprs: readonly Expr[]): number {
  let w = 0;
  const visit = (e: Expr): void => {
    switch (e.kind) {
      case 'input':
      case 'const':
        w += 1;
        return;
      case 'unary':
        w += e.op === 'exp' || e.op === 'log' || e.op === 'tanh' || e.op === 'sigmoid' ? 12 : 1;
        visit(e.a);
        return;
      case 'cast':
        w += 1;
        visit(e.a);
        return;
      case 'binary':
        w += e.op === 'pow' ? 20 : 1;
        visit(e.a);
        visit(e.b);
        return;
      case 'where':
        w += 1;
        visit(e.cond);
        visit(e.a);
        visit(e.b);
        return;
    }
  };
  for (const e of exprs) visit(e);
  return w;
}
