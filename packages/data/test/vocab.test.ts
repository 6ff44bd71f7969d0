import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CharVocab, DataError, DataFormatError, SPECIAL_TOKENS, Vocab, WordVocab } from '../src/index.js';
import { caught, cutBytes } from './helpers.js';

describe('CharVocab', () => {
  it('puts the specials first, then characters by descending count, ties in code-point order', () => {
    const v = CharVocab.fromTexts(['abba', 'cab', 'd']);
    expect(v.tokens).toEqual(['<pad>', '<unk>', 'a', 'b', 'c', 'd']);
    expect(v.counts).toEqual([0, 0, 3, 3, 1, 1]);
    expect([v.padIndex, v.unkIndex, v.bosIndex, v.eosIndex]).toEqual([0, 1, undefined, undefined]);
    expect(v.size).toBe(6);
    expect(v.count('a')).toBe(3);
    expect(v.count('z')).toBe(0);
    expect(v.indexOf('c')).toBe(4);
    expect(v.indexOf('z')).toBe(-1);
    expect(v.tokenAt(3)).toBe('b');
  });

  it('orders specials canonically whatever order they are listed in', () => {
    const v = CharVocab.fromTexts(['ab'], { specials: ['eos', 'bos', 'pad'] });
    expect(v.tokens.slice(0, 3)).toEqual(['<pad>', '<bos>', '<eos>']);
    expect([v.padIndex, v.unkIndex, v.bosIndex, v.eosIndex]).toEqual([0, undefined, 1, 2]);
    expect(CharVocab.fromTexts(['ab'], { specials: [] }).tokens).toEqual(['a', 'b']);
  });

  it('applies minFrequency and maxSize (specials included in the size)', () => {
    const texts = ['aaaa', 'bbb', 'cc', 'd'];
    expect(CharVocab.fromTexts(texts, { minFrequency: 2 }).tokens).toEqual(['<pad>', '<unk>', 'a', 'b', 'c']);
    expect(CharVocab.fromTexts(texts, { maxSize: 4 }).tokens).toEqual(['<pad>', '<unk>', 'a', 'b']);
    expect(CharVocab.fromTexts(texts, { maxSize: 4, order: 'alphabetical' }).tokens).toEqual([
      '<pad>',
      '<unk>',
      'a',
      'b',
    ]);
    expect(CharVocab.fromTexts(['dcba', 'a'], { order: 'alphabetical', specials: [] }).tokens).toEqual([
      'a',
      'b',
      'c',
      'd',
    ]);
  });

  it('is deterministic: the order does not depend on the order of the texts', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'grapheme', maxLength: 8 }), { minLength: 1, maxLength: 20 }),
        (texts) => {
          fc.pre(texts.join('') !== '');
          const a = CharVocab.fromTexts(texts);
          const b = CharVocab.fromTexts([...texts].reverse());
          expect(b.tokens).toEqual(a.tokens);
        },
      ),
    );
  });

  it('encodes and decodes: decode(encode(t)) is the normalised text when every character is known', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'grapheme', minLength: 1 }), { minLength: 1, maxLength: 10 }),
        (texts) => {
          const v = CharVocab.fromTexts(texts);
          for (const t of texts) expect(v.decode(v.encode(t))).toBe(t.normalize('NFC'));
        },
      ),
    );
  });

  it('normalises before encoding: composed and decomposed accents give the same indices', () => {
    const v = CharVocab.fromTexts(['José']);
    expect(Array.from(v.encode('Jose\u0301'))).toEqual(Array.from(v.encode('Jos\u00e9')));
    const folded = CharVocab.fromTexts(['Ślusarski', 'Müller'], { asciiFold: true });
    expect(folded.has('Ś')).toBe(false);
    expect(folded.decode(folded.encode('Śüller'))).toBe('Suller');
  });

  it('encodes by code point exactly as by tokens (the fast path agrees)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme' }),
        fc.string({ unit: 'grapheme' }),
        fc.boolean(),
        (known, text, ends) => {
          fc.pre(known !== '');
          const v = CharVocab.fromTexts([known], { specials: ['pad', 'unk', 'bos', 'eos'] });
          const o = { bos: ends, eos: ends };
          expect(Array.from(v.encode(text, o))).toEqual(Array.from(v.encodeTokens(v.tokenize(text), o)));
        },
      ),
    );
  });

  it('maps unknown characters to <unk>, and renders it when decoding', () => {
    const v = CharVocab.fromTexts(['abc']);
    const ids = v.encode('abz');
    expect(Array.from(ids)).toEqual([v.indexOf('a'), v.indexOf('b'), v.unkIndex]);
    expect(v.decode(ids)).toBe('ab<unk>');
  });

  it('without <unk>, lists the unknown characters and says how to fix it', () => {
    const v = CharVocab.fromTexts(['abc'], { specials: ['pad'] });
    const e = caught(() => v.encode('axyx'));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toMatch(/unknown tokens "x", "y"/);
    expect(e.message).toMatch(/specials: \['unk'/);
  });

  it('adds <bos>/<eos> on request and drops specials when decoding unless asked', () => {
    const v = CharVocab.fromTexts(['hi'], { specials: ['pad', 'unk', 'bos', 'eos'] });
    const ids = v.encode('hi', { bos: true, eos: true });
    expect(Array.from(ids)).toEqual([v.bosIndex, v.indexOf('h'), v.indexOf('i'), v.eosIndex]);
    expect(v.decode([...ids, v.padIndex!])).toBe('hi');
    expect(v.decode(ids, { keepSpecials: true })).toBe('<bos>hi<eos>');
    expect(v.isSpecial(v.bosIndex!)).toBe(true);
    expect(v.isSpecial(v.indexOf('h'))).toBe(false);
    const plain = CharVocab.fromTexts(['hi']);
    expect(caught(() => plain.encode('hi', { bos: true })).message).toMatch(
      /expected a vocabulary with <bos>, found one with <pad>, <unk>. Build it with specials: \[\.\.\., 'bos'\]/,
    );
  });

  it('rejects bad indices, options and inputs', () => {
    const v = CharVocab.fromTexts(['ab']);
    expect(caught(() => v.decode([7])).message).toMatch(/expected an index from 0 to 3, found 7/);
    expect(caught(() => v.tokenAt(1.5)).message).toMatch(/found 1.5/);
    expect(caught(() => CharVocab.fromTexts('abc' as unknown as string[])).message).toMatch(
      /Wrap it in an array/,
    );
    expect(caught(() => CharVocab.fromTexts([])).message).toMatch(/at least one token, found no texts/);
    expect(caught(() => CharVocab.fromTexts(['', ''])).message).toMatch(/found 2 texts without a token/);
    expect(caught(() => CharVocab.fromTexts(['a'], { minFrequency: 0 })).message).toMatch(
      /minFrequency to be a positive integer, found 0/,
    );
    expect(caught(() => CharVocab.fromTexts(['a'], { maxSize: 1 })).message).toMatch(/maxSize of at least 2/);
    expect(caught(() => CharVocab.fromTexts(['a'], { specials: ['sep' as 'pad'] })).message).toMatch(
      /specials among pad, unk, bos, eos, found "sep"/,
    );
    expect(caught(() => CharVocab.fromTexts(['a'], { order: 'random' as 'frequency' })).message).toMatch(
      /order 'frequency' or 'alphabetical'/,
    );
    expect(caught(() => CharVocab.fromTexts([3 as unknown as string])).message).toMatch(
      /texts that are strings, found 3 at position 0/,
    );
  });
});

