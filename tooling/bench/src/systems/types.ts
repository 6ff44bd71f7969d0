import type { CheckResult, Problem } from '../problem.js';
import type { Workload } from '../workloads.js';

/** One system's prepared workload, living in a child process of its own. */
export interface Runner {
  /** Untimed: runs once and returns what is compared with ours before any timing. */
  check(): Promise<CheckResult>;
  /**
   * The timed work: one training step, one forward pass, or T streamed tokens (results read back).
   * Returns nothing to be timed around the call, or the time in ms it measured itself (a system
   * in another process, such as PyTorch's, timing between device synchronisations without the
   * cost of asking it).
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a runner that returns nothing is timed around the call
  run(): Promise<void | number>;
  /** The thread count the system really uses (some cannot honour a request). */
  readonly threads: number;
  /** What it runs on, for the report (versions, device, adapter). */
  readonly info?: string;
  dispose(): Promise<void>;
}

/** What a system module (`systems/*.ts`) exports, loaded inside the system's process. */
export interface SystemModule {
  create(system: string, threads: number, problem: Problem): Promise<Runner>;
}

/** A system in the table: ours or a peer, on one backend, with the thread counts it can run. */
export interface SystemSpec {
  /** `recur-js`, `tfjs-wasm`, `onnxruntime-web`, … (the `--system` names). */
  readonly id: string;
  /** The backend or engine inside the system: `js`, `wasm`, `cpu`, `native`, `webgpu`. */
  readonly backend: string;
  /** Ours (compared against) or a peer (compared with). */
  readonly ours: boolean;
  /** Thread counts it runs with; the `--threads` option picks among them. */
  readonly threads: readonly number[];
  /** Runs only when named with --system (e.g. it needs a GPU). */
  readonly optIn?: boolean;
  /** The module under `systems/` that runs it (without extension), or a `file:` URL. */
  readonly module: string;
  /** It runs the ONNX model of the layer (`Problem.onnx`), which is then exported for it. */
  readonly needsOnnx?: boolean;
  /** null when the system can run the workload, else why not. */
  supports(w: Workload): string | null;
  /** null when the system can run here (its package is installed and built), else why not. */
  available(): Promise<string | null>;
}
