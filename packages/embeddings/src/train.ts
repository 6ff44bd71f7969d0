import { Rng } from '@recur/tensor';
import { describe, EmbeddingsError } from './errors.js';
import { buildHuffmanTree } from './huffman.js';
import { type KernelParams, type KernelWasm, word2vecKernel } from './kernel.js';
import { KeyedVectors } from './keyed-vectors.js';
import { DEFAULT_TABLE_SIZE, UnigramTable } from './unigram.js';
import { Vocab } from './vocab.js';
import { createVectorMemory } from './wasm.js';

/** The two word2vec architectures. */
export type Word2VecModel = 'skipgram' | 'cbow';

/** Reported about every `progressInterval` ms while training, and once at the end. */
export interface TrainProgress {
  /** Words read per second so far, all threads together. */
  wordsPerSecond: number;
  /** Words read per second and thread (word2vec.c's "Words/thread/sec"). */
  wordsPerSecondPerThread: number;
  /** The current learning rate. */
  alpha: number;
  /** Fraction of the run done, 0..1. */
  progress: number;
  /** Estimated seconds left. */
  etaSeconds: number;
  /** The epoch being trained, 1-based. */
  epoch: number;
  /** Words read so far (each epoch reads every word of the vocabulary again). */
  words: number;
}

/** Training settings; the defaults are word2vec.c's. */
export interface TrainOptions {
  /** `'cbow'` (default, as word2vec.c) or `'skipgram'`. */
  model?: Word2VecModel;
  /** Vector size (word2vec.c `-size`, default 100). */
  dim?: number;
  /** Maximum distance between the current and a context word (default 5); each position uses a random window of 1..window. */
  window?: number;
  /** Negative samples per word (default 5; 0 turns negative sampling off). */
  negative?: number;
  /** Hierarchical softmax (default false). */
  hs?: boolean;
  /** Frequent-word subsampling threshold (default 1e-3; 0 turns it off). */
  sample?: number;
  /** Words seen fewer times are dropped (default 5). Ignored when `vocab` is given. */
  minCount?: number;
  /** Passes over the corpus (default 5). */
  epochs?: number;
  /** Starting learning rate (default 0.025 for skip-gram, 0.05 for CBOW); it decays linearly to `minAlpha`. */
  alpha?: number;
  /** Floor of the learning rate (default alpha × 1e-4). */
  minAlpha?: number;
  /** CBOW: average the context vectors (default true, as word2vec.c) instead of summing them. */
  cbowMean?: boolean;
  /** Seed of the weight initialisation and of every thread's random draws (default 1). */
  seed?: number;
  /** Worker threads (default 1; more than 1 only with `trainFile` from `@recur/embeddings/node`). */
  threads?: number;
  /**
   * Slots of the negative-sampling table. The default gives the rarest word about 10 slots, capped
   * at word2vec.c's fixed 1e8 (400 MB): each word's share is rounded to whole slots, so at most
   * about V / (2 · tableSize) of the probability mass (under 1%) moves between words, and a table
   * that fits in the processor's caches is sampled several times faster. Pass 1e8 for the C tool's table.
   */
  tableSize?: number;
  /** Longest sentence; longer lines are cut into pieces of this many kept words (default 1000). */
  maxSentenceLength?: number;
  /**
   * Run the vector loops in WebAssembly SIMD (default true where available; the weights must fit
   * in 2 GiB). false: plain JavaScript loops. Results differ in rounding between the two.
   */
  wasm?: boolean;
  /** A vocabulary built beforehand (skips the counting pass; `minCount` is then not applied). */
  vocab?: Vocab;
  /** Called with progress reports. */
  onProgress?: (progress: TrainProgress) => void;
  /** Milliseconds between progress reports (default 500). */
  progressInterval?: number;
}

export interface TrainResult {
  /** The trained input vectors (`syn0`), one row per vocabulary word. */
  vectors: KeyedVectors;
  vocab: Vocab;
  /** Words read, over all epochs (as word2vec.c counts them: before subsampling, `</s>` included). */
  words: number;
  /** Seconds spent training (after the vocabulary was built). */
  seconds: number;
  wordsPerSecond: number;
  wordsPerSecondPerThread: number;
  threads: number;
  /** Whether the vector loops ran in WebAssembly SIMD. */
  wasm: boolean;
}

