import { describe, expect, it } from 'vitest';
import { Fn, ModuleBuilder, OP } from '../src/emit.js';
import { detectEnvironment } from '../src/env.js';
import { CONTROL_BYTES, type SharedModule, StragglerPolicy, TABLE_BYTES, ThreadPool } from '../src/pool.js';

/**
 * The thread pool's hand-off, with jobs that cannot finish unless every thread takes part: each
 * chunk of a barrier job raises its own flag, then waits (a bounded spin) for the other chunks'
 * flags. If a worker missed a job (a lost wake-up, a job taken for one already seen), the caller
 * would sit in its chunk until the spin gives up, and the job records that.
 */

const ATOMIC_LOAD = 0x10;
const ATOMIC_STORE = 0x17;
const ATOMIC_ADD = 0x1e;
const ATOMIC_WAIT32 = 0x01;
const I64_EXTEND_I32_U = 0xad;
/** Spins a chunk waits for the others before it gives up (well over a second). */
const PATIENCE = 1_000_000_000;

/** barrier(flags, me, chunks, patience): flags[me] = 1, then wait for flags[0 … chunks-1]. */
function barrierModule(maxPages: number): Uint8Array<ArrayBuffer> {
  const f = new Fn('barrier', ['i32', 'i32', 'i32', 'i32']);
  const [flags, me, chunks, patience] = [0, 1, 2, 3];
  const j = f.local('i32');
  const spins = f.local('i32');
  const up = f.local('i32');
  f.get(flags).get(me).i32(2).op(OP.i32_shl).op(OP.i32_add).i32(1).atomic(ATOMIC_STORE);
  f.block().loop();
  // up = number of raised flags
  f.i32(0).set(up);
  f.forRange(
    j,
    () => f.i32(0),
    chunks,
    1,
    () => {
      f.get(up).get(flags).get(j).i32(2).op(OP.i32_shl).op(OP.i32_add).atomic(ATOMIC_LOAD);
      f.op(OP.i32_add).set(up);
    },
  );
  f.get(up).get(chunks).op(OP.i32_ge_s).brIf(1);
  f.get(spins).i32(1).op(OP.i32_add).tee(spins).get(patience).op(OP.i32_ge_s).if();
  // Gave up: count it in the word after the flags.
  f.get(flags).get(chunks).i32(2).op(OP.i32_shl).op(OP.i32_add).i32(1).atomic(ATOMIC_ADD).op(OP.drop);
  f.br(2);
  f.end();
  f.br(0).end().end();
  // record(out, chunk, sleepNs, thread): out[chunk] = thread + 1; a worker (thread > 0) then
  // blocks for sleepNs, like one preempted in the middle of its chunk.
  const g = new Fn('record', ['i32', 'i32', 'i32', 'i32']);
  g.get(0).get(1).i32(2).op(OP.i32_shl).op(OP.i32_add).get(3).i32(1).op(OP.i32_add).atomic(ATOMIC_STORE);
  g.get(3).if();
  // Wait on a word nobody changes (the one past the output: chunk count slots are unused there).
  g.get(0).i32(60).op(OP.i32_add).i32(0).get(2).op(I64_EXTEND_I32_U).atomic(ATOMIC_WAIT32).op(OP.drop);
  g.end();
  const mb = new ModuleBuilder({ shared: true, initial: 1, maximum: maxPages });
  mb.add(f);
  mb.add(g);
  return mb.toBytes();
}

async function setup(spin: number, adaptive = false) {
  const env = await detectEnvironment();
  const memory = new WebAssembly.Memory({ initial: 4, maximum: 4, shared: true });
  const control = 1024;
  const table = control + CONTROL_BYTES;
  const code = table + TABLE_BYTES;
  const bytes = barrierModule(4);
  new Uint8Array(memory.buffer).set(bytes, code);
  const flags = (code + bytes.length + 63) & ~63;
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  const mod: SharedModule = {
    id: 1,
    ptr: code,
    len: bytes.length,
    fns: Object.values(inst.exports) as ((...a: number[]) => unknown)[],
  };
  const pool = await ThreadPool.start(env, memory, control, table, 2, spin);
  pool.stragglers.enabled = adaptive;
  const i32 = new Int32Array(memory.buffer);
  /** One barrier job of `threads` chunks; returns how many chunks gave up waiting. */
  const barrier = (): number => {
    const n = pool.threads;
    i32.fill(0, flags >> 2, (flags >> 2) + n + 1);
    const chunks = Array.from({ length: n }, (_, c) => [flags, c, n, PATIENCE]);
    pool.run(mod, 0, chunks, () => []);
    return i32[(flags >> 2) + n]!;
  };
  /** Two chunks recording who ran them (1 caller, 2 worker); a worker's chunk blocks sleepMs. */
  const record = (sleepMs: number): number[] => {
    const out = flags + 64;
    i32.fill(0, out >> 2, (out >> 2) + 2);
    pool.run(
      mod,
      1,
      [0, 1].map((c) => [out, c, sleepMs * 1e6]),
      (t) => [t],
    );
    return [i32[out >> 2]!, i32[(out >> 2) + 1]!];
  };
  return { pool, barrier, record };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the thread pool', () => {
  it('has every worker take part in the first job after it starts, and in back-to-back jobs', async () => {
    for (let round = 0; round < 5; round++) {
      const { pool, barrier } = await setup(20_000);
      expect(pool.threads).toBe(2);
      expect(barrier()).toBe(0);
      for (let i = 0; i < 50; i++) expect(barrier()).toBe(0);
      pool.dispose();
    }
  });

  it('wakes a worker that went to sleep (Atomics.wait) for the next job, every time', async () => {
    // A spin of 1: the worker blocks in Atomics.wait right after each job.
    const { pool, barrier } = await setup(1);
    for (let i = 0; i < 40; i++) {
      await sleep(i % 4);
      expect(barrier()).toBe(0);
    }
    pool.dispose();
  });
});

