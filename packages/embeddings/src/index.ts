// The browser-safe entry: nothing here touches node:fs or worker threads (see ./node.ts for those).
export {
  EmbeddingsError,
  EmbeddingsFormatError,
  type FormatLocation,
  UnknownWordError,
} from './errors.js';
export {
  type AnalogyOptions,
  type AnalogyResult,
  type AnalogySection,
  evaluateAnalogies,
  evaluateWordPairs,
  parseAnalogies,
  parseWordPairs,
  pearson,
  rankData,
  type SectionAccuracy,
  spearman,
  type WordPair,
  type WordPairsOptions,
  type WordPairsResult,
} from './evaluate.js';
export {
  encodeWord2Vec,
  type FormatOptions,
  formatFloatC,
  parseWord2Vec,
  parseWord2VecBinary,
  parseWord2VecText,
  type ReadOptions,
  type UnicodeErrors,
} from './formats.js';
export { buildHuffmanTree, type HuffmanOptions, type HuffmanTree, MAX_CODE_LENGTH } from './huffman.js';
export { COSMUL_EPS, type Key, KeyedVectors, type MostSimilarOptions } from './keyed-vectors.js';
export { EOS, Tokenizer, tokenize } from './tokenizer.js';
export type { Scored } from './topk.js';
export {
  defaultTableSize,
  resolveTrainOptions,
  type TextSource,
  type TrainOptions,
  type TrainProgress,
  type TrainResult,
  train,
  type Word2VecModel,
} from './train.js';
export { DEFAULT_TABLE_SIZE, type UnigramOptions, UnigramTable } from './unigram.js';
export { Vocab, type VocabOptions } from './vocab.js';
