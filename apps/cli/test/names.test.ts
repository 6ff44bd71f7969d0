import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDataDir } from '../src/data-path.js';
import { jsonLines, run, runWith } from './run.js';

// Four languages of the bundled names, 200 lines each: small enough to train in seconds, varied
// enough that always answering one language scores 25%.
const LANGUAGES = ['Chinese', 'Italian', 'Japanese', 'Russian'];
const SMALL = [
  '--hidden',
  '32',
  '--embedding',
  '16',
  '--lr',
  '0.02',
  '--batch',
  '32',
  '--epochs',
  '3',
  '--seed',
  '1',
];

let dir = '';
let data = '';
let model = '';
let first: Record<string, unknown>[] = [];

beforeAll(async () => {
  const shared = findDataDir();
  if (shared === null) throw new Error('the bundled data (../shared/data) is needed for these tests');
  dir = await mkdtemp(join(tmpdir(), 'recur-cli-names-'));
  data = join(dir, 'names');
  await mkdir(data);
  for (const l of LANGUAGES) {
    const lines = (await readFile(join(shared, 'names', `${l}.txt`), 'utf8')).split('\n').slice(0, 200);
    await writeFile(join(data, `${l}.txt`), `${lines.join('\n')}\n`);
  }
  model = join(dir, 'model');
  const r = await run('train', 'names', '--data', data, ...SMALL, '--out', model, '--json');
  expect(r.err).toEqual([]);
  expect(r.code).toBe(0);
  first = jsonLines(r.out);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('recur train names', () => {
  it('learns well above the majority baseline, and reports it in JSON lines', () => {
    const last = first.at(-1)!;
    expect(Object.keys(last).slice(0, 2)).toEqual(['testAccuracy', 'seconds']);
    const accuracy = last.testAccuracy as number;
    const baseline = last.baseline as number;
    expect(baseline).toBeCloseTo(0.25, 1);
    expect(accuracy).toBeGreaterThanOrEqual(0.75);
    expect(accuracy).toBeGreaterThan(baseline + 0.4);
    const epochs = first.filter((l) => 'epoch' in l);
    expect(epochs).toHaveLength(3);
    expect(epochs[2]!.loss as number).toBeLessThan((epochs[0]!.loss as number) * 0.7);
    const report = first.find((l) => 'confusion' in l)!;
    const { labels, matrix } = report.confusion as { labels: string[]; matrix: number[][] };
    expect(labels).toEqual(LANGUAGES);
    const total = matrix.flat().reduce((a, b) => a + b, 0);
    const diagonal = matrix.reduce((a, row, i) => a + row[i]!, 0);
    expect(diagonal / total).toBeCloseTo(accuracy, 10);
    expect(Object.keys(report.perClassAccuracy as object)).toEqual(LANGUAGES);
  });

  it('saves weights, vocabulary and labels in the model directory', async () => {
    expect(existsSync(join(model, 'model.safetensors'))).toBe(true);
    const manifest = JSON.parse(await readFile(join(model, 'checkpoint.json'), 'utf8'));
    expect(manifest.model.config.kind).toBe('names');
    expect(manifest.model.config.labels).toEqual(LANGUAGES);
    expect(manifest.vocabulary.tokens[0]).toBe('<pad>');
    expect(manifest.extra.complete).toBe(true);
  });

  it('prints text with per-class accuracy and a confusion matrix', async () => {
    const r = await run(
      'train',
      'names',
      '--data',
      data,
      ...SMALL,
      '--epochs',
      '1',
      '--out',
      join(dir, 'text'),
    );
    expect(r.code).toBe(0);
    const text = r.out.join('\n');
    expect(text).toMatch(/^test accuracy \d+\.\d% on \d+ names \(always answering \w+: 25\.0%\)$/m);
    expect(text).toMatch(/^per-class accuracy:$/m);
    expect(text).toMatch(/^ {2}Japanese +\d+\.\d% +\(\d+\)$/m);
    expect(text).toMatch(/^confusion matrix/m);
  });

  it('classifies names from the saved directory, top-k with probabilities', async () => {
    const r = await run('classify', '--model', model, 'Tanaka', 'Ivanov', '--top-k', '2', '--json');
    expect(r.code).toBe(0);
    const [tanaka, ivanov] = jsonLines(r.out) as {
      name: string;
      top: { label: string; probability: number }[];
    }[];
    expect(tanaka!.top[0]!.label).toBe('Japanese');
    expect(ivanov!.top[0]!.label).toBe('Russian');
    for (const x of [tanaka!, ivanov!]) {
      expect(x.top).toHaveLength(2);
      expect(x.top[0]!.probability).toBeGreaterThanOrEqual(x.top[1]!.probability);
      expect(x.top[0]!.probability + x.top[1]!.probability).toBeLessThanOrEqual(1 + 1e-6);
    }
    const text = await run('classify', '--model', model, 'Rossi');
    expect(text.out[0]).toBe('Rossi');
    expect(text.out).toHaveLength(4);
    expect(text.out[1]).toMatch(/^ {2}\w+ +0\.\d{3}$/);
  });

  it('evaluates on the stored test split (the same figure as training) and on a folder', async () => {
    const r = await run('eval', '--model', model, '--json');
    expect(r.code).toBe(0);
    const last = jsonLines(r.out).at(-1)!;
    expect(last.accuracy).toBe(first.at(-1)!.testAccuracy);
    const folder = await run('eval', '--model', model, '--data', data, '--json');
    expect(folder.code).toBe(0);
    expect(jsonLines(folder.out).at(-1)!.names).toBe(800);
  });

  it('stops on Ctrl-C with a checkpoint, and resuming ends exactly where an uninterrupted run does', async () => {
    const out = join(dir, 'resumed');
    const controller = new AbortController();
    const stopped = await runWith(
      { signal: controller.signal, onStep: (step) => step === 25 && controller.abort() },
      'train',
      'names',
      '--data',
      data,
      ...SMALL,
      '--out',
      out,
      '--json',
    );
    expect(stopped.code).toBe(130);
    expect(stopped.err.at(-1)).toMatch(
      /^recur: interrupted: checkpoint saved to .*; continue with: recur train names --resume /,
    );
    const saved = JSON.parse(await readFile(join(out, 'checkpoint.json'), 'utf8'));
    expect(saved.extra.complete).toBe(false);
    expect(saved.trainer.step).toBe(25);
    const resumed = await run('train', 'names', '--resume', out, '--json');
    expect(resumed.err).toEqual([]);
    expect(resumed.code).toBe(0);
    expect(jsonLines(resumed.out).at(-1)!.testAccuracy).toBe(first.at(-1)!.testAccuracy);
    const weights = await readFile(join(out, 'model.safetensors'));
    expect(weights.equals(await readFile(join(model, 'model.safetensors')))).toBe(true);
  });

  it('takes options from a JSON config file, with flags overriding it', async () => {
    const config = join(dir, 'names.json');
    await writeFile(config, JSON.stringify({ hidden: 24, embedding: 8, epochs: 1, batch: 64, lr: 0.02 }));
    const r = await run(
      'train',
      'names',
      '--config',
      config,
      '--data',
      data,
      '--hidden',
      '16',
      '--out',
      join(dir, 'cfg'),
      '--json',
    );
    expect(r.code).toBe(0);
    const modelLine = jsonLines(r.out).find((l) => 'parameters' in l)!;
    expect(modelLine.hidden).toBe(16);
    expect(modelLine.embedding).toBe(8);
    expect(jsonLines(r.out).filter((l) => 'epoch' in l)).toHaveLength(1);
  });
});