/** Text to train on: a string, strings to concatenate, or a function returning a fresh (async) iterable of strings per pass. */
export type TextSource = string | Iterable<string> | (() => Iterable<string> | AsyncIterable<string>);

/** Options after defaults and validation. */
export interface ResolvedTrainOptions {
  model: Word2VecModel;
  dim: number;
  window: number;
  negative: number;
  hs: boolean;
  sample: number;
  minCount: number;
  epochs: number;
  alpha: number;
  minAlpha: number;
  cbowMean: boolean;
  seed: number;
  threads: number;
  /** `undefined`: chosen from the counts (see `defaultTableSize`). */
  tableSize: number | undefined;
  maxSentenceLength: number;
  progressInterval: number;
  wasm: boolean;
}

const KNOWN_OPTIONS = [
  'model',
  'dim',
  'window',
  'negative',
  'hs',
  'sample',
  'minCount',
  'epochs',
  'alpha',
  'minAlpha',
  'cbowMean',
  'seed',
  'threads',
  'tableSize',
  'maxSentenceLength',
  'wasm',
  'vocab',
  'onProgress',
  'progressInterval',
] as const;

/** Checks every option and fills in word2vec.c's defaults; throws an `EmbeddingsError` that says how to fix a bad one. */
export function resolveTrainOptions(options: TrainOptions, where = 'train'): ResolvedTrainOptions {
  if (typeof options !== 'object' || options === null) {
    throw new EmbeddingsError(describe(where, 'an options object', String(options)));
  }
  for (const key of Object.keys(options)) {
    if (!(KNOWN_OPTIONS as readonly string[]).includes(key)) {
      const near = KNOWN_OPTIONS.find(
        (k) => k.toLowerCase() === key.toLowerCase() || editDistance(k, key) <= 2,
      );
      throw new EmbeddingsError(
        describe(
          where,
          `known options (${KNOWN_OPTIONS.join(', ')})`,
          `unknown option ${JSON.stringify(key)}`,
          near ? `Did you mean ${JSON.stringify(near)}?` : 'Remove it.',
        ),
      );
    }
  }
  const model = options.model ?? 'cbow';
  if (model !== 'skipgram' && model !== 'cbow') {
    throw new EmbeddingsError(
      describe(
        where,
        "model to be 'skipgram' or 'cbow'",
        JSON.stringify(model),
        "Use { model: 'skipgram' }.",
      ),
    );
  }
  const int = (name: string, value: number | undefined, fallback: number, min: number): number => {
    const v = value ?? fallback;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
      throw new EmbeddingsError(
        describe(
          where,
          `${name} to be an integer >= ${min}`,
          typeof v === 'string' ? JSON.stringify(v) : String(v),
          `Use e.g. { ${name}: ${fallback} }.`,
        ),
      );
    }
    return v;
  };
  const num = (name: string, value: number | undefined, fallback: number, positive: boolean): number => {
    const v = value ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (positive && v === 0)) {
      throw new EmbeddingsError(
        describe(
          where,
          `${name} to be a finite number ${positive ? '> 0' : '>= 0'}`,
          typeof v === 'string' ? JSON.stringify(v) : String(v),
          `Use e.g. { ${name}: ${fallback} }.`,
        ),
      );
    }
    return v;
  };
  const bool = (name: string, value: boolean | undefined, fallback: boolean): boolean => {
    const v = value ?? fallback;
    if (typeof v !== 'boolean') {
      throw new EmbeddingsError(describe(where, `${name} to be true or false`, JSON.stringify(v)));
    }
    return v;
  };
  const dim = int('dim', options.dim, 100, 1);
  const window = int('window', options.window, 5, 1);
  const negative = int('negative', options.negative, 5, 0);
  const hs = bool('hs', options.hs, false);
  if (negative === 0 && !hs) {
    throw new EmbeddingsError(
      describe(
        where,
        'an output layer: negative > 0 or hs: true',
        'negative: 0 and hs: false',
        'Use { negative: 5 } (negative sampling) or { hs: true } (hierarchical softmax).',
      ),
    );
  }
  const alpha = num('alpha', options.alpha, model === 'cbow' ? 0.05 : 0.025, true);
  const minAlpha = num('minAlpha', options.minAlpha, alpha * 1e-4, false);
  if (minAlpha > alpha) {
    throw new EmbeddingsError(
      describe(where, 'minAlpha <= alpha', `minAlpha ${minAlpha} > alpha ${alpha}`, 'Lower minAlpha.'),
    );
  }
  const tableSize =
    options.tableSize === undefined ? undefined : int('tableSize', options.tableSize, 1_000_000, 1);
  if (tableSize !== undefined && tableSize > 2 ** 31 - 1) {
    throw new EmbeddingsError(describe(where, 'tableSize < 2^31', String(tableSize)));
  }
  if (options.vocab !== undefined && !(options.vocab instanceof Vocab)) {
    throw new EmbeddingsError(describe(where, 'vocab to be a Vocab', typeof options.vocab));
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new EmbeddingsError(describe(where, 'onProgress to be a function', typeof options.onProgress));
  }
  return {
    model,
    dim,
    window,
    negative,
    hs,
    sample: num('sample', options.sample, 1e-3, false),
    minCount: num('minCount', options.minCount, 5, false),
    epochs: int('epochs', options.epochs, 5, 1),
    alpha,
    minAlpha,
    cbowMean: bool('cbowMean', options.cbowMean, true),
    seed: int('seed', options.seed, 1, 0),
    threads: int('threads', options.threads, 1, 1),
    tableSize,
    maxSentenceLength: int('maxSentenceLength', options.maxSentenceLength, 1000, 1),
    progressInterval: num('progressInterval', options.progressInterval, 500, false),
    wasm: bool('wasm', options.wasm, true),
  };
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const t = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = t;
    }
  }
  return dp[b.length]!;
}

