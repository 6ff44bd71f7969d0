import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { CheckResult, Problem } from '../problem.js';
import type { Workload } from '../workloads.js';
import type { Runner, SystemSpec } from './types.js';

/**
 * PyTorch: `nn.LSTM` / `nn.GRU` (cuDNN on CUDA), f32 with TF32 off, run by `gpu/torch_rnn.py` in
 * a Python process that this system's process starts (in its process group, so it is frozen with
 * it between turns). `pytorch` runs on CUDA, `pytorch-cpu` on the CPU with 1 or 2 threads. Both
 * run only when named with --system. The Python is `$RECUR_BENCH_PYTHON`, else `python3`.
 */
const DEVICES = { pytorch: 'cuda', 'pytorch-cpu': 'cpu' } as const;

export const python = (): string => process.env.RECUR_BENCH_PYTHON || 'python3';

/** The script, in the package (`gpu/` beside `dist/` and `src/`). */
export const TORCH_SCRIPT = fileURLToPath(new URL('../../gpu/torch_rnn.py', import.meta.url));

export const PYTORCH_SYSTEMS: SystemSpec[] = (['pytorch', 'pytorch-cpu'] as const).map((id) => ({
  id,
  backend: DEVICES[id],
  ours: false,
  threads: id === 'pytorch' ? [1] : [1, 2],
  optIn: true,
  module: 'pytorch',
  supports: (w: Workload) =>
    w.cell === 'gru' && !(w.resetAfter ?? true)
      ? "nn.GRU is reset-after (PyTorch's and cuDNN's GRU); this workload is reset-before"
      : null,
  available: () => probeTorch(DEVICES[id]),
}));

/**
 * null when `python` can import torch (and, for `cuda`, sees a CUDA device), else why not, in one
 * line: the Python is missing, torch is missing, or CUDA is.
 */
export async function probeTorch(device: 'cuda' | 'cpu', py = python()): Promise<string | null> {
  try {
    await access(TORCH_SCRIPT);
  } catch {
    return `expected the script ${TORCH_SCRIPT}, found none`;
  }
  const code =
    'import torch, sys; sys.stdout.write(torch.__version__ + " " + str(torch.cuda.is_available()))';
  return new Promise((resolve) => {
    execFile(py, ['-c', code], { timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'ENOENT') {
          resolve(`${py} not found: install Python 3 with PyTorch, or set RECUR_BENCH_PYTHON`);
          return;
        }
        const last = stderr.trim().split('\n').pop() ?? e.message;
        resolve(
          /ModuleNotFoundError|ImportError/.test(last)
            ? `torch not found: ${py} could not import torch (${last}); install PyTorch, or set RECUR_BENCH_PYTHON to a Python that has it`
            : `${py} could not run torch: ${last}`,
        );
        return;
      }
      const [version, cuda] = stdout.trim().split(' ');
      if (device === 'cuda' && cuda !== 'True') {
        resolve(
          `no CUDA device: torch ${version} reports torch.cuda.is_available() False (pytorch-cpu runs on the CPU)`,
        );
        return;
      }
      resolve(null);
    });
  });
}

type PyReply =
  | { type: 'ready'; threads: number; info: string }
  | { type: 'checked'; ms: number; result: Record<string, string | number> }
  | { type: 'ran'; ms: number }
  | { type: 'closed' }
  | { type: 'error'; message: string };

/** A float32 array as base64 of its little-endian bytes (what torch_rnn.py decodes). */
export function encodeF32(a: Float32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

export function decodeF32(s: string): Float32Array {
  const b = Buffer.from(s, 'base64');
  // A copy: the Buffer may sit at an offset in a shared pool that is not 4-byte aligned.
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

/** The `init` message of torch_rnn.py: the workload, the device, and every array of the problem. */
export function initMessage(problem: Problem, device: 'cuda' | 'cpu', threads: number): string {
  const arrays: Record<string, string> = { x: encodeF32(problem.x), target: encodeF32(problem.target) };
  for (const [k, v] of Object.entries(problem.weights)) arrays[k] = encodeF32(v);
  return JSON.stringify({ type: 'init', device, threads, workload: problem.workload, arrays });
}

/** A Python process running torch_rnn.py; one request at a time. */
class TorchProcess {
  private readonly proc: ChildProcess;
  private readonly lines: Interface;
  private waiting: { resolve: (r: PyReply) => void; reject: (e: Error) => void } | null = null;
  private ended: Error | null = null;

  constructor(py: string) {
    this.proc = spawn(py, [TORCH_SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = createInterface({ input: this.proc.stdout! });
    this.lines.on('line', (line) => {
      const w = this.waiting;
      this.waiting = null;
      if (!w) return;
      try {
        w.resolve(JSON.parse(line) as PyReply);
      } catch {
        w.reject(new Error(`torch_rnn.py: expected a JSON reply, found '${line.slice(0, 200)}'`));
      }
    });
    const fail = (e: Error) => {
      this.ended ??= e;
      this.waiting?.reject(e);
      this.waiting = null;
    };
    this.proc.on('error', (e) => fail(new Error(`${py}: ${e.message}`)));
    this.proc.on('exit', (code, signal) =>
      fail(new Error(`torch_rnn.py exited (${signal ?? `code ${code}`}) before answering`)),
    );
    this.proc.stdin!.on('error', () => {}); // a closed pipe shows as the 'exit' above
  }

  ask(message: string): Promise<PyReply> {
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.proc.stdin!.write(`${message}\n`);
    }).then((r) => {
      const reply = r as PyReply;
      if (reply.type === 'error') throw new Error(reply.message);
      return reply;
    });
  }

  kill(): void {
    this.lines.close();
    this.proc.kill('SIGKILL');
  }
}

export async function create(system: string, threads: number, problem: Problem): Promise<Runner> {
  const device = DEVICES[system as keyof typeof DEVICES];
  if (!device) throw new Error(`pytorch: unknown system '${system}'`);
  const torch = new TorchProcess(python());
  let ready: PyReply;
  try {
    ready = await torch.ask(initMessage(problem, device, threads));
  } catch (e) {
    torch.kill();
    throw e;
  }
  if (ready.type !== 'ready') throw new Error(`torch_rnn.py: expected 'ready', found '${ready.type}'`);
  const f32 = (v: string | number | undefined) => (typeof v === 'string' ? decodeF32(v) : undefined);
  return {
    threads: ready.threads,
    info: ready.info,
    async check(): Promise<CheckResult> {
      const r = await torch.ask('{"type":"check"}');
      if (r.type !== 'checked') throw new Error(`torch_rnn.py: expected 'checked', found '${r.type}'`);
      const x = r.result;
      return {
        hN: f32(x.hN)!,
        ...(x.output !== undefined ? { output: f32(x.output)! } : {}),
        ...(x.cN !== undefined ? { cN: f32(x.cN)! } : {}),
        ...(typeof x.loss === 'number' ? { loss: x.loss } : {}),
        ...(x.gradWeightIh !== undefined ? { gradWeightIh: f32(x.gradWeightIh)! } : {}),
      };
    },
    async run(): Promise<number> {
      const r = await torch.ask('{"type":"run"}');
      if (r.type !== 'ran') throw new Error(`torch_rnn.py: expected 'ran', found '${r.type}'`);
      return r.ms;
    },
    async dispose() {
      try {
        await torch.ask('{"type":"close"}');
      } finally {
        torch.kill();
      }
    },
  };
}
