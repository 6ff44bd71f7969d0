import { readdirSync, readFileSync } from 'node:fs';

/**
 * How the systems are kept from disturbing each other's timings. Each runs in a child process of
 * its own, and the thread pools of threaded systems (onnxruntime's, ours) keep spinning for tens of
 * milliseconds after their work is done, on the cores the next system needs:
 *
 * - `freeze` (POSIX, the default there): every child process except the one whose turn it is is
 *   stopped (SIGSTOP to its process group, so a helper process it started stops too) and continued
 *   (SIGCONT) for its turn. A stopped process gets no CPU at all.
 * - `settle` (the default elsewhere): after each turn the parent waits `settleMs` before the next
 *   one, long enough for the pools measured so far to go to sleep.
 */
export type Isolation = 'freeze' | 'settle';

export const ISOLATIONS: readonly Isolation[] = ['freeze', 'settle'];

export const defaultIsolation = (): Isolation => (process.platform === 'win32' ? 'settle' : 'freeze');

/** Default wait of `settle` (ms): onnxruntime-node's 2-thread pool spins for about 50 ms after a run here. */
export const DEFAULT_SETTLE_MS = 150;

/** Whether the process-group signals of `freeze` exist on this platform. */
export const canFreeze = (): boolean => process.platform !== 'win32';

/** Stops process group `pgid` and, on Linux, waits until each of its threads is stopped. */
export async function freezeGroup(pgid: number, timeoutMs = 2000): Promise<void> {
  signalGroup(pgid, 'SIGSTOP');
  if (process.platform !== 'linux') return;
  const until = performance.now() + timeoutMs;
  for (;;) {
    const running = runningThreadsOfGroup(pgid);
    if (running === 0) return;
    if (performance.now() > until) {
      throw new Error(
        `bench: process group ${pgid} still had ${running} running thread(s) ${timeoutMs} ms after SIGSTOP`,
      );
    }
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Continues a stopped process group. */
export function thawGroup(pgid: number): void {
  signalGroup(pgid, 'SIGCONT');
}

/** Sends a signal to a process group; false when the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw e;
  }
}

/**
 * Linux: the threads of the processes of group `pgid` that are not stopped (state other than
 * `T`, `t`, or a zombie's `Z`/`X`), from /proc.
 */
export function runningThreadsOfGroup(pgid: number): number {
  let running = 0;
  for (const pid of processesOfGroup(pgid)) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue; // exited meanwhile
    }
    for (const tid of tids) {
      const s = readStat(`/proc/${pid}/task/${tid}/stat`);
      if (s && !'TtZX'.includes(s.state)) running++;
    }
  }
  return running;
}

/** Linux: CPU time (user + system, in clock ticks) of every thread of a process, from /proc. */
export function cpuTicksOf(pid: number): number {
  const s = readStat(`/proc/${pid}/stat`);
  if (!s) throw new Error(`bench: no process ${pid}`);
  return s.utime + s.stime;
}

/** Linux: the ids of the processes in group `pgid` (the leader first, when it still exists). */
export function processesOfGroup(pgid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    if (pid === pgid) {
      out.unshift(pid);
      continue;
    }
    const s = readStat(`/proc/${name}/stat`);
    if (s?.pgrp === pgid) out.push(pid);
  }
  return out;
}

interface Stat {
  readonly state: string;
  readonly pgrp: number;
  readonly utime: number;
  readonly stime: number;
}

/** Parses /proc/PID/stat (the command name may hold spaces and parentheses: split after the last ')'). */
function readStat(path: string): Stat | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // Fields from 3 on (state, ppid, pgrp, …, utime = 14, stime = 15), here from index 0.
  return { state: f[0]!, pgrp: Number(f[2]), utime: Number(f[11]), stime: Number(f[12]) };
}
