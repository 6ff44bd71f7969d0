// End to end: vectors trained here feed an `Embedding` of @recur/cells, frozen or trainable.
import { JsBackend } from '@recur/backend-js';
import { Embedding, type KeyedVectorsLike, Linear, type Module } from '@recur/cells';
import { noGrad, Rng, setBackend, type Tensor, tensor, tidy } from '@recur/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import type { KeyedVectors } from '../src/keyed-vectors.js';
import { train } from '../src/train.js';
import { plantedCorpus } from './corpus.js';

const TOPICS = 4;
let vectors: KeyedVectors;

beforeAll(async () => {
  setBackend(new JsBackend());
  const r = await train(plantedCorpus(TOPICS, 1600), {
    model: 'skipgram',
    dim: 16,
    window: 2,
    epochs: 8,
    minCount: 1,
    sample: 0,
    tableSize: 10_000,
    seed: 5,
  });
  vectors = r.vectors;
});

/** One step of plain SGD on every parameter that has a gradient, as an optimizer would. */
function sgdStep(modules: Module[], lr: number): number {
  let updated = 0;
  noGrad(() => {
    for (const m of modules) {
      for (const p of m.parameters()) {
        if (!p.requiresGrad || p.grad === null) continue;
        p.assign(p.sub(p.grad.mul(lr)));
        updated++;
      }
    }
  });
  return updated;
}

const rowOf = (t: Tensor, r: number): number[] => {
  const d = t.shape[1]!;
  return Array.from(t.dataSync().subarray(r * d, (r + 1) * d));
};

const cosine = (a: number[], b: number[]): number => {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
};

describe('trained vectors in Embedding.fromPretrained (@recur/cells)', () => {
  it('load as they are: same words, same rows, the planted relation intact', () => {
    // KeyedVectors is what cells expects, with no adapter.
    const like: KeyedVectorsLike = vectors;
    tidy(() => {
      const emb = Embedding.fromPretrained(like);
      expect(emb.numEmbeddings).toBe(vectors.size);
      expect(emb.embeddingDim).toBe(vectors.dim);
      expect(emb.words).toEqual(vectors.words);
      expect(Float32Array.from(emb.weight.dataSync())).toEqual(vectors.vectors);
      const out = emb.forward(emb.encode(['x0', 'y1']));
      expect(out.shape).toEqual([2, vectors.dim]);
      expect(Float32Array.from(rowOf(out, 0))).toEqual(vectors.get('x0'));
      expect(Float32Array.from(rowOf(out, 1))).toEqual(vectors.get('y1'));
      // Read back from the embedding's table, each x_t is closest to its twin y_t.
      for (let t = 0; t < TOPICS; t++) {
        const x = rowOf(emb.weight, emb.indexOf(`x${t}`));
        let best = '';
        let bestSim = Number.NEGATIVE_INFINITY;
        for (const w of vectors.words) {
          if (w === `x${t}` || w === '</s>') continue;
          const s = cosine(x, rowOf(emb.weight, emb.indexOf(w)));
          if (s > bestSim) [best, bestSim] = [w, s];
        }
        expect(best).toBe(`y${t}`);
      }
    });
  });

  it('frozen (the default): no gradient reaches the table and an update leaves it as it was', () => {
    tidy(() => {
      const emb = Embedding.fromPretrained(vectors);
      const head = new Linear({ inFeatures: vectors.dim, outFeatures: 3, seed: 1 });
      const before = Float32Array.from(emb.weight.dataSync());
      const headBefore = Float32Array.from(head.weight.dataSync());
      expect(emb.weight.requiresGrad).toBe(false);
      expect([...emb.parameters()].every((p) => !p.requiresGrad)).toBe(true);
      const loss = head
        .forward(emb.forward(emb.encode(['x0', 'l1_2', 'y0'])))
        .square()
        .sum();
      loss.backward();
      expect(emb.weight.grad).toBeNull();
      expect(head.weight.grad).not.toBeNull();
      expect(sgdStep([emb, head], 0.1)).toBe(2); // the head's weight and bias only
      expect(Float32Array.from(emb.weight.dataSync())).toEqual(before);
      expect(Float32Array.from(head.weight.dataSync())).not.toEqual(headBefore);
    });
  });

  it('trainable: the gradient flows into exactly the rows used, and an update moves only them', () => {
    tidy(() => {
      const vocabulary = ['<pad>', 'x0', 'y0', 'l2_0', 'never-seen'];
      const emb = Embedding.fromPretrained(vectors, { freeze: false, vocabulary, paddingIdx: 0 });
      expect(emb.weight.requiresGrad).toBe(true);
      expect(emb.missingWords).toEqual(['<pad>', 'never-seen']);
      expect(rowOf(emb.weight, 0).every((v) => v === 0)).toBe(true);
      expect(Float32Array.from(rowOf(emb.weight, 3))).toEqual(vectors.get('l2_0'));
      const d = vectors.dim;
      const rng = new Rng(2);
      const c = Array.from({ length: d }, () => rng.uniform() - 0.5);
      // loss = Σ_i <E[ids_i], c>, so dloss/dE[r] = (times row r is used) · c, padding excepted.
      const ids = emb.encode(['x0', 'y0', 'x0', '<pad>']);
      const loss = emb.forward(ids).mul(tensor(c)).sum();
      loss.backward();
      const g = emb.weight.grad!;
      expect(g.shape).toEqual([vocabulary.length, d]);
      const times = [0, 2, 1, 0, 0];
      for (let r = 0; r < vocabulary.length; r++) {
        const row = rowOf(g, r);
        for (let k = 0; k < d; k++) expect(row[k]).toBeCloseTo(times[r]! * c[k]!, 6);
      }
      const before = emb.weight.dataSync().slice();
      const lr = 0.5;
      expect(sgdStep([emb], lr)).toBe(1);
      const after = emb.weight.dataSync();
      for (let r = 0; r < vocabulary.length; r++) {
        for (let k = 0; k < d; k++) {
          const i = r * d + k;
          if (times[r] === 0) expect(after[i]).toBe(before[i]);
          else expect(after[i]).toBeCloseTo(before[i]! - lr * times[r]! * c[k]!, 5);
        }
      }
      // The embedding owns a copy: the word vectors are untouched.
      expect(Float32Array.from(rowOf(emb.weight, 1))).not.toEqual(vectors.get('x0'));
      expect(vectors.get('x0')).toEqual(
        vectors.vectors.slice(vectors.indexOf('x0') * d, (vectors.indexOf('x0') + 1) * d),
      );
    });
  });

  it('without a vocabulary, trainable rows update in place of the trained values', () => {
    tidy(() => {
      const emb = Embedding.fromPretrained(vectors, { freeze: false });
      const snapshot = vectors.vectors.slice();
      emb
        .forward(emb.encode(['y2']))
        .sum()
        .backward();
      sgdStep([emb], 1);
      const row = emb.indexOf('y2');
      const moved = rowOf(emb.weight, row);
      const was = Array.from(vectors.get('y2'));
      // d(sum)/dE[row] = 1, so each value drops by 1.
      moved.forEach((v, k) => {
        expect(v).toBeCloseTo(was[k]! - 1, 5);
      });
      expect(vectors.vectors).toEqual(snapshot);
    });
  });
});
