import { type ChildProcess, fork } from 'node:child_process';
import type { ChildInit, Reply, Request } from './child.js';
import { freezeGroup, type Isolation, signalGroup, thawGroup } from './isolation.js';
import type { CheckResult, Problem } from './problem.js';
import type { SystemSpec } from './systems/types.js';

const childUrl = import.meta.url.endsWith('.ts')
  ? new URL('../dist/child.js', import.meta.url)
  : new URL('./child.js', import.meta.url);

/** Every system process not yet closed: what the exit and signal handlers kill. */
const live = new Set<SystemProcess>();

/** The system processes of this process that are still running (for tests and diagnostics). */
export function liveSystemProcesses(): readonly { readonly label: string; readonly pid: number }[] {
  return [...live].map((p) => ({ label: p.label, pid: p.pid }));
}

/** Kills every system process at once (SIGKILL, whole process groups); synchronous, for exit handlers. */
function killAll(): void {
  for (const p of live) p.kill();
}

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let installed = 0;
const onSignal = (signal: NodeJS.Signals) => {
  killAll();
  // When ours was the only handler, the signal now does what it would have done without it.
  if (process.listenerCount(signal) === 1) {
    uninstallHandlers(true);
    process.kill(process.pid, signal);
  }
};

/**
 * While a run is going on, an exit or a signal of this process takes its system processes with
 * it: a frozen one would otherwise stay stopped forever. Counted, for nested runs.
 */
export function installHandlers(): void {
  if (installed++ > 0) return;
  process.on('exit', killAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}

export function uninstallHandlers(all = false): void {
  if (all) installed = 1;
  if (installed === 0 || --installed > 0) return;
  process.removeListener('exit', killAll);
  for (const s of SIGNALS) process.removeListener(s, onSignal);
}

export interface SystemProcessOptions {
  readonly isolation: Isolation;
  /** `settle`: the wait after each turn, in ms. */
  readonly settleMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A child process running one system on one workload; one request at a time. Under `freeze`, the
 * process (its whole process group) is stopped except during its own requests.
 */
export class SystemProcess {
  private readonly child: ChildProcess;
  private pending: { what: string; resolve: (r: Reply) => void; reject: (e: Error) => void } | null = null;
  private exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly exited: Promise<void>;
  private frozen = false;
  private closed = false;
  threads: number;
  /** What the system said it runs on (versions, device), once started. */
  info: string | undefined;

  constructor(
    readonly spec: SystemSpec,
    requested: number,
    private readonly problem: Problem,
    private readonly options: SystemProcessOptions,
  ) {
    this.threads = requested;
    const freeze = options.isolation === 'freeze';
    this.child = fork(childUrl, [], {
      // Its own process group (the group id is its pid), so that freezing it freezes any
      // process it starts too.
      detached: freeze,
      // The parent's stdout carries the report: a system's own prints go to stderr.
      stdio: ['ignore', 2, 'inherit', 'ipc'],
      serialization: 'advanced',
      execArgv: [],
    });
    if (this.child.pid === undefined) throw new Error(`${this.label}: could not start a process`);
    live.add(this);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        live.delete(this);
        const p = this.pending;
        this.pending = null;
        p?.reject(new Error(`${this.label}: ${this.exitDescription} while it was asked to ${p.what}`));
        resolve();
      });
    });
    this.child.on('message', (r: Reply) => {
      const p = this.pending;
      this.pending = null;
      if (!p) return;
      if (r.type === 'error') p.reject(new Error(`${this.label}: ${r.message}`));
      else p.resolve(r);
    });
    this.child.on('error', (e) => {
      const p = this.pending;
      this.pending = null;
      p?.reject(new Error(`${this.label}: ${e.message}`));
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get label(): string {
    return `${this.spec.id} (${this.threads} thread${this.threads === 1 ? '' : 's'})`;
  }

  private get exitDescription(): string {
    const e = this.exit;
    if (!e) return 'its process is running';
    return e.signal ? `its process was killed by ${e.signal}` : `its process exited with code ${e.code}`;
  }

  private request(req: Request, what: string): Promise<Reply> {
    if (this.pending) return Promise.reject(new Error(`${this.label}: a request is already pending`));
    if (this.exit) return Promise.reject(new Error(`${this.label}: ${this.exitDescription}`));
    return new Promise<Reply>((resolve, reject) => {
      this.pending = { what, resolve, reject };
      this.child.send(req, (e) => {
        if (e && this.pending) {
          this.pending = null;
          reject(new Error(`${this.label}: could not send '${req.type}': ${e.message}`));
        }
      });
    });
  }

  /**
   * One turn: the process is continued, answers the request, and is frozen again (`freeze`), or
   * the parent waits for its pools to go quiet (`settle`).
   */
  private async turn(req: Request, what: string): Promise<Reply> {
    this.thaw();
    try {
      return await this.request(req, what);
    } finally {
      await this.freeze();
    }
  }

  private thaw(): void {
    if (this.frozen && !this.exit) thawGroup(this.pid);
    this.frozen = false;
  }

  private async freeze(): Promise<void> {
    if (this.exit) return;
    if (this.options.isolation === 'freeze') {
      await freezeGroup(this.pid);
      this.frozen = true;
    } else await sleep(this.options.settleMs);
  }

  /** Whether the process is stopped between its turns now. */
  get isFrozen(): boolean {
    return this.frozen;
  }

  /** Sends the problem, waits until the system is ready (its thread count known), then freezes it. */
  async start(): Promise<void> {
    const init: ChildInit = {
      module: this.spec.module,
      system: this.spec.id,
      threads: this.threads,
      problem: this.problem,
    };
    const r = await this.turn({ type: 'init', init }, 'start');
    if (r.type === 'ready') {
      this.threads = r.threads;
      this.info = r.info;
    }
  }

  /** The check run: its results, and how long it took (it is the first warm-up run too). */
  async check(): Promise<{ result: CheckResult; ms: number }> {
    const r = await this.turn({ type: 'check' }, 'run its check');
    if (r.type !== 'checked') throw new Error(`${this.label}: expected a check result, found '${r.type}'`);
    return { result: r.result, ms: r.ms };
  }

  /** One timed run (ms, measured inside the child around the work alone). */
  async run(): Promise<number> {
    const r = await this.turn({ type: 'run' }, 'run');
    if (r.type !== 'ran') throw new Error(`${this.label}: expected a timing, found '${r.type}'`);
    return r.ms;
  }

  /**
   * Asks the system to release what it holds and waits for its process to exit; one that does not
   * within `graceMs` (or is busy with another request) is killed. Never throws.
   */
  async close(graceMs = 5000): Promise<void> {
    if (this.closed) return this.exited;
    this.closed = true;
    if (!this.exit) {
      this.thaw();
      if (!this.pending) this.request({ type: 'close' }, 'close').catch(() => {});
      const timer = setTimeout(() => this.kill(), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    // A helper process it started (in its process group) goes with it.
    if (this.options.isolation === 'freeze') signalGroup(this.pid, 'SIGKILL');
  }

  /** Kills the process group at once (synchronous). */
  kill(): void {
    if (this.exit) return;
    if (this.options.isolation === 'freeze') {
      signalGroup(this.pid, 'SIGKILL');
    } else this.child.kill('SIGKILL');
  }
}
