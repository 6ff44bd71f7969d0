// One training run of @recur/embeddings, in its own process (a fresh JIT, as the C tool gets a
// fresh process): node bench/train-js.mjs CORPUS OUT '{"model":"skipgram",...}'
// Prints one JSON line: the words read, the training seconds, words/s/thread by the wall clock, and
// words per CPU second of training (as word2vec.c's own rate, which it measures with clock()).
import { trainFile, vocabFromFile, writeWord2Vec } from '../dist/node.js';

const [corpus, out, json] = process.argv.slice(2);
const options = JSON.parse(json);
// The vocabulary first, so the CPU time below is the training's alone (word2vec.c starts its clock
// after learning the vocabulary too).
const vocab = await vocabFromFile(corpus, { minCount: options.minCount ?? 5 });
const cpu0 = process.cpuUsage();
const r = await trainFile(corpus, { ...options, vocab });
const cpu = process.cpuUsage(cpu0);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
await writeWord2Vec(out, r.vectors);
console.log(
  JSON.stringify({
    words: r.words,
    vocab: r.vocab.size,
    trainWords: r.vocab.totalCount,
    seconds: r.seconds,
    wordsPerSecondPerThread: r.wordsPerSecondPerThread,
    cpuSeconds,
    wordsPerCpuSecond: r.words / cpuSeconds,
  }),
);
