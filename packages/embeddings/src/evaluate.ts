import { describe, EmbeddingsError, EmbeddingsFormatError } from './errors.js';
import type { KeyedVectors } from './keyed-vectors.js';
import { createVectorMemory, type VectorKernel } from './wasm.js';

/** One section of an analogy file (`: capital-common-countries` and the lines under it). */
export interface AnalogySection {
  name: string;
  /** Questions `a b c d`: a is to b as c is to d. */
  questions: [string, string, string, string][];
}

/** Parses the word2vec analogy format: `: section` headers, then one `a b c d` question a line. */
export function parseAnalogies(text: string): AnalogySection[] {
  const sections: AnalogySection[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    if (line.startsWith(':')) {
      sections.push({ name: line.slice(1).trim(), questions: [] });
      return;
    }
    const parts = line.split(/\s+/);
    if (parts.length !== 4) {
      throw new EmbeddingsFormatError(
        `expected an analogy "a b c d" (4 words) or a section header ": name", found ${JSON.stringify(line)}`,
        { line: i + 1 },
      );
    }
    if (sections.length === 0) {
      throw new EmbeddingsFormatError(
        'expected a section header ": name" before the first question, found a question. Add a header such as ": all".',
        { line: i + 1 },
      );
    }
    sections[sections.length - 1]!.questions.push(parts as [string, string, string, string]);
  });
  return sections;
}

/** Accuracy on one section (or the total). */
export interface SectionAccuracy {
  name: string;
  correct: number;
  /** Questions whose four words are all in the (restricted) vocabulary. */
  attempted: number;
  /** Questions skipped because a word is missing. */
  skipped: number;
  /** correct / attempted (0 when nothing was attempted). */
  accuracy: number;
}

export interface AnalogyResult {
  sections: SectionAccuracy[];
  total: SectionAccuracy;
  /** skipped / all questions. */
  oovRatio: number;
}

export interface AnalogyOptions {
  /** Only the first N words (the most frequent) are used, for questions and answers (default 30 000). */
  restrictVocab?: number;
  /** Compare words ignoring case (default true, as gensim): the most frequent spelling stands for a word. */
  caseInsensitive?: boolean;
  /** `'3cosadd'` (default, gensim's `most_similar`) or `'3cosmul'` (`most_similar_cosmul`). */
  method?: '3cosadd' | '3cosmul';
  /** Score rows in WebAssembly SIMD where available (default true); false: plain loops. */
  wasm?: boolean;
}

/**
 * Analogy accuracy as gensim's `evaluate_word_analogies`: for `a b c d` the answer is the word of
 * the restricted vocabulary closest to `b - a + c` (3CosAdd on unit vectors) other than a, b and c;
 * questions with a word outside that vocabulary are skipped and counted in `oovRatio`.
 */
export function evaluateAnalogies(
  kv: KeyedVectors,
  sections: readonly AnalogySection[],
  options: AnalogyOptions = {},
): AnalogyResult {
  const where = 'evaluateAnalogies';
  const restrict = Math.min(kv.size, positiveInt(where, 'restrictVocab', options.restrictVocab ?? 30_000));
  const caseInsensitive = options.caseInsensitive ?? true;
  const method = options.method ?? '3cosadd';
  if (method !== '3cosadd' && method !== '3cosmul') {
    throw new EmbeddingsError(describe(where, "method '3cosadd' or '3cosmul'", JSON.stringify(method)));
  }
  const fold = (w: string): string => (caseInsensitive ? w.toUpperCase() : w);
  // Key of every row (its folded spelling) and the row that stands for each key: the most frequent.
  const keyId = new Int32Array(restrict);
  const rowOf = new Map<string, number>();
  const keyIndex = new Map<string, number>();
  for (let r = 0; r < restrict; r++) {
    const key = fold(kv.words[r]!);
    let id = keyIndex.get(key);
    if (id === undefined) {
      id = keyIndex.size;
      keyIndex.set(key, id);
      rowOf.set(key, r);
    }
    keyId[r] = id;
  }
  const n = kv.normalized();
  const d = kv.dim;
  const scores = new Float64Array(restrict);
  const query = new Float64Array(d);
  const scorer = new RowScorer(n, d, restrict, options.wasm ?? true);
  const results: SectionAccuracy[] = [];
  for (const section of sections) {
    let correct = 0;
    let attempted = 0;
    let skipped = 0;
    for (const q of section.questions) {
      const keys = q.map(fold);
      const rows = keys.map((k) => rowOf.get(k));
      if (rows.some((r) => r === undefined)) {
        skipped++;
        continue;
      }
      const [ra, rb, rc] = rows as [number, number, number, number];
      attempted++;
      if (method === '3cosadd') {
        for (let k = 0; k < d; k++) query[k] = n[rb * d + k]! - n[ra * d + k]! + n[rc * d + k]!;
        let ss = 0;
        for (let k = 0; k < d; k++) ss += query[k]! * query[k]!;
        const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
        for (let k = 0; k < d; k++) query[k] = query[k]! * inv;
        scorer.dots(query, scores);
      } else {
        scorer.cosmul(ra, rb, rc, scores);
      }
      const exclude = [keyId[ra]!, keyId[rb]!, keyId[rc]!];
      let best = -1;
      let bestScore = Number.NEGATIVE_INFINITY;
      for (let r = 0; r < restrict; r++) {
        const s = scores[r]!;
        if (s > bestScore) {
          const id = keyId[r]!;
          if (id === exclude[0] || id === exclude[1] || id === exclude[2]) continue;
          best = r;
          bestScore = s;
        }
      }
      if (best >= 0 && keyId[best] === keyIndex.get(keys[3]!)) correct++;
    }
    results.push(accuracy(section.name, correct, attempted, skipped));
  }
  const sum = (f: (s: SectionAccuracy) => number): number => results.reduce((a, s) => a + f(s), 0);
  const total = accuracy(
    'total',
    sum((s) => s.correct),
    sum((s) => s.attempted),
    sum((s) => s.skipped),
  );
  const all = total.attempted + total.skipped;
  return { sections: results, total, oovRatio: all === 0 ? 0 : total.skipped / all };
}

