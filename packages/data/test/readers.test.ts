import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DataFormatError,
  decodeText,
  readCsvColumn,
  readLabelledLines,
  readLines,
  readPairs,
} from '../src/index.js';
import { caughtAsync, collect, cutBytes } from './helpers.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('decodeText and readLines', () => {
  it('give the same lines however the bytes are cut (UTF-8 split mid-character, CRLF split)', async () => {
    const text = '\ufeffNovák\r\nŚlusarski\r\n\r\n🙂 smile\nlast line without newline';
    const bytes = enc(text);
    const expected = ['Novák', 'Ślusarski', '', '🙂 smile', 'last line without newline'];
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat({ max: bytes.length }), { maxLength: 15 }), async (cuts) => {
        expect(await collect(readLines(cutBytes(bytes, cuts)))).toEqual(expected);
        expect((await collect(decodeText(cutBytes(bytes, cuts)))).join('')).toBe(
          text.slice(1).replaceAll('\r\n', '\n'),
        );
      }),
    );
  });

  it('handles strings, trailing newlines and empty input', async () => {
    expect(await collect(readLines(['a\nb', '\n', 'c\n']))).toEqual(['a', 'b', 'c']);
    expect(await collect(readLines(['a\r', '\nb\r']))).toEqual(['a', 'b\r']);
    expect(await collect(readLines([]))).toEqual([]);
    expect(await collect(readLines(['\n']))).toEqual(['']);
  });

  it('rejects invalid UTF-8, naming the source and the bytes', async () => {
    const e = await caughtAsync(() =>
      collect(readLines([enc('ok\n'), new Uint8Array([0x66, 0xff, 0x0a])], { source: 'x.txt' })),
    );
    expect(e).toBeInstanceOf(DataFormatError);
    expect(e.message).toMatch(
      /^x\.txt: decodeText: expected UTF-8 text, found invalid UTF-8 in the bytes 3 to 6/,
    );
    // A truncated multi-byte character at the very end is invalid too.
    await expect(collect(readLines([new Uint8Array([0x61, 0xc3])]))).rejects.toThrow(/invalid UTF-8/);
  });
});

describe('readLabelledLines', () => {
  it('trims, collapses whitespace, skips blank lines, normalises to NFC', async () => {
    const lines = ['See \n', '  Novy   Novy\n', '\n', '   \n', 'Jose\u0301\n'];
    expect(await readLabelledLines(lines, 'X')).toEqual([
      { input: 'See', label: 'X' },
      { input: 'Novy Novy', label: 'X' },
      { input: 'José', label: 'X' },
    ]);
    expect((await readLabelledLines(['Müller'], 'G', { text: { asciiFold: true } }))[0]!.input).toBe(
      'Muller',
    );
  });
});

describe('readPairs', () => {
  it('reads tab-separated pairs, ignoring extra columns', async () => {
    const text = 'Go.\tVa !\tCC-BY 2.0\n\nHi.\tSalut !\tCC-BY\r\n';
    expect(await readPairs([text])).toEqual([
      { source: 'Go.', target: 'Va !' },
      { source: 'Hi.', target: 'Salut !' },
    ]);
    expect(await readPairs(['x;y\na;b'], { separator: ';', header: true, columns: [1, 0] })).toEqual([
      { source: 'b', target: 'a' },
    ]);
  });

  it('names the line of a malformed pair', async () => {
    const e = await caughtAsync(() => readPairs(['Go.\tVa !\nno tab here\n'], { source: 'eng-fra.txt' }));
    expect(e).toBeInstanceOf(DataFormatError);
    expect((e as DataFormatError).line).toBe(2);
    expect(e.message).toMatch(
      /^eng-fra\.txt, line 2: readPairs: expected at least 2 columns separated by "\\t", found 1/,
    );
    const empty = await caughtAsync(() => readPairs(['Go.\t \n']));
    expect(empty.message).toMatch(/line 1, column 2: .*an empty target/);
    await expect(readPairs(['a'], { separator: '' })).rejects.toThrow(/a non-empty separator/);
  });
});

describe('readCsvColumn', () => {
  const csv = 'date,"price, USD",volume\n2020-01-01,1.5,10\n2020-01-02,"2.25",11\n\n2020-01-03,-3e2,12\n';

  it('reads a column by index or header name, detecting the header', async () => {
    expect(Array.from(await readCsvColumn([csv], { column: 'price, USD' }))).toEqual([1.5, 2.25, -300]);
    expect(Array.from(await readCsvColumn([csv], { column: 2 }))).toEqual([10, 11, 12]);
    expect(Array.from(await readCsvColumn(['1\n2\n3\n']))).toEqual([1, 2, 3]);
    expect(Array.from(await readCsvColumn(['a;b\n1;"x""y"\n'], { column: 0, delimiter: ';' }))).toEqual([1]);
  });

  it('reads many rows, streamed in small pieces', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => `${i},${i / 4}\n`).join('');
    const pieces = rows.match(/[\s\S]{1,37}/g)!;
    const v = await readCsvColumn(pieces, { column: 1, header: false });
    expect(v.length).toBe(5000);
    expect(v[4999]).toBe(4999 / 4);
  });

  it('names the line and column of a bad cell', async () => {
    const bad = 'x,y\n1,2\n3,abc\n';
    const e = await caughtAsync(() => readCsvColumn([bad], { column: 'y', source: 'series.csv' }));
    expect(e).toBeInstanceOf(DataFormatError);
    expect([(e as DataFormatError).line, (e as DataFormatError).column]).toEqual([3, 2]);
    expect(e.message).toBe(
      'series.csv, line 3, column 2: readCsvColumn: expected a number in column 2 ("y"), found "abc".',
    );
    expect((await caughtAsync(() => readCsvColumn(['1,\n'], { column: 1 }))).message).toMatch(
      /line 1, column 2: .*found an empty cell/,
    );
    expect(
      (await caughtAsync(() => readCsvColumn(['1\n2,3\n'], { column: 1, header: false }))).message,
    ).toMatch(/line 1, column 2: .*expected at least 2 cells, found 1/);
    expect((await caughtAsync(() => readCsvColumn(['a,b\n'], { column: 'c' }))).message).toMatch(
      /a header with a column "c", found the columns "a", "b"/,
    );
    expect((await caughtAsync(() => readCsvColumn(['"1,2\n']))).message).toMatch(/a closing double quote/);
    expect((await caughtAsync(() => readCsvColumn([]))).message).toMatch(
      /at least one numeric row, found an empty text/,
    );
    expect((await caughtAsync(() => readCsvColumn(['price\n']))).message).toMatch(
      /found only a header or blank lines/,
    );
    expect((await caughtAsync(() => readCsvColumn(['1'], { column: 'x', header: false }))).message).toMatch(
      /Set header: true/,
    );
  });
});
