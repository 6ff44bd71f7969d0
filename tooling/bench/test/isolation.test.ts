import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { makeProblem, runBench, type SystemSpec, selectWorkloads } from '../src/index.js';
import { canFreeze, cpuTicksOf, processesOfGroup, runningThreadsOfGroup } from '../src/isolation.js';
import { liveSystemProcesses, SystemProcess } from '../src/process.js';

const SMALL = { B: 2, T: 3, D: 3, H: 4 };
const fixture = new URL('./fixtures/systems.mjs', import.meta.url);
const spec = (id: string): SystemSpec => ({
  id,
  backend: 'js',
  ours: false,
  threads: [1],
  module: fixture.href,
  supports: () => null,
  available: async () => null,
});
const problem = () => makeProblem(selectWorkloads(['W2'], SMALL)[0]!, 1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether a process exists (a reaped one does not; ESRCH). */
function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

async function gone(pids: readonly number[], timeoutMs = 5000): Promise<number[]> {
  const until = Date.now() + timeoutMs;
  let left = pids.filter(exists);
  while (left.length > 0 && Date.now() < until) {
    await sleep(20);
    left = left.filter(exists);
  }
  return left;
}

/** Collects the pids of the live system processes (and their helpers) while `fn` runs. */
async function watchPids<T>(
  fn: () => Promise<T>,
): Promise<{ result: PromiseSettledResult<T>; pids: number[] }> {
  const pids = new Set<number>();
  const timer = setInterval(() => {
    for (const p of liveSystemProcesses()) {
      pids.add(p.pid);
      if (process.platform === 'linux') for (const q of processesOfGroup(p.pid)) pids.add(q);
    }
  }, 5);
  const [result] = await Promise.allSettled([fn()]);
  clearInterval(timer);
  return { result, pids: [...pids] };
}

const linux = process.platform === 'linux' && canFreeze();

afterEach(() => {
  expect(liveSystemProcesses()).toEqual([]);
});

describe.runIf(linux)('freeze: only the system whose turn it is runs', () => {
  it('a frozen system, its thread pool and its helper process get no CPU during another’s turn', async () => {
    const p = problem();
    const spinner = new SystemProcess(spec('fixture-spin'), 1, p, { isolation: 'freeze', settleMs: 0 });
    const other = new SystemProcess(spec('fixture-plain'), 1, p, { isolation: 'freeze', settleMs: 0 });
    try {
      await spinner.start();
      await other.start();
      const group = processesOfGroup(spinner.pid);
      expect(group.length, 'the spinner and its helper process').toBe(2);
      expect(spinner.isFrozen).toBe(true);
      expect(runningThreadsOfGroup(spinner.pid)).toBe(0);
      const ticks = () => group.map(cpuTicksOf).reduce((a, b) => a + b, 0);

      const before = ticks();
      for (let i = 0; i < 5; i++) await other.run();
      await sleep(300);
      expect(ticks() - before, 'CPU ticks of the frozen spinner during the other’s turns').toBe(0);

      // Its own turn: its spinning thread and helper run (so the measurement above can see CPU).
      const own = ticks();
      await spinner.run();
      expect(ticks() - own).toBeGreaterThan(0);
      expect(runningThreadsOfGroup(spinner.pid)).toBe(0);
    } finally {
      await Promise.all([spinner.close(), other.close()]);
    }
  });

  it('under settle, the same spinner does take CPU between its turns (what freeze prevents)', async () => {
    const spinner = new SystemProcess(spec('fixture-spin'), 1, problem(), {
      isolation: 'settle',
      settleMs: 0,
    });
    try {
      await spinner.start();
      const group = processesOfGroup(spinner.pid);
      const before = group.map(cpuTicksOf).reduce((a, b) => a + b, 0);
      await sleep(300);
      expect(group.map(cpuTicksOf).reduce((a, b) => a + b, 0) - before).toBeGreaterThan(0);
    } finally {
      await spinner.close();
    }
  });
});

describe('system processes: failures and clean-up', () => {
  it('a system whose process dies mid-run stops the run with a clear error, and leaves no process', async () => {
    const { result, pids } = await watchPids(() =>
      runBench({
        workloads: ['W2'],
        systems: ['recur-js', 'fixture-crash-on-run'],
        extraSystems: [spec('fixture-crash-on-run')],
        reps: 2,
        shape: SMALL,
        log: () => {},
      }),
    );
    expect(result.status).toBe('rejected');
    expect(String((result as PromiseRejectedResult).reason)).toMatch(
      /fixture-crash-on-run \(1 thread\): its process was killed by SIGKILL while it was asked to run/,
    );
    expect(pids.length).toBeGreaterThanOrEqual(2);
    expect(await gone(pids)).toEqual([]);
  });

  it('a system whose process exits while starting is skipped with the reason', async () => {
    const r = await runBench({
      workloads: ['W2'],
      systems: ['recur-js', 'fixture-exit-on-start'],
      extraSystems: [spec('fixture-exit-on-start')],
      reps: 1,
      shape: SMALL,
      log: () => {},
    });
    expect(r.rows.map((x) => x.system)).toEqual(['recur-js']);
    expect(r.skipped).toContainEqual({
      workload: 'W2',
      system: 'fixture-exit-on-start',
      threads: 1,
      reason:
        'could not start: fixture-exit-on-start (1 thread): its process exited with code 3 while it was asked to start',
    });
  });

  it('after a run, every system process and helper process is gone', async () => {
    const { result, pids } = await watchPids(() =>
      runBench({
        workloads: ['W2'],
        systems: ['recur-js', 'fixture-spin'],
        extraSystems: [spec('fixture-spin')],
        reps: 2,
        shape: SMALL,
        log: () => {},
      }),
    );
    expect(result.status).toBe('fulfilled');
    const rows = (result as PromiseFulfilledResult<Awaited<ReturnType<typeof runBench>>>).value.rows;
    expect(rows.map((x) => `${x.system} ${x.reps}`)).toEqual(['recur-js 2', 'fixture-spin 2']);
    // recur-js, the spinner and its helper at least.
    expect(pids.length).toBeGreaterThanOrEqual(process.platform === 'linux' ? 3 : 2);
    expect(await gone(pids)).toEqual([]);
  });

  it.runIf(linux)(
    'a signal to the bench (Ctrl-C, kill) takes its frozen system processes with it',
    async () => {
      const index = pathToFileURL(fileURLToPath(new URL('../dist/index.js', import.meta.url))).href;
      const script = `
      const { runBench } = await import(${JSON.stringify(index)});
      const spec = { id: 'fixture-hang', backend: 'js', ours: false, threads: [1],
        module: ${JSON.stringify(fixture.href)}, supports: () => null, available: async () => null };
      await runBench({ workloads: ['W2'], systems: ['recur-js', 'fixture-hang'], extraSystems: [spec],
        reps: 3, shape: ${JSON.stringify(SMALL)}, log: (l) => console.error(l) });`;
      const bench = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      bench.stderr!.on('data', (d) => {
        stderr += String(d);
      });
      const exited = new Promise<NodeJS.Signals | null>((r) => bench.on('exit', (_c, s) => r(s)));
      // The hanging system's warm-up has passed once its 'warm' line is out; then it hangs in a timed run.
      while (!stderr.includes('warm fixture-hang')) {
        if (bench.exitCode !== null) throw new Error(`the bench exited early: ${stderr}`);
        await sleep(20);
      }
      await sleep(200);
      const children = childrenOf(bench.pid!);
      expect(children.length, 'recur-js and fixture-hang').toBe(2);
      const pids = children.flatMap((c) => processesOfGroup(c));
      expect(pids.length).toBe(2);
      bench.kill('SIGTERM');
      expect(await exited).toBe('SIGTERM');
      expect(await gone(pids)).toEqual([]);
    },
  );
});

/** Linux: the processes whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const s = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}
