import { Rng } from '@recur/tensor';
import { describe, expect, it } from 'vitest';
import { EmbeddingsError, EmbeddingsFormatError } from '../src/errors.js';
import {
  encodeWord2Vec,
  formatFloatC,
  parseWord2Vec,
  parseWord2VecBinary,
  parseWord2VecText,
} from '../src/formats.js';
import { KeyedVectors } from '../src/keyed-vectors.js';
import { caught, enc, kv } from './helpers.js';

const tiny = () => kv({ '</s>': [0, -0.5], a: [1.25, 0.1], é: [-2, 3] });

function concat(...parts: (string | ArrayLike<number>)[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...enc(p)] : Array.from(p))));
}
const f32 = (...xs: number[]): number[] => [...new Uint8Array(Float32Array.from(xs).buffer)];

describe('formatFloatC (printf "%lf" of a float)', () => {
  it('prints six decimals of the exact value, ties to even, signed zero', () => {
    expect(formatFloatC(Math.fround(0.1))).toBe('0.100000');
    expect(formatFloatC(1.5)).toBe('1.500000');
    expect(formatFloatC(-0)).toBe('-0.000000');
    expect(formatFloatC(0)).toBe('0.000000');
    expect(formatFloatC(Math.fround(-1e-7))).toBe('-0.000000');
    expect(formatFloatC(1 / 128)).toBe('0.007812'); // exact tie 0.0078125: toFixed would give 0.007813
    expect(formatFloatC(3 / 128)).toBe('0.023438');
    expect(formatFloatC(-5 / 128)).toBe('-0.039062');
    expect(formatFloatC(Math.fround(2.5e-6))).toBe('0.000002'); // the float is 2.4999999e-6
    expect(formatFloatC(3.4028234663852886e38)).toBe('340282346638528859811704183484516925440.000000');
  });
});

describe('encodeWord2Vec', () => {
  it('writes the text format byte for byte as word2vec.c', () => {
    const bytes = encodeWord2Vec(tiny());
    const expected = '3 2\n</s> 0.000000 -0.500000 \na 1.250000 0.100000 \né -2.000000 3.000000 \n';
    expect(bytes).toEqual(enc(expected));
    expect([...bytes.subarray(bytes.length - 23, bytes.length - 21)]).toEqual([0xc3, 0xa9]); // é in UTF-8
  });

  it('writes the binary format byte for byte as word2vec.c', () => {
    const bytes = encodeWord2Vec(kv({ a: [1, -2], é: [0.5, 0] }), { binary: true });
    expect([...bytes]).toEqual([
      ...[0x32, 0x20, 0x32, 0x0a], // "2 2\n"
      ...[0x61, 0x20], // "a "
      ...[0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0, 0x0a], // 1.0f, -2.0f LE, "\n"
      ...[0xc3, 0xa9, 0x20], // "é "
      ...[0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x00, 0x00, 0x0a], // 0.5f, 0.0f, "\n"
    ]);
  });

  it('refuses words with whitespace and non-finite values', () => {
    expect(() => encodeWord2Vec(kv({ 'a b': [1] }))).toThrow(/without spaces.*"a b"/);
    expect(() => encodeWord2Vec(kv({ '': [1] }))).toThrow(EmbeddingsError);
    expect(() => encodeWord2Vec(kv({ x: [1], y: [Number.NaN] }), { binary: true })).toThrow(
      /finite values.*NaN in "y" at dimension 0/,
    );
  });
});

describe('round trips', () => {
  const rng = new Rng(3);
  const words = ['</s>', 'the', 'naïve', '日本語', '😀', 'a', 'Z'];
  const vectors = Float32Array.from({ length: words.length * 5 }, () => rng.normal() * 3);
  const model = new KeyedVectors(words, vectors, 5);

  it('binary keeps every bit', () => {
    const back = parseWord2VecBinary(encodeWord2Vec(model, { binary: true }));
    expect(back.words).toEqual(words);
    expect(back.dim).toBe(5);
    expect(back.vectors).toEqual(vectors);
  });

  it('text keeps the printed six decimals, and text -> binary -> text is stable', () => {
    const text = encodeWord2Vec(model);
    const back = parseWord2VecText(text);
    expect(back.words).toEqual(words);
    back.vectors.forEach((x, i) => {
      expect(x).toBe(Math.fround(Number(formatFloatC(vectors[i]!))));
      expect(Math.abs(x - vectors[i]!)).toBeLessThanOrEqual(5e-7 * Math.max(1, Math.abs(x)));
    });
    const viaBinary = parseWord2Vec(encodeWord2Vec(back, { binary: true }), { binary: true });
    expect(encodeWord2Vec(viaBinary)).toEqual(text);
  });

  it('reads binary files with or without the newline after each vector', () => {
    const without = concat('2 2\n', 'a ', f32(1, 2), 'bb ', f32(3, 4));
    const withNl = concat('2 2\n', 'a ', f32(1, 2), '\n', 'bb ', f32(3, 4), '\n');
    for (const bytes of [without, withNl]) {
      const m = parseWord2VecBinary(bytes);
      expect(m.words).toEqual(['a', 'bb']);
      expect([...m.vectors]).toEqual([1, 2, 3, 4]);
    }
  });

  it('reads text without trailing spaces, with CRLF and with a final blank line', () => {
    const m = parseWord2VecText(enc('2 2\r\na 1 2\r\nb -3.5e-1 +4.\r\n\n'));
    expect(m.words).toEqual(['a', 'b']);
    expect([...m.vectors]).toEqual([1, 2, Math.fround(-0.35), 4]);
    const nan = parseWord2VecText(enc('1 3\nx nan -inf -nan \n'));
    expect(Number.isNaN(nan.vectors[0])).toBe(true);
    expect(nan.vectors[1]).toBe(Number.NEGATIVE_INFINITY);
  });

  it('reads only the first words with limit', () => {
    const bin = encodeWord2Vec(model, { binary: true });
    expect(parseWord2VecBinary(bin, { limit: 2 }).words).toEqual(['</s>', 'the']);
    expect(parseWord2VecText(encodeWord2Vec(model), { limit: 3 }).words).toEqual(words.slice(0, 3));
    expect(() => parseWord2VecText(encodeWord2Vec(model), { limit: -1 })).toThrow(/limit/);
  });

  it("replaces invalid UTF-8 on request (C-tool files can cut a word's last character)", () => {
    const bytes = concat('1 1\n', [0x61, 0xc3, 0x20], f32(1), '\n');
    expect(parseWord2VecBinary(bytes, { unicodeErrors: 'replace' }).words).toEqual(['a\ufffd']);
  });
});

