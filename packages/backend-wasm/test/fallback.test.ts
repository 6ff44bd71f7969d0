import { ex } from '@recur/tensor';
import { afterEach, describe, expect, it } from 'vitest';
import { WasmBackend } from '../src/index.js';

const realSAB = globalThis.SharedArrayBuffer;

afterEach(() => {
  globalThis.SharedArrayBuffer = realSAB;
});

describe('without SharedArrayBuffer (a browser page without cross-origin isolation)', () => {
  it('runs on one thread over unshared memory and says why', async () => {
    // @ts-expect-error: simulating an environment that lacks it
    globalThis.SharedArrayBuffer = undefined;
    const b = await WasmBackend.create({ threads: 2 });
    globalThis.SharedArrayBuffer = realSAB;
    expect(b.threadingInfo).toMatchObject({ threads: 1, requested: 2, sharedMemory: false });
    expect(b.threadingInfo.reason).toMatch(/SharedArrayBuffer is unavailable/);
    expect(b.capabilities.threads).toBe(1);
    const x = b.alloc('f32', 5);
    b.write(x, Float32Array.from([0, 1, 2, 3, 4]));
    const y = b.alloc('f32', 5);
    b.elementwise({
      expr: ex.unary('exp', ex.input(0, 'f32')),
      inputs: [{ buffer: x, offset: 0, strides: [1] }],
      out: y,
      shape: [5],
    });
    b.readSync(y).forEach((v, i) => {
      expect(Math.abs(v - Math.exp(i)) / Math.exp(i)).toBeLessThan(1e-6);
    });
    b.dispose();
  });

  it('asks for one thread without a reason when one is requested', async () => {
    const b = await WasmBackend.create({ threads: 1 });
    expect(b.threadingInfo).toMatchObject({ threads: 1, requested: 1, sharedMemory: false, reason: null });
    b.dispose();
  });

  it('rejects a thread count that is not a positive integer', async () => {
    await expect(WasmBackend.create({ threads: 0 })).rejects.toThrow(/positive integer/);
  });

  it('refuses to be used after dispose', async () => {
    const b = await WasmBackend.create({ threads: 1 });
    b.dispose();
    expect(() => b.alloc('f32', 1)).toThrow(/disposed/);
  });
});
