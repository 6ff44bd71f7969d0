import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './run.js';

let dir = '';
let seriesModel = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recur-cli-errors-'));
  seriesModel = join(dir, 'series');
  const r = await run(
    'train',
    'series',
    '--length',
    '200',
    '--window',
    '5',
    '--hidden',
    '4',
    '--epochs',
    '1',
    '--out',
    seriesModel,
  );
  expect(r.code).toBe(0);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs a command that must fail: a non-zero exit and exactly one line on stderr, with no stack trace. */
async function fails(...args: string[]): Promise<string> {
  const r = await run(...args);
  expect(r.code).not.toBe(0);
  expect(r.err).toHaveLength(1);
  expect(r.err[0]).not.toMatch(/\n|\s+at \S+ \(/);
  return r.err[0]!;
}

describe('wrong input gets one line and a non-zero exit', () => {
  it('unknown flags and bad values', async () => {
    expect(await fails('train', 'names', '--bogus')).toMatch(/unknown option '--bogus'/);
    expect(await fails('train', 'names', '--hidden', 'abc')).toMatch(
      /expected an integer >= 1 for --hidden, found 'abc'/,
    );
    expect(await fails('train', 'names', '--cell', 'tree')).toMatch(
      /expected rnn, lstm or gru for --cell, found 'tree'/,
    );
    expect(await fails('train', 'charlm', '--lr', '-1')).toMatch(/expected a number > 0 for --lr/);
    expect(await fails('classify', 'Abe')).toMatch(/required option '--model <dir>'/);
  });

  it('missing and empty data', async () => {
    expect(await fails('train', 'names', '--data', join(dir, 'nowhere'))).toMatch(
      /^recur: --data: expected a folder of <language>\.txt files at .*nowhere, found nothing\.$/,
    );
    const empty = join(dir, 'empty');
    await mkdir(empty);
    expect(await fails('train', 'names', '--data', empty)).toMatch(
      /expected files named <label>\.txt .* found an empty folder/,
    );
    const blank = join(dir, 'blank');
    await mkdir(blank);
    await writeFile(join(blank, 'English.txt'), 'Smith\n');
    await writeFile(join(blank, 'French.txt'), '\n\n');
    expect(await fails('train', 'names', '--data', blank)).toMatch(/at least one example .*French\.txt/);
    const one = join(dir, 'one');
    await mkdir(one);
    await writeFile(join(one, 'English.txt'), 'Smith\nJones\n');
    expect(await fails('train', 'names', '--data', one)).toMatch(/expected at least 2 languages/);
    const latin1 = join(dir, 'latin1');
    await mkdir(latin1);
    await writeFile(join(latin1, 'German.txt'), Buffer.from([0x4d, 0xfc, 0x6c, 0x6c, 0x65, 0x72, 0x0a]));
    await writeFile(join(latin1, 'English.txt'), 'Smith\n');
    expect(await fails('train', 'names', '--data', latin1)).toMatch(
      /expected UTF-8 text, found invalid UTF-8/,
    );
    expect(await fails('train', 'charlm', '--text', join(dir, 'none.txt'))).toMatch(
      /expected a text file at .*none\.txt, found none/,
    );
    const emptyText = join(dir, 'empty.txt');
    await writeFile(emptyText, '');
    expect(await fails('train', 'charlm', '--text', emptyText)).toMatch(/found an empty file/);
    expect(await fails('train', 'series', '--csv', join(dir, 'none.csv'))).toMatch(
      /expected a CSV file at .*none\.csv/,
    );
    const words = join(dir, 'words.csv');
    await writeFile(words, 'value\n1\n2\nthree\n');
    expect(await fails('train', 'series', '--csv', words, '--column', 'value')).toMatch(
      /expected a number in column 1 .*found "three"/,
    );
    const short = join(dir, 'short.csv');
    await writeFile(short, '1\n2\n3\n4\n5\n');
    expect(await fails('train', 'series', '--csv', short)).toMatch(/expected at least 31 points/);
  });

  it('a NaN loss stops training with one line', async () => {
    const line = await fails(
      'train',
      'series',
      '--length',
      '200',
      '--window',
      '5',
      '--epochs',
      '2',
      '--lr',
      '1e38',
      '--clip',
      '1e38',
      '--out',
      join(dir, 'nan'),
    );
    expect(line).toMatch(/expected a finite (loss|gradient norm)/);
  });

  it('a model of another kind, or no model', async () => {
    expect(await fails('classify', '--model', seriesModel, 'Abe')).toMatch(
      /^recur: classify: expected a names model in .*, found a series model \(made by recur train series\)/,
    );
    expect(await fails('sample', '--model', seriesModel)).toMatch(/expected a charlm model/);
    expect(await fails('train', 'names', '--resume', seriesModel)).toMatch(/expected a names model/);
    expect(await fails('predict', '--model', join(dir, 'nothing'))).toMatch(
      /expected a model directory at .*nothing, found nothing/,
    );
    const notModel = join(dir, 'not-a-model');
    await mkdir(notModel);
    expect(await fails('eval', '--model', notModel)).toMatch(/checkpoint\.json/);
    expect(await fails('predict', '--model', seriesModel, '--values', '1,2')).toMatch(
      /expected at least 5 points/,
    );
    expect(await fails('predict', '--model', seriesModel, '--values', '1,x,3')).toMatch(
      /expected numbers in --values, found 'x'/,
    );
  });

  it('refuses to replace a folder that is not a model directory', async () => {
    const busy = join(dir, 'busy');
    await mkdir(busy);
    await writeFile(join(busy, 'notes.txt'), 'keep me');
    expect(
      await fails('train', 'series', '--length', '200', '--window', '5', '--epochs', '1', '--out', busy),
    ).toMatch(/expected a new or empty directory, or a model directory to replace/);
  });

  it('config files: unknown keys, wrong types, bad JSON, missing file', async () => {
    const cfg = join(dir, 'c.json');
    await writeFile(cfg, JSON.stringify({ hiden: 3 }));
    expect(await fails('train', 'names', '--config', cfg)).toMatch(
      /^recur: config .*c\.json: unknown key 'hiden'; expected one of data, cell, hidden/,
    );
    await writeFile(cfg, JSON.stringify({ hidden: '128' }));
    expect(await fails('train', 'names', '--config', cfg)).toMatch(
      /expected an integer >= 1 for 'hidden', found '128'/,
    );
    await writeFile(cfg, JSON.stringify({ cell: 'tree' }));
    expect(await fails('train', 'names', '--config', cfg)).toMatch(
      /expected rnn, lstm or gru for 'cell', found 'tree'/,
    );
    await writeFile(cfg, '{ "hidden": 12, }');
    expect(await fails('train', 'names', '--config', cfg)).toMatch(/expected JSON, found a syntax error/);
    await writeFile(cfg, '[1]');
    expect(await fails('train', 'names', '--config', cfg)).toMatch(/expected a JSON object of options/);
    expect(await fails('train', 'names', '--config', join(dir, 'none.json'))).toMatch(
      /--config: expected a readable JSON file/,
    );
  });

  it('resuming with a changed setting', async () => {
    expect(await fails('train', 'series', '--resume', seriesModel, '--hidden', '8')).toMatch(
      /--resume: expected only --epochs, --out, --json, --backend beside --resume .* found --hidden/,
    );
  });

  it('--verbose adds the stack trace', async () => {
    const r = await run('--verbose', 'train', 'charlm', '--text', join(dir, 'none.txt'));
    expect(r.code).toBe(1);
    expect(r.err.join('\n')).toMatch(/\n\s+at /);
  });
});
