import { JsBackend } from '@recur/backend-js';
import { GRU, LSTM } from '@recur/cells';
import { engine, fromData, type Tensor } from '@recur/tensor';
import { describe, expect, it } from 'vitest';
import { makeProblem, onnxModelOf, type Problem } from '../src/problem.js';
import { compareWithOurs } from '../src/run.js';
import { maxAbsDiff } from '../src/stats.js';
import * as ort from '../src/systems/ort.js';
import * as recur from '../src/systems/recur.js';
import * as tfjs from '../src/systems/tfjs.js';
import { selectWorkloads } from '../src/workloads.js';

const SMALL = { B: 2, T: 4, D: 3, H: 5 };
const workloads = selectWorkloads(['W1', 'W2', 'W3', 'W4'], SMALL);

/** Our layer, eager, on the problem's weights and inputs: outputs, final states, loss and d weight_ih. */
function eager(problem: Problem) {
  const backend = new JsBackend();
  return engine.withBackend(backend, () => {
    const w = problem.workload;
    const { B, T, D, H } = w.shape;
    const o = { inputSize: D, hiddenSize: H, seed: 1 };
    const layer = w.cell === 'lstm' ? new LSTM(o) : new GRU({ ...o, resetAfter: w.resetAfter ?? true });
    const x = fromData(problem.x, [T, B, D]);
    const r = (layer as LSTM).forward(x) as { output: Tensor; hN: Tensor; cN?: Tensor };
    const diff = r.output.sub(fromData(problem.target, [T, B, H]));
    const loss = diff.mul(diff).mean();
    loss.backward();
    return {
      output: Float32Array.from(r.output.dataSync()),
      hN: Float32Array.from(r.hN.dataSync()),
      ...(r.cN ? { cN: Float32Array.from(r.cN.dataSync()) } : {}),
      loss: loss.item(),
      gradWeightIh: Float32Array.from(layer.stateDict().get('weight_ih_l0')!.grad!.dataSync()),
    };
  });
}

describe('every system computes what our eager layer computes (small shapes, in-process)', () => {
  for (const w of workloads) {
    it(w.id, async () => {
      const problem = makeProblem(w, 1);
      // ONNX Runtime runs the exported model, which the bench adds for the systems that need it.
      const withOnnx = w.mode === 'train' ? problem : { ...problem, onnx: await onnxModelOf(w, 1) };
      const ref = eager(problem);
      const expected =
        w.mode === 'train' ? { hN: ref.hN, loss: ref.loss, gradWeightIh: ref.gradWeightIh } : ref;
      const modules = [
        ['recur-js', recur],
        ['tfjs-cpu', tfjs],
        ['tfjs-wasm', tfjs],
        ['onnxruntime-node', ort],
        ['onnxruntime-web', ort],
      ] as const;
      for (const [id, mod] of modules) {
        const spec = [...recur.RECUR_SYSTEMS, ...tfjs.TFJS_SYSTEMS, ...ort.ORT_SYSTEMS].find(
          (s) => s.id === id,
        )!;
        if (spec.supports(w)) continue;
        const runner = await mod.create(id, 1, spec.needsOnnx ? withOnnx : problem);
        try {
          const got = await runner.check();
          if (w.mode === 'stream') {
            expect(maxAbsDiff(got.hN, ref.hN).diff, `${id} hN`).toBeLessThan(1e-5);
            expect(maxAbsDiff(got.cN!, ref.cN!).diff, `${id} cN`).toBeLessThan(1e-5);
          } else compareWithOurs(w, id, expected, got);
          await runner.run();
        } finally {
          await runner.dispose();
        }
      }
    });
  }
});