function accuracy(name: string, correct: number, attempted: number, skipped: number): SectionAccuracy {
  return { name, correct, attempted, skipped, accuracy: attempted === 0 ? 0 : correct / attempted };
}

/**
 * Dot products of the first `rows` rows of a unit-row matrix with a query, in WebAssembly SIMD
 * where available (a copy of the rows lives in its memory), else in plain loops.
 */
class RowScorer {
  private readonly k: VectorKernel | undefined;
  private readonly view: Float32Array | undefined;
  private readonly q: number;
  private readonly tmp: Float64Array;

  constructor(
    private readonly n: Float32Array,
    private readonly d: number,
    private readonly rows: number,
    wasm: boolean,
  ) {
    this.q = rows * d * 4;
    this.tmp = new Float64Array(rows);
    const vm = wasm ? createVectorMemory(this.q + d * 4, false) : undefined;
    if (vm === undefined) return;
    try {
      const instance = new WebAssembly.Instance(vm.module, { env: { memory: vm.memory } });
      this.k = instance.exports as unknown as VectorKernel;
      this.view = new Float32Array(vm.memory.buffer, 0, rows * d + d);
      this.view.set(n.subarray(0, rows * d));
    } catch {
      this.k = undefined;
      this.view = undefined;
    }
  }

  /** out[r] = row r · q. */
  dots(q: ArrayLike<number>, out: Float64Array): void {
    const { d, rows, k, view } = this;
    if (k !== undefined && view !== undefined) {
      const at = this.q / 4;
      for (let i = 0; i < d; i++) view[at + i] = q[i]!;
      const dot = k.dot;
      const stride = d * 4;
      for (let r = 0, p = 0; r < rows; r++, p += stride) out[r] = dot(p, this.q, d);
      return;
    }
    const n = this.n;
    for (let r = 0; r < rows; r++) {
      const o = r * d;
      let s0 = 0;
      let s1 = 0;
      let i = 0;
      for (; i + 1 < d; i += 2) {
        s0 += n[o + i]! * q[i]!;
        s1 += n[o + i + 1]! * q[i + 1]!;
      }
      if (i < d) s0 += n[o + i]! * q[i]!;
      out[r] = s0 + s1;
    }
  }

  /** 3CosMul scores of gensim's `most_similar_cosmul` for positive b, c and negative a. */
  cosmul(ra: number, rb: number, rc: number, out: Float64Array): void {
    const { n, d, rows, tmp } = this;
    const row = (r: number) => n.subarray(r * d, (r + 1) * d);
    this.dots(row(rb), out);
    for (let r = 0; r < rows; r++) out[r] = (1 + out[r]!) / 2;
    this.dots(row(rc), tmp);
    for (let r = 0; r < rows; r++) out[r] = out[r]! * ((1 + tmp[r]!) / 2);
    this.dots(row(ra), tmp);
    for (let r = 0; r < rows; r++) out[r] = out[r]! / ((1 + tmp[r]!) / 2 + 1e-6);
  }
}

/** A word pair with a human similarity score. */
export interface WordPair {
  a: string;
  b: string;
  score: number;
}

