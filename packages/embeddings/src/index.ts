export { writeFileAtomic } from './atomic.js';
export {
  EmbeddingsError,
  EmbeddingsFormatError,
  type FormatLocation,
  UnknownWordError,
} from './errors.js';
export {
  encodeWord2Vec,
  type FormatOptions,
  formatFloatC,
  parseWord2Vec,
  parseWord2VecBinary,
  parseWord2VecText,
  type ReadOptions,
  readWord2Vec,
  type UnicodeErrors,
  writeWord2Vec,
} from './formats.js';
export { buildHuffmanTree, type HuffmanOptions, type HuffmanTree, MAX_CODE_LENGTH } from './huffman.js';
export { COSMUL_EPS, type Key, KeyedVectors, type MostSimilarOptions } from './keyed-vectors.js';
export { EOS, Tokenizer, tokenize } from './tokenizer.js';
export type { Scored } from './topk.js';
export { DEFAULT_TABLE_SIZE, type UnigramOptions, UnigramTable } from './unigram.js';
export { Vocab, type VocabOptions } from './vocab.js';
