import * as R from '@recur/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { JsBackend } from '../src/index.js';

let backend: JsBackend;
beforeAll(() => {
  backend = new JsBackend();
  R.setBackend(backend);
});

const close = (found: R.NestedArray, expected: R.NestedArray, tol = 1e-6): void => {
  const f = [found].flat(4) as number[];
  const e = [expected].flat(4) as number[];
  expect(f).toHaveLength(e.length);
  f.forEach((v, i) => {
    expect(Math.abs(v - e[i]!)).toBeLessThanOrEqual(tol);
  });
};

describe('creation', () => {
  it('builds tensors from nested arrays, typed arrays and helpers', () => {
    const t = R.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe('f32');
    expect(R.tensor(new Int32Array([1, 2])).dtype).toBe('i32');
    expect(R.arange(4).arraySync()).toEqual([0, 1, 2, 3]);
    expect(R.arange(0, 1, 0.25).arraySync()).toEqual([0, 0.25, 0.5, 0.75]);
    expect(R.eye(2, 3).arraySync()).toEqual([
      [1, 0, 0],
      [0, 1, 0],
    ]);
    expect(R.fill([2], 7, { dtype: 'i32' }).arraySync()).toEqual([7, 7]);
    expect(R.oneHot(R.tensor([2, 0], { dtype: 'i32' }), 3).arraySync()).toEqual([
      [0, 0, 1],
      [1, 0, 0],
    ]);
  });

  it('gives the same random values for the same seed and different ones otherwise', () => {
    const a = R.randn([100], { seed: 5 }).dataSync();
    const b = R.randn([100], { seed: 5 }).dataSync();
    const c = R.randn([100], { seed: 6 }).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    const u = R.rand([1000], { seed: 1, low: -2, high: 3 }).dataSync();
    expect(Math.min(...u)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...u)).toBeLessThan(3);
  });

  it('rejects ragged arrays, wrong sizes and unseeded randomness with clear errors', () => {
    expect(() => R.tensor([[1, 2], [3]])).toThrow(/rectangular/);
    expect(() => R.tensor(new Float32Array(5), [2, 3])).toThrow(
      /expected 6 values for shape \[2,3\], found 5/,
    );
    expect(() => R.randn([2], {} as R.RandomOptions)).toThrow(/seed/);
  });
});

