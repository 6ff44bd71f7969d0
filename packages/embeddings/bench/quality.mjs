// W8 quality: the vectors of @recur/embeddings against those of word2vec.c over many runs, on the
// same corpus with the same settings, as mean ± standard deviation, with the training speed of both
// re-measured in the same runs. `pnpm bench:quality` (builds first) or `node bench/quality.mjs`.
//
// One run of the C tool gives one sample of a random quantity: its generator is seeded from the
// thread id, so with one thread every run on the same file is identical, and it has no seed option.
// To sample it without patching it, run i (0-based) of both tools trains on the corpus with its
// lines rotated by i/RUNS (line ⌊i·L/RUNS⌋ first, the lines before it moved to the end): the same
// words, counts and vocabulary, but a different order of the sentences, so the C tool's random
// stream meets the text differently (other subsampling, windows and negatives). Recur trains on the
// same rotated file and also takes seed i + 1. Run 0 is the corpus as it is, seed 1.
//
// Speed: word2vec.c measures its rate with clock(), per CPU second; so does this script for Recur
// (and for both whole processes). On a loaded machine, compare the CPU-time figures.
//
// Environment: RUNS (runs per tool and corpus, default 10), CORPORA (default "brown"; also
// "brown+wiki", "lee", or a file under text/), RECUR_OPTIONS (JSON merged into Recur's options, for
// experiments, e.g. '{"tableSize":100000000}'), RECUR_DATA (the data sets folder).
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cArgs,
  cache,
  cBin,
  jsOptions,
  mean,
  median,
  prepareCorpus,
  quality,
  rotatedCorpus,
  runC,
  runJs,
  settings,
  std,
} from './common.mjs';

const runs = Number(process.env.RUNS ?? 10);
const corpora = (process.env.CORPORA ?? 'brown').split(',').filter(Boolean);
const extra = JSON.parse(process.env.RECUR_OPTIONS ?? '{}');
if (!Number.isInteger(runs) || runs < 2) throw new Error(`RUNS: expected an integer >= 2, found ${runs}`);

/** Two-sided 97.5% quantile of Student's t with `df` degrees of freedom (rounded down: conservative). */
function t975(df) {
  const table = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
    2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
  ];
  const d = Math.max(1, Math.floor(df));
  if (d <= 30) return table[d - 1];
  if (d <= 40) return 2.021;
  if (d <= 60) return 2.0;
  if (d <= 120) return 1.98;
  return 1.96;
}

/** Recur − C: the difference of the means with Welch's 95% confidence interval. */
function difference(js, c) {
  const d = mean(js) - mean(c);
  const vj = std(js) ** 2 / js.length;
  const vc = std(c) ** 2 / c.length;
  const se = Math.sqrt(vj + vc);
  const df =
    se === 0
      ? Number.POSITIVE_INFINITY
      : (vj + vc) ** 2 / (vj ** 2 / (js.length - 1) + vc ** 2 / (c.length - 1));
  const h = t975(df) * se;
  return { d, lo: d - h, hi: d + h };
}

const pts = (x) => (x * 100).toFixed(2);
const sgn = (x) => `${x >= 0 ? '+' : '−'}${pts(Math.abs(x))}`;
const k = (x) => `${(x / 1000).toFixed(1)}k`;

console.log(
  `W8 quality: skip-gram, negative sampling, one thread; settings ${JSON.stringify(settings)}; ${runs} runs per tool`,
);
console.log(`C tool: ${[cBin, ...cArgs('CORPUS_i', 'OUT')].join(' ')}`);
console.log(`Recur:  node bench/train-js.mjs CORPUS_i OUT '${JSON.stringify(jsOptions('i+1', extra))}'`);
console.log(
  'CORPUS_i: the corpus with its lines rotated by i/RUNS; runs interleaved (C, Recur, C, Recur, ...)',
);
console.log('Scores in points (×100): analogy accuracy in %, Spearman correlations ×100.');

for (const name of corpora) {
  const { path, label } = prepareCorpus(name);
  const key = name.replace(/[^a-z0-9+_-]/gi, '_');
  const rows = [];
  for (let i = 0; i < runs; i++) {
    const corpus = rotatedCorpus(path, key, i, runs);
    const outC = join(cache, `q-${key}-c.txt`);
    const outJ = join(cache, `q-${key}-js.txt`);
    const c = runC(corpus, outC);
    const qc = await quality(outC);
    const js = runJs(corpus, outJ, jsOptions(i + 1, extra));
    const qj = await quality(outJ);
    const row = { run: i, seed: i + 1, c: { ...c, ...summary(qc) }, js: { ...js, ...summary(qj) } };
    rows.push(row);
    process.stderr.write(
      `${name} run ${i}: C ws ${pts(row.c.ws)} sl ${pts(row.c.sl)} an ${pts(row.c.an)} ${k(c.loopCpu)}/cpu-s | ` +
        `Recur ws ${pts(row.js.ws)} sl ${pts(row.js.sl)} an ${pts(row.js.an)} ${k(js.loopCpu)}/cpu-s\n`,
    );
  }
  const first = rows[0];
  console.log(
    `\n## ${label}: ${first.c.trainWords} words (C) / ${first.js.trainWords} (Recur), vocabulary ${first.c.vocab} / ${first.js.vocab}`,
  );
  console.log(
    `${first.c.attempted} analogy questions in vocabulary (of ${first.c.questions}); wordsim353 OOV ${pts(first.c.wsOov)}%, simlex999 OOV ${pts(first.c.slOov)}%\n`,
  );
  console.log('| | word2vec.c, mean ± std (min–max) | Recur, mean ± std (min–max) | Recur − C (95% CI) |');
  console.log('|---|---|---|---|');
  for (const [what, f] of [
    ['analogy accuracy, %', (r) => r.an],
    ['wordsim353 Spearman ×100', (r) => r.ws],
    ['simlex999 Spearman ×100', (r) => r.sl],
  ]) {
    const c = rows.map((r) => f(r.c));
    const js = rows.map((r) => f(r.js));
    const cell = (xs) =>
      `${pts(mean(xs))} ± ${pts(std(xs))} (${pts(Math.min(...xs))}–${pts(Math.max(...xs))})`;
    const { d, lo, hi } = difference(js, c);
    console.log(`| ${what} | ${cell(c)} | ${cell(js)} | ${sgn(d)} (${sgn(lo)} to ${sgn(hi)}) |`);
  }
  const words = settings.iter * first.c.trainWords;
  const speed = (what, f) => {
    const c = median(rows.map((r) => f(r.c)));
    const js = median(rows.map((r) => f(r.js)));
    console.log(`| ${what} | ${k(c)} | ${k(js)} | ratio ${(js / c).toFixed(2)} |`);
  };
  speed('words per CPU second, training loop (median)', (r) => r.loopCpu);
  speed('words per CPU second, whole run (median)', (r) => words / r.cpu);
  speed('words/s/thread, whole run, wall clock (median)', (r) => words / r.wall);
  const out = join(cache, `quality-${key}.json`);
  writeFileSync(`${out}.tmp`, JSON.stringify({ settings, runs, extra, rows }, null, 1));
  renameSync(`${out}.tmp`, out);
  console.log(`\nEvery run: ${out}`);
}

function summary(q) {
  return {
    vocab: q.vocab,
    an: q.an.total.accuracy,
    attempted: q.an.total.attempted,
    questions: q.an.total.attempted + q.an.total.skipped,
    ws: q.ws.spearman,
    wsOov: q.ws.oovRatio,
    sl: q.sl.spearman,
    slOov: q.sl.oovRatio,
  };
}
