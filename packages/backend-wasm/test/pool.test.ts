import { describe, expect, it } from 'vitest';
import { Fn, ModuleBuilder, OP } from '../src/emit.js';
import { detectEnvironment } from '../src/env.js';
import { CONTROL_BYTES, type SharedModule, TABLE_BYTES, ThreadPool } from '../src/pool.js';

/**
 * The thread pool's hand-off, with jobs that cannot finish unless every thread takes part: each
 * chunk of a barrier job raises its own flag, then waits (a bounded spin) for the other chunks'
 * flags. If a worker missed a job (a lost wake-up, a job taken for one already seen), the caller
 * would sit in its chunk until the spin gives up, and the job records that.
 */

const ATOMIC_LOAD = 0x10;
const ATOMIC_STORE = 0x17;
const ATOMIC_ADD = 0x1e;
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
  const mb = new ModuleBuilder({ shared: true, initial: 1, maximum: maxPages });
  mb.add(f);
  return mb.toBytes();
}

async function setup(spin: number) {
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
  const i32 = new Int32Array(memory.buffer);
  /** One barrier job of `threads` chunks; returns how many chunks gave up waiting. */
  const barrier = (): number => {
    const n = pool.threads;
    i32.fill(0, flags >> 2, (flags >> 2) + n + 1);
    const chunks = Array.from({ length: n }, (_, c) => [flags, c, n, PATIENCE]);
    pool.run(mod, 0, chunks, () => []);
    return i32[(flags >> 2) + n]!;
  };
  return { pool, barrier };
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
