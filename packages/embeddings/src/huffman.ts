import { describe, EmbeddingsError } from './errors.js';

/** word2vec.c's `MAX_CODE_LENGTH`. */
export const MAX_CODE_LENGTH = 40;

/**
 * The Huffman tree of hierarchical softmax, laid out as word2vec.c lays it out. For word `w`,
 * `codes[w]` holds its bits from the root down (the `code` array of `struct vocab_word`) and
 * `points[w]` the inner nodes on its path, root first (`point[0 .. codelen-1]`), each an index
 * into the `V - 1` rows of the output matrix `syn1`; the root is inner node `V - 2`.
 */
export interface HuffmanTree {
  readonly codes: readonly Uint8Array[];
  readonly points: readonly Int32Array[];
  /** Number of inner nodes (`V - 1`). */
  readonly innerNodes: number;
}

export interface HuffmanOptions {
  /** Longest code allowed (word2vec.c's fixed arrays hold 40); longer codes throw instead of overflowing. */
  maxCodeLength?: number;
}

/**
 * Builds the tree exactly as word2vec.c's `CreateBinaryTree`: the counts are expected in vocabulary
 * order (descending, except `</s>` first, which the C code also tolerates), the two smallest nodes
 * are merged by walking the leaves leftwards from the end and the new inner nodes rightwards, a tie
 * between a leaf and an inner node picks the inner node, and the second node picked gets bit 1.
 */
export function buildHuffmanTree(counts: ArrayLike<number>, options: HuffmanOptions = {}): HuffmanTree {
  const v = counts.length;
  const maxLen = options.maxCodeLength ?? MAX_CODE_LENGTH;
  if (v < 2) {
    throw new EmbeddingsError(
      describe('buildHuffmanTree', 'at least 2 words', `${v}`, 'Lower minCount or use a larger corpus.'),
    );
  }
  const count = new Float64Array(2 * v);
  for (let a = 0; a < v; a++) {
    const c = counts[a]!;
    if (!Number.isFinite(c) || c < 0) {
      throw new EmbeddingsError(describe('buildHuffmanTree', 'finite counts >= 0', `${c} at index ${a}`));
    }
    count[a] = c;
  }
  count.fill(Number.POSITIVE_INFINITY, v);
  const parent = new Int32Array(2 * v);
  const binary = new Uint8Array(2 * v);
  let pos1 = v - 1;
  let pos2 = v;
  const pick = (): number => {
    if (pos1 >= 0 && count[pos1]! < count[pos2]!) return pos1--;
    return pos2++;
  };
  for (let a = 0; a < v - 1; a++) {
    const min1 = pick();
    const min2 = pick();
    count[v + a] = count[min1]! + count[min2]!;
    parent[min1] = v + a;
    parent[min2] = v + a;
    binary[min2] = 1;
  }
  const root = 2 * v - 2;
  const codes: Uint8Array[] = [];
  const points: Int32Array[] = [];
  const path: number[] = [];
  for (let a = 0; a < v; a++) {
    path.length = 0;
    for (let b = a; b !== root; b = parent[b]!) path.push(b);
    const len = path.length;
    if (len > maxLen) {
      throw new EmbeddingsError(
        describe(
          'buildHuffmanTree',
          `codes of at most ${maxLen} bits`,
          `${len} bits for word ${a}`,
          'The counts are too skewed for hierarchical softmax; raise maxCodeLength or use negative sampling.',
        ),
      );
    }
    const code = new Uint8Array(len);
    const point = new Int32Array(len);
    point[0] = v - 2;
    for (let b = 0; b < len; b++) {
      const node = path[b]!;
      code[len - b - 1] = binary[node]!;
      if (b > 0) point[len - b] = node - v;
    }
    codes.push(code);
    points.push(point);
  }
  return { codes, points, innerNodes: v - 1 };
}
