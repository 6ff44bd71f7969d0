/**
 * The word2vec training loop, as word2vec.c's `TrainModelThread` runs it, for one thread.
 *
 * `word2vecKernel` is self-contained on purpose: it uses nothing from its module (no imports, no
 * module-level constants), so its source text (`word2vecKernel.toString()`) can be evaluated inside
 * a worker, which then trains on the same shared weights (Hogwild, as the C tool). The single-thread
 * trainer calls the same function directly, so both run the same code.
 */

/** What one thread needs to train. Typed arrays may live on a `SharedArrayBuffer`. */
export interface KernelParams {
  /** Vocabulary in word2vec order; index 0 is `</s>`. */
  words: readonly string[];
  counts: Float64Array;
  /** Sum of all counts (word2vec.c's `train_words`). */
  trainWords: number;
  dim: number;
  window: number;
  /** Negative samples per word (0: none). */
  negative: number;
  hs: boolean;
  cbow: boolean;
  /** CBOW: average the context vectors (true, word2vec.c) or sum them (gensim's cbow_mean=0). */
  cbowMean: boolean;
  /** Subsampling threshold (word2vec.c's `-sample`); 0 disables it. */
  sample: number;
  maxSentenceLength: number;
  startingAlpha: number;
  minAlpha: number;
  /** Words all threads will read in the whole run (epochs × trainWords), for the linear decay. */
  totalWords: number;
  syn0: Float32Array;
  syn1: Float32Array;
  syn1neg: Float32Array;
  /** The unigram table (empty without negative sampling). */
  table: Int32Array;
  /** Hierarchical softmax: per word, `codeLength[w]` bits starting at `codeStart[w]` in `codeBits`/`codePoints`. */
  codeStart: Int32Array;
  codeLength: Int32Array;
  codeBits: Uint8Array;
  codePoints: Int32Array;
  /**
   * The SIMD loops (see wasm.ts) and where the weights live in their memory (byte offsets; `syn0`,
   * `syn1`, `syn1neg` above are views of the same memory). Without it the loops run in JavaScript.
   */
  wasm?: KernelWasm | undefined;
  /** Words read so far, one slot per thread; the sum drives the learning rate. */
  progress: Float64Array;
  slot: number;
  /** Seed of this thread's random generator. */
  seed: number;
  /** Called about every 10 000 words read, after the learning rate is updated. */
  onTick?: ((alpha: number) => void) | undefined;
}

export interface KernelWasm {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  syn0: number;
  syn1: number;
  syn1neg: number;
  /** Per-thread scratch (the hidden vector and its error), `scratchStride` bytes per thread. */
  scratch: number;
  scratchStride: number;
}

export interface Kernel {
  /** Tokenises the next piece of text and trains on every sentence it completes. */
  feed(text: string): void;
  /** Ends the input (an epoch or a byte range): the last token and sentence are trained. */
  endInput(): void;
  /** The current learning rate. */
  alpha(): number;
}

