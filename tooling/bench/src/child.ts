import type { CheckResult, Problem } from './problem.js';
import type { Runner, SystemModule } from './systems/types.js';

/**
 * One system on one workload, in a child process of its own (so that each system's global state —
 * tfjs's active backend, onnxruntime's thread pools, a Python process — is its own, and so that
 * the parent can freeze all of it while another system is timed). The parent sends `init` once,
 * then `check`, `run` and `close`, one at a time; `run` answers with the time of the work alone.
 */
export interface ChildInit {
  /** A module under `systems/` (without extension), or a `file:` URL of a module exporting `create`. */
  readonly module: string;
  readonly system: string;
  readonly threads: number;
  readonly problem: Problem;
}
export type Request =
  | { type: 'init'; init: ChildInit }
  | { type: 'check' }
  | { type: 'run' }
  | { type: 'close' };
export type Reply =
  | { type: 'ready'; threads: number; info?: string }
  | { type: 'checked'; result: CheckResult; ms: number }
  | { type: 'ran'; ms: number }
  | { type: 'closed' }
  | { type: 'error'; message: string };

if (!process.send)
  throw new Error('child.js runs as a child process with an IPC channel (child_process.fork)');
const send = (r: Reply): Promise<void> =>
  new Promise((resolve) => {
    // A parent that has gone away cannot be answered; the 'disconnect' handler below exits.
    if (!process.connected) resolve();
    else process.send!(r, undefined, {}, () => resolve());
  });
let runner: Runner | undefined;

// The parent has exited or closed the channel: nothing will ask for more work.
process.on('disconnect', () => process.exit(0));

process.on('message', async (req: Request) => {
  try {
    if (req.type === 'init') {
      const { module, system, threads, problem } = req.init;
      const url = module.startsWith('file:') ? module : `./systems/${module}.js`;
      const mod = (await import(url)) as SystemModule;
      runner = await mod.create(system, threads, problem);
      await send({ type: 'ready', threads: runner.threads, ...(runner.info ? { info: runner.info } : {}) });
      return;
    }
    if (!runner) throw new Error('not initialised');
    if (req.type === 'check') {
      const t0 = performance.now();
      const result = await runner.check();
      await send({ type: 'checked', result, ms: performance.now() - t0 });
    } else if (req.type === 'run') {
      const t0 = performance.now();
      const own = await runner.run();
      await send({ type: 'ran', ms: typeof own === 'number' ? own : performance.now() - t0 });
    } else {
      await runner.dispose();
      await send({ type: 'closed' });
      // Thread pools (onnxruntime-web's, ours) may keep the event loop alive: leave now.
      process.exit(0);
    }
  } catch (e) {
    await send({ type: 'error', message: messageOf(e) });
  }
});

function messageOf(e: unknown): string {
  return e instanceof Error ? `${e.message}${e.stack ? `\n${e.stack}` : ''}` : String(e);
}