describe('WordVocab', () => {
  it('counts words and punctuation, with lower-casing on request', () => {
    const v = WordVocab.fromTexts(['The cat sat.', 'the dog sat!'], { lowercase: true });
    expect(v.tokens).toEqual(['<pad>', '<unk>', 'sat', 'the', '!', '.', 'cat', 'dog']);
    expect(v.decode(v.encode('The dog sat.'))).toBe('the dog sat.');
    expect(v.decode(v.encode('The bird sat.'))).toBe('the <unk> sat.');
    expect(v.tokenize('Cat, dog')).toEqual(['cat', ',', 'dog']);
  });
});

describe('vocabulary JSON', () => {
  it('round-trips every field, as an object and as JSON text', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }), {
          minLength: 1,
          maxLength: 12,
        }),
        fc.subarray(['pad', 'unk', 'bos', 'eos'] as const),
        fc.boolean(),
        fc.constantFrom('char', 'word') as fc.Arbitrary<'char' | 'word'>,
        (texts, specials, asciiFold, level) => {
          const make = level === 'char' ? CharVocab : WordVocab;
          fc.pre(texts.some((t) => make === CharVocab || t.trim() !== ''));
          let v: Vocab;
          try {
            v = make.fromTexts(texts, { specials, asciiFold });
          } catch (e) {
            // A word vocabulary of texts without a single word.
            expect((e as Error).message).toMatch(/at least one token/);
            return;
          }
          const back = Vocab.fromJSON(JSON.parse(JSON.stringify(v)));
          expect(back).toBeInstanceOf(make);
          expect(back.toJSON()).toEqual(v.toJSON());
          expect(Vocab.fromJSON(JSON.stringify(v.toJSON())).toJSON()).toEqual(v.toJSON());
          for (const t of texts) {
            if (specials.includes('unk')) expect(Array.from(back.encode(t))).toEqual(Array.from(v.encode(t)));
          }
        },
      ),
    );
  });

  it('rejects JSON of the wrong shape with a DataFormatError that names the field', () => {
    const good = CharVocab.fromTexts(['abc']).toJSON();
    const cases: [unknown, RegExp][] = [
      ['{oops', /expected JSON text/],
      [null, /expected the vocabulary to be an object, found null/],
      [[1, 2], /the vocabulary to be an object/],
      [{ ...good, format: 'other' }, /expected format to be "recur-vocab", found "other"/],
      [{ ...good, version: 2 }, /expected version to be 1, found 2/],
      [{ ...good, level: 'byte' }, /expected level to be "char" or "word", found "byte"/],
      [{ ...good, text: 'NFC' }, /expected text to be an object/],
      [{ ...good, text: { normalize: 'NFX' } }, /normalize to be one of/],
      [{ ...good, tokens: 'abc' }, /expected tokens to be an array of strings/],
      [{ ...good, tokens: ['<pad>', '<unk>', 'a', 'b', 5] }, /expected tokens\[4\] to be a string, found 5/],
      [{ ...good, counts: [0, 0, 1, 1, -1] }, /expected counts\[4\] to be a non-negative integer, found -1/],
      [{ ...good, counts: [0, 0] }, /one count per token, found 5 tokens and 2 counts/],
      [{ ...good, tokens: ['<pad>', '<unk>', 'a', 'a', 'c'] }, /unique tokens, found "a" at indices 2 and 3/],
      [{ ...good, tokens: ['<pad>', '<unk>', 'a', '', 'c'] }, /non-empty strings/],
      [{ ...good, specials: { pad: 9 } }, /specials.pad to be an index from 0 to 4, found 9/],
      [{ ...good, specials: { pad: 2 } }, /expected <pad> at index 2, found "a"/],
      [{ ...good, specials: { sep: 0 } }, /special tokens among pad, unk, bos, eos, found "sep"/],
    ];
    for (const [json, pattern] of cases) {
      const e = caught(() => Vocab.fromJSON(json));
      expect(e, JSON.stringify(json)).toBeInstanceOf(DataFormatError);
      expect(e.message).toMatch(pattern);
    }
  });

  it('keeps the reserved strings out of the ordinary tokens', () => {
    const v = WordVocab.fromCounts(
      'word',
      new Map([
        [SPECIAL_TOKENS.pad, 9],
        ['a', 1],
      ]),
    );
    expect(v.tokens).toEqual(['<pad>', '<unk>', 'a']);
  });
});

describe('building from a stream', () => {
  const sample = "Zoë and Łukasz\r\nate crème brûlée — 🙂 twice.\n\nÉtienne didn't.";

  it('gives the vocabulary of the whole text however the UTF-8 bytes are cut', async () => {
    const bytes = new TextEncoder().encode(sample);
    const whole = {
      char: CharVocab.fromTexts([sample.replaceAll('\r\n', '\n')]),
      word: WordVocab.fromTexts([sample]),
    };
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat({ max: bytes.length }), { maxLength: 12 }), async (cuts) => {
        const pieces = cutBytes(bytes, cuts);
        expect((await CharVocab.fromStream(pieces)).toJSON()).toEqual(whole.char.toJSON());
        expect((await WordVocab.fromStream(pieces)).toJSON()).toEqual(whole.word.toJSON());
      }),
    );
  });

  it('rejects an empty stream', async () => {
    await expect(CharVocab.fromStream([])).rejects.toThrow(/at least one token, found an empty text/);
  });
});
