/** One query result: a word and its score (cosine similarity for `mostSimilar`). */
export interface Scored {
  word: string;
  similarity: number;
}

/**
 * The `k` best indices of `scores[0 .. limit)` by descending score, ties by ascending index,
 * skipping `exclude`. A size-k min-heap keeps this O(n log k).
 */
export function topK(scores: Float64Array, k: number, limit: number, exclude: ReadonlySet<number>): number[] {
  const heap: number[] = [];
  // `worse(a, b)`: a ranks below b.
  const worse = (a: number, b: number): boolean =>
    scores[a]! < scores[b]! || (scores[a] === scores[b] && a > b);
  const swap = (i: number, j: number): void => {
    const t = heap[i]!;
    heap[i] = heap[j]!;
    heap[j] = t;
  };
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && worse(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && worse(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  for (let idx = 0; idx < limit; idx++) {
    if (exclude.has(idx) || Number.isNaN(scores[idx])) continue;
    if (heap.length < k) {
      heap.push(idx);
      for (let i = heap.length - 1; i > 0; ) {
        const p = (i - 1) >> 1;
        if (!worse(heap[i]!, heap[p]!)) break;
        swap(i, p);
        i = p;
      }
    } else if (k > 0 && worse(heap[0]!, idx)) {
      heap[0] = idx;
      down(0);
    }
  }
  return heap.sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
}