function formatError(fn: () => unknown): EmbeddingsFormatError {
  const e = caught(fn);
  expect(e).toBeInstanceOf(EmbeddingsFormatError);
  return e as EmbeddingsFormatError;
}

describe('malformed text files', () => {
  const cases: [string, string, RegExp, number][] = [
    ['empty file', '', /header/, 1],
    ['non-numeric header', 'hello world\n', /expected a header.*"hello world"/, 1],
    ['header with one number', '3\n', /expected a header/, 1],
    ['zero dimension', '1 0\nx \n', /dimension >= 1/, 1],
    ['short vector', '2 3\na 1 2 3\nb 1 2\n', /expected 3 values after "b", found 2/, 3],
    ['long vector', '2 2\na 1 2\nb 1 2 3\n', /expected 2 values after "b", found 3/, 3],
    ['non-numeric value', '2 2\na 1 2\nb 1 0.5x\n', /expected a number for value 2 of "b", found "0.5x"/, 3],
    ['hex value', '1 1\na 0x10\n', /expected a number/, 2],
    ['out of float32 range', '1 1\na 1e39\n', /out of range/, 2],
    ['missing lines', '3 1\na 1\nb 2\n', /expected 3 word lines after the header, found only 2/, 4],
    ['extra lines', '1 1\na 1\nb 2\n', /expected end of file after the 1 words.*"b 2"/, 3],
    ['duplicate word', '2 1\na 1\na 2\n', /unique words.*"a" again \(first on line 2\)/, 3],
    ['leading space (empty word)', '1 1\n a 1\n', /expected "word v1/, 2],
    ['header larger than the file', '1000000 300\na 1\n', /needs at least 600000000 bytes/, 1],
  ];
  it.each(cases)('%s', (_, text, message, line) => {
    const e = formatError(() => parseWord2VecText(enc(text)));
    expect(e.message).toMatch(message);
    expect(e.line).toBe(line);
    expect(e.message).toContain(`line ${line}`);
  });

  it('invalid UTF-8 names the line and byte offset', () => {
    const e = formatError(() => parseWord2VecText(concat('1 1\n', [0x61, 0xff], ' 1\n')));
    expect(e.line).toBe(2);
    expect(e.offset).toBe(4);
    expect(e.message).toMatch(/line 2, byte offset 4: expected UTF-8/);
  });

  it('a binary file read as text is rejected, not misread', () => {
    const bin = encodeWord2Vec(kv({ a: [1.5, -2], b: [3, 4] }), { binary: true });
    formatError(() => parseWord2VecText(bin));
  });
});

describe('malformed binary files', () => {
  const good = concat('2 2\n', 'a ', f32(1, 2), '\n', 'bb ', f32(3, 4), '\n');
  const cases: [string, Uint8Array, RegExp, number][] = [
    ['bad header', concat('x y\n', 'a ', f32(1)), /expected a header/, 0],
    ['header without newline', enc('2 2'), /newline ending the header.*end of file/, 3],
    [
      'truncated inside a vector',
      good.subarray(0, good.length - 3),
      /expected 2 float32 values \(8 bytes\) for "bb", found only 6/,
      18,
    ],
    [
      'truncated inside a word',
      concat('2 1\n', 'a ', f32(1), '\n', 'bbbbb'),
      /expected word 2 of 2 followed by a space, found end of file/,
      11,
    ],
    [
      'trailing garbage',
      concat(good, 'junk'),
      /expected end of file after the 2 words.*found 4 more bytes/,
      27,
    ],
    ['empty word', concat('1 1\n', ' ', f32(1), '\n\n'), /found an empty word/, 4],
    ['invalid UTF-8 word', concat('1 1\n', [0xff, 0x20], f32(1)), /expected a UTF-8 word/, 4],
    [
      'duplicate word',
      concat('2 1\n', 'a ', f32(1), 'a ', f32(2)),
      /"a" again \(first at byte offset 4\)/,
      10,
    ],
  ];
  it.each(cases)('%s', (_, bytes, message, offset) => {
    const e = formatError(() => parseWord2VecBinary(bytes));
    expect(e.message).toMatch(message);
    expect(e.offset).toBe(offset);
    expect(e.message).toContain(`byte offset ${offset}`);
  });

  it('a header claiming far more data than the file holds fails before allocating', () => {
    const e = formatError(() => parseWord2VecBinary(concat('3000000000 300\n', 'a ', f32(1))));
    expect(e.message).toMatch(/needs at least .* bytes/);
  });

  it('a text file read as binary is rejected, not misread', () => {
    const e = formatError(() =>
      parseWord2VecBinary(enc('2 2\na 0.100000 0.200000 \nb 1.000000 2.000000 \n')),
    );
    expect(e.offset).toBeGreaterThan(0);
  });
});
