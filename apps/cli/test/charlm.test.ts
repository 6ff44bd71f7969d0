import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDataDir } from '../src/data-path.js';
import { jsonLines, run, runWith } from './run.js';

const SMALL = [
  '--hidden',
  '32',
  '--embedding',
  '16',
  '--seq-len',
  '16',
  '--batch',
  '8',
  '--lr',
  '0.01',
  '--epochs',
  '1',
  '--eval-every',
  '20',
  '--seed',
  '3',
];

let dir = '';
let text = '';
let model = '';
let lines: Record<string, unknown>[] = [];
let vocabSize = 0;

beforeAll(async () => {
  const shared = findDataDir();
  if (shared === null) throw new Error('the bundled data (../shared/data) is needed for these tests');
  dir = await mkdtemp(join(tmpdir(), 'recur-cli-charlm-'));
  text = join(dir, 'tiny.txt');
  await writeFile(text, (await readFile(join(shared, 'text', 'tinyshakespeare.txt'), 'utf8')).slice(0, 8000));
  model = join(dir, 'model');
  const r = await run('train', 'charlm', '--text', text, ...SMALL, '--out', model, '--json');
  expect(r.err).toEqual([]);
  expect(r.code).toBe(0);
  lines = jsonLines(r.out);
  vocabSize = lines[0]!.vocabulary as number;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('recur train charlm', () => {
  it('learns: the validation loss falls well below a uniform guess', () => {
    const checks = lines.filter((l) => 'step' in l).map((l) => l.valLoss as number);
    expect(checks).toHaveLength(2);
    const last = lines.at(-1)!;
    expect(Object.keys(last).slice(0, 2)).toEqual(['validLoss', 'perplexity']);
    const final = last.validLoss as number;
    expect(final).toBeLessThan(checks[0]!);
    expect(final).toBeLessThan(Math.log(vocabSize) - 0.6);
    expect(last.perplexity).toBeCloseTo(Math.exp(final), 10);
    expect(lines.find((l) => 'sample' in l)!.sample).toMatch(/^.{201}$/su);
  });

  it('samples deterministically for a seed, starting with the prime', async () => {
    const a = await run('sample', '--model', model, '--prime', 'KING', '--length', '60', '--seed', '5');
    const b = await run('sample', '--model', model, '--prime', 'KING', '--length', '60', '--seed', '5');
    const c = await run('sample', '--model', model, '--prime', 'KING', '--length', '60', '--seed', '6');
    expect(a.code).toBe(0);
    const textA = a.out.join('\n');
    expect(textA.startsWith('KING')).toBe(true);
    expect(textA).toHaveLength(64);
    expect(b.out.join('\n')).toBe(textA);
    expect(c.out.join('\n')).not.toBe(textA);
    const greedy = await run(
      'sample',
      '--model',
      model,
      '--top-k',
      '1',
      '--length',
      '20',
      '--seed',
      '1',
      '--json',
    );
    const again = await run(
      'sample',
      '--model',
      model,
      '--top-k',
      '1',
      '--length',
      '20',
      '--seed',
      '2',
      '--json',
    );
    expect(jsonLines(greedy.out)[0]!.text).toBe(jsonLines(again.out)[0]!.text);
  });

  it('evaluates the held-out tail (as in training) and another text file', async () => {
    const r = await run('eval', '--model', model, '--json');
    expect(r.code).toBe(0);
    expect(jsonLines(r.out)[0]!.loss).toBeCloseTo(lines.at(-1)!.validLoss as number, 6);
    const other = join(dir, 'other.txt');
    await writeFile(other, 'First Citizen:\nBefore we proceed any further, hear me speak.\n€\n');
    const o = await run('eval', '--model', model, '--data', other, '--json');
    expect(o.code).toBe(0);
    const e = jsonLines(o.out)[0]!;
    expect(e.unknown).toBe(1);
    expect(e.chars).toBe(63);
  });

  it('resumes after Ctrl-C with the carried state, ending where an uninterrupted run ends', async () => {
    const out = join(dir, 'resumed');
    const controller = new AbortController();
    const stopped = await runWith(
      { signal: controller.signal, onStep: (s) => s === 30 && controller.abort() },
      'train',
      'charlm',
      '--text',
      text,
      ...SMALL,
      '--out',
      out,
      '--json',
    );
    expect(stopped.code).toBe(130);
    const saved = JSON.parse(await readFile(join(out, 'checkpoint.json'), 'utf8'));
    expect(saved.extra.carried.h.shape).toEqual([1, 8, 32]);
    const resumed = await run('train', 'charlm', '--resume', out, '--json');
    expect(resumed.code).toBe(0);
    const weights = await readFile(join(out, 'model.safetensors'));
    expect(weights.equals(await readFile(join(model, 'model.safetensors')))).toBe(true);
  });
});