export function word2vecKernel(p: KernelParams): Kernel {
  const MAX_EXP = 6;
  const EXP_TABLE_SIZE = 1000;
  // word2vec.c computes the index scale as EXP_TABLE_SIZE / MAX_EXP / 2 in integer arithmetic: 83.
  const EXP_SCALE = Math.floor(Math.floor(EXP_TABLE_SIZE / MAX_EXP) / 2);
  const expTab = new Float64Array(EXP_TABLE_SIZE + 1);
  for (let i = 0; i <= EXP_TABLE_SIZE; i++) {
    const e = Math.fround(Math.exp(((i / EXP_TABLE_SIZE) * 2 - 1) * MAX_EXP));
    expTab[i] = Math.fround(e / (e + 1));
  }

  const words = p.words;
  const vocabSize = words.length;
  const maxLen = p.maxSentenceLength;
  const progress = p.progress;
  const slot = p.slot;
  const totalWords = p.totalWords;
  const startingAlpha = p.startingAlpha;
  const minAlpha = p.minAlpha;
  const onTick = p.onTick;

  // Probability of keeping each word under subsampling (word2vec.c's formula; >= 1 keeps always).
  const keep = new Float64Array(vocabSize);
  for (let w = 0; w < vocabSize; w++) {
    const cn = p.counts[w]!;
    const st = p.sample * p.trainWords;
    keep[w] = p.sample > 0 && cn > 0 ? (Math.sqrt(cn / st) + 1) * (st / cn) : 2;
  }

  // Open-addressing hash table from a word's UTF-16 code units (carriage returns skipped) to its index.
  let hashSize = 1024;
  while (hashSize < vocabSize * 2) hashSize *= 2;
  const hashMask = hashSize - 1;
  const hashSlots = new Int32Array(hashSize).fill(-1);
  const wordHash = new Int32Array(vocabSize);
  for (let w = 0; w < vocabSize; w++) {
    const s = words[w]!;
    let h = -2128831035;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c !== 13) h = Math.imul(h ^ c, 16777619);
    }
    wordHash[w] = h;
    let at = h & hashMask;
    while (hashSlots[at]! !== -1) at = (at + 1) & hashMask;
    hashSlots[at] = w;
  }

  // Per-thread random generator (xorshift32), seeded from the run's seed and the thread.
  let random = p.seed | 0 || 0x2545f491;

  const sentence = new Int32Array(maxLen + 1);
  let sentenceLength = 0;
  const hidden = new Float64Array(p.dim);
  const hiddenError = new Float64Array(p.dim);
  let currentAlpha = startingAlpha;
  let wordCount = 0;
  let lastWordCount = 0;
  let pending = '';

  const updateAlpha = (): void => {
    progress[slot] = progress[slot]! + (wordCount - lastWordCount);
    lastWordCount = wordCount;
    let done = 0;
    for (let i = 0; i < progress.length; i++) done += progress[i]!;
    let alpha = startingAlpha * (1 - done / (totalWords + 1));
    if (alpha < minAlpha) alpha = minAlpha;
    currentAlpha = alpha;
    if (onTick !== undefined) onTick(alpha);
  };

  /** Trains on `sen[0, senLen)` as word2vec.c does on one sentence, then empties it. */
  const trainSentenceJs = (): void => {
    // Hot values as locals of this function: closure variables would be reloaded from the context.
    const dim = p.dim;
    const window = p.window;
    const negative = p.negative;
    const hs = p.hs;
    const cbow = p.cbow;
    const cbowMean = p.cbowMean;
    const syn0 = p.syn0;
    const syn1 = p.syn1;
    const syn1neg = p.syn1neg;
    const table = p.table;
    const tableScale = table.length / 4294967296;
    const codeStart = p.codeStart;
    const codeLength = p.codeLength;
    const codeBits = p.codeBits;
    const codePoints = p.codePoints;
    const expTable = expTab;
    const sen = sentence;
    const senLen = sentenceLength;
    const neu1 = hidden;
    const neu1e = hiddenError;
    const V = vocabSize;
    const alpha = currentAlpha;
    let rnd = random;
    for (let pos = 0; pos < senLen; pos++) {
      const word = sen[pos]!;
      rnd ^= rnd << 13;
      rnd ^= rnd >>> 17;
      rnd ^= rnd << 5;
      const b = (rnd >>> 1) % window;
      const aEnd = window * 2 + 1 - b;
      if (cbow) {
        for (let k = 0; k < dim; k++) neu1[k] = 0;
        for (let k = 0; k < dim; k++) neu1e[k] = 0;
        let cw = 0;
        for (let a = b; a < aEnd; a++) {
          if (a === window) continue;
          const c = pos - window + a;
          if (c < 0 || c >= senLen) continue;
          const l1 = sen[c]! * dim;
          for (let k = 0; k < dim; k++) neu1[k] = neu1[k]! + syn0[l1 + k]!;
          cw++;
        }
        if (cw === 0) continue;
        if (cbowMean) for (let k = 0; k < dim; k++) neu1[k] = neu1[k]! / cw;
        if (hs) {
          const cs = codeStart[word]!;
          const ce = cs + codeLength[word]!;
          for (let d = cs; d < ce; d++) {
            const l2 = codePoints[d]! * dim;
            let f0 = 0;
            let f1 = 0;
            let f2 = 0;
            let f3 = 0;
            let k = 0;
            for (; k + 3 < dim; k += 4) {
              f0 += neu1[k]! * syn1[l2 + k]!;
              f1 += neu1[k + 1]! * syn1[l2 + k + 1]!;
              f2 += neu1[k + 2]! * syn1[l2 + k + 2]!;
              f3 += neu1[k + 3]! * syn1[l2 + k + 3]!;
            }
            for (; k < dim; k++) f0 += neu1[k]! * syn1[l2 + k]!;
            const f = f0 + f1 + f2 + f3;
            if (f <= -MAX_EXP || f >= MAX_EXP) continue;
            const g = (1 - codeBits[d]! - expTable[((f + MAX_EXP) * EXP_SCALE) | 0]!) * alpha;
            for (k = 0; k + 3 < dim; k += 4) {
              const s0 = syn1[l2 + k]!;
              const s1 = syn1[l2 + k + 1]!;
              const s2 = syn1[l2 + k + 2]!;
              const s3 = syn1[l2 + k + 3]!;
              const x0 = neu1[k]!;
              const x1 = neu1[k + 1]!;
              const x2 = neu1[k + 2]!;
              const x3 = neu1[k + 3]!;
              neu1e[k] = neu1e[k]! + g * s0;
              neu1e[k + 1] = neu1e[k + 1]! + g * s1;
              neu1e[k + 2] = neu1e[k + 2]! + g * s2;
              neu1e[k + 3] = neu1e[k + 3]! + g * s3;
              syn1[l2 + k] = s0 + g * x0;
              syn1[l2 + k + 1] = s1 + g * x1;
              syn1[l2 + k + 2] = s2 + g * x2;
              syn1[l2 + k + 3] = s3 + g * x3;
            }
            for (; k < dim; k++) {
              const s = syn1[l2 + k]!;
              neu1e[k] = neu1e[k]! + g * s;
              syn1[l2 + k] = s + g * neu1[k]!;
            }
          }
        }
        if (negative > 0) {
          for (let d = 0; d <= negative; d++) {
            let target = word;
            let label = 1;
            if (d > 0) {
              rnd ^= rnd << 13;
              rnd ^= rnd >>> 17;
              rnd ^= rnd << 5;
              target = table[((rnd >>> 0) * tableScale) | 0]!;
              if (target === 0) target = ((rnd >>> 1) % (V - 1)) + 1;
              if (target === word) continue;
              label = 0;
            }
            const l2 = target * dim;
            let f0 = 0;
            let f1 = 0;
            let f2 = 0;
            let f3 = 0;
            let k = 0;
            for (; k + 3 < dim; k += 4) {
              f0 += neu1[k]! * syn1neg[l2 + k]!;
              f1 += neu1[k + 1]! * syn1neg[l2 + k + 1]!;
              f2 += neu1[k + 2]! * syn1neg[l2 + k + 2]!;
              f3 += neu1[k + 3]! * syn1neg[l2 + k + 3]!;
            }
            for (; k < dim; k++) f0 += neu1[k]! * syn1neg[l2 + k]!;
            const f = f0 + f1 + f2 + f3;
            const g =
              f > MAX_EXP
                ? (label - 1) * alpha
                : f < -MAX_EXP
                  ? label * alpha
                  : (label - expTable[((f + MAX_EXP) * EXP_SCALE) | 0]!) * alpha;
            for (k = 0; k + 3 < dim; k += 4) {
              const s0 = syn1neg[l2 + k]!;
              const s1 = syn1neg[l2 + k + 1]!;
              const s2 = syn1neg[l2 + k + 2]!;
              const s3 = syn1neg[l2 + k + 3]!;
              const x0 = neu1[k]!;
              const x1 = neu1[k + 1]!;
              const x2 = neu1[k + 2]!;
              const x3 = neu1[k + 3]!;
              neu1e[k] = neu1e[k]! + g * s0;
              neu1e[k + 1] = neu1e[k + 1]! + g * s1;
              neu1e[k + 2] = neu1e[k + 2]! + g * s2;
              neu1e[k + 3] = neu1e[k + 3]! + g * s3;
              syn1neg[l2 + k] = s0 + g * x0;
              syn1neg[l2 + k + 1] = s1 + g * x1;
              syn1neg[l2 + k + 2] = s2 + g * x2;
              syn1neg[l2 + k + 3] = s3 + g * x3;
            }
            for (; k < dim; k++) {
              const s = syn1neg[l2 + k]!;
              neu1e[k] = neu1e[k]! + g * s;
              syn1neg[l2 + k] = s + g * neu1[k]!;
            }
          }
        }
        // Without averaging the input, the error is shared among the context words (as gensim).
        if (!cbowMean) for (let k = 0; k < dim; k++) neu1e[k] = neu1e[k]! / cw;
        for (let a = b; a < aEnd; a++) {
          if (a === window) continue;
          const c = pos - window + a;
          if (c < 0 || c >= senLen) continue;
          const l1 = sen[c]! * dim;
          for (let k = 0; k < dim; k++) syn0[l1 + k] = syn0[l1 + k]! + neu1e[k]!;
        }
      } else {
        for (let a = b; a < aEnd; a++) {
          if (a === window) continue;
          const c = pos - window + a;
          if (c < 0 || c >= senLen) continue;
          const l1 = sen[c]! * dim;
          for (let k = 0; k < dim; k++) neu1e[k] = 0;
          if (hs) {
            const cs = codeStart[word]!;
            const ce = cs + codeLength[word]!;
            for (let d = cs; d < ce; d++) {
              const l2 = codePoints[d]! * dim;
              let f0 = 0;
              let f1 = 0;
              let f2 = 0;
              let f3 = 0;
              let k = 0;
              for (; k + 3 < dim; k += 4) {
                f0 += syn0[l1 + k]! * syn1[l2 + k]!;
                f1 += syn0[l1 + k + 1]! * syn1[l2 + k + 1]!;
                f2 += syn0[l1 + k + 2]! * syn1[l2 + k + 2]!;
                f3 += syn0[l1 + k + 3]! * syn1[l2 + k + 3]!;
              }
              for (; k < dim; k++) f0 += syn0[l1 + k]! * syn1[l2 + k]!;
              const f = f0 + f1 + f2 + f3;
              if (f <= -MAX_EXP || f >= MAX_EXP) continue;
              const g = (1 - codeBits[d]! - expTable[((f + MAX_EXP) * EXP_SCALE) | 0]!) * alpha;
              for (k = 0; k + 3 < dim; k += 4) {
                const s0 = syn1[l2 + k]!;
                const s1 = syn1[l2 + k + 1]!;
                const s2 = syn1[l2 + k + 2]!;
                const s3 = syn1[l2 + k + 3]!;
                const x0 = syn0[l1 + k]!;
                const x1 = syn0[l1 + k + 1]!;
                const x2 = syn0[l1 + k + 2]!;
                const x3 = syn0[l1 + k + 3]!;
                neu1e[k] = neu1e[k]! + g * s0;
                neu1e[k + 1] = neu1e[k + 1]! + g * s1;
                neu1e[k + 2] = neu1e[k + 2]! + g * s2;
                neu1e[k + 3] = neu1e[k + 3]! + g * s3;
                syn1[l2 + k] = s0 + g * x0;
                syn1[l2 + k + 1] = s1 + g * x1;
                syn1[l2 + k + 2] = s2 + g * x2;
                syn1[l2 + k + 3] = s3 + g * x3;
              }
              for (; k < dim; k++) {
                const s = syn1[l2 + k]!;
                neu1e[k] = neu1e[k]! + g * s;
                syn1[l2 + k] = s + g * syn0[l1 + k]!;
              }
            }
          }
          if (negative > 0) {
            for (let d = 0; d <= negative; d++) {
              let target = word;
              let label = 1;
              if (d > 0) {
                rnd ^= rnd << 13;
                rnd ^= rnd >>> 17;
                rnd ^= rnd << 5;
                target = table[((rnd >>> 0) * tableScale) | 0]!;
                if (target === 0) target = ((rnd >>> 1) % (V - 1)) + 1;
                if (target === word) continue;
                label = 0;
              }
              const l2 = target * dim;
              let f0 = 0;
              let f1 = 0;
              let f2 = 0;
              let f3 = 0;
              let k = 0;
              for (; k + 3 < dim; k += 4) {
                f0 += syn0[l1 + k]! * syn1neg[l2 + k]!;
                f1 += syn0[l1 + k + 1]! * syn1neg[l2 + k + 1]!;
                f2 += syn0[l1 + k + 2]! * syn1neg[l2 + k + 2]!;
                f3 += syn0[l1 + k + 3]! * syn1neg[l2 + k + 3]!;
              }
              for (; k < dim; k++) f0 += syn0[l1 + k]! * syn1neg[l2 + k]!;
              const f = f0 + f1 + f2 + f3;
              const g =
                f > MAX_EXP
                  ? (label - 1) * alpha
                  : f < -MAX_EXP
                    ? label * alpha
                    : (label - expTable[((f + MAX_EXP) * EXP_SCALE) | 0]!) * alpha;
              for (k = 0; k + 3 < dim; k += 4) {
                const s0 = syn1neg[l2 + k]!;
                const s1 = syn1neg[l2 + k + 1]!;
                const s2 = syn1neg[l2 + k + 2]!;
                const s3 = syn1neg[l2 + k + 3]!;
                const x0 = syn0[l1 + k]!;
                const x1 = syn0[l1 + k + 1]!;
                const x2 = syn0[l1 + k + 2]!;
                const x3 = syn0[l1 + k + 3]!;
                neu1e[k] = neu1e[k]! + g * s0;
                neu1e[k + 1] = neu1e[k + 1]! + g * s1;
                neu1e[k + 2] = neu1e[k + 2]! + g * s2;
                neu1e[k + 3] = neu1e[k + 3]! + g * s3;
                syn1neg[l2 + k] = s0 + g * x0;
                syn1neg[l2 + k + 1] = s1 + g * x1;
                syn1neg[l2 + k + 2] = s2 + g * x2;
                syn1neg[l2 + k + 3] = s3 + g * x3;
              }
              for (; k < dim; k++) {
                const s = syn1neg[l2 + k]!;
                neu1e[k] = neu1e[k]! + g * s;
                syn1neg[l2 + k] = s + g * syn0[l1 + k]!;
              }
            }
          }
          for (let k = 0; k < dim; k++) syn0[l1 + k] = syn0[l1 + k]! + neu1e[k]!;
        }
      }
    }
    random = rnd;
    sentenceLength = 0;
  };

  // The same loop with the vector operations in WebAssembly SIMD (rows addressed by byte offset).
  const wasm = p.wasm;
  const vk =
    wasm === undefined
      ? undefined
      : (new WebAssembly.Instance(wasm.module, { env: { memory: wasm.memory } }).exports as unknown as {
          dot(a: number, b: number, n: number): number;
          update(e: number, w: number, x: number, g: number, n: number): void;
          add(dst: number, src: number, n: number): void;
          scale(dst: number, s: number, n: number): void;
          zero(dst: number, n: number): void;
        });
  const trainSentenceWasm = (): void => {
    const dim = p.dim;
    const window = p.window;
    const negative = p.negative;
    const hs = p.hs;
    const cbow = p.cbow;
    const cbowMean = p.cbowMean;
    const w = wasm!;
    const row = dim * 4;
    const s0 = w.syn0;
    const s1 = w.syn1;
    const sn = w.syn1neg;
    const h = w.scratch + slot * w.scratchStride;
    const e = h + w.scratchStride / 2;
    const dot = vk!.dot;
    const update = vk!.update;
    const add = vk!.add;
    const scale = vk!.scale;
    const zero = vk!.zero;
    const table = p.table;
    const tableScale = table.length / 4294967296;
    const codeStart = p.codeStart;
    const codeLength = p.codeLength;
    const codeBits = p.codeBits;
    const codePoints = p.codePoints;
    const expTable = expTab;
    const sen = sentence;
    const senLen = sentenceLength;
    const V = vocabSize;
    const alpha = currentAlpha;
    let rnd = random;
    for (let pos = 0; pos < senLen; pos++) {
      const word = sen[pos]!;
      rnd ^= rnd << 13;
      rnd ^= rnd >>> 17;
      rnd ^= rnd << 5;
      const b = (rnd >>> 1) % window;
      const aEnd = window * 2 + 1 - b;
      if (cbow) {
        zero(h, dim);
        zero(e, dim);
        let cw = 0;
        for (let a = b; a < aEnd; a++) {
          if (a === window) continue;
          const c = pos - window + a;
          if (c < 0 || c >= senLen) continue;
          add(h, s0 + sen[c]! * row, dim);
          cw++;
        }
        if (cw === 0) continue;
        if (cbowMean) scale(h, 1 / cw, dim);
        if (hs) {
          const ce = codeStart[word]! + codeLength[word]!;
          for (let d = codeStart[word]!; d < ce; d++) {
            const l2 = s1 + codePoints[d]! * row;
            const f = dot(h, l2, dim);
            if (f <= -MAX_EXP || f >= MAX_EXP) continue;
            update(e, l2, h, (1 - codeBits[d]! - expTable[((f + MAX_EXP) * EXP_SCALE) | 0]!) * alpha, dim);
          }
        }
        if (negative > 0) {
          for (let d = 0; d <= negative; d++) {
            let target = word;
            let label = 1;
            if (d > 0) {
              rnd ^= rnd << 13;
              rnd ^= rnd >>> 17;
              rnd ^= rnd << 5;
              target = table[((rnd >>> 0) * tableScale) | 0]!;
              if (target === 0) target = ((rnd >>> 1) % (V - 1)) + 1;
              if (target === word) continue;
              label = 0;
            }
            const l2 = sn + target * row;
            const f = dot(h, l2, dim);
            const g =
              f > MAX_EXP
                ? (label - 1) * alpha
                : f < -MAX_EXP
                  ? label * alpha
                  : (label - expTable[((f + MAX_EXP) * EXP_SCALE) | 0]!) * alpha;
            update(e, l2, h, g, dim);
          }
        }
        if (!cbowMean) scale(e, 1 / cw, dim);
        for (let a = b; a < aEnd; a++) {
          if (a === window) continue;
          const c = pos - window + a;
          if (c < 0 || c >= senLen) continue;
          add(s0 + sen[c]! * row, e, dim);
        }
      } else {
        for (let a = b; a < aEnd; a++) {
          if (a === window) continue;
          const c = pos - window + a;
          if (c < 0 || c >= senLen) continue;
          const l1 = s0 + sen[c]! * row;
          zero(e, dim);
          if (hs) {
            const ce = codeStart[word]! + codeLength[word]!;
            for (let d = codeStart[word]!; d < ce; d++) {
              const l2 = s1 + codePoints[d]! * row;
              const f = dot(l1, l2, dim);
              if (f <= -MAX_EXP || f >= MAX_EXP) continue;
              update(e, l2, l1, (1 - codeBits[d]! - expTable[((f + MAX_EXP) * EXP_SCALE) | 0]!) * alpha, dim);
            }
          }
          if (negative > 0) {
            for (let d = 0; d <= negative; d++) {
              let target = word;
              let label = 1;
              if (d > 0) {
                rnd ^= rnd << 13;
                rnd ^= rnd >>> 17;
                rnd ^= rnd << 5;
                target = table[((rnd >>> 0) * tableScale) | 0]!;
                if (target === 0) target = ((rnd >>> 1) % (V - 1)) + 1;
                if (target === word) continue;
                label = 0;
              }
              const l2 = sn + target * row;
              const f = dot(l1, l2, dim);
              const g =
                f > MAX_EXP
                  ? (label - 1) * alpha
                  : f < -MAX_EXP
                    ? label * alpha
                    : (label - expTable[((f + MAX_EXP) * EXP_SCALE) | 0]!) * alpha;
              update(e, l2, l1, g, dim);
            }
          }
          add(l1, e, dim);
        }
      }
    }
    random = rnd;
    sentenceLength = 0;
  };
  const trainSentence = vk === undefined ? trainSentenceJs : trainSentenceWasm;

  /** One token read: counted, subsampled, added to the sentence; `</s>` or a full sentence trains it. */
  const take = (w: number): void => {
    wordCount++;
    if (w === 0) {
      if (sentenceLength > 0) trainSentence();
    } else {
      if (keep[w]! < 1) {
        let r = random;
        r ^= r << 13;
        r ^= r >>> 17;
        r ^= r << 5;
        random = r;
        if (keep[w]! < (r >>> 0) / 4294967296) return;
      }
      sentence[sentenceLength++] = w;
      if (sentenceLength >= maxLen) trainSentence();
    }
    if (wordCount - lastWordCount > 10000) updateAlpha();
  };

  /** The vocabulary index of `s[start, end)` (carriage returns skipped, hash `h`), or -1. */
  const lookup = (s: string, start: number, end: number, h: number): number => {
    let at = h & hashMask;
    for (;;) {
      const w = hashSlots[at]!;
      if (w === -1) return -1;
      if (wordHash[w] === h) {
        const ws = words[w]!;
        let i = start;
        let j = 0;
        for (; i < end; i++) {
          const c = s.charCodeAt(i);
          if (c === 13) continue;
          if (j >= ws.length || ws.charCodeAt(j) !== c) break;
          j++;
        }
        if (i === end && j === ws.length) return w;
      }
      at = (at + 1) & hashMask;
    }
  };

  const feed = (chunk: string): void => {
    const s = pending === '' ? chunk : pending + chunk;
    pending = '';
    const n = s.length;
    let start = -1;
    let h = -2128831035;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10) {
        if (start >= 0) {
          const w = lookup(s, start, i, h);
          if (w >= 0) take(w);
          start = -1;
          h = -2128831035;
        }
        if (c === 10) take(0);
      } else if (c !== 13) {
        if (start < 0) start = i;
        h = Math.imul(h ^ c, 16777619);
      }
    }
    if (start >= 0) pending = s.slice(start);
  };

  const endInput = (): void => {
    if (pending !== '') {
      const s = pending;
      pending = '';
      let h = -2128831035;
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c !== 13) h = Math.imul(h ^ c, 16777619);
      }
      const w = lookup(s, 0, s.length, h);
      if (w >= 0) take(w);
    }
    if (sentenceLength > 0) trainSentence();
    updateAlpha();
  };

  return { feed, endInput, alpha: () => currentAlpha };
}
