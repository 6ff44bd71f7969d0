import { existsSync } from 'node:fs';
import { extname, join } from 'node:path';
import {
  EmbeddingsError,
  EmbeddingsFormatError,
  evaluateAnalogies,
  evaluateWordPairs,
  type KeyedVectors,
  readAnalogies,
  readWord2Vec,
  readWordPairs,
  type TrainProgress,
  trainFile,
  writeWord2Vec,
} from '@recur/embeddings/node';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { intArg } from './args.js';
import { findDataDir } from './data-path.js';

type Print = (s: string) => void;

const int = intArg;

function nonNegative(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0)
      throw new InvalidArgumentError(`expected a number >= 0 for ${name}, found '${value}'.`);
    return n;
  };
}

function positive(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0)
      throw new InvalidArgumentError(`expected a positive number for ${name}, found '${value}'.`);
    return n;
  };
}

/**
 * Loads vectors in the C tool's text or binary format: `binary` when given, else by the file's
 * extension (`.bin` is binary), else text, falling back to binary when the file does not parse as text.
 */
export async function loadVectors(path: string, binary?: boolean): Promise<KeyedVectors> {
  if (binary !== undefined) return readWord2Vec(path, { binary });
  if (extname(path).toLowerCase() === '.bin') return readWord2Vec(path, { binary: true });
  try {
    return await readWord2Vec(path, { binary: false });
  } catch (e) {
    if (!(e instanceof EmbeddingsFormatError)) throw e;
    try {
      return await readWord2Vec(path, { binary: true });
    } catch {
      throw e;
    }
  }
}

/** A one-line progress display: `epoch 2/5  41.0%  alpha 0.0151  103.2k words/s/thread  ETA 12s`. */
export function formatProgress(p: TrainProgress, epochs: number): string {
  const eta = Number.isFinite(p.etaSeconds) ? `${Math.round(p.etaSeconds)}s` : '?';
  return (
    `epoch ${p.epoch}/${epochs}  ${(p.progress * 100).toFixed(1).padStart(5)}%  alpha ${p.alpha.toFixed(5)}  ` +
    `${(p.wordsPerSecondPerThread / 1000).toFixed(1)}k words/s/thread  ETA ${eta}`
  );
}

/** The embeddings-eval folder: `dir` itself or its `embeddings-eval` subfolder. */
function evalDir(dir: string | undefined): string {
  const base = dir ?? findDataDir();
  if (base === null) {
    throw new EmbeddingsError(
      'w2v eval: expected the data sets (../shared/data beside the repository or $RECUR_DATA), found none. ' +
        'Pass --data DIR.',
    );
  }
  const sub = join(base, 'embeddings-eval');
  if (existsSync(join(sub, 'questions-words.txt'))) return sub;
  if (existsSync(join(base, 'questions-words.txt'))) return base;
  throw new EmbeddingsError(
    `w2v eval: expected questions-words.txt in ${base} or ${sub}, found none. Pass --data DIR.`,
  );
}

