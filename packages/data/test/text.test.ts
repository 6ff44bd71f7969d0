import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  charTokens,
  DataError,
  foldToAscii,
  joinWords,
  normalizeText,
  resolveTextOptions,
  wordTokens,
} from '../src/index.js';
import { caught } from './helpers.js';

describe('foldToAscii', () => {
  it('drops accents and spells special letters in ASCII', () => {
    expect(foldToAscii('Ślusarski')).toBe('Slusarski');
    expect(foldToAscii('Müller')).toBe('Muller');
    expect(foldToAscii('Dúbhshlaine')).toBe('Dubhshlaine');
    expect(foldToAscii('Łódź')).toBe('Lodz');
    expect(foldToAscii('Straße')).toBe('Strasse');
    expect(foldToAscii('Æsir Œuvre Øre þorn')).toBe('AEsir OEuvre Ore thorn');
    expect(foldToAscii('ﬁne Ｆull')).toBe('fine Full');
    expect(foldToAscii('“quoted” – ‘it’s’')).toBe("\"quoted\" - 'it's'");
  });

  it('folds decomposed accents (NFD input) and lone combining marks', () => {
    expect(foldToAscii('Mu\u0308ller')).toBe('Muller');
    expect(foldToAscii('q\u0303')).toBe('q');
  });

  it('keeps characters without an ASCII form', () => {
    expect(foldToAscii('東京 مرحبا 🙂')).toBe('東京 مرحبا 🙂');
  });

  it('turns every Latin-1 and Latin Extended-A letter into ASCII, and is idempotent', () => {
    const letters = fc.integer({ min: 0xc0, max: 0x17f }).map((c) => String.fromCodePoint(c));
    fc.assert(
      fc.property(
        fc.array(fc.oneof(letters, fc.constantFrom('a', 'Z', ' ', '-')), { maxLength: 20 }),
        (chars) => {
          const text = chars.join('').replace(/[×÷]/g, ''); // the two symbols in the range
          const folded = foldToAscii(text);
          expect(folded).toMatch(/^[\x20-\x7e]*$/);
          expect(foldToAscii(folded)).toBe(folded);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('leaves ASCII text untouched', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii' }), (s) => {
        expect(foldToAscii(s)).toBe(s);
      }),
    );
  });
});

describe('normalizeText', () => {
  it('makes composed and decomposed accents the same string (NFC by default)', () => {
    expect(normalizeText('Jose\u0301')).toBe('Jos\u00e9');
    expect(normalizeText('Jos\u00e9', { normalize: 'NFD' })).toBe('Jose\u0301');
    expect(normalizeText('Jose\u0301', { normalize: 'none' })).toBe('Jose\u0301');
  });

  it('lower-cases and folds on request', () => {
    expect(normalizeText('ŚLUSARSKI', { lowercase: true })).toBe('ślusarski');
    expect(normalizeText('ŚLUSARSKI', { lowercase: true, asciiFold: true })).toBe('slusarski');
  });

  it('is idempotent for every option combination', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme' }),
        fc.constantFrom('NFC', 'NFD', 'NFKC', 'NFKD') as fc.Arbitrary<'NFC'>,
        fc.boolean(),
        fc.boolean(),
        (s, normalize, asciiFold, lowercase) => {
          const o = { normalize, asciiFold, lowercase };
          const once = normalizeText(s, o);
          expect(normalizeText(once, o)).toBe(once);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('rejects unknown options with a clear error', () => {
    const e = caught(() => normalizeText('x', { normalize: 'NFX' as 'NFC' }));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toMatch(/expected normalize to be one of NFC, NFD, NFKC, NFKD, none, found "NFX"/);
    expect(caught(() => resolveTextOptions({ asciiFold: 'yes' as unknown as boolean })).message).toMatch(
      /asciiFold to be true or false/,
    );
  });
});

describe('tokenizers', () => {
  it('splits characters by code point and joins them back exactly', () => {
    expect(charTokens('a🙂é')).toEqual(['a', '🙂', 'é']);
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        expect(charTokens(s).join('')).toBe(s);
      }),
    );
  });

  it('splits words and punctuation', () => {
    expect(wordTokens("Go, now! I'm well-known; it costs 3.14 or 1,000.")).toEqual([
      'Go',
      ',',
      'now',
      '!',
      "I'm",
      'well-known',
      ';',
      'it',
      'costs',
      '3.14',
      'or',
      '1,000',
      '.',
    ]);
    expect(wordTokens("Je l'ai vu aujourd'hui… «Été»")).toEqual([
      'Je',
      "l'ai",
      'vu',
      "aujourd'hui",
      '…',
      '«',
      'Été',
      '»',
    ]);
    expect(wordTokens('   ')).toEqual([]);
  });

  it('never loses a non-space character', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        expect(wordTokens(s).join('')).toBe(s.replace(/\s/gu, ''));
      }),
    );
  });

  it('joins words with readable spacing', () => {
    expect(joinWords(['Go', ',', 'now', '!', '(', 'really', ')', '?'])).toBe('Go, now! (really)?');
  });
});
