import { Rng, type Tensor, tensor, tidy, zeros } from '@recur/tensor';
import { assertGradients } from '@recur/tensor/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { CellsError, Dropout, Embedding, Linear, Module, StateDictError } from '../src/index.js';
import { caught, expectClose, maxAbsDiff, useJsBackend, values } from './helpers.js';

beforeAll(() => {
  useJsBackend();
});

describe('Linear', () => {
  it('computes x Wᵀ + b over any leading axes, with PyTorch names and init bounds', () => {
    tidy(() => {
      const lin = new Linear({ inFeatures: 3, outFeatures: 2, seed: 1 });
      expect([...lin.stateDict().keys()]).toEqual(['weight', 'bias']);
      expect(lin.weight.shape).toEqual([2, 3]);
      const bound = 1 / Math.sqrt(3);
      for (const p of lin.parameters())
        expect(Math.max(...Array.from(p.dataSync(), Math.abs))).toBeLessThanOrEqual(bound);
      lin.loadStateDict({
        weight: tensor([
          [1, 2, 3],
          [0, -1, 0],
        ]),
        bias: tensor([0.5, -0.5]),
      });
      expect(lin.forward(tensor([1, 1, 1])).arraySync()).toEqual([6.5, -1.5]);
      const y = lin.forward(tensor([[[1, 0, 0]], [[0, 0, 2]]]));
      expect(y.shape).toEqual([2, 1, 2]);
      expect(y.arraySync()).toEqual([[[1.5, -0.5]], [[6.5, -0.5]]]);
      const noBias = new Linear({ inFeatures: 3, outFeatures: 2, bias: false });
      expect([...noBias.stateDict().keys()]).toEqual(['weight']);
    });
  });

  it('has gradients that match finite differences', async () => {
    const lin = new Linear({ inFeatures: 3, outFeatures: 4, dtype: 'f64' });
    await assertGradients(
      (x) => lin.forward(x!).tanh(),
      [{ shape: [2, 2, 3], values: values(new Rng(1), 12) }],
    );
  });

  it('rejects inputs with the wrong number of features', () => {
    const e = caught(() => new Linear({ inFeatures: 3, outFeatures: 2 }).forward(zeros([4, 2])));
    expect(e).toBeInstanceOf(CellsError);
    expect(e.message).toBe(
      'Linear.forward: expected an input with 3 features (inFeatures) on the last axis, found shape [4, 2].',
    );
  });
});

describe('Embedding', () => {
  it('looks up rows for indices of any shape; N(0, 1) init, seeded', () => {
    tidy(() => {
      const emb = new Embedding({ numEmbeddings: 50, embeddingDim: 40, seed: 3 });
      const v = Array.from(emb.weight.dataSync());
      const mean = v.reduce((s, x) => s + x, 0) / v.length;
      const sd = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
      expect(Math.abs(mean)).toBeLessThan(0.05);
      expect(Math.abs(sd - 1)).toBeLessThan(0.05);
      const ids = tensor(
        [
          [1, 4],
          [4, 0],
        ],
        { dtype: 'i32' },
      );
      const out = emb.forward(ids);
      expect(out.shape).toEqual([2, 2, 40]);
      const rows = emb.weight.arraySync() as number[][];
      expect((out.arraySync() as number[][][])[1]![0]).toEqual(rows[4]);
      const same = new Embedding({ numEmbeddings: 50, embeddingDim: 40, seed: 3 });
      expect(maxAbsDiff(same.weight, emb.weight)).toBe(0);
    });
  });

  it('paddingIdx: the row starts at zero and never gets a gradient', () => {
    tidy(() => {
      const emb = new Embedding({ numEmbeddings: 5, embeddingDim: 3, paddingIdx: -1, seed: 1 });
      expect(emb.paddingIdx).toBe(4);
      expect((emb.weight.arraySync() as number[][])[4]).toEqual([0, 0, 0]);
      const ids = tensor([4, 1, 4, 2], { dtype: 'i32' });
      emb
        .forward(ids)
        .mul(tensor([[1, 2, 3]]))
        .sum()
        .backward();
      const g = emb.weight.grad!.arraySync() as number[][];
      expect(g[4]).toEqual([0, 0, 0]);
      expect(g[1]).toEqual([1, 2, 3]);
      expect(g[0]).toEqual([0, 0, 0]);
    });
  });

  it('fromPretrained: from a matrix, frozen by default; the padding row keeps its values without gradient', () => {
    tidy(() => {
      const m = tensor([
        [1, 2],
        [3, 4],
        [5, 6],
      ]);
      const frozen = Embedding.fromPretrained(m);
      expect(frozen.weight.requiresGrad).toBe(false);
      expect(frozen.forward(tensor([2], { dtype: 'i32' })).arraySync()).toEqual([[5, 6]]);
      const tuned = Embedding.fromPretrained(m, { freeze: false, paddingIdx: 0 });
      const out = tuned.forward(tensor([0, 1], { dtype: 'i32' }));
      expect(out.arraySync()).toEqual([
        [1, 2],
        [3, 4],
      ]);
      out.sum().backward();
      expect(tuned.weight.grad!.arraySync()).toEqual([
        [0, 0],
        [1, 1],
        [0, 0],
      ]);
      expect([...frozen.stateDict().keys()]).toEqual(['weight']);
    });
  });

  it('fromPretrained: word vectors shaped like KeyedVectors, with a vocabulary mapping', () => {
    tidy(() => {
      // The fields of @recur/embeddings' KeyedVectors.
      const kv = { words: ['the', 'cat', 'sat'], vectors: Float32Array.from([1, 0, 0, 1, 1, 1]), dim: 2 };
      const emb = Embedding.fromPretrained(kv);
      expect(emb.words).toEqual(['the', 'cat', 'sat']);
      expect(emb.forward(emb.encode(['sat', 'the'])).arraySync()).toEqual([
        [1, 1],
        [1, 0],
      ]);
      const mapped = Embedding.fromPretrained(kv, {
        vocabulary: ['<pad>', 'sat', 'dog', 'cat'],
        paddingIdx: 0,
      });
      expect(mapped.numEmbeddings).toBe(4);
      expect(mapped.missingWords).toEqual(['<pad>', 'dog']);
      expect(mapped.weight.arraySync()).toEqual([
        [0, 0],
        [1, 1],
        [0, 0],
        [0, 1],
      ]);
      expect(mapped.indexOf('cat')).toBe(3);
      expect(mapped.indexOf('bird')).toBe(-1);
      expect(mapped.encode(['bird', 'cat'], { unknownIndex: 0 }).arraySync()).toEqual([0, 3]);
      expect(caught(() => mapped.encode(['bird'])).message).toMatch(/unknown "bird"/);
    });
  });

  it('rejects bad indices and options', () => {
    const emb = new Embedding({ numEmbeddings: 3, embeddingDim: 2 });
    expect(caught(() => emb.forward(tensor([3], { dtype: 'i32' }))).message).toBe(
      'Embedding.forward: expected indices in 0..2 (numEmbeddings 3), found 3 at flat position 0.',
    );
    expect(caught(() => emb.forward(tensor([1]))).message).toMatch(/expected i32 indices, found f32/);
    expect(caught(() => new Embedding({ numEmbeddings: 3, embeddingDim: 2, paddingIdx: 3 })).message).toMatch(
      /paddingIdx in -3\.\.2, found 3/,
    );
    expect(caught(() => Embedding.fromPretrained(tensor([1, 2]))).message).toMatch(/a 2-D float tensor/);
    expect(caught(() => emb.indexOf('x'))).toBeInstanceOf(CellsError);
  });
});

