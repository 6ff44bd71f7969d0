import type { Environment, WorkerHandle } from './env.js';
import { WORKER_SOURCE } from './worker-source.js';

/**
 * Fork–join over worker threads that share the backend's memory. A job is one exported function
 * of a kernel module, called on every participating thread with its own arguments (its block of
 * rows or columns); the calling thread takes the first block itself and then waits for the rest.
 * Workers learn about a job through a counter in the control block (no messages once started), so
 * a call costs a few atomic operations when the workers are spinning, or one wake-up otherwise.
 */
export const CONTROL = { seq: 0, done: 1, error: 2, stop: 3, slots: 8 } as const;
export const SLOT_WORDS = 16;
export const MAX_ARGS = SLOT_WORDS - 5;

/** A module the workers can compile on first use: an id and where its bytes lie in memory. */
export interface SharedModule {
  readonly id: number;
  readonly ptr: number;
  readonly len: number;
  readonly fns: readonly ((...a: number[]) => unknown)[];
}

export class ThreadPool {
  private workerErrors: string[] = [];
  private constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly control: number,
    private readonly workers: WorkerHandle[],
    private readonly canBlock: boolean,
    private readonly spin: number,
  ) {}

  /** Starts `threads - 1` workers; `control` is the byte address of a zeroed control block. */
  static async start(
    env: Environment,
    memory: WebAssembly.Memory,
    control: number,
    threads: number,
    spin: number,
  ): Promise<ThreadPool> {
    const workers: WorkerHandle[] = [];
    try {
      for (let i = 1; i < threads; i++) workers.push(await env.spawn(WORKER_SOURCE));
      await Promise.all(
        workers.map(
          (w, i) =>
            new Promise<void>((resolve, reject) => {
              w.onError(reject);
              w.onMessage((m) => {
                if (m === 'ready') resolve();
              });
              w.post({ memory, control, index: i + 1, spin, slotWords: SLOT_WORDS, words: CONTROL });
            }),
        ),
      );
    } catch (err) {
      for (const w of workers) w.terminate();
      throw err;
    }
    const pool = new ThreadPool(memory, control, workers, env.canBlock, spin);
    for (const w of workers) {
      w.onMessage((m) => {
        if (m && typeof m === 'object' && 'error' in m)
          pool.workerErrors.push(String((m as { error: string }).error));
      });
    }
    return pool;
  }

  get threads(): number {
    return this.workers.length + 1;
  }

  private ctl(): Int32Array {
    return new Int32Array(this.memory.buffer, this.control, CONTROL.slots + SLOT_WORDS * 64);
  }

  /**
   * Runs `mod.fns[fn]` with `args[t]` on thread t (t = 0 is the caller), for as many threads as
   * there are argument lists (at most `threads`), and returns when all have finished.
   */
  run(mod: SharedModule, fn: number, args: readonly (readonly number[])[]): void {
    const n = args.length;
    if (n <= 1 || this.workers.length === 0) {
      for (const a of args) mod.fns[fn]!(...a);
      return;
    }
    const c = this.ctl();
    for (let w = 1; w <= this.workers.length; w++) {
      const s = CONTROL.slots + w * SLOT_WORDS;
      const a = args[w];
      c[s] = mod.id;
      c[s + 1] = mod.ptr;
      c[s + 2] = mod.len;
      c[s + 3] = a ? fn : -1;
      if (a) {
        c[s + 4] = a.length;
        for (let k = 0; k < a.length; k++) c[s + 5 + k] = a[k]!;
      }
    }
    Atomics.store(c, CONTROL.done, 0);
    Atomics.store(c, CONTROL.error, 0);
    Atomics.add(c, CONTROL.seq, 1);
    Atomics.notify(c, CONTROL.seq);
    let mainError: unknown = null;
    try {
      mod.fns[fn]!(...args[0]!);
    } catch (err) {
      mainError = err;
    }
    const want = this.workers.length;
    let spins = 0;
    for (;;) {
      const done = Atomics.load(c, CONTROL.done);
      if (done >= want) break;
      if (++spins > this.spin && this.canBlock) {
        Atomics.wait(c, CONTROL.done, done, 1);
        spins = 0;
      }
    }
    if (mainError) throw mainError;
    if (Atomics.load(c, CONTROL.error) !== 0) {
      const detail = this.workerErrors.shift() ?? 'a worker failed';
      throw new Error(`wasm: a kernel failed on a worker thread: ${detail}`);
    }
  }

  dispose(): void {
    const c = this.ctl();
    Atomics.store(c, CONTROL.stop, 1);
    Atomics.add(c, CONTROL.seq, 1);
    Atomics.notify(c, CONTROL.seq);
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
  }
}