/** Everything the kernels of one run share, minus the per-thread fields. */
export type SharedKernelParams = Omit<KernelParams, 'slot' | 'seed' | 'onTick'>;

/** Checks the vocabulary can be trained on and allocates the weights (on shared memory for workers). */
export function prepareTraining(
  vocab: Vocab,
  o: ResolvedTrainOptions,
  shared: boolean,
  where = 'train',
): SharedKernelParams {
  if (vocab.size < 2 || vocab.totalCount - vocab.counts[0]! === 0) {
    throw new EmbeddingsError(
      describe(
        where,
        `at least one word seen minCount (${o.minCount}) times or more`,
        `a vocabulary of ${vocab.size - 1} words`,
        'Use a larger corpus or a lower minCount.',
      ),
    );
  }
  const V = vocab.size;
  const n = V * o.dim;
  let syn0: Float32Array;
  let syn1: Float32Array;
  let syn1neg: Float32Array;
  let wasm: KernelWasm | undefined;
  // Weights and per-thread scratch in one WebAssembly memory, each block 16-byte aligned.
  const align = (x: number): number => Math.ceil(x / 16) * 16;
  const at1 = align(n * 4);
  const atNeg = at1 + (o.hs ? align(n * 4) : 0);
  const atScratch = atNeg + (o.negative > 0 ? align(n * 4) : 0);
  const scratchStride = 2 * align(o.dim * 4);
  const vm = o.wasm ? createVectorMemory(atScratch + o.threads * scratchStride, shared) : undefined;
  if (vm !== undefined) {
    const buf = vm.memory.buffer;
    syn0 = new Float32Array(buf, 0, n);
    syn1 = new Float32Array(buf, at1, o.hs ? n : 0);
    syn1neg = new Float32Array(buf, atNeg, o.negative > 0 ? n : 0);
    wasm = { ...vm, syn0: 0, syn1: at1, syn1neg: atNeg, scratch: atScratch, scratchStride };
  } else {
    const floats = (k: number): Float32Array =>
      shared ? new Float32Array(new SharedArrayBuffer(k * 4)) : new Float32Array(k);
    syn0 = floats(n);
    syn1 = floats(o.hs ? n : 0);
    syn1neg = floats(o.negative > 0 ? n : 0);
  }
  const rng = new Rng(o.seed);
  for (let i = 0; i < n; i++) syn0[i] = (rng.uniform() - 0.5) / o.dim;
  const tableSize = o.tableSize ?? defaultTableSize(vocab.counts);
  const table =
    o.negative > 0 ? new UnigramTable(vocab.counts, { tableSize, shared }).table : new Int32Array(0);
  const codeStart = new Int32Array(V);
  const codeLength = new Int32Array(V);
  let codeBits = new Uint8Array(0);
  let codePoints = new Int32Array(0);
  if (o.hs) {
    const tree = buildHuffmanTree(vocab.counts);
    let total = 0;
    for (let w = 0; w < V; w++) {
      codeStart[w] = total;
      codeLength[w] = tree.codes[w]!.length;
      total += tree.codes[w]!.length;
    }
    codeBits = new Uint8Array(total);
    codePoints = new Int32Array(total);
    for (let w = 0; w < V; w++) {
      codeBits.set(tree.codes[w]!, codeStart[w]!);
      codePoints.set(tree.points[w]!, codeStart[w]!);
    }
  }
  return {
    words: vocab.words,
    counts: Float64Array.from(vocab.counts),
    trainWords: vocab.totalCount,
    dim: o.dim,
    window: o.window,
    negative: o.negative,
    hs: o.hs,
    cbow: o.model === 'cbow',
    cbowMean: o.cbowMean,
    sample: o.sample,
    maxSentenceLength: o.maxSentenceLength,
    startingAlpha: o.alpha,
    minAlpha: o.minAlpha,
    totalWords: o.epochs * vocab.totalCount,
    syn0,
    syn1,
    syn1neg,
    table,
    codeStart,
    codeLength,
    codeBits,
    codePoints,
    wasm,
    progress: shared ? new Float64Array(new SharedArrayBuffer(o.threads * 8)) : new Float64Array(o.threads),
  };
}

