import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RecurError } from '../src/errors.js';
import { writeFileAtomic } from '../src/node.js';

describe('writeFileAtomic', () => {
  it('writes text, bytes and chunks produced as it goes, leaving no temporary file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'recur-tensor-'));
    await writeFileAtomic(join(dir, 'a.txt'), 'héllo');
    await writeFileAtomic(join(dir, 'b.bin'), new Uint8Array([1, 2, 3]));
    async function* chunks() {
      yield new Uint8Array([4]);
      yield new Uint8Array([5, 6]);
    }
    await writeFileAtomic(join(dir, 'c.bin'), chunks());
    expect(await readFile(join(dir, 'a.txt'), 'utf8')).toBe('héllo');
    expect([...(await readFile(join(dir, 'b.bin')))]).toEqual([1, 2, 3]);
    expect([...(await readFile(join(dir, 'c.bin')))]).toEqual([4, 5, 6]);
    expect((await readdir(dir)).sort()).toEqual(['a.txt', 'b.bin', 'c.bin']);
  });

  it('leaves the old file whole when producing the data fails, and rethrows a RecurError as it is', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'recur-tensor-'));
    const path = join(dir, 'f.txt');
    await writeFile(path, 'old');
    const bad = new RecurError('bad chunk');
    function* chunks() {
      yield new Uint8Array([1]);
      throw bad;
    }
    await expect(writeFileAtomic(path, chunks())).rejects.toBe(bad);
    expect(await readFile(path, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['f.txt']);
  });

  it('names the step and the file when the file system refuses, with the caller’s error type', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'recur-tensor-'));
    class MyError extends Error {}
    const err = await writeFileAtomic(join(dir, 'missing', 'x.bin'), 'x', {
      where: 'save',
      error: (m, cause) => new MyError(m, { cause }),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MyError);
    expect((err as Error).message).toMatch(
      /^save: expected to create a temporary file beside ".*x\.bin", found an error: ENOENT/,
    );
    await expect(writeFileAtomic(join(dir, 'missing', 'y.bin'), 'y')).rejects.toThrow(RecurError);
  });
});
