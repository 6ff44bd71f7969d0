import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../src/atomic.js';
import { EmbeddingsError } from '../src/errors.js';
import { readWord2Vec, writeWord2Vec } from '../src/files.js';
import { encodeWord2Vec } from '../src/formats.js';
import { enc, kv } from './helpers.js';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recur-w2v-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readWord2Vec / writeWord2Vec', () => {
  const model = kv({ '</s>': [0.25, -1], naïve: [2, 0.5], '😀': [-3, 4] });

  it.each([false, true])(
    'writes exactly the encoded bytes and reads them back (binary: %s)',
    async (binary) => {
      const path = join(dir, binary ? 'v.bin' : 'v.txt');
      await writeWord2Vec(path, model, { binary });
      expect(new Uint8Array(await readFile(path))).toEqual(encodeWord2Vec(model, { binary }));
      const back = await readWord2Vec(path, { binary });
      expect(back.words).toEqual(model.words);
      expect(back.vectors).toEqual(model.vectors);
      expect(await readdir(dir)).toEqual([binary ? 'v.bin' : 'v.txt']);
    },
  );

  it('replaces an existing file', async () => {
    const path = join(dir, 'v.txt');
    await writeFile(path, 'old contents');
    await writeWord2Vec(path, model);
    expect((await readWord2Vec(path)).size).toBe(3);
  });

  it('leaves the old file and no temporary file when the model cannot be written', async () => {
    const path = join(dir, 'v.txt');
    await writeFile(path, 'old contents');
    await expect(writeWord2Vec(path, kv({ a: [Number.POSITIVE_INFINITY] }))).rejects.toThrow(/finite values/);
    await expect(writeWord2Vec(path, kv({ 'a\nb': [1] }), { binary: true })).rejects.toThrow(/line breaks/);
    expect(await readFile(path, 'utf8')).toBe('old contents');
    expect(await readdir(dir)).toEqual(['v.txt']);
  });

  it('reports unreadable and unwritable paths with the path', async () => {
    await expect(readWord2Vec(join(dir, 'nope.bin'), { binary: true })).rejects.toThrow(/nope\.bin/);
    const err = writeWord2Vec(join(dir, 'missing', 'v.txt'), model);
    await expect(err).rejects.toBeInstanceOf(EmbeddingsError);
    await expect(writeWord2Vec(join(dir, 'missing', 'v.txt'), model)).rejects.toThrow(
      /missing.*directory exists/s,
    );
  });

  it('passes format errors through with their location', async () => {
    const path = join(dir, 'bad.txt');
    await writeFile(path, '2 2\na 1 2\nb 1\n');
    await expect(readWord2Vec(path)).rejects.toThrow(/line 3.*expected 2 values after "b", found 1/);
  });
});

describe('writeFileAtomic', () => {
  it('removes the temporary file and keeps the target when writing fails midway', async () => {
    const path = join(dir, 'out.bin');
    await writeFile(path, 'previous');
    function* chunks(): Generator<Uint8Array> {
      yield enc('half of the ');
      throw new EmbeddingsError('disk on fire');
    }
    await expect(writeFileAtomic(path, chunks())).rejects.toThrow(/disk on fire/);
    expect(await readFile(path, 'utf8')).toBe('previous');
    expect(await readdir(dir)).toEqual(['out.bin']);
  });

  it('never shows a partial file: data goes to a hidden temporary file, renamed when complete', async () => {
    const path = join(dir, 'out.bin');
    const observed: { target: boolean; temps: string[] }[] = [];
    function* chunks(): Generator<Uint8Array> {
      for (let i = 0; i < 3; i++) {
        // Runs inside the write loop, after the previous chunk was written.
        observed.push({ target: existsSync(path), temps: readdirSync(dir).filter((f) => f !== 'out.bin') });
        yield enc(`part${i};`);
      }
    }
    await writeFileAtomic(path, chunks());
    expect(observed.every((o) => !o.target)).toBe(true);
    expect(observed.every((o) => o.temps.length === 1 && /^\.out\.bin\..+\.tmp$/.test(o.temps[0]!))).toBe(
      true,
    );
    expect(await readFile(path, 'utf8')).toBe('part0;part1;part2;');
    expect(await readdir(dir)).toEqual(['out.bin']);
  });
});
