import type { Environment, WorkerHandle } from './env.js';
import { WORKER_SOURCE } from './worker-source.js';

/**
 * Fork–join over worker threads that share the backend's memory. A job is one exported function
 * of a kernel module applied to a list of chunks (blocks of rows or columns); every thread, the
 * caller included, claims chunks from an atomic counter until none are left, calling the function
 * with the chunk's arguments followed by its own (e.g. its scratch buffers). The caller waits only
 * for chunks that were claimed, never for a worker to show up: on a busy machine a descheduled
 * worker simply takes no part, and the caller does the work.
 *
 * Workers learn about a job through `seq` in the control block (no messages once started): odd
 * while the caller writes a job, even once it is published. The claim word holds the job's tag
 * (high bits) and the next chunk index (low 10 bits); workers claim by compare-and-swap, so one
 * that wakes late can never take a chunk of a later job. A job costs a few atomic operations while
 * workers spin, one wake-up once they sleep.
 */
export const CONTROL = {
  seq: 0,
  finished: 1,
  error: 2,
  stop: 3,
  claim: 4,
  chunks: 5,
  chunkWords: 6,
  /** Time the workers spent on the job's chunks, in units of 0.1 µs. */
  work: 7,
  slots: 8,
} as const;
export const CLAIM_BITS = 10;
/** How long a worker may take to start before the backend runs without threads. */
const START_TIMEOUT_MS = 20_000;
export const SLOT_WORDS = 16;
export const MAX_THREADS = 64;
export const MAX_CHUNKS = 512;
export const MAX_CHUNK_WORDS = 8;
/** Bytes of the control block (counters, one slot per thread) and of the chunk table. */
export const CONTROL_BYTES = (CONTROL.slots + SLOT_WORDS * MAX_THREADS) * 4;
export const TABLE_BYTES = MAX_CHUNKS * MAX_CHUNK_WORDS * 4;

/** A module the workers can compile on first use: an id and where its bytes lie in memory. */
export interface SharedModule {
  readonly id: number;
  readonly ptr: number;
  readonly len: number;
  readonly fns: readonly ((...a: number[]) => unknown)[];
}

/**
 * When to run jobs on the calling thread alone. A fork–join job pays off only if the other threads
 * are running when it is published. On a machine busy with other work they often are not: waking
 * a sleeping worker can cost the caller a time slice (the woken thread preempts it), a worker may
 * be preempted holding a chunk (the caller then waits milliseconds for a job of microseconds), and
 * threads taking turns on one core gain nothing. So every parallel job is timed from publication
 * to completion, and every chunk where it runs: the sum over the chunks is what the job would
 * have cost one thread. A window of WINDOW parallel jobs did not pay off if they took longer in
 * all than that (by more than SLACK, for the cost of publishing). Then the next jobs run on the
 * caller (the workers go back to sleep and leave the cores to whoever needs them): MIN_SOLO jobs,
 * doubling while it keeps happening, up to MAX_SOLO; a window that pays off resets that. The first
 * job after a solo run wakes the workers and is not counted. Counted in jobs, not time, so the
 * choice follows from what was measured; every kernel computes the same chunks whoever runs them,
 * so results never depend on it.
 */
export class StragglerPolicy {
  static readonly WINDOW = 256;
  static readonly MIN_SOLO = 256;
  static readonly MAX_SOLO = 8192;
  static readonly SLACK = 0.25;
  /** Jobs left to run on the caller alone. */
  private left = 0;
  private next: number = StragglerPolicy.MIN_SOLO;
  private waking = false;
  private jobs = 0;
  private took = 0;
  private work = 0;
  /** Off: every job large enough runs in parallel whatever happens (for tests and comparisons). */
  enabled = true;
  /** Jobs run in parallel; jobs the caller ran alone because parallel ones did not pay; times it decided so. */
  parallelJobs = 0;
  soloJobs = 0;
  backoffs = 0;

  /** Whether the next job should run on the caller alone (counts it if so). */
  solo(): boolean {
    if (this.left === 0 || !this.enabled) return false;
    this.left--;
    this.soloJobs++;
    if (this.left === 0) this.waking = true;
    return true;
  }

  /** After a job that ran in parallel: `total` ms from publication to completion, `work` ms on its chunks. */
  parallel(total: number, work: number): void {
    this.parallelJobs++;
    if (!this.enabled) return;
    if (this.waking) {
      this.waking = false;
      return;
    }
    this.took += total;
    this.work += work;
    if (++this.jobs < StragglerPolicy.WINDOW) return;
    const paid = this.took <= this.work * (1 + StragglerPolicy.SLACK);
    this.jobs = 0;
    this.took = 0;
    this.work = 0;
    if (!paid) {
      this.left = this.next;
      this.next = Math.min(2 * this.next, StragglerPolicy.MAX_SOLO);
      this.backoffs++;
    } else {
      this.next = StragglerPolicy.MIN_SOLO;
    }
  }
}

const clock: () => number =
  typeof performance !== 'undefined' && typeof performance.now === 'function'
    ? () => performance.now()
    : () => Date.now();

export class ThreadPool {
  private workerErrors: string[] = [];
  private view: Int32Array | null = null;
  readonly stragglers = new StragglerPolicy();

