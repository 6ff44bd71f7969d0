import type { Backend, MemoryInfo } from '../backend.js';
import { randn, tensor, zeros } from '../creation.js';
import { engine } from '../engine.js';
import { RecurError } from '../errors.js';
import { mul, sub, tanh } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import { crossEntropy } from '../ops/nn.js';
import { concat, expandDims, reshape, slice } from '../ops/shape-ops.js';

/**
 * Trains a tiny Elman RNN for `steps` iterations (forward over time, backward, SGD update) and
 * checks that the backend's live buffers and bytes after the last step equal those after the first.
 */
export async function trainingLoopMemoryCheck(backend: Backend, steps = 50): Promise<void> {
  const on = { backend };
  const wx = randn([3, 8], { ...on, seed: 1, std: 0.3, requiresGrad: true });
  const wh = randn([8, 8], { ...on, seed: 2, std: 0.3, requiresGrad: true });
  const wy = randn([8, 3], { ...on, seed: 3, std: 0.3, requiresGrad: true });
  const x = randn([2, 5, 3], { ...on, seed: 4 });
  const y = tensor([0, 1, 2, 0, 1, 2, 1, 0, 2, 1], [2, 5], { ...on, dtype: 'i32' });
  const params = [wx, wh, wy];
  let first: MemoryInfo | null = null;
  for (let step = 0; step < steps; step++) {
    engine.tidy(() => {
      let h = zeros([2, 8], on);
      const logits = [];
      for (let t = 0; t < 5; t++) {
        const xt = reshape(slice(x, [0, t, 0], [2, t + 1, 3]), [2, 3]);
        h = tanh(matmul(xt, wx).add(matmul(h, wh)));
        logits.push(expandDims(matmul(h, wy), 1));
      }
      crossEntropy(concat(logits, 1), y).backward();
      engine.noGrad(() => {
        for (const p of params) {
          p.assign(sub(p, mul(p.grad!, 0.1)));
          p.zeroGrad();
        }
      });
    });
    await backend.sync();
    if (step === 0) first = backend.memory();
  }
  const last = backend.memory();
  for (const t of [...params, x, y]) t.dispose();
  if (!first || last.buffers !== first.buffers || last.bytes !== first.bytes) {
    throw new RecurError(
      `training-loop memory: expected live buffers and bytes to stay at ${JSON.stringify(first)} over ${steps} steps, found ${JSON.stringify(last)}: something leaks per step.`,
    );
  }
}
