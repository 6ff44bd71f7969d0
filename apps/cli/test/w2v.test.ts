import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './run.js';

/** Lines "a x b": x0/y0 (and x1/y1, ...) share every context, so they are each other's nearest words. */
function corpus(): string {
  const lines: string[] = [];
  let s = 12345;
  const rand = (n: number): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
  for (let i = 0; i < 2000; i++) {
    const t = rand(4);
    lines.push(`l${t}_${rand(5)} ${rand(2) === 0 ? 'x' : 'y'}${t} r${t}_${rand(5)}`);
  }
  return `${lines.join('\n')}\n`;
}

let dir = '';
let corpusPath = '';
let vectors = '';
const trainArgs = [
  '--sg',
  '--dim',
  '16',
  '--window',
  '2',
  '--epochs',
  '6',
  '--min-count',
  '1',
  '--sample',
  '0',
];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recur-cli-w2v-'));
  corpusPath = join(dir, 'corpus.txt');
  vectors = join(dir, 'vectors.txt');
  await writeFile(corpusPath, corpus());
  const r = await run('w2v', 'train', '--corpus', corpusPath, ...trainArgs, '--out', vectors);
  expect(r.err).toEqual([]);
  expect(r.code).toBe(0);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('recur w2v train', () => {
  it('writes vectors in the text format and says what it did', async () => {
    const header = (await readFile(vectors, 'utf8')).split('\n')[0];
    expect(header).toBe('49 16'); // 4 topics x (x, y, 5 left and 5 right words) + </s>
    const r = await run('w2v', 'train', '--corpus', corpusPath, ...trainArgs, '--out', join(dir, 'v2.txt'));
    expect(r.out).toHaveLength(1);
    expect(r.out[0]).toMatch(
      /^trained 49 words x 16 on 48000 words read in [\d.]+ s \(\d+ words\/s\/thread, 1 thread\); wrote /,
    );
  });

  it('writes the binary format, and trains with hierarchical softmax, CBOW and two threads', async () => {
    const bin = join(dir, 'v.bin');
    const r = await run(
      'w2v',
      'train',
      '--corpus',
      corpusPath,
      ...trainArgs,
      '--hs',
      '--threads',
      '2',
      '--out',
      bin,
      '--binary',
    );
    expect(r.code).toBe(0);
    expect(r.out[0]).toMatch(/2 threads/);
    const s = await run('w2v', 'similar', 'x1', '--vectors', bin, '--topn', '1');
    expect(s.out).toEqual([expect.stringMatching(/^y1\t0\.\d{4}$/)]);
    const c = await run(
      'w2v',
      'train',
      '--corpus',
      corpusPath,
      '--cbow',
      '--dim',
      '8',
      '--min-count',
      '1',
      '--epochs',
      '1',
      '--out',
      join(dir, 'c.txt'),
    );
    expect(c.code).toBe(0);
  });

  it('reports bad input in one line with a non-zero exit', async () => {
    const missing = await run('w2v', 'train', '--corpus', join(dir, 'nope.txt'), '--out', join(dir, 'x.txt'));
    expect(missing.code).toBe(1);
    expect(missing.err).toHaveLength(1);
    expect(missing.err[0]).toMatch(/^recur: trainFile: expected a readable corpus file at ".*nope\.txt"/);
    const both = await run(
      'w2v',
      'train',
      '--corpus',
      corpusPath,
      '--sg',
      '--cbow',
      '--out',
      join(dir, 'x.txt'),
    );
    expect(both.err).toEqual(['recur: w2v train: expected one of --sg or --cbow, found both.']);
    const dim = await run('w2v', 'train', '--corpus', corpusPath, '--dim', '0', '--out', join(dir, 'x.txt'));
    expect(dim.code).not.toBe(0);
    expect(dim.err.join('\n')).toMatch(/expected an integer >= 1 for --dim, found '0'/);
    const small = await run(
      'w2v',
      'train',
      '--corpus',
      corpusPath,
      '--min-count',
      '100000',
      '--out',
      join(dir, 'x.txt'),
    );
    expect(small.err[0]).toMatch(
      /^recur: trainFile: expected at least one word seen minCount \(100000\) times/,
    );
    const noOut = await run('w2v', 'train', '--corpus', corpusPath);
    expect(noOut.code).not.toBe(0);
    expect(noOut.err.join('\n')).toMatch(/--out <file>/);
  });
});

