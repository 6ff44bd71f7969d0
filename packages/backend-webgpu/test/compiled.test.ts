import { JsBackend } from '@recur/backend-js';
import { assertClose } from '@recur/tensor/testkit';
import { describe, expect, it } from 'vitest';
import type { WebGpuBackend } from '../src/index.js';
import { type CellKind, cellSpec, hostEnv, Replay, upload } from './cells.js';
import { backend, createBackend, gpuAvailable, skipReason } from './gpu.js';

/**
 * Compiled recurrent layers (forward and training) replayed on WebGPU agree with the same plan
 * replayed on the reference backend, and a whole sequence goes to the device as one submit.
 */
const CASES: { cell: CellKind; b: number; t: number; d: number; h: number }[] = [
  { cell: 'lstm', b: 3, t: 5, d: 4, h: 6 },
  { cell: 'gru', b: 3, t: 5, d: 4, h: 6 },
  { cell: 'rnn', b: 2, t: 4, d: 3, h: 5 },
  { cell: 'lstm', b: 8, t: 12, d: 24, h: 40 },
  { cell: 'gru', b: 8, t: 12, d: 24, h: 40 },
];

async function compare(
  cell: CellKind,
  b: number,
  t: number,
  d: number,
  h: number,
  train: boolean,
  on: Promise<WebGpuBackend> = backend(),
) {
  const gpu = await on;
  const js = new JsBackend();
  const spec = cellSpec(cell, b, d, h);
  const host = hostEnv(spec, t, 11, train);
  const ref = Replay.compile(cell, spec, t, train, js, js);
  const dev = Replay.compile(cell, spec, t, train, gpu, js);
  const refEnv = upload(host, js);
  const devEnv = upload(host, gpu);
  await gpu.sync();

  const before = gpu.stats();
  ref.forward(refEnv);
  dev.forward(devEnv);
  if (train) {
    ref.backward(refEnv);
    dev.backward(devEnv);
  }
  const refOut = ref.outputs(train);
  const devOut = dev.outputs(train);
  const encoded = gpu.stats();
  expect(encoded.submits).toBe(before.submits);
  // The first read submits the whole sequence (forward and backward) as one command buffer.
  const first = [...devOut.values()][0]!;
  await first.data();
  expect(gpu.stats().submits).toBe(before.submits + 1);

  for (const [name, r] of refOut) {
    const found = await devOut.get(name)!.data();
    const expected = r.dataSync();
    const scale = name.startsWith('dparam') || name.startsWith('dxs') ? b * t : 1;
    assertClose(`${cell} ${name}`, Array.from(found), Array.from(expected), 'f32', { absScale: 20 * scale });
    // Also a relative check against the largest magnitude, so that large gradients are held to f32 precision.
    let worst = 0;
    let big = 0;
    for (let i = 0; i < expected.length; i++) {
      worst = Math.max(worst, Math.abs(found[i]! - expected[i]!));
      big = Math.max(big, Math.abs(expected[i]!));
    }
    expect(worst).toBeLessThanOrEqual(1e-5 * Math.max(1, big) * Math.sqrt(scale) * 10);
  }
  for (const v of [...refOut.values(), ...devOut.values(), ...refEnv.values(), ...devEnv.values()])
    v.dispose();
  ref.dispose();
  dev.dispose();
}

if (gpuAvailable) {
  describe('compiled recurrent layers on webgpu match the js backend', () => {
    for (const c of CASES) {
      const name = `${c.cell} B=${c.b} T=${c.t} D=${c.d} H=${c.h}`;
      it(`${name}: forward`, () => compare(c.cell, c.b, c.t, c.d, c.h, false));
      it(`${name}: training (forward + backward)`, () => compare(c.cell, c.b, c.t, c.d, c.h, true));
    }
    // The suite's backend picks the GEMM kernel for its adapter; run training with the other too.
    for (const kind of ['tiled', 'direct'] as const) {
      it(`lstm B=5 T=7 D=9 H=20: training with the ${kind} GEMM`, async () => {
        const other = createBackend({ gemmKernel: kind });
        await compare('lstm', 5, 7, 9, 20, true, other);
        (await other).dispose();
      });
    }
  });
} else {
  describe('compiled recurrent layers on webgpu', () => {
    it.skip(`skipped: ${skipReason}`, () => {});
  });
}
