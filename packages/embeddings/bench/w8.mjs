// W8 (../shared/BENCHMARKS.md): word2vec skip-gram with negative sampling, words/second per thread
// and quality, side by side with the original C tool on the same corpus and settings.
//
// The peer is word2vec.c as the `word2vec` npm package ships it (a devDependency; pnpm does not run
// its build script), compiled here with the flags of its makefile. Each run is a fresh process for
// both tools. Run with `pnpm bench` (builds first) or `node bench/w8.mjs` after a build.
// Environment: REPS (runs per tool and corpus, default 3), W8_CORPORA (default "lee,brown"),
// LEE_REPEAT (copies of lee_background.cor, default 4), SEEDS (extra seeds of Recur for the spread
// of its quality, default "2,3,4,5"), RECUR_DATA (the data sets folder).
// For the quality of both tools over many runs (mean ± std), see quality.mjs (`pnpm bench:quality`).
//
// Speed is given per wall-clock second and per CPU second. word2vec.c measures its own rate with
// clock(), i.e. per CPU second; Recur reports both. On an idle machine the two agree; on a loaded one
// only the CPU-time figures compare the tools fairly (wall time includes waiting for a core).
import { join } from 'node:path';
import {
  cArgs,
  cache,
  cBin,
  jsOptions,
  median,
  prepareCorpus,
  quality,
  runC,
  runJs,
  settings,
} from './common.mjs';

const reps = Number(process.env.REPS ?? 3);
const corpora = (process.env.W8_CORPORA ?? 'lee,brown').split(',');

console.log(
  `W8: skip-gram, negative sampling, one thread; settings ${JSON.stringify(settings)}; ${reps} runs each`,
);
console.log(`C tool: ${[cBin, ...cArgs('CORPUS', 'OUT')].join(' ')}`);
console.log(`Recur:  node bench/train-js.mjs CORPUS OUT '${JSON.stringify(jsOptions(1))}'`);
for (const name of corpora) {
  const { path, label } = prepareCorpus(name);
  const outC = join(cache, `${name}-c.txt`);
  const outJ = join(cache, `${name}-js.txt`);
  const c = [];
  const js = [];
  for (let i = 0; i < reps; i++) {
    // Interleaved, so a busy moment of the machine hits both tools alike.
    c.push(runC(path, outC));
    js.push(runJs(path, outJ, jsOptions(1)));
  }
  const words = settings.iter * c[0].trainWords;
  const endToEnd = (runs) => median(runs.map((r) => words / r.wall));
  const endToEndCpu = (runs) => median(runs.map((r) => words / r.cpu));
  const loopCpu = (runs) => median(runs.map((r) => r.loopCpu));
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
  row('words/s/thread, whole run, wall clock (median)', endToEnd(c), endToEnd(js), k);
  row('words per CPU second, whole run (median)', endToEndCpu(c), endToEndCpu(js), k);
  row('words per CPU second, training loop (median)', loopCpu(c), loopCpu(js), k);
  console.log(
    `| words/s/thread, training loop, wall clock (median) | (not reported) | ${k(median(js.map((r) => r.loop)))} | |`,
  );
  console.log(
    `| CPU seconds (all runs) | ${c.map((r) => r.cpu.toFixed(2)).join(', ')} | ${js.map((r) => r.cpu.toFixed(2)).join(', ')} | |`,
  );
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
  // The spread of Recur's quality over seeds (quality.mjs measures both tools over many runs).
  const seeds = (process.env.SEEDS ?? '2,3,4,5').split(',').filter(Boolean).map(Number);
  if (seeds.length > 0) {
    const qs = [qj];
    for (const seed of seeds) {
      const out = join(cache, `${name}-js-seed${seed}.txt`);
      runJs(path, out, jsOptions(seed));
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
