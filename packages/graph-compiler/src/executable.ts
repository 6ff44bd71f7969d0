import {
  type Backend,
  type BackendBuffer,
  engine,
  fromData,
  OPS,
  type OpDef,
  Storage,
  stridesOf,
  Tensor,
} from '@recur/tensor';
import type { Kernel, Lowered, Slot } from './lower.js';
import type { MemoryPlan } from './plan.js';
import { GraphError } from './verify.js';

/**
 * A lowered, planned program bound to a backend: physical buffers are allocated once and reused
 * by every call; each call binds the caller's tensors and replays the kernels.
 */
export class Executable {
  private physical: BackendBuffer[] | null = null;
  private readonly bound = new Map<number, BackendBuffer>();
  private disposed = false;

  constructor(
    readonly backend: Backend,
    readonly lowered: Lowered,
    readonly plan: MemoryPlan,
  ) {}

  /** Allocates the plan's buffers and uploads its constants (on first use). */
  private buffers(): BackendBuffer[] {
    if (this.physical) return this.physical;
    const { backend, plan, lowered } = this;
    const physical = plan.physical.map((p) => backend.alloc(p.dtype, p.size));
    for (const b of lowered.buffers) {
      if (b.kind !== 'const' || plan.assign[b.id]! < 0) continue;
      const host = fromData(b.value ?? [], [b.size], { dtype: b.dtype, backend });
      backend.copy({
        src: { buffer: host.storage.buffer, offset: 0, strides: [1] },
        out: physical[plan.assign[b.id]!]!,
        outOffset: 0,
        outStrides: [1],
        shape: [b.size],
      });
      host.dispose();
    }
    this.physical = physical;
    return physical;
  }

  /** Runs stages [from, to) with the caller's tensors bound to the external names. */
  run(inputs: ReadonlyMap<string, Tensor>, from = 0, to = this.lowered.stages.length): void {
    if (this.disposed) throw new GraphError('Executable: used after dispose().');
    for (const b of this.lowered.buffers) {
      if (b.kind !== 'external' || !b.name || !inputs.has(b.name)) continue;
      const t = inputs.get(b.name)!;
      const shape = b.shape ?? [b.size];
      if (t.dtype !== b.dtype || t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        throw new GraphError(
          `Executable: expected '${b.name}' as ${b.dtype}[${shape}], found ${t.dtype}[${t.shape}]. Per-step inputs are stacked time first ([steps, ...]).`,
        );
      }
      if (t.backend !== this.backend) {
        throw new GraphError(
          `Executable: '${b.name}' lives on backend '${t.backend.name}', the program on '${this.backend.name}'.`,
        );
      }
      this.bound.set(b.id, t.storage.buffer);
    }
    engine.noGrad(() =>
      engine.tidy(() => {
        for (let s = from; s < to; s++) {
          const st = this.lowered.stages[s]!;
          if (st.kind === 'block') {
            for (const k of st.kernels) this.exec(k, 0, 0);
            continue;
          }
          for (const k of st.prologue) this.exec(k, 0, 0);
          const T = this.lowered.steps;
          for (let it = 0; it < T; it++) {
            const t = st.reverse ? T - 1 - it : it;
            for (const k of st.kernels) this.exec(k, it, t);
          }
        }
      }),
    );
  }

  /** A fresh tensor holding an environment value (copied out of the plan's buffers). */
  read(name: string): Tensor {
    const s = this.lowered.env.get(name);
    if (!s) throw new GraphError(`Executable: the program computes no value '${name}'.`);
    const dtype = this.lowered.buffers[s.buf]!.dtype;
    const size = s.shape.reduce((a, b) => a * b, 1);
    const out = this.backend.alloc(dtype, size);
    const dense = stridesOf(s.shape);
    this.backend.copy({
      src: { buffer: this.buffer(s, 0), offset: s.offset, strides: s.strides },
      out,
      outOffset: 0,
      outStrides: dense,
      shape: s.shape,
    });
    return new Tensor(new Storage(this.backend, out), [...s.shape], dtype);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const b of this.physical ?? []) this.backend.free(b);
  }

  private buffer(s: Slot, it: number): BackendBuffer {
    const id = s.alt !== null && it % 2 === 1 ? s.alt : s.buf;
    const p = this.plan.assign[id]!;
    if (p >= 0) return this.buffers()[p]!;
    const b = this.bound.get(id);
    if (!b) {
      const name = this.lowered.buffers[id]!.name;
      throw new GraphError(`Executable: expected a value for '${name}', found none. Pass it in the inputs.`);
    }
    return b;
  }

  private exec(k: Kernel, it: number, t: number): void {
    const b = this.backend;
    const off = (s: Slot) => s.offset + s.step * t;
    switch (k.kind) {
      case 'gemm':
        b.matmul({
          a: this.buffer(k.a, it),
          b: this.buffer(k.b, it),
          out: this.buffer(k.out, it),
          batch: k.batch,
          m: k.m,
          n: k.n,
          k: k.k,
          transA: k.transA,
          transB: k.transB,
          aOffset: off(k.a),
          bOffset: off(k.b),
          outOffset: off(k.out),
          aBatchStride: k.aBatchStride,
          bBatchStride: k.bBatchStride,
          bias: k.bias ? { buffer: this.buffer(k.bias, it), offset: off(k.bias) } : null,
          accumulate: false,
        });
        return;
      case 'fused': {
        const [first, ...rest] = k.outputs;
        b.elementwise({
          expr: first!.expr,
          inputs: k.inputs.map((s) => ({ buffer: this.buffer(s, it), offset: off(s), strides: s.strides })),
          out: this.buffer(first!.slot, it),
          outView: { offset: off(first!.slot), strides: first!.slot.strides },
          shape: k.shape,
          more: rest.map((o) => ({
            expr: o.expr,
            out: this.buffer(o.slot, it),
            offset: off(o.slot),
            strides: o.slot.strides,
          })),
        });
        return;
      }
      case 'copy':
        b.copy({
          src: { buffer: this.buffer(k.src, it), offset: off(k.src), strides: k.src.strides },
          out: this.buffer(k.dst, it),
          outOffset: off(k.dst),
          outStrides: k.dst.strides,
          shape: k.dst.shape,
        });
        return;
      case 'op': {
        const wrap = (s: Slot) =>
          new Tensor(
            new Storage(b, this.buffer(s, it)).retain(),
            [...s.shape],
            this.lowered.buffers[s.buf]!.dtype,
          );
        const def = OPS[k.node.op] as OpDef<unknown>;
        if (!def.run) throw new GraphError(`Executable: op '${k.node.op}' has no backend lowering.`);
        def.run(
          b,
          k.inputs.map(wrap),
          this.buffer(k.out, it),
          { shape: k.node.shape, dtype: k.node.dtype },
          k.node.attrs,
        );
        return;
      }
    }
  }
}
