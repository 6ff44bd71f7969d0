import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddingsError } from '../src/errors.js';
import { vocabFromFile } from '../src/files.js';
import { EOS, Tokenizer, tokenize } from '../src/tokenizer.js';
import { Vocab } from '../src/vocab.js';

describe('tokenize', () => {
  it("follows word2vec.c's ReadWord: space/tab/newline split, newline is </s>, CR dropped", () => {
    expect(tokenize('a b\tc\nd\r\n\n  e')).toEqual(['a', 'b', 'c', EOS, 'd', EOS, EOS, 'e']);
    expect(tokenize('x\ry z')).toEqual(['xy', 'z']);
    expect(tokenize('')).toEqual([]);
    expect(tokenize('\n')).toEqual([EOS]);
    // Other Unicode spaces belong to words, as in the C tool.
    expect(tokenize('a\u00a0b c')).toEqual(['a\u00a0b', 'c']);
  });

  it('gives the same tokens however the text is cut into chunks', () => {
    const alphabet = fc.constantFrom('a', 'b', 'é', '😀', ' ', '\t', '\n', '\r');
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 60 }), fc.array(fc.nat(60)), (chars, cuts) => {
        const text = chars.join('');
        const points = [...new Set(cuts.map((c) => Math.min(c, text.length)))].sort((a, b) => a - b);
        const out: string[] = [];
        const t = new Tokenizer((tok) => out.push(tok));
        let prev = 0;
        for (const p of [...points, text.length]) {
          t.push(text.slice(prev, p));
          prev = p;
        }
        t.end();
        expect(out).toEqual(tokenize(text));
      }),
    );
  });
});

describe('Vocab', () => {
  it('sorts by descending count, ties by word, keeps </s> first and prunes below minCount', () => {
    const v = Vocab.fromTokens(['b', 'a', 'c', 'b', 'a', 'd', EOS, 'b', 'c', 'e', 'e'], { minCount: 2 });
    expect(v.words).toEqual([EOS, 'b', 'a', 'c', 'e']);
    expect(v.counts).toEqual([1, 3, 2, 2, 2]);
    expect(v.totalCount).toBe(10);
    expect(v.indexOf('c')).toBe(3);
    expect(v.indexOf('d')).toBe(-1);
    expect(v.has('d')).toBe(false);
    expect(v.count('b')).toBe(3);
    expect(v.count('zzz')).toBe(0);
    expect(v.size).toBe(5);
  });

  it('keeps </s> with count 0 when there is no newline, and defaults minCount to 5', () => {
    const tokens = [...Array(5).fill('x'), ...Array(4).fill('y')];
    const v = Vocab.fromTokens(tokens);
    expect(v.words).toEqual([EOS, 'x']);
    expect(v.counts).toEqual([0, 5]);
  });

  it('counts text like the tokenizer, newlines as </s>', () => {
    const v = Vocab.fromText('the cat\nthe dog\n', { minCount: 1 });
    expect(v.words).toEqual([EOS, 'the', 'cat', 'dog']);
    expect(v.counts).toEqual([2, 2, 1, 1]);
  });

  it('rejects bad input with a message that says what was expected', () => {
    expect(() => new Vocab(['a', 'a'], [1, 1])).toThrow(/unique words/);
    expect(() => new Vocab(['a'], [1, 2])).toThrow(/one count per word/);
    expect(() => new Vocab(['a'], [-1])).toThrow(/non-negative integers/);
    expect(() => new Vocab(['a'], [1.5])).toThrow(EmbeddingsError);
    expect(() => Vocab.fromTokens([], { minCount: -1 })).toThrow(/minCount/);
    expect(() => Vocab.fromTokens([], { minCount: Number.NaN })).toThrow(/minCount/);
  });

  describe('vocabFromFile', () => {
    let dir = '';
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'recur-vocab-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('streams a corpus larger than one read chunk and matches the in-memory count', async () => {
      // ~400 KB with multi-byte words, so chunk borders fall inside characters and tokens.
      const words = ['naïve', 'café', '日本語', '😀x', 'a', 'bb'];
      const lines: string[] = [];
      for (let i = 0; i < 20_000; i++) lines.push(`${words[i % 6]} ${words[(i * 7) % 6]}\t${words[i % 5]}`);
      const text = `${lines.join('\r\n')}\nlast`;
      const path = join(dir, 'corpus.txt');
      await writeFile(path, text);
      const v = await vocabFromFile(path, { minCount: 1 });
      expect(v).toEqual(Vocab.fromText(text, { minCount: 1 }));
      expect(v.count(EOS)).toBe(20_000);
      expect(v.count('last')).toBe(1);
      expect(v.totalCount).toBe(20_000 * 4 + 1);
    });

    it('handles a single very long line (text8-style) without newlines', async () => {
      const path = join(dir, 'oneline.txt');
      await writeFile(path, 'a b '.repeat(300_000));
      const v = await vocabFromFile(path, { minCount: 1 });
      expect(v.words).toEqual([EOS, 'a', 'b']);
      expect(v.counts).toEqual([0, 300_000, 300_000]);
    });

    it('reports a missing file with its path', async () => {
      await expect(vocabFromFile(join(dir, 'missing.txt'))).rejects.toThrow(/missing\.txt/);
      await expect(vocabFromFile(join(dir, 'missing.txt'))).rejects.toBeInstanceOf(EmbeddingsError);
    });
  });
});
