import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLines, run } from './run.js';

const SMALL = ['--length', '1000', '--window', '20', '--hidden', '16', '--epochs', '6', '--seed', '2'];

let dir = '';
let model = '';
let result: Record<string, unknown> = {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recur-cli-series-'));
  model = join(dir, 'model');
  const r = await run('train', 'series', ...SMALL, '--out', model, '--json');
  expect(r.err).toEqual([]);
  expect(r.code).toBe(0);
  result = jsonLines(r.out).at(-1)!;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('recur train series', () => {
  it('learns a noisy sine wave: test RMSE well below predicting the last value', () => {
    const rmse = result.testRmse as number;
    const baseline = result.baselineRmse as number;
    expect(baseline).toBeGreaterThan(0.14); // noise 0.1 twice, plus a step of the wave
    expect(rmse).toBeLessThan(0.85 * baseline);
    expect(rmse).toBeGreaterThan(0.08); // it cannot predict the noise
  });

  it('evaluates on the stored test part and on a CSV file', async () => {
    const r = await run('eval', '--model', model, '--json');
    expect(r.code).toBe(0);
    expect(jsonLines(r.out)[0]!.rmse).toBeCloseTo(result.testRmse as number, 10);
    const csv = join(dir, 'wave.csv');
    const rows = Array.from({ length: 200 }, (_, t) => `${t},${Math.sin((2 * Math.PI * t) / 50).toFixed(6)}`);
    await writeFile(csv, `t,value\n${rows.join('\n')}\n`);
    const e = await run('eval', '--model', model, '--data', csv, '--column', 'value', '--json');
    expect(e.code).toBe(0);
    const clean = jsonLines(e.out)[0]!;
    expect(clean.windows).toBe(180);
    expect(clean.rmse as number).toBeLessThan(clean.baselineRmse as number);
  });

  it('predicts the next points of its own series, of --values and of a CSV column', async () => {
    const own = await run('predict', '--model', model, '--steps', '3', '--json');
    expect(own.code).toBe(0);
    const p = jsonLines(own.out)[0]!.predictions as number[];
    expect(p).toHaveLength(3);
    for (const v of p) expect(Math.abs(v)).toBeLessThan(1.5);
    // A clean wave rising through zero: the next point is higher.
    const values = Array.from({ length: 20 }, (_, t) =>
      Math.sin((2 * Math.PI * (t - 19)) / 50).toFixed(4),
    ).join(',');
    const up = await run('predict', '--model', model, '--values', values, '--json');
    expect(up.code).toBe(0);
    expect((jsonLines(up.out)[0]!.predictions as number[])[0]).toBeGreaterThan(0);
    const text = await run('predict', '--model', model, '--values', values, '--steps', '2');
    expect(text.out).toHaveLength(3);
    expect(text.out[1]).toMatch(/^ {2}\+1 {2}-?\d+\.\d{4}$/);
  });
});
