import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { JsBackend } from '@recur/backend-js';
import { type CellWeights, gruStep, lstmStep } from '@recur/cells';
import { type CompiledScan, compileScan, type ScanSpec, type StepFn } from '@recur/graph-compiler';
import { type Backend, engine, fromData, setBackend, type Tensor, zeros } from '@recur/tensor';
import type { CheckResult, Problem } from '../problem.js';
import type { Workload } from '../workloads.js';
import type { Runner, SystemSpec } from './types.js';

/**
 * Our backends. recur-js is a dependency; the others are loaded from their package where it is
 * installed beside this one (a `node_modules` above it, as in the GPU pack of `gpu/pack.mjs`), else
 * from the repository when it is built there (`packages/NAME/dist/`), and skipped with the reason
 * otherwise. Each entry says how to create the backend with a number of threads, and which threads
 * it really got.
 */
interface RecurBackendEntry {
  /** The package's name and its folder in the repository, for backends loaded when present. */
  readonly pkg?: string;
  readonly dir?: string;
  /** The module inside `dist/` that `create` receives. */
  readonly entry?: string;
  readonly backend: string;
  readonly threads: readonly number[];
  /** Runs only when named with --system (it needs hardware this machine may not have). */
  readonly optIn?: boolean;
  create(
    mod: Record<string, unknown>,
    threads: number,
  ): Promise<{ backend: Backend; threads: number; info?: string }>;
}

const RECUR_BACKENDS: Readonly<Record<string, RecurBackendEntry>> = {
  'recur-js': {
    backend: 'js',
    threads: [1],
    create: async () => ({ backend: new JsBackend(), threads: 1 }),
  },
  'recur-wasm': {
    pkg: '@recur/backend-wasm',
    dir: 'packages/backend-wasm',
    entry: 'index.js',
    backend: 'wasm',
    threads: [1, 2],
    create: async (mod, threads) => {
      const cls = mod.WasmBackend as {
        create(o: { threads: number }): Promise<Backend & { threadingInfo?: { threads: number } }>;
      };
      const backend = await cls.create({ threads });
      return { backend, threads: backend.threadingInfo?.threads ?? threads };
    },
  },
  'recur-webgpu': {
    pkg: '@recur/backend-webgpu',
    dir: 'packages/backend-webgpu',
    entry: 'node.js',
    backend: 'webgpu',
    threads: [1],
    optIn: true,
    create: async (mod) => {
      type Info = { vendor: string; architecture: string; description: string };
      const create = mod.createNodeWebGpuBackend as () => Promise<Backend & { adapterInfo?: Info }>;
      const backend = await create();
      const a = backend.adapterInfo;
      const info = a ? [a.vendor, a.description || a.architecture].filter(Boolean).join(' ') : undefined;
      return { backend, threads: 1, ...(info ? { info: `Dawn, ${info}` } : {}) };
    },
  },
};

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..', '..', '..');

/**
 * The backend's `dist/` module: in an installed package (a `node_modules` folder above this
 * file), else in the repository's package folder; null when neither has it.
 */
export function distEntry(b: RecurBackendEntry): string | null {
  if (!b.entry) return null;
  for (let dir = here; ; dir = dirname(dir)) {
    const path = join(dir, 'node_modules', ...b.pkg!.split('/'), 'dist', b.entry);
    if (existsSync(path)) return path;
    if (dirname(dir) === dir) break;
  }
  const local = join(repoRoot, b.dir!, 'dist', b.entry);
  return existsSync(local) ? local : null;
}

export const RECUR_SYSTEMS: SystemSpec[] = Object.entries(RECUR_BACKENDS).map(([id, b]) => ({
  id,
  backend: b.backend,
  ours: true,
  threads: b.threads,
  module: 'recur',
  ...(b.optIn ? { optIn: true } : {}),
  supports: () => null,
  available: async () => {
    if (!b.pkg || distEntry(b)) return null;
    return `${b.dir} is not built here (no ${b.pkg} installed, no ${b.dir}/dist/${b.entry})`;
  },
}));

async function makeBackend(
  system: string,
  threads: number,
): Promise<{ backend: Backend; threads: number; info?: string }> {
  const b = RECUR_BACKENDS[system];
  if (!b) throw new Error(`recur: unknown system '${system}'`);
  let mod: Record<string, unknown> = {};
  if (b.pkg) {
    const path = distEntry(b);
    if (!path) throw new Error(`recur: ${b.pkg} is neither installed nor built in ${b.dir}`);
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  }
  return b.create(mod, threads);
}

const weightsOf = (p: Readonly<Record<string, Tensor>>): CellWeights => ({
  weightIh: p.weight_ih_l0!,
  weightHh: p.weight_hh_l0!,
  biasIh: p.bias_ih_l0!,
  biasHh: p.bias_hh_l0!,
});

/** One layer's step with PyTorch's parameter names; the carry `h` (and `c`), the output `h`. */
export function stepOf(w: Workload): StepFn {
  if (w.cell === 'lstm') {
    return ({ h, c }, { x }, p) => {
      const s = lstmStep(x!, h!, c!, weightsOf(p));
      return { carry: { h: s.h, c: s.c }, y: { h: s.h } };
    };
  }
  const resetAfter = w.resetAfter ?? true;
  return ({ h }, { x }, p) => {
    const h2 = gruStep(x!, h!, weightsOf(p), { resetAfter });
    return { carry: { h: h2 }, y: { h: h2 } };
  };
}