  private constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly control: number,
    private readonly table: number,
    private readonly workers: WorkerHandle[],
    private readonly canBlock: boolean,
    private readonly spin: number,
  ) {}

  /** Starts `threads - 1` workers over zeroed control and table blocks at the given byte addresses. */
  static async start(
    env: Environment,
    memory: WebAssembly.Memory,
    control: number,
    table: number,
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
              const timer = setTimeout(
                () => reject(new Error(`a worker did not start within ${START_TIMEOUT_MS / 1000} s`)),
                START_TIMEOUT_MS,
              );
              w.onError((err) => {
                clearTimeout(timer);
                reject(err);
              });
              w.onMessage((m) => {
                if (m === 'ready') {
                  clearTimeout(timer);
                  resolve();
                }
              });
              w.post({
                memory,
                control,
                table,
                index: i + 1,
                spin,
                slotWords: SLOT_WORDS,
                claimBits: CLAIM_BITS,
                tableStride: MAX_CHUNK_WORDS,
                words: CONTROL,
              });
            }),
        ),
      );
    } catch (err) {
      for (const w of workers) w.terminate();
      throw err;
    }
    const pool = new ThreadPool(memory, control, table, workers, env.canBlock, spin);
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
    const buf = this.memory.buffer;
    if (!this.view || this.view.buffer !== buf) {
      this.view = new Int32Array(buf);
    }
    return this.view;
  }

  /**
   * Calls `mod.fns[fn](...chunk, ...extra(t))` for every chunk, spread over the threads (t is the
   * thread's index, 0 for the caller); returns when all chunks are done.
   */
  run(
    mod: SharedModule,
    fn: number,
    chunks: readonly (readonly number[])[],
    extra: (thread: number) => readonly number[],
  ): void {
    const f = mod.fns[fn]!;
    const n = chunks.length;
    if (n <= 1 || this.workers.length === 0 || this.stragglers.solo()) {
      const own = extra(0);
      for (const c of chunks) f(...c, ...own);
      return;
    }
    if (n > MAX_CHUNKS) throw new Error(`ThreadPool.run: expected at most ${MAX_CHUNKS} chunks, found ${n}`);
    const width = chunks[0]!.length;
    const start = clock();
    const c = this.ctl();
    const base = this.control >> 2;
    const tab = this.table >> 2;
    // Unpublish (odd seq), write the job, publish (even seq) with a fresh claim word.
    const seq = Atomics.load(c, base + CONTROL.seq);
    Atomics.store(c, base + CONTROL.seq, seq + 1);
    for (let i = 0; i < n; i++) {
      const ch = chunks[i]!;
      for (let k = 0; k < width; k++) c[tab + i * MAX_CHUNK_WORDS + k] = ch[k]!;
    }
    for (let w = 1; w <= this.workers.length; w++) {
      const s = base + CONTROL.slots + w * SLOT_WORDS;
      const own = extra(w);
      c[s] = mod.id;
      c[s + 1] = mod.ptr;
      c[s + 2] = mod.len;
      c[s + 3] = fn;
      c[s + 4] = own.length;
      for (let k = 0; k < own.length; k++) c[s + 5 + k] = own[k]!;
    }
    c[base + CONTROL.chunks] = n;
    c[base + CONTROL.chunkWords] = width;
    const next = seq + 2;
    const tag = (next >>> 1) & 0x3fffff;
    Atomics.store(c, base + CONTROL.finished, 0);
    Atomics.store(c, base + CONTROL.work, 0);
    Atomics.store(c, base + CONTROL.error, 0);
    Atomics.store(c, base + CONTROL.claim, tag << CLAIM_BITS);
    Atomics.store(c, base + CONTROL.seq, next);
    Atomics.notify(c, base + CONTROL.seq);
    let mainError: unknown = null;
    const own = extra(0);
    const mask = (1 << CLAIM_BITS) - 1;
    const t0 = clock();
    for (;;) {
      const i = Atomics.add(c, base + CONTROL.claim, 1) & mask;
      if (i >= n) break;
      try {
        f(...chunks[i]!, ...own);
      } catch (err) {
        mainError ??= err;
      }
      Atomics.add(c, base + CONTROL.finished, 1);
    }
    const t1 = clock();
    let spins = 0;
    for (;;) {
      const finished = Atomics.load(c, base + CONTROL.finished);
      if (finished >= n) break;
      if (++spins > this.spin && this.canBlock) {
        Atomics.wait(c, base + CONTROL.finished, finished, 1);
        spins = 0;
      }
    }
    this.stragglers.parallel(clock() - start, t1 - t0 + Atomics.load(c, base + CONTROL.work) / 1e4);
    if (mainError) throw mainError;
    if (Atomics.load(c, base + CONTROL.error) !== 0) {
      const detail = this.workerErrors.shift() ?? 'a worker failed';
      throw new Error(`wasm: a kernel failed on a worker thread: ${detail}`);
    }
  }

  dispose(): void {
    const c = this.ctl();
    const base = this.control >> 2;
    Atomics.store(c, base + CONTROL.stop, 1);
    Atomics.add(c, base + CONTROL.seq, 2);
    Atomics.notify(c, base + CONTROL.seq);
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
  }
}
