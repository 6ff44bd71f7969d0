import { eq, expandDims, fromData, gather, type Tensor, tidy, where } from '@recur/tensor';
import { expectTensor } from './checks.js';
import { CellsError, describe, fmtShape } from './errors.js';
import { checkDType, checkSize, type InitOptions, normalValues, parameter, rngOf } from './init.js';
import { Module } from './module.js';

export interface EmbeddingOptions extends InitOptions {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  /** A row that starts at zero and never gets a gradient (negative counts from the end). */
  readonly paddingIdx?: number;
  /** No gradient for the table (default false). */
  readonly freeze?: boolean;
}

/**
 * Word vectors as `@recur/embeddings`' `KeyedVectors` holds them (any object of this shape):
 * `words[i]` owns row `i` of the row-major `words.length × dim` matrix `vectors`.
 */
export interface KeyedVectorsLike {
  readonly words: readonly string[];
  readonly vectors: Float32Array;
  readonly dim: number;
}

export interface FromPretrainedOptions extends Omit<InitOptions, 'seed'> {
  /** No gradient for the table (default true, as PyTorch's `from_pretrained`). */
  readonly freeze?: boolean;
  /** A row that never gets a gradient; its pretrained values are kept. */
  readonly paddingIdx?: number;
  /**
   * The model's vocabulary: row `i` of the embedding is the vector of `vocabulary[i]`. With word
   * vectors, words they lack get zero rows (listed in `missingWords`); with a matrix, it just
   * names the rows (one word per row).
   */
  readonly vocabulary?: readonly string[];
}

