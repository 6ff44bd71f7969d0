import { createRequire } from 'node:module';
import type * as Ort from 'onnxruntime-node';
import type { CheckResult, Problem } from '../problem.js';
import type { Workload } from '../workloads.js';
import type { Runner, SystemSpec } from './types.js';

/**
 * ONNX Runtime, forward passes only (it does not train): onnxruntime-node (native CPU) and
 * onnxruntime-web (its WebAssembly build, SIMD, run in Node), each with 1 and 2 threads, on the
 * model `@recur/onnx` exports from our layer.
 */
export const ORT_SYSTEMS: SystemSpec[] = [
  { id: 'onnxruntime-node', backend: 'native', pkg: 'onnxruntime-node' },
  { id: 'onnxruntime-web', backend: 'wasm', pkg: 'onnxruntime-web' },
].map(({ id, backend, pkg }) => ({
  id,
  backend,
  ours: false,
  threads: [1, 2],
  module: 'ort',
  needsOnnx: true,
  supports: (w: Workload) =>
    w.mode === 'train' ? 'forward passes only (ONNX Runtime does not train here)' : null,
  available: async () => {
    try {
      createRequire(import.meta.url).resolve(pkg);
      return null;
    } catch {
      return `${pkg} is not installed`;
    }
  },
}));

type OrtModule = typeof Ort & { env: Ort.Env };

export async function create(system: string, threads: number, problem: Problem): Promise<Runner> {
  const ort = (system === 'onnxruntime-web'
    ? await import('onnxruntime-web')
    : await import('onnxruntime-node')) as unknown as OrtModule;
  if (!problem.onnx) throw new Error(`${system}: the problem has no ONNX model (forward workloads only)`);
  if (system === 'onnxruntime-web') {
    // The wasm thread pool is sized once per process (here: per system process).
    ort.env.wasm.numThreads = threads;
    ort.env.wasm.simd = true;
  }
  const session = await ort.InferenceSession.create(problem.onnx, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const w = problem.workload;
  const { B, T, D, H } = w.shape;
  const lstm = w.cell === 'lstm';
  const zerosState = (): Ort.Tensor => new ort.Tensor('float32', new Float32Array(B * H), [1, B, H]);
  const f32 = (t: Ort.Tensor | undefined) => Float32Array.from(t!.data as Float32Array);

  if (w.mode === 'stream') {
    const xt: Ort.Tensor[] = [];
    for (let t = 0; t < T; t++)
      xt.push(new ort.Tensor('float32', problem.x.slice(t * B * D, (t + 1) * B * D), [1, B, D]));
    const go = async () => {
      let h = zerosState();
      let c = zerosState();
      for (let t = 0; t < T; t++) {
        const feeds: Record<string, Ort.Tensor> = { input: xt[t]!, h0: h };
        if (lstm) feeds.c0 = c;
        const out = await session.run(feeds);
        h = out.hn!;
        if (lstm) c = out.cn!;
      }
      return { h, c };
    };
    return {
      threads,
      async check() {
        const { h, c } = await go();
        return { hN: f32(h), ...(lstm ? { cN: f32(c) } : {}) };
      },
      async run() {
        await go();
      },
      async dispose() {
        await session.release();
      },
    };
  }

  const feeds: Record<string, Ort.Tensor> = {
    input: new ort.Tensor('float32', problem.x, [T, B, D]),
    h0: zerosState(),
  };
  if (lstm) feeds.c0 = zerosState();
  return {
    threads,
    async check(): Promise<CheckResult> {
      const out = await session.run(feeds);
      return { output: f32(out.output), hN: f32(out.hn), ...(lstm ? { cN: f32(out.cn) } : {}) };
    },
    async run() {
      await session.run(feeds);
    },
    async dispose() {
      await session.release();
    },
  };
}
