import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import { type CheckResult, gatesOf, type Problem, reorderBlocks, swap01, transpose2d } from '../problem.js';
import type { Workload } from '../workloads.js';
import type { Runner, SystemSpec } from './types.js';

/**
 * TensorFlow.js with its cpu and wasm backends: `tf.layers.lstm` / `tf.layers.gru` with our
 * weights, training through `tf.variableGrads`. Keras layouts: kernel `[D, G·H]` (our
 * `weight_ih` transposed), one bias (our two summed), gates i,f,c,o for the LSTM (ours i,f,g,o) and
 * z,r,h for the GRU (ours r,z,n). tfjs-layers' GRU applies the reset gate before the recurrent
 * matmul (Cho et al. 2014) and has no reset-after option, so it runs only reset-before GRUs.
 */
export const TFJS_SYSTEMS: SystemSpec[] = (['cpu', 'wasm'] as const).map((backend) => ({
  id: `tfjs-${backend}`,
  backend,
  ours: false,
  // tfjs-backend-wasm runs its single-threaded build in Node (the threaded one needs a browser's
  // cross-origin isolation), so one thread for both.
  threads: [1],
  module: 'tfjs',
  supports: (w: Workload) =>
    w.cell === 'gru' && (w.resetAfter ?? true)
      ? "tfjs-layers' GRU has no reset-after variant (PyTorch's GRU)"
      : null,
  available: async () => null,
}));

/** Keras gate order from ours: LSTM the same; GRU z,r,h from r,z,n (the swap is its own inverse). */
const KERAS_ORDER = { lstm: [0, 1, 2, 3], gru: [1, 0, 2] } as const;

export async function create(system: string, _threads: number, problem: Problem): Promise<Runner> {
  const tf = (await import('@tensorflow/tfjs')) as typeof TF;
  const backendName = system === 'tfjs-wasm' ? 'wasm' : 'cpu';
  let threads = 1;
  if (backendName === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const require = createRequire(import.meta.url);
    wasm.setWasmPaths(
      `${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out')}/`,
    );
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend failed to initialise');
    threads = wasm.getThreadsCount();
  } else if (!(await tf.setBackend('cpu'))) throw new Error('tfjs: the cpu backend failed to initialise');
  await tf.ready();

  const w = problem.workload;
  const { B, T, D, H } = w.shape;
  const G = gatesOf(w);
  const order = KERAS_ORDER[w.cell];
  const { weight_ih_l0: wih, weight_hh_l0: whh, bias_ih_l0: bih, bias_hh_l0: bhh } = problem.weights;
  const bias = new Float32Array(G * H);
  for (let i = 0; i < bias.length; i++) bias[i] = bih[i]! + bhh[i]!;
  const kernel = tf.tensor2d(transpose2d(reorderBlocks(wih, G, D, order), G * H, D), [D, G * H]);
  const recurrent = tf.tensor2d(transpose2d(reorderBlocks(whh, G, H, order), G * H, H), [H, G * H]);
  const biasT = tf.tensor1d(reorderBlocks(bias, G, 1, order));

  const stream = w.mode === 'stream';
  const options = {
    units: H,
    returnSequences: true,
    returnState: true,
    recurrentActivation: 'sigmoid' as const,
    kernelInitializer: 'zeros' as const,
    recurrentInitializer: 'zeros' as const,
    biasInitializer: 'zeros' as const,
  };
  const layer = w.cell === 'lstm' ? tf.layers.lstm(options) : tf.layers.gru(options);
  // The first call builds the layer (its weights' shapes do not depend on T); then our weights go in.
  const probe = tf.zeros([B, stream ? 1 : T, D]);
  tf.dispose([probe, ...(layer.apply(probe) as TF.Tensor[])]);
  layer.setWeights([kernel, recurrent, biasT]);
  tf.dispose([kernel, recurrent, biasT]);

  const toTimeMajor = (y: TF.Tensor) => swap01(y.dataSync() as Float32Array, B, T, H);
  const states = (outs: TF.Tensor[]) => outs.slice(1);
  const zerosStates = () => (w.cell === 'lstm' ? [tf.zeros([B, H]), tf.zeros([B, H])] : [tf.zeros([B, H])]);

  if (stream) {
    const xt: TF.Tensor[] = [];
    for (let t = 0; t < T; t++) xt.push(tf.tensor3d(problem.x.slice(t * B * D, (t + 1) * B * D), [B, 1, D]));
    const init = zerosStates();
    const go = async (): Promise<TF.Tensor[]> => {
      let s = init;
      for (let t = 0; t < T; t++) {
        const outs = layer.apply(xt[t]!, { initialState: s }) as TF.Tensor[];
        if (s !== init) tf.dispose(s);
        tf.dispose(outs[0]!);
        s = states(outs);
      }
      await s[0]!.data();
      return s;
    };
    return {
      threads,
      async check() {
        const s = await go();
        const r: CheckResult = {
          hN: s[0]!.dataSync() as Float32Array,
          ...(s[1] ? { cN: s[1].dataSync() as Float32Array } : {}),
        };
        tf.dispose(s);
        return r;
      },
      async run() {
        tf.dispose(await go());
      },
      async dispose() {
        tf.dispose([...xt, ...init]);
        layer.dispose();
      },
    };
  }

  const x = tf.tensor3d(swap01(problem.x, T, B, D), [B, T, D]);
  const target = tf.tensor3d(swap01(problem.target, T, B, H), [B, T, H]);
  const kernelName = layer.trainableWeights[0]!.name;

  if (w.mode === 'train') {
    const stepOnce = () =>
      tf.variableGrads(() => {
        const outs = layer.apply(x) as TF.Tensor[];
        return tf.mean(tf.squaredDifference(outs[0]!, target)) as TF.Scalar;
      });
    return {
      threads,
      async check() {
        const { value, grads } = stepOnce();
        const gk = grads[kernelName];
        if (!gk) throw new Error(`tfjs: no gradient for the kernel '${kernelName}'`);
        const gradKeras = transpose2d(gk.dataSync() as Float32Array, D, G * H);
        const r: CheckResult = {
          hN: new Float32Array(0),
          loss: value.dataSync()[0]!,
          gradWeightIh: reorderBlocks(gradKeras, G, D, order),
        };
        tf.dispose([value, ...Object.values(grads)]);
        return r;
      },
      async run() {
        const { value, grads } = stepOnce();
        await value.data();
        await grads[kernelName]!.data();
        tf.dispose([value, ...Object.values(grads)]);
      },
      async dispose() {
        tf.dispose([x, target]);
        layer.dispose();
      },
    };
  }

  return {
    threads,
    async check() {
      const outs = layer.apply(x) as TF.Tensor[];
      const [, h, c] = outs;
      const r: CheckResult = {
        output: toTimeMajor(outs[0]!),
        hN: h!.dataSync() as Float32Array,
        ...(c ? { cN: c.dataSync() as Float32Array } : {}),
      };
      tf.dispose(outs);
      return r;
    },
    async run() {
      const outs = layer.apply(x) as TF.Tensor[];
      await outs[0]!.data();
      tf.dispose(outs);
    },
    async dispose() {
      tf.dispose([x, target]);
      layer.dispose();
    },
  };
}