/**
 * A negative-sampling table size that gives the rarest word (count > 0) about 10 slots, between
 * 1e4 and word2vec.c's 1e8.
 */
export function defaultTableSize(counts: readonly number[], power = 0.75): number {
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  for (const c of counts) {
    if (c <= 0) continue;
    const w = c ** power;
    sum += w;
    if (w < min) min = w;
  }
  if (!(sum > 0)) return 10_000;
  return Math.min(DEFAULT_TABLE_SIZE, Math.max(10_000, Math.ceil((10 * sum) / min)));
}

/** Compiles a private copy of the kernel, so the engine optimises it for this run's constants. */
export function freshKernel(): typeof word2vecKernel {
  try {
    // A unique source text keeps the engine from reusing a copy compiled for another run.
    kernelCopies++;
    const make = new Function(`return (${word2vecKernel.toString()}) // copy ${kernelCopies}`);
    const k = make() as unknown;
    return typeof k === 'function' ? (k as typeof word2vecKernel) : word2vecKernel;
  } catch {
    // Where code generation from strings is not allowed (a strict Content-Security-Policy).
    return word2vecKernel;
  }
}
let kernelCopies = 0;

/** The seed of thread `slot`'s generator: a 32-bit mix of the run's seed and the thread, never 0. */
export function threadSeed(seed: number, slot: number): number {
  let z = (Math.trunc(seed) + Math.imul(slot + 1, 0x9e3779b9)) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return z === 0 ? 0x2545f491 : z;
}

/** Builds progress reports from the words read so far. */
export class ProgressMeter {
  private readonly start = now();
  private last = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly o: ResolvedTrainOptions,
    private readonly trainWords: number,
    private readonly report: ((p: TrainProgress) => void) | undefined,
  ) {}

  get elapsedSeconds(): number {
    return (now() - this.start) / 1000;
  }

  /** Reports if `progressInterval` ms passed since the last report (or `force`). */
  tick(words: number, alpha: number, force = false): void {
    if (this.report === undefined) return;
    const t = now();
    if (!force && t - this.last < this.o.progressInterval) return;
    this.last = t;
    const total = this.o.epochs * this.trainWords;
    const seconds = Math.max(1e-9, (t - this.start) / 1000);
    const wordsPerSecond = words / seconds;
    const progress = Math.min(1, words / total);
    this.report({
      wordsPerSecond,
      wordsPerSecondPerThread: wordsPerSecond / this.o.threads,
      alpha,
      progress,
      etaSeconds:
        wordsPerSecond > 0 ? Math.max(0, (total - words) / wordsPerSecond) : Number.POSITIVE_INFINITY,
      epoch: Math.min(this.o.epochs, Math.floor(words / this.trainWords) + 1),
      words,
    });
  }
}

