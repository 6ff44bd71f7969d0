// The Node entry: everything of the main entry, plus files and worker threads.

export { writeFileAtomic } from './atomic.js';
export { readAnalogies, readWord2Vec, readWordPairs, vocabFromFile, writeWord2Vec } from './files.js';
export * from './index.js';
export { trainFile } from './train-file.js';