/** Adds `recur w2v train|similar|analogy|eval`. */
export function registerW2v(program: Command, out: Print, _err: Print): void {
  const w2v = program.command('w2v').description('train word2vec vectors, query them and evaluate them');

  w2v
    .command('train')
    .description('train word vectors on a text file (word2vec.c defaults: CBOW, 100 dimensions, window 5)')
    .requiredOption('--corpus <file>', 'a text file, words separated by spaces, one sentence a line')
    .requiredOption(
      '--out <file>',
      'where to write the vectors (word2vec text format, or binary with --binary)',
    )
    .option('--sg', 'skip-gram')
    .option('--cbow', 'continuous bag of words (the default)')
    .option('--dim <n>', 'vector size', int('--dim', 1), 100)
    .option('--window <n>', 'maximum context distance', int('--window', 1), 5)
    .option('--negative <n>', 'negative samples (default 5, or 0 with --hs)', int('--negative', 0))
    .option('--hs', 'hierarchical softmax (with no negative sampling unless --negative is given)')
    .option('--epochs <n>', 'passes over the corpus', int('--epochs', 1), 5)
    .option('--min-count <n>', 'drop words seen fewer times', int('--min-count', 0), 5)
    .option('--sample <f>', 'subsampling threshold of frequent words (0: off)', nonNegative('--sample'), 1e-3)
    .option('--alpha <f>', 'starting learning rate (default 0.025 skip-gram, 0.05 CBOW)', positive('--alpha'))
    .option('--threads <n>', 'worker threads', int('--threads', 1), 1)
    .option('--seed <n>', 'random seed', int('--seed', 0), 1)
    .option('--binary', "write the C tool's binary format")
    .addOption(new Option('--no-progress', 'do not show progress on stderr'))
    .action(async (o) => {
      if (o.sg && o.cbow) throw new EmbeddingsError('w2v train: expected one of --sg or --cbow, found both.');
      const negative: number = o.negative ?? (o.hs ? 0 : 5);
      const epochs: number = o.epochs;
      const tty = o.progress !== false && process.stderr.isTTY === true;
      let shown = false;
      const r = await trainFile(o.corpus, {
        model: o.sg ? 'skipgram' : 'cbow',
        dim: o.dim,
        window: o.window,
        negative,
        hs: o.hs === true,
        epochs,
        minCount: o.minCount,
        sample: o.sample,
        ...(o.alpha === undefined ? {} : { alpha: o.alpha }),
        threads: o.threads,
        seed: o.seed,
        ...(tty
          ? {
              onProgress: (p: TrainProgress) => {
                process.stderr.write(`\r${formatProgress(p, epochs)}\x1b[K`);
                shown = true;
              },
            }
          : {}),
      });
      if (shown) process.stderr.write('\n');
      await writeWord2Vec(o.out, r.vectors, { binary: o.binary === true });
      out(
        `trained ${r.vocab.size} words x ${o.dim} on ${r.words} words read in ${r.seconds.toFixed(2)} s ` +
          `(${Math.round(r.wordsPerSecondPerThread)} words/s/thread, ${r.threads} thread${r.threads === 1 ? '' : 's'}); ` +
          `wrote ${o.out}`,
      );
    });

  w2v
    .command('similar')
    .description('the words closest to WORD by cosine similarity')
    .argument('<word>')
    .requiredOption('--vectors <file>', 'vectors in the C tool text or binary format')
    .option('--topn <n>', 'how many', int('--topn', 1), 10)
    .option('--binary', 'the file is in the binary format (default: .bin files)')
    .action(async (word: string, o) => {
      const kv = await loadVectors(o.vectors, o.binary);
      for (const s of kv.mostSimilar({ positive: word, topn: o.topn }))
        out(`${s.word}\t${s.similarity.toFixed(4)}`);
    });

  w2v
    .command('analogy')
    .description('A is to B as C is to ?: the words closest to B - A + C (3CosAdd)')
    .argument('<a>')
    .argument('<b>')
    .argument('<c>')
    .requiredOption('--vectors <file>', 'vectors in the C tool text or binary format')
    .option('--topn <n>', 'how many', int('--topn', 1), 5)
    .option('--binary', 'the file is in the binary format (default: .bin files)')
    .action(async (a: string, b: string, c: string, o) => {
      const kv = await loadVectors(o.vectors, o.binary);
      for (const s of kv.mostSimilar({ positive: [b, c], negative: [a], topn: o.topn })) {
        out(`${s.word}\t${s.similarity.toFixed(4)}`);
      }
    });

  w2v
    .command('eval')
    .description('analogy accuracy (questions-words.txt) and Spearman correlation (wordsim353, simlex999)')
    .requiredOption('--vectors <file>', 'vectors in the C tool text or binary format')
    .option('--data <dir>', 'the data sets folder (default: ../shared/data or $RECUR_DATA)')
    .option('--restrict <n>', 'analogies use only the N most frequent words', int('--restrict', 1), 30_000)
    .option('--binary', 'the file is in the binary format (default: .bin files)')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const dir = evalDir(o.data);
      const kv = await loadVectors(o.vectors, o.binary);
      const analogies = evaluateAnalogies(kv, await readAnalogies(join(dir, 'questions-words.txt')), {
        restrictVocab: o.restrict,
      });
      const pairs: Record<string, ReturnType<typeof evaluateWordPairs>> = {};
      for (const [name, file] of [
        ['wordsim353', 'wordsim353.tsv'],
        ['simlex999', 'simlex999.txt'],
      ] as const) {
        if (existsSync(join(dir, file)))
          pairs[name] = evaluateWordPairs(kv, await readWordPairs(join(dir, file)));
      }
      if (o.json) {
        out(JSON.stringify({ analogies, pairs }));
        return;
      }
      const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
      out(`analogies (${kv.size} words, restricted to the ${Math.min(o.restrict, kv.size)} most frequent):`);
      for (const s of [...analogies.sections, analogies.total]) {
        out(
          `  ${s.name.padEnd(28)} ${pct(s.accuracy).padStart(7)}  (${s.correct}/${s.attempted}, ${s.skipped} skipped)`,
        );
      }
      out(`  questions with unknown words: ${pct(analogies.oovRatio)}`);
      for (const [name, r] of Object.entries(pairs)) {
        out(
          `${name}: Spearman ${r.spearman.toFixed(4)}, Pearson ${r.pearson.toFixed(4)} ` +
            `(${r.pairs} pairs, ${pct(r.oovRatio)} with unknown words)`,
        );
      }
    });
}