function now(): number {
  return globalThis.performance.now();
}

/** Turns a `TextSource` into a function that opens a fresh pass over the text. */
export function passes(source: TextSource, where: string): () => Iterable<string> | AsyncIterable<string> {
  if (typeof source === 'string') return () => [source];
  if (typeof source === 'function') {
    return () => {
      const it = source();
      if (it === null || typeof it !== 'object' || !(Symbol.iterator in it || Symbol.asyncIterator in it)) {
        throw new EmbeddingsError(
          describe(where, 'the source function to return an iterable of strings', String(it)),
        );
      }
      return it;
    };
  }
  if (source !== null && typeof source === 'object' && Symbol.iterator in source) {
    const iter = source as Iterable<string>;
    if ((iter[Symbol.iterator]() as unknown) === iter) {
      throw new EmbeddingsError(
        describe(
          where,
          'text that can be read once per epoch (plus once for the vocabulary)',
          'a one-shot iterator',
          'Pass a function that returns a new iterable: () => makeLines().',
        ),
      );
    }
    return () => iter;
  }
  if (source !== null && typeof source === 'object' && Symbol.asyncIterator in source) {
    throw new EmbeddingsError(
      describe(
        where,
        'text that can be read once per epoch (plus once for the vocabulary)',
        'an async iterable, which can be read only once',
        'Pass a function that returns a new one per pass: () => openStream().',
      ),
    );
  }
  throw new EmbeddingsError(
    describe(where, 'a string, an iterable of strings or a function returning one', typeof source),
  );
}

/**
 * Trains word2vec on text in memory or streamed through iterables, on this thread (works in
 * browsers). With the same seed and options the vectors are identical bit for bit. For files and
 * several threads in Node, use `trainFile` from `@recur/embeddings/node`.
 */
export async function train(source: TextSource, options: TrainOptions = {}): Promise<TrainResult> {
  const where = 'train';
  const o = resolveTrainOptions(options, where);
  if (o.threads !== 1) {
    throw new EmbeddingsError(
      describe(
        where,
        'threads: 1 (training in memory runs on this thread)',
        `threads: ${o.threads}`,
        "For several threads, write the text to a file and use trainFile from '@recur/embeddings/node'.",
      ),
    );
  }
  const open = passes(source, where);
  const vocab = options.vocab ?? (await Vocab.fromChunks(open(), { minCount: o.minCount }));
  const params = prepareTraining(vocab, o, false, where);
  const meter = new ProgressMeter(o, vocab.totalCount, options.onProgress);
  const kernel = freshKernel()({
    ...params,
    slot: 0,
    seed: threadSeed(o.seed, 0),
    onTick: (alpha) => meter.tick(params.progress[0]!, alpha),
  });
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    for await (const chunk of open()) {
      if (typeof chunk !== 'string') {
        throw new EmbeddingsError(describe(where, 'strings from the text source', typeof chunk));
      }
      kernel.feed(chunk);
    }
    kernel.endInput();
  }
  const seconds = meter.elapsedSeconds;
  const words = params.progress[0]!;
  meter.tick(words, kernel.alpha(), true);
  return finish(vocab, params, o, words, seconds);
}

export function finish(
  vocab: Vocab,
  params: SharedKernelParams,
  o: ResolvedTrainOptions,
  words: number,
  seconds: number,
): TrainResult {
  const vectors = new KeyedVectors(vocab.words, Float32Array.from(params.syn0), o.dim);
  const wordsPerSecond = words / Math.max(seconds, 1e-9);
  return {
    vectors,
    vocab,
    words,
    seconds,
    wordsPerSecond,
    wordsPerSecondPerThread: wordsPerSecond / o.threads,
    threads: o.threads,
    wasm: params.wasm !== undefined,
  };
}