describe('the straggler policy', () => {
  const W = StragglerPolicy.WINDOW;
  // (total, work) of one parallel job: ms from publication to the end, ms its chunks took.
  type Job = [number, number];
  const good: Job = [0.06, 0.1]; // 0.06 ms for 0.1 ms of work
  const slower: Job = [0.5, 0.1];
  const stall: Job = [5, 0.1]; // the caller waited 5 ms for a worker that was not running

  function driver() {
    const p = new StragglerPolicy();
    let solo = 0;
    return {
      p,
      get solo() {
        return solo;
      },
      /** Runs jobs; returns how many of them ran on the caller alone. */
      run(jobs: Job[]): number {
        let k = 0;
        for (const j of jobs) {
          if (p.solo()) k++;
          else p.parallel(...j);
        }
        solo += k;
        return k;
      },
      /** The solo run that follows, then the job that wakes the workers (not counted). */
      soloRun(): number {
        let k = 0;
        while (p.solo()) k++;
        solo += k;
        p.parallel(...stall);
        return k;
      },
    };
  }
  const windowOf = (...jobs: [Job, number][]): Job[] => jobs.flatMap(([j, count]) => Array(count).fill(j));

  it('keeps splitting while windows of jobs pay off in all, and backs off (doubling) after each one that does not', () => {
    const d = driver();
    // A stall now and then among jobs that gain: they still pay off in all.
    for (let i = 0; i < 10; i++) expect(d.run(windowOf([good, W - 1], [stall, 1]))).toBe(0);
    expect(d.p.backoffs).toBe(0);
    const badWindows = [
      windowOf([slower, W]),
      windowOf([good, W - 16], [stall, 16]),
      windowOf([[0.13, 0.1], W]),
    ];
    const runs: number[] = [];
    for (const w of badWindows) {
      expect(d.run(w)).toBe(0);
      runs.push(d.soloRun());
    }
    const min = StragglerPolicy.MIN_SOLO;
    expect(runs).toEqual([min, 2 * min, 4 * min]);
    for (let i = 0; i < 8; i++) {
      d.run(windowOf([slower, W]));
      d.soloRun();
    }
    d.run(windowOf([slower, W]));
    expect(d.soloRun()).toBe(StragglerPolicy.MAX_SOLO);
    // Within the slack (publishing costs a little): pays off, and the next back-off is short again.
    d.run(windowOf([[0.12, 0.1], W]));
    expect(d.p.solo()).toBe(false);
    d.run(windowOf([slower, W]));
    expect(d.soloRun()).toBe(min);
    expect(d.p.backoffs).toBe(13);
    expect(d.p.soloJobs).toBe(d.solo);
  });

  it('does nothing when switched off', () => {
    const p = new StragglerPolicy();
    p.enabled = false;
    for (let i = 0; i < 4 * W; i++) p.parallel(5, 0.1);
    expect(p.solo()).toBe(false);
    expect(p.backoffs).toBe(0);
  });

  it('runs jobs that cost more to hand out than to do on the caller alone, then tries splitting again', async () => {
    const { pool, barrier, record } = await setup(20_000, true);
    // Chunks of a few instructions: publishing the job costs more than doing it.
    for (let i = 0; i < W; i++) record(0);
    expect(pool.stragglers.backoffs).toBe(1);
    for (let i = 0; i < StragglerPolicy.MIN_SOLO; i++) expect(record(0)).toEqual([1, 1]);
    // The next job is split again (the barrier needs both threads).
    expect(barrier()).toBe(0);
    expect(pool.stragglers.soloJobs).toBe(StragglerPolicy.MIN_SOLO);
    pool.dispose();
  });

  it('leaves every job split when switched off', async () => {
    const { pool, barrier, record } = await setup(20_000, false);
    for (let i = 0; i < W; i++) record(0);
    expect(pool.stragglers.backoffs).toBe(0);
    for (let i = 0; i < 5; i++) expect(barrier()).toBe(0);
    pool.dispose();
  });
});