/**
 * Parses a word-similarity file as gensim's `evaluate_word_pairs` reads it: lines starting with `#`
 * are comments, other lines hold `word1<delimiter>word2<delimiter>score` (tab by default).
 */
export function parseWordPairs(text: string, options: { delimiter?: string } = {}): WordPair[] {
  const delimiter = options.delimiter ?? '\t';
  const pairs: WordPair[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.startsWith('#')) return;
    const parts = line.split(delimiter);
    const score = Number(parts[2]);
    if (
      parts.length !== 3 ||
      parts[0] === '' ||
      parts[1] === '' ||
      parts[2]!.trim() === '' ||
      !Number.isFinite(score)
    ) {
      throw new EmbeddingsFormatError(
        `expected "word1${delimiter === '\t' ? '<tab>' : delimiter}word2${delimiter === '\t' ? '<tab>' : delimiter}score" ` +
          `with a numeric score, found ${JSON.stringify(line)}`,
        { line: i + 1 },
      );
    }
    pairs.push({ a: parts[0]!, b: parts[1]!, score });
  });
  return pairs;
}

export interface WordPairsResult {
  /** Spearman's rank correlation between human scores and cosine similarities. */
  spearman: number;
  pearson: number;
  /** Pairs with both words in the vocabulary. */
  pairs: number;
  /** Pairs skipped because a word is missing. */
  skipped: number;
  /** skipped / all pairs. */
  oovRatio: number;
}

export interface WordPairsOptions {
  /** Only the first N words are looked up (default 300 000, as gensim). */
  restrictVocab?: number;
  /** Look words up ignoring case (default true, as gensim). */
  caseInsensitive?: boolean;
}

/** Correlation of cosine similarities with human scores, as gensim's `evaluate_word_pairs`. */
export function evaluateWordPairs(
  kv: KeyedVectors,
  pairs: readonly WordPair[],
  options: WordPairsOptions = {},
): WordPairsResult {
  const where = 'evaluateWordPairs';
  const restrict = Math.min(kv.size, positiveInt(where, 'restrictVocab', options.restrictVocab ?? 300_000));
  const caseInsensitive = options.caseInsensitive ?? true;
  const fold = (w: string): string => (caseInsensitive ? w.toUpperCase() : w);
  const rowOf = new Map<string, number>();
  for (let r = 0; r < restrict; r++) {
    const key = fold(kv.words[r]!);
    if (!rowOf.has(key)) rowOf.set(key, r);
  }
  const n = kv.normalized();
  const d = kv.dim;
  const human: number[] = [];
  const model: number[] = [];
  let skipped = 0;
  for (const { a, b, score } of pairs) {
    const ra = rowOf.get(fold(a));
    const rb = rowOf.get(fold(b));
    if (ra === undefined || rb === undefined) {
      skipped++;
      continue;
    }
    let s = 0;
    for (let k = 0; k < d; k++) s += n[ra * d + k]! * n[rb * d + k]!;
    human.push(score);
    model.push(s);
  }
  return {
    spearman: spearman(human, model),
    pearson: pearson(human, model),
    pairs: human.length,
    skipped,
    oovRatio: pairs.length === 0 ? 0 : skipped / pairs.length,
  };
}

/** Ranks 1..n, ties sharing the mean of the ranks they span (as scipy's `rankdata`). */
export function rankData(xs: readonly number[]): number[] {
  const order = xs.map((_, i) => i).sort((i, j) => xs[i]! - xs[j]!);
  const ranks = new Array<number>(xs.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && xs[order[j + 1]!] === xs[order[i]!]) j++;
    const mean = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!] = mean;
    i = j + 1;
  }
  return ranks;
}

/** Pearson's correlation; NaN when fewer than 2 values or a constant input. */
export function pearson(xs: readonly number[], ys: readonly number[]): number {
  if (xs.length !== ys.length) {
    throw new EmbeddingsError(
      describe('pearson', 'two lists of equal length', `${xs.length} and ${ys.length}`),
    );
  }
  const n = xs.length;
  if (n < 2) return Number.NaN;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i]!;
    my += ys[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    const dy = ys[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx === 0 || syy === 0 ? Number.NaN : sxy / Math.sqrt(sxx * syy);
}

/** Spearman's rank correlation with tie-aware ranks (Pearson's correlation of the ranks, as scipy). */
export function spearman(xs: readonly number[], ys: readonly number[]): number {
  if (xs.length !== ys.length) {
    throw new EmbeddingsError(
      describe('spearman', 'two lists of equal length', `${xs.length} and ${ys.length}`),
    );
  }
  return pearson(rankData(xs), rankData(ys));
}

function positiveInt(where: string, name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new EmbeddingsError(describe(where, `${name} to be a positive integer`, String(v)));
  }
  return v;
}