describe('recur w2v similar / analogy', () => {
  it('lists the nearest words with their cosine similarity', async () => {
    const r = await run('w2v', 'similar', 'x0', '--vectors', vectors, '--topn', '3');
    expect(r.code).toBe(0);
    expect(r.out).toHaveLength(3);
    expect(r.out[0]).toMatch(/^y0\t0\.\d{4}$/);
  });

  it('solves A is to B as C is to ?', async () => {
    // x0 : y0 :: x2 : y2 (the x/y offset is shared only loosely, but y2 is the closest to x2 anyway).
    const r = await run('w2v', 'analogy', 'x0', 'y0', 'x2', '--vectors', vectors, '--topn', '2');
    expect(r.code).toBe(0);
    expect(r.out).toHaveLength(2);
    expect(r.out[0]).toMatch(/^y2\t/);
  });

  it('reads a binary file without a .bin extension, and names unknown words', async () => {
    const bin = join(dir, 'vectors-binary');
    await run('w2v', 'train', '--corpus', corpusPath, ...trainArgs, '--out', bin, '--binary');
    expect((await run('w2v', 'similar', 'y3', '--vectors', bin, '--topn', '1')).out[0]).toMatch(/^x3\t/);
    const r = await run('w2v', 'similar', 'zebra', '--vectors', vectors);
    expect(r.code).toBe(1);
    expect(r.err).toEqual([
      expect.stringMatching(/^recur: KeyedVectors\.mostSimilar: .*unknown word "zebra"/),
    ]);
  });
});

describe('recur w2v eval', () => {
  it('prints analogy accuracy per section and Spearman correlations with OOV ratios', async () => {
    const data = join(dir, 'data');
    const evalDir = join(data, 'embeddings-eval');
    await import('node:fs/promises').then((fs) => fs.mkdir(evalDir, { recursive: true }));
    await writeFile(
      join(evalDir, 'questions-words.txt'),
      ': pairs\nx0 y0 x1 y1\nx0 y0 x2 y2\n: oov\nx0 y0 cat dog\n',
    );
    await writeFile(join(evalDir, 'wordsim353.tsv'), '# c\nx0\ty0\t9\nx0\tr3_1\t1\nx0\tcat\t5\n');
    const r = await run('w2v', 'eval', '--vectors', vectors, '--data', data);
    expect(r.code).toBe(0);
    expect(r.out[1]).toMatch(/^ {2}pairs +\d+\.\d\d% +\(\d\/2, 0 skipped\)$/);
    expect(r.out[3]).toMatch(/^ {2}total +\d+\.\d\d% +\(\d\/2, 1 skipped\)$/);
    expect(r.out.at(-1)).toMatch(
      /^wordsim353: Spearman 1\.0000, Pearson -?\d\.\d{4} \(2 pairs, 33\.33% with unknown words\)$/,
    );
    const j = await run('w2v', 'eval', '--vectors', vectors, '--data', evalDir, '--json');
    const parsed = JSON.parse(j.out[0]!);
    expect(parsed.analogies.total.attempted).toBe(2);
    expect(parsed.pairs.wordsim353.spearman).toBe(1);
    expect(parsed.pairs.simlex999).toBeUndefined();
  });

  it('uses the shared data sets by default', async () => {
    const copy = join(dir, 'copy.txt');
    await copyFile(vectors, copy);
    const r = await run('w2v', 'eval', '--vectors', copy);
    expect(r.err).toEqual([]);
    expect(r.out.join('\n')).toMatch(/capital-common-countries/);
    expect(r.out.join('\n')).toMatch(/simlex999: Spearman/);
  });

  it('says where it looked when the data sets are missing', async () => {
    const r = await run('w2v', 'eval', '--vectors', vectors, '--data', dir);
    expect(r.code).toBe(1);
    expect(r.err[0]).toMatch(/^recur: w2v eval: expected questions-words\.txt in .*Pass --data DIR\.$/);
  });
});