/**
 * A lookup table, `torch.nn.Embedding`: `weight [numEmbeddings, embeddingDim]`, initialised
 * N(0, 1) (seeded) with the padding row zero. `forward(indices)` maps i32 indices of any shape to
 * `[...indices.shape, embeddingDim]`.
 */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  /** The padding row, non-negative, or undefined. */
  readonly paddingIdx: number | undefined;
  readonly weight: Tensor;
  /** Row names, when built with a vocabulary or from word vectors. */
  readonly words: readonly string[] | undefined;
  /** Words of the vocabulary that the pretrained vectors lacked (their rows are zero). */
  readonly missingWords: readonly string[];
  private readonly index: Map<string, number> | undefined;

  /**
   * A seeded N(0, 1) table, or, with `init`, the given row-major values (`numEmbeddings ×
   * embeddingDim`) and row names; `Embedding.fromPretrained` is the friendlier way to pass them.
   */
  constructor(
    options: EmbeddingOptions,
    init?: {
      values: Float64Array | Float32Array;
      words?: readonly string[];
      missingWords?: readonly string[];
    },
  ) {
    super();
    if (typeof options !== 'object' || options === null) {
      throw new CellsError(
        describe('Embedding', 'an options object { numEmbeddings, embeddingDim }', String(options)),
      );
    }
    checkSize('Embedding', 'numEmbeddings', options.numEmbeddings);
    checkSize('Embedding', 'embeddingDim', options.embeddingDim);
    checkDType('Embedding', options.dtype);
    this.numEmbeddings = options.numEmbeddings;
    this.embeddingDim = options.embeddingDim;
    const pad = options.paddingIdx;
    if (pad !== undefined) {
      const n = this.numEmbeddings;
      if (!Number.isInteger(pad) || pad < -n || pad >= n) {
        throw new CellsError(describe('Embedding', `paddingIdx in ${-n}..${n - 1}`, `${pad}`));
      }
      this.paddingIdx = pad < 0 ? pad + n : pad;
    }
    let values: Float64Array;
    if (init) {
      const n = this.numEmbeddings * this.embeddingDim;
      if (init.values.length !== n) {
        throw new CellsError(
          describe(
            'Embedding',
            `${n} initial values (numEmbeddings × embeddingDim)`,
            `${init.values.length}`,
          ),
        );
      }
      if (init.words && init.words.length !== this.numEmbeddings) {
        throw new CellsError(
          describe('Embedding', `${this.numEmbeddings} words (one per row)`, `${init.words.length}`),
        );
      }
      values = Float64Array.from(init.values);
    } else {
      values = normalValues(rngOf(options.seed), this.numEmbeddings * this.embeddingDim);
      if (this.paddingIdx !== undefined) {
        values.fill(0, this.paddingIdx * this.embeddingDim, (this.paddingIdx + 1) * this.embeddingDim);
      }
    }
    this.weight = this.registerParameter(
      'weight',
      parameter(values, [this.numEmbeddings, this.embeddingDim], options, !(options.freeze ?? false)),
    );
    this.words = init?.words;
    this.missingWords = init?.missingWords ?? [];
    if (this.words) {
      this.index = new Map();
      this.words.forEach((w, i) => {
        if (this.index!.has(w)) {
          throw new CellsError(describe('Embedding', 'unique words', `${JSON.stringify(w)} twice`));
        }
        this.index!.set(w, i);
      });
    }
  }

  /**
   * An embedding initialised from pretrained vectors: a 2-D tensor `[numEmbeddings, dim]` or word
   * vectors (e.g. `KeyedVectors` from `@recur/embeddings`), frozen unless `freeze: false`.
   */
  static fromPretrained(vectors: Tensor | KeyedVectorsLike, options: FromPretrainedOptions = {}): Embedding {
    const where = 'Embedding.fromPretrained';
    let rows: number;
    let dim: number;
    let data: Float32Array | Float64Array;
    let words: readonly string[] | undefined;
    let missingWords: string[] = [];
    const vocab = options.vocabulary;
    if (isKeyedVectors(vectors)) {
      dim = vectors.dim;
      if (!Number.isSafeInteger(dim) || dim < 1 || vectors.vectors.length !== vectors.words.length * dim) {
        throw new CellsError(
          describe(
            where,
            `word vectors with words.length × dim = ${vectors.words.length} × ${dim} values`,
            `${vectors.vectors.length}`,
          ),
        );
      }
      if (vocab) {
        const at = new Map(vectors.words.map((w, i) => [w, i]));
        rows = vocab.length;
        data = new Float32Array(rows * dim);
        vocab.forEach((w, i) => {
          const j = at.get(w);
          if (j === undefined) missingWords.push(w);
          else data.set(vectors.vectors.subarray(j * dim, (j + 1) * dim), i * dim);
        });
        words = vocab;
      } else {
        rows = vectors.words.length;
        data = vectors.vectors;
        words = vectors.words;
      }
    } else {
      expectTensor(where, 'vectors', vectors);
      if (vectors.shape.length !== 2 || vectors.dtype === 'i32') {
        throw new CellsError(
          describe(
            where,
            'a 2-D float tensor [numEmbeddings, dim]',
            `${vectors.dtype} of shape ${fmtShape(vectors.shape)}`,
          ),
        );
      }
      [rows, dim] = vectors.shape as [number, number];
      if (!vectors.backend.readSync) {
        throw new CellsError(
          describe(
            where,
            'vectors readable synchronously',
            `a tensor on '${vectors.backend.name}'`,
            'Pass word vectors or a CPU tensor.',
          ),
        );
      }
      data = vectors.dataSync() as Float32Array | Float64Array;
      if (vocab && vocab.length !== rows) {
        throw new CellsError(
          describe(where, `a vocabulary of ${rows} words (one per row)`, `${vocab.length} words`),
        );
      }
      words = vocab;
      missingWords = [];
    }
    return new Embedding(
      {
        numEmbeddings: rows,
        embeddingDim: dim,
        freeze: options.freeze ?? true,
        ...(options.paddingIdx !== undefined ? { paddingIdx: options.paddingIdx } : {}),
        ...(options.dtype ? { dtype: options.dtype } : {}),
        ...(options.backend ? { backend: options.backend } : {}),
      },
      { values: data, ...(words ? { words } : {}), missingWords },
    );
  }

  /** The row of a word, or -1 (needs a vocabulary). */
  indexOf(word: string): number {
    if (!this.index) {
      throw new CellsError(
        describe(
          'Embedding.indexOf',
          'an embedding with words',
          'none',
          'Build it with fromPretrained(vectors, { vocabulary }).',
        ),
      );
    }
    return this.index.get(word) ?? -1;
  }

  /** Row indices of words as an i32 tensor; unknown words throw unless `unknownIndex` is given. */
  encode(words: readonly string[], options: { unknownIndex?: number } = {}): Tensor {
    const unknown: string[] = [];
    const ids = words.map((w) => {
      const i = this.indexOf(w);
      if (i >= 0) return i;
      if (options.unknownIndex !== undefined) return options.unknownIndex;
      unknown.push(w);
      return 0;
    });
    if (unknown.length > 0) {
      throw new CellsError(
        describe(
          'Embedding.encode',
          'words of the vocabulary',
          `unknown ${unknown.map((w) => JSON.stringify(w)).join(', ')}`,
          'Pass { unknownIndex } to map them to a row.',
        ),
      );
    }
    return fromData(ids, [ids.length], { dtype: 'i32', backend: this.weight.backend });
  }

  /** i32 `indices` of any shape → `[...indices.shape, embeddingDim]`. */
  forward(indices: Tensor): Tensor {
    const site = 'Embedding.forward';
    expectTensor(site, 'indices', indices);
    if (indices.dtype !== 'i32') {
      throw new CellsError(
        describe(site, 'i32 indices', indices.dtype, "Create them with { dtype: 'i32' } or .cast('i32')."),
      );
    }
    if (indices.backend.readSync && indices.size > 0) {
      const data = indices.dataSync();
      for (let i = 0; i < data.length; i++) {
        const v = data[i]!;
        if (v < 0 || v >= this.numEmbeddings) {
          throw new CellsError(
            describe(
              site,
              `indices in 0..${this.numEmbeddings - 1} (numEmbeddings ${this.numEmbeddings})`,
              `${v} at flat position ${i}`,
            ),
          );
        }
      }
    }
    return tidy(() => {
      const rows = gather(this.weight, indices, 0);
      if (this.paddingIdx === undefined || !this.weight.requiresGrad) return rows;
      // The padding row's values pass through, but without a path back to the table.
      const isPad = expandDims(eq(indices, this.paddingIdx), -1);
      return where(isPad, gather(this.weight.detach(), indices, 0), rows);
    });
  }

  protected override parameterHint(): string {
    return `numEmbeddings × embeddingDim = ${this.numEmbeddings} × ${this.embeddingDim}`;
  }
}

function isKeyedVectors(v: unknown): v is KeyedVectorsLike {
  return (
    typeof v === 'object' &&
    v !== null &&
    'words' in v &&
    'vectors' in v &&
    'dim' in v &&
    Array.isArray((v as KeyedVectorsLike).words) &&
    (v as KeyedVectorsLike).vectors instanceof Float32Array
  );
}