describe('Dropout', () => {
  it('zeroes about p of the elements and scales the rest by 1/(1-p), seeded; eval is the identity', () => {
    tidy(() => {
      const x = zeros([100, 100]).add(1);
      const d = new Dropout({ p: 0.3, seed: 4 });
      const y = Array.from(d.forward(x).dataSync());
      const kept = y.filter((v) => v !== 0);
      expect(Math.abs(1 - kept.length / y.length - 0.3)).toBeLessThan(0.02);
      for (const v of kept) expect(v).toBeCloseTo(1 / 0.7, 6);
      expect(maxAbsDiff(d.forward(x), tensor(Float32Array.from(y), [100, 100]))).toBeGreaterThan(0); // a new mask per call
      expect(Array.from(new Dropout({ p: 0.3, seed: 4 }).forward(x).dataSync())).toEqual(y);
      expect(d.eval().forward(x)).toBe(x);
      expect(Array.from(new Dropout({ p: 1 }).forward(x).dataSync()).every((v) => v === 0)).toBe(true);
      expect(new Dropout({ p: 0 }).forward(x)).toBe(x);
      expect(caught(() => new Dropout({ p: -0.1 })).message).toMatch(
        /p to be a probability in \[0, 1\], found -0\.1/,
      );
    });
  });

  it('passes gradients through the kept elements, scaled', () => {
    tidy(() => {
      const x2 = tensor(new Float32Array(50).fill(1), [50], { requiresGrad: true });
      const y = new Dropout({ p: 0.5, seed: 1 }).forward(x2);
      y.sum().backward();
      expectClose(x2.grad!, y, 0);
    });
  });
});

describe('Module', () => {
  class Tagger extends Module {
    readonly emb: Embedding;
    readonly out: Linear;
    constructor() {
      super();
      this.emb = this.registerModule(
        'emb',
        new Embedding({ numEmbeddings: 4, embeddingDim: 3, freeze: true }),
      );
      this.out = this.registerModule('out', new Linear({ inFeatures: 3, outFeatures: 2 }));
    }
    forward(ids: Tensor): Tensor {
      return this.out.forward(this.emb.forward(ids));
    }
  }

  it('names child parameters with dots, propagates train/eval, loads nested state dicts', () => {
    const m = new Tagger();
    expect(m.namedParameters().map(([n]) => n)).toEqual(['emb.weight', 'out.weight', 'out.bias']);
    expect(m.parameters().filter((p) => p.requiresGrad)).toHaveLength(2);
    m.eval();
    expect(m.emb.training).toBe(false);
    const e = caught(() =>
      m.loadStateDict({ 'emb.weight': zeros([5, 3]), 'out.weight': zeros([2, 3]), 'out.bias': zeros([2]) }),
    );
    expect(e).toBeInstanceOf(StateDictError);
    expect(e.message).toMatch(
      /'emb\.weight' of shape \[4, 3\] \(numEmbeddings × embeddingDim = 4 × 3\), found \[5, 3\]/,
    );
    m.loadStateDict({
      'emb.weight': zeros([4, 3]),
      'out.weight': zeros([2, 3]),
      'out.bias': zeros([2]).add(1),
    });
    expect(m.forward(tensor([1, 2], { dtype: 'i32' })).arraySync()).toEqual([
      [1, 1],
      [1, 1],
    ]);
  });

  it('keeps parameters alive when built inside tidy, and dispose frees them', () => {
    const lin = tidy(() => new Linear({ inFeatures: 2, outFeatures: 2 }));
    expect(lin.weight.isDisposed).toBe(false);
    lin.dispose();
    expect(lin.weight.isDisposed).toBe(true);
  });
});
