import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildHuffmanTree, MAX_CODE_LENGTH } from '../src/huffman.js';

const codesOf = (counts: number[]) => buildHuffmanTree(counts).codes.map((c) => [...c]);
const pointsOf = (counts: number[]) => buildHuffmanTree(counts).points.map((p) => [...p]);

/** Cost sum(count * codeLength) of an optimal prefix code, by the textbook priority-queue Huffman. */
function optimalCost(counts: number[]): number {
  const q = [...counts];
  let cost = 0;
  while (q.length > 1) {
    q.sort((a, b) => a - b);
    const s = q.shift()! + q.shift()!;
    cost += s;
    q.push(s);
  }
  return cost;
}

describe('buildHuffmanTree (word2vec.c CreateBinaryTree)', () => {
  it('matches the hand-derived tree for counts [5, 3, 2, 1]', () => {
    // Merges: (1,2)->n4=3 [bit1: word 2]; tie 3 vs n4=3 picks the inner node first: (n4,word1)->n5=6
    // [bit1: word 1]; (word0, n5)->n6=11 root [bit1: n5]. Inner node i is node V+i; root is V-2 = 2.
    const t = buildHuffmanTree([5, 3, 2, 1]);
    expect(t.codes.map((c) => [...c])).toEqual([[0], [1, 1], [1, 0, 1], [1, 0, 0]]);
    expect(t.points.map((p) => [...p])).toEqual([[2], [2, 1], [2, 1, 0], [2, 1, 0]]);
    expect(t.innerNodes).toBe(3);
  });

  it('matches hand-derived trees with ties and the two-word case', () => {
    expect(codesOf([2, 2, 2, 2])).toEqual([
      [1, 1],
      [1, 0],
      [0, 1],
      [0, 0],
    ]);
    expect(pointsOf([2, 2, 2, 2])).toEqual([
      [2, 1],
      [2, 1],
      [2, 0],
      [2, 0],
    ]);
    expect(codesOf([3, 2, 1])).toEqual([[1], [0, 1], [0, 0]]);
    expect(pointsOf([3, 2, 1])).toEqual([[1], [1, 0], [1, 0]]);
    expect(codesOf([3, 1])).toEqual([[1], [0]]);
    expect(pointsOf([3, 1])).toEqual([[0], [0]]);
  });

  it('follows the C walk when </s> comes first with a small count', () => {
    // word2vec.c does not re-sort </s>; the walk takes leaves right to left, so it merges 3 and 5
    // first and the rare </s> ends up with the shortest code (not an optimal tree, but the C one).
    expect(codesOf([1, 5, 3])).toEqual([[0], [1, 1], [1, 0]]);
    expect(pointsOf([1, 5, 3])).toEqual([[1], [1, 0], [1, 0]]);
  });

  it('is prefix-free, complete (Kraft sum 1), optimal and monotone for sorted counts', () => {
    const counts = fc
      .array(fc.integer({ min: 0, max: 10_000 }), { minLength: 2, maxLength: 120 })
      .map((a) => a.sort((x, y) => y - x));
    fc.assert(
      fc.property(counts, (c) => {
        const t = buildHuffmanTree(c);
        const v = c.length;
        const strs = t.codes.map((code) => code.join(''));
        let kraft = 0;
        for (const s of strs) kraft += 2 ** -s.length;
        expect(kraft).toBe(1);
        const sorted = [...strs].sort();
        for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.startsWith(sorted[i - 1]!)).toBe(false);
        for (let i = 1; i < v; i++) {
          if (c[i - 1]! > c[i]!) expect(strs[i - 1]!.length).toBeLessThanOrEqual(strs[i]!.length);
        }
        expect(c.reduce((s, n, i) => s + n * strs[i]!.length, 0)).toBe(optimalCost(c));
        // Paths: root first, and the inner node at each depth is a function of the code prefix.
        const nodeOf = new Map<string, number>();
        t.points.forEach((p, w) => {
          expect(p.length).toBe(strs[w]!.length);
          expect(p[0]).toBe(v - 2);
          p.forEach((node, d) => {
            expect(node).toBeGreaterThanOrEqual(0);
            expect(node).toBeLessThanOrEqual(v - 2);
            const prefix = strs[w]!.slice(0, d);
            expect(nodeOf.get(prefix) ?? node).toBe(node);
            nodeOf.set(prefix, node);
          });
        });
        expect(new Set(nodeOf.values()).size).toBe(v - 1);
      }),
    );
  });

  it('throws instead of overflowing the 40-bit code arrays', () => {
    // Fibonacci counts give a chain, so the rarest words get codes of length V - 1 = 41.
    const fib = [1, 1];
    while (fib.length < 42) fib.push(fib.at(-1)! + fib.at(-2)!);
    const counts = fib.reverse();
    expect(MAX_CODE_LENGTH).toBe(40);
    expect(() => buildHuffmanTree(counts)).toThrow(/at most 40 bits.*41 bits/);
    const t = buildHuffmanTree(counts, { maxCodeLength: 41 });
    expect(Math.max(...t.codes.map((c) => c.length))).toBe(41);
  });

  it('rejects fewer than two words and bad counts', () => {
    expect(() => buildHuffmanTree([7])).toThrow(/at least 2 words/);
    expect(() => buildHuffmanTree([])).toThrow(/at least 2 words/);
    expect(() => buildHuffmanTree([3, -1])).toThrow(/finite counts/);
    expect(() => buildHuffmanTree([3, Number.NaN])).toThrow(/finite counts/);
  });
});
