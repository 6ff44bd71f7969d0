// The browser-safe entry: no `node:` modules. Files live in `@recur/data/node`.

export {
  type EncodeBatchOptions,
  encodeBatch,
  type Layout,
  oneHotBatch,
  oneHotEncode,
  type PaddedBatch,
  type PadOptions,
  padSequences,
  type TensorOptions,
} from './batch.js';
export {
  arrayReader,
  type Batchified,
  type BpttChunk,
  type BpttOptions,
  batchify,
  bpttChunkCount,
  bpttChunks,
  bpttChunksFrom,
  collectIndices,
  encodeCorpus,
  encodeStream,
  type TokenReader,
} from './corpus.js';
export { DataError, DataFormatError, type TextLocation } from './errors.js';
export { Labels } from './labels.js';
export {
  type BatchIndicesOptions,
  type BucketOptions,
  batchIndices,
  bucketByLength,
  permutation,
  rngOf,
  type Seed,
  shuffle,
} from './random.js';
export {
  type CsvColumnOptions,
  type LabelledLinesOptions,
  type PairsOptions,
  type ReaderOptions,
  readCsvColumn,
  readLabelledLines,
  readPairs,
  type SentencePair,
} from './readers.js';
export {
  chronologicalSplit,
  fitStandardizer,
  type NoisySineOptions,
  type NumericArray,
  noisySine,
  persistenceRmse,
  type Standardizer,
  slidingWindows,
  standardize,
  unstandardize,
  type WindowBatchOptions,
  type WindowOptions,
  type Windows,
  windowBatch,
} from './series.js';
export {
  classCounts,
  dedupe,
  type Example,
  majorityBaseline,
  randomSplit,
  type Split,
  type SplitOptions,
  type StratifiedSplitOptions,
  stratifiedSplit,
} from './split.js';
export { decodeText, normalizedPieces, readLines, type StreamOptions, type TextSource } from './stream.js';
export {
  foldToAscii,
  type NormalizationForm,
  normalizeText,
  type ResolvedTextOptions,
  resolveTextOptions,
  type TextOptions,
} from './text.js';
export {
  charTokenizer,
  charTokens,
  joinWords,
  type Tokenizer,
  wordTokenizer,
  wordTokens,
} from './tokenize.js';
export {
  CharVocab,
  type DecodeOptions,
  type EncodeOptions,
  SPECIAL_TOKENS,
  type SpecialToken,
  type TokenCounts,
  Vocab,
  type VocabJSON,
  type VocabOptions,
  WordVocab,
} from './vocab.js';