describe('ops', () => {
  it('broadcasts elementwise ops NumPy-style and promotes dtypes', () => {
    const a = R.tensor([[1], [2]]);
    const b = R.tensor([10, 20, 30]);
    expect(a.add(b).arraySync()).toEqual([
      [11, 21, 31],
      [12, 22, 32],
    ]);
    const i = R.tensor([1, 2, 3], { dtype: 'i32' });
    expect(i.mul(2).dtype).toBe('i32');
    expect(i.mul(0.5).dtype).toBe('f32');
    expect(i.add(R.tensor([0.5, 0.5, 0.5], { dtype: 'f64' })).dtype).toBe('f64');
    expect(R.tensor([7, -7], { dtype: 'i32' }).div(2).arraySync()).toEqual([3, -3]);
    expect(
      R.tensor([1, 5])
        .gt(R.tensor([2, 2]))
        .arraySync(),
    ).toEqual([0, 1]);
  });

  it('computes unary math, where and comparisons', () => {
    const x = R.tensor([-1, 0, 2]);
    close(x.exp().arraySync(), [Math.exp(-1), 1, Math.exp(2)]);
    close(x.sigmoid().arraySync(), [1 / (1 + Math.E), 0.5, 1 / (1 + Math.exp(-2))]);
    expect(x.relu().arraySync()).toEqual([0, 0, 2]);
    expect(x.abs().arraySync()).toEqual([1, 0, 2]);
    expect(R.where(x.gt(0), x, R.tensor(-5)).arraySync()).toEqual([-5, -5, 2]);
    close(R.tensor([4, 9]).sqrt().arraySync(), [2, 3]);
    close(R.tensor([2, 3]).pow(2).arraySync(), [4, 9]);
    expect(R.maximum(R.tensor([1, 5]), 3).arraySync()).toEqual([3, 5]);
  });

  it('multiplies matrices with transposes and batch broadcasting', () => {
    const a = R.tensor([
      [1, 2],
      [3, 4],
    ]);
    const b = R.tensor([
      [5, 6],
      [7, 8],
    ]);
    expect(a.matmul(b).arraySync()).toEqual([
      [19, 22],
      [43, 50],
    ]);
    expect(a.matmul(b, { transA: true }).arraySync()).toEqual([
      [26, 30],
      [38, 44],
    ]);
    expect(a.matmul(b, { transB: true }).arraySync()).toEqual([
      [17, 23],
      [39, 53],
    ]);
    const batched = R.stack([a, b]).matmul(R.eye(2));
    expect(batched.arraySync()).toEqual([a.arraySync(), b.arraySync()]);
    expect(R.ones([3, 1, 2, 2]).matmul(R.ones([4, 2, 5])).shape).toEqual([3, 4, 2, 5]);
  });

  it('reduces over any axes with keepDims', () => {
    const x = R.arange(24, undefined, 1, { dtype: 'f32' }).reshape([2, 3, 4]);
    expect(x.sum().item()).toBe(276);
    expect(x.sum([0, 2]).arraySync()).toEqual([60, 92, 124]);
    expect(x.sum(1, true).shape).toEqual([2, 1, 4]);
    expect(x.max(-1).arraySync()).toEqual([
      [3, 7, 11],
      [15, 19, 23],
    ]);
    expect(x.mean([0, 1]).arraySync()).toEqual([10, 11, 12, 13]);
    expect(R.tensor([1, 3, 3, 2]).argmax().item()).toBe(1);
    close(R.tensor([1, 2, 3]).logsumexp().item(), Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)));
    close(R.tensor([1000, 1000]).logsumexp().item(), 1000 + Math.log(2), 1e-3);
  });

  it('reshapes, transposes, slices, pads, concatenates, stacks and splits', () => {
    const x = R.arange(6, undefined, 1, { dtype: 'f32' }).reshape([2, 3]);
    expect(x.transpose().arraySync()).toEqual([
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
    expect(x.slice([0, 1], [2, 3]).arraySync()).toEqual([
      [1, 2],
      [4, 5],
    ]);
    expect(x.slice([-1]).arraySync()).toEqual([[3, 4, 5]]);
    expect(
      x
        .pad(
          [
            [0, 1],
            [1, 0],
          ],
          9,
        )
        .arraySync(),
    ).toEqual([
      [9, 0, 1, 2],
      [9, 3, 4, 5],
      [9, 9, 9, 9],
    ]);
    expect(R.concat([x, x], 1).shape).toEqual([2, 6]);
    expect(R.stack([x, x], 1).shape).toEqual([2, 2, 3]);
    const [p, q] = x.split([1, 2], 1);
    expect(p!.arraySync()).toEqual([[0], [3]]);
    expect(q!.arraySync()).toEqual([
      [1, 2],
      [4, 5],
    ]);
    expect(x.reshape([-1]).shape).toEqual([6]);
    expect(x.expandDims(0).squeeze().shape).toEqual([2, 3]);
  });

  it('gathers embeddings and scatter-adds repeated indices', () => {
    const table = R.tensor([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    const idx = R.tensor(
      [
        [2, 0],
        [1, 2],
      ],
      { dtype: 'i32' },
    );
    expect(table.gather(idx).arraySync()).toEqual([
      [
        [3, 3],
        [1, 1],
      ],
      [
        [2, 2],
        [3, 3],
      ],
    ]);
    const out = R.zeros([3]).scatterAdd(R.tensor([0, 2, 0], { dtype: 'i32' }), R.tensor([1, 2, 3]));
    expect(out.arraySync()).toEqual([4, 0, 2]);
    expect(() => table.gather(R.tensor([3], { dtype: 'i32' }))).toThrow(
      /expected indices in \[0, 2\], found 3/,
    );
  });

  it('computes softmax and cross-entropy with masks, ignore index and smoothing', () => {
    const logits = R.tensor([
      [1, 2, 3],
      [1, 1, 1],
    ]);
    close(logits.softmax().sum(-1).arraySync(), [1, 1]);
    const lse0 = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
    const targets = R.tensor([2, 0], { dtype: 'i32' });
    close(R.crossEntropy(logits, targets, { reduction: 'none' }).arraySync(), [lse0 - 3, Math.log(3)], 1e-5);
    close(R.crossEntropy(logits, targets).item(), (lse0 - 3 + Math.log(3)) / 2, 1e-5);
    close(R.crossEntropy(logits, R.tensor([2, -100], { dtype: 'i32' })).item(), lse0 - 3, 1e-5);
    close(R.crossEntropy(logits, targets, { mask: R.tensor([0, 1]) }).item(), Math.log(3), 1e-5);
    const smoothed = R.crossEntropy(logits, targets, {
      labelSmoothing: 0.3,
      reduction: 'none',
    }).arraySync() as number[];
    const logp = [1 - lse0, 2 - lse0, 3 - lse0];
    close(smoothed[0]!, -(0.7 * logp[2]! + 0.1 * (logp[0]! + logp[1]! + logp[2]!)), 1e-5);
    expect(() => R.crossEntropy(logits, R.tensor([3, 0], { dtype: 'i32' }))).toThrow(
      /class indices in \[0, 2\]/,
    );
  });
});

describe('errors name the op, the shapes found and what was expected', () => {
  it('for broadcasting, matmul, reshape and dtypes', () => {
    expect(() => R.ones([2, 3]).add(R.ones([4]))).toThrow(
      /add: expected shapes that broadcast.*found \[2,3\] and \[4\]/,
    );
    expect(() => R.ones([2, 3]).matmul(R.ones([2, 3]))).toThrow(
      /matmul: expected the inner dimensions to agree.*\[2,3\].*\[2,3\]/,
    );
    expect(() => R.ones([2, 3]).reshape([4])).toThrow(/reshape: expected a shape with 6 elements/);
    expect(() => R.ones([2]).gather(R.ones([1]))).toThrow(/gather: expected i32 indices, found f32/);
    expect(() => R.ones([2]).sum(3)).toThrow(/sum: expected an axis in \[-1, 0\]/);
    expect(() => R.ones([2], { dtype: 'i32' }).requiresGrad_()).toThrow(/floating-point/);
  });

  it('for tensors used after disposal', () => {
    const t = R.ones([2]);
    t.dispose();
    expect(() => t.add(1)).toThrow(R.DisposedError);
  });
});

describe('autograd', () => {
  it('computes gradients of a small network and accumulates them across calls', () => {
    const w = R.tensor(
      [
        [0.5, -1],
        [2, 1],
      ],
      { requiresGrad: true },
    );
    const x = R.tensor([[1, 2]]);
    const loss = () => x.matmul(w).square().sum();
    loss().backward();
    // y = x·w = [4.5, 1]; dL/dw = xᵀ·2y
    close(w.grad!.arraySync(), [
      [9, 2],
      [18, 4],
    ]);
    loss().backward();
    close(w.grad!.arraySync(), [
      [18, 4],
      [36, 8],
    ]);
    w.zeroGrad();
    expect(w.grad).toBeNull();
  });

  it('sums gradients over every path to a leaf', () => {
    const a = R.tensor([3], { requiresGrad: true });
    a.mul(a).add(a).sum().backward();
    expect(a.grad!.arraySync()).toEqual([7]);
  });

  it('records nothing under noGrad and nothing through detach', () => {
    const a = R.tensor([1, 2], { requiresGrad: true });
    expect(R.noGrad(() => a.mul(2)).requiresGrad).toBe(false);
    const b = a.detach().mul(a).sum();
    b.backward();
    expect(a.grad!.arraySync()).toEqual([1, 2]);
  });

  it('refuses a second backward through a freed graph, unless retainGraph', () => {
    const a = R.tensor([1, 2], { requiresGrad: true });
    const y = a.exp().sum();
    y.backward({ retainGraph: true });
    y.backward();
    close(a.grad!.arraySync(), [2 * Math.E, 2 * Math.exp(2)], 1e-5);
    expect(() => y.backward()).toThrow(/retainGraph/);
  });

  it('refuses gradients through a value changed in place after use', () => {
    const w = R.tensor([1, 2], { requiresGrad: true });
    const y = w.mul(w).sum();
    R.noGrad(() => w.assign(R.tensor([5, 5])));
    expect(() => y.backward()).toThrow(/modified in place/);
  });

  it('needs a scalar, or an explicit output gradient', () => {
    const a = R.tensor([1, 2], { requiresGrad: true });
    expect(() => a.mul(2).backward()).toThrow(/expected a scalar/);
    a.mul(2).backward({ grad: R.tensor([1, 10]) });
    expect(a.grad!.arraySync()).toEqual([2, 20]);
  });
});

describe('memory', () => {
  it('tidy disposes intermediates, keeps results, and frees graphs with their outputs', () => {
    const before = backend.memory();
    const w = R.randn([4, 4], { seed: 1, requiresGrad: true });
    const out = R.tidy(() => w.matmul(w).tanh().sum());
    expect(out.isDisposed).toBe(false);
    out.dispose();
    w.dispose();
    expect(backend.memory()).toEqual(before);
  });

  it('frees everything a failing tidy created', () => {
    const before = backend.memory().buffers;
    expect(() =>
      R.tidy(() => {
        R.ones([3]).add(1);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(backend.memory().buffers).toBe(before);
  });

  it('keeps the memory of a long training loop flat', async () => {
    const { trainingLoopMemoryCheck } = await import('@recur/tensor/testkit');
    await trainingLoopMemoryCheck(backend, 200);
  });
});
