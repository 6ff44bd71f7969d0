// One training run of @recur/embeddings, in its own process (a fresh JIT, as the C tool gets a
// fresh process): node bench/train-js.mjs CORPUS OUT '{"model":"skipgram",...}'
// Prints one JSON line: the words read, the training seconds and words/s/thread.
import { trainFile, writeWord2Vec } from '../dist/node.js';

const [corpus, out, json] = process.argv.slice(2);
const r = await trainFile(corpus, JSON.parse(json));
await writeWord2Vec(out, r.vectors);
console.log(
  JSON.stringify({
    words: r.words,
    vocab: r.vocab.size,
    trainWords: r.vocab.totalCount,
    seconds: r.seconds,
    wordsPerSecondPerThread: r.wordsPerSecondPerThread,
  }),
);
