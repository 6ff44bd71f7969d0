import { parentPort, workerData } from 'node:worker_threads';
import type { Problem } from './problem.js';
import type { Runner, SystemModule } from './systems/types.js';

/**
 * One system on one workload, in a worker thread of its own (so that each system's global state
 * — tfjs's active backend, onnxruntime-web's thread pool — is its own). The main thread sends
 * `check`, `run` and `close`; `run` answers with the time of the work alone.
 */
export interface WorkerInit {
  readonly module: string;
  readonly system: string;
  readonly threads: number;
  readonly problem: Problem;
}
export type Request = { type: 'check' } | { type: 'run' } | { type: 'close' };
export type Reply =
  | { type: 'ready'; threads: number }
  | { type: 'checked'; result: import('./problem.js').CheckResult; ms: number }
  | { type: 'ran'; ms: number }
  | { type: 'closed' }
  | { type: 'error'; message: string };

const port = parentPort;
if (!port) throw new Error('worker.js runs as a worker thread');
const init = workerData as WorkerInit;
const reply = (r: Reply) => port.postMessage(r);
let runner: Runner | undefined;

try {
  const mod = (await import(`./systems/${init.module}.js`)) as SystemModule;
  runner = await mod.create(init.system, init.threads, init.problem);
  reply({ type: 'ready', threads: runner.threads });
} catch (e) {
  reply({ type: 'error', message: messageOf(e) });
}

port.on('message', async (req: Request) => {
  try {
    if (!runner) throw new Error('not initialised');
    if (req.type === 'check') {
      const t0 = performance.now();
      const result = await runner.check();
      reply({ type: 'checked', result, ms: performance.now() - t0 });
    } else if (req.type === 'run') {
      const t0 = performance.now();
      await runner.run();
      reply({ type: 'ran', ms: performance.now() - t0 });
    } else {
      await runner.dispose();
      reply({ type: 'closed' });
      port.close();
    }
  } catch (e) {
    reply({ type: 'error', message: messageOf(e) });
  }
});

function messageOf(e: unknown): string {
  return e instanceof Error ? `${e.message}${e.stack ? `\n${e.stack}` : ''}` : String(e);
}