function specOf(w: Workload, problem: Problem): ScanSpec {
  const { B, D, H } = w.shape;
  const carry: Record<string, { shape: number[] }> = { h: { shape: [B, H] } };
  if (w.cell === 'lstm') carry.c = { shape: [B, H] };
  const params: Record<string, { shape: number[] }> = {};
  for (const [k, v] of Object.entries(problem.weights)) {
    params[k] = {
      shape: k.startsWith('weight')
        ? [v.length / (k.includes('_ih') ? D : H), k.includes('_ih') ? D : H]
        : [v.length],
    };
  }
  return { carry, xs: { x: { shape: [B, D] } }, params };
}

const dispose = (...ts: (Tensor | undefined)[]) => {
  for (const t of ts) t?.dispose();
};

const f32 = async (t: Tensor): Promise<Float32Array> => Float32Array.from(await t.data());

export async function create(system: string, requested: number, problem: Problem): Promise<Runner> {
  const { backend, threads, info } = await makeBackend(system, requested);
  setBackend(backend);
  // A backend that reads asynchronously (WebGPU) cannot trace the step: a CPU backend does.
  const host = backend.readSync ? undefined : new JsBackend();
  const releaseBackends = () => {
    host?.dispose();
    backend.dispose();
  };
  const w = problem.workload;
  const { B, T, D, H } = w.shape;
  const spec = specOf(w, problem);
  const params: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(problem.weights)) params[k] = fromData(v, spec.params[k]!.shape);
  const carryNames = w.cell === 'lstm' ? ['h', 'c'] : ['h'];
  const zerosState = () => Object.fromEntries(carryNames.map((k) => [k, zeros([B, H])]));
  const init = zerosState();

  if (w.mode === 'stream') {
    const compiled = engine.withBackend(backend, () =>
      compileScan(stepOf(w), spec, { steps: 1, backend, ...(host ? { host } : {}) }),
    );
    const xt: Tensor[] = [];
    for (let t = 0; t < T; t++) xt.push(fromData(problem.x.subarray(t * B * D, (t + 1) * B * D), [1, B, D]));
    const stream = async (): Promise<Record<string, Tensor>> => {
      let state = init;
      for (let t = 0; t < T; t++) {
        const out = compiled.forward(state, { x: xt[t]! }, params);
        if (state !== init) dispose(...Object.values(state));
        dispose(out.ys.h);
        state = out.final;
      }
      await state.h!.data();
      return state;
    };
    return {
      threads,
      ...(info ? { info } : {}),
      async check() {
        const s = await stream();
        const r: CheckResult = { hN: await f32(s.h!), ...(s.c ? { cN: await f32(s.c) } : {}) };
        dispose(...Object.values(s));
        return r;
      },
      async run() {
        dispose(...Object.values(await stream()));
      },
      async dispose() {
        compiled.dispose();
        dispose(...xt, ...Object.values(init), ...Object.values(params));
        releaseBackends();
      },
    };
  }

  const train = w.mode === 'train';
  const compiled: CompiledScan = engine.withBackend(backend, () =>
    compileScan(stepOf(w), spec, { steps: T, train, backend, ...(host ? { host } : {}) }),
  );
  const x = fromData(problem.x, [T, B, D]);
  const target = fromData(problem.target, [T, B, H]);
  const scale = fromData(new Float32Array([2 / (T * B * H)]), []);
  const dfinal = zerosState();

  /** Forward (and, training, the loss and the backward pass); the caller disposes the results. */
  const step = () => {
    const out = compiled.forward(init, { x }, params);
    if (!train) return { out };
    const diff = out.ys.h!.sub(target);
    const sq = diff.mul(diff);
    const loss = sq.mean();
    const dy = diff.mul(scale);
    dispose(sq, diff);
    const grads = compiled.backward(dfinal, { h: dy });
    dispose(dy);
    return { out, loss, grads };
  };
  const release = (r: ReturnType<typeof step>) => {
    dispose(...Object.values(r.out.final), ...Object.values(r.out.ys), r.loss);
    if (r.grads) for (const g of Object.values(r.grads)) dispose(...Object.values(g));
  };

  return {
    threads,
    ...(info ? { info } : {}),
    async check() {
      const r = step();
      const result: CheckResult = train
        ? {
            hN: await f32(r.out.final.h!),
            loss: (await r.loss!.data())[0]!,
            gradWeightIh: await f32(r.grads!.params.weight_ih_l0!),
          }
        : {
            output: await f32(r.out.ys.h!),
            hN: await f32(r.out.final.h!),
            ...(r.out.final.c ? { cN: await f32(r.out.final.c) } : {}),
          };
      release(r);
      return result;
    },
    async run() {
      const r = step();
      // Read back what a user would: the loss and a gradient, or the outputs.
      if (train) {
        await r.loss!.data();
        await r.grads!.params.weight_ih_l0!.data();
      } else await r.out.ys.h!.data();
      release(r);
    },
    async dispose() {
      compiled.dispose();
      dispose(x, target, scale, ...Object.values(init), ...Object.values(dfinal), ...Object.values(params));
      releaseBackends();
    },
  };
}
