import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  batchify,
  bpttChunks,
  bpttChunksFrom,
  CharVocab,
  DataError,
  DataFormatError,
  encodeFile,
  encodeStream,
  fileLines,
  fileSource,
  loadCsvColumn,
  loadLabelledFolder,
  loadSentencePairs,
  loadVocab,
  openIndexFile,
  readTextFile,
  saveVocab,
  vocabFromFile,
  WordVocab,
  writeIndexFile,
} from '../src/node.js';
import { caughtAsync, collect, useJsBackend, values } from './helpers.js';

let dir: string;

beforeAll(() => {
  useJsBackend();
  dir = mkdtempSync(join(tmpdir(), 'recur-data-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function folder(name: string, files: Record<string, string>): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(d, f), text);
  return d;
}

describe('loadLabelledFolder', () => {
  it('loads <label>.txt files, labels in code-point order, repeats kept', async () => {
    const d = folder('names', {
      'Polish.txt': 'Ślusarski\nNowak\n',
      'German.txt': 'Mu\u0308ller\r\nSchmidt\r\n\r\nMüller\r\n',
      'README.md': 'not a label',
      '.hidden.txt': 'ignored',
    });
    const { examples, labels, counts } = await loadLabelledFolder(d);
    expect(labels.names).toEqual(['German', 'Polish']);
    expect(examples).toEqual([
      { input: 'Müller', label: 'German' },
      { input: 'Schmidt', label: 'German' },
      { input: 'Müller', label: 'German' },
      { input: 'Ślusarski', label: 'Polish' },
      { input: 'Nowak', label: 'Polish' },
    ]);
    expect([...counts]).toEqual([
      ['German', 3],
      ['Polish', 2],
    ]);
    const folded = await loadLabelledFolder(d, { text: { asciiFold: true } });
    expect(folded.examples.map((e) => e.input)).toEqual([
      'Muller',
      'Schmidt',
      'Muller',
      'Slusarski',
      'Nowak',
    ]);
  });

  it('explains a missing folder, an empty folder, a folder without label files and an empty label file', async () => {
    const missing = await caughtAsync(() => loadLabelledFolder(join(dir, 'nope')));
    expect(missing).toBeInstanceOf(DataError);
    expect(missing.message).toMatch(
      /loadLabelledFolder: expected a folder of <label>\.txt files at ".*nope", found ENOENT/,
    );
    const file = join(dir, 'plain.txt');
    writeFileSync(file, 'x');
    expect((await caughtAsync(() => loadLabelledFolder(file))).message).toMatch(/found not a directory/);
    expect((await caughtAsync(() => loadLabelledFolder(folder('empty', {})))).message).toMatch(
      /files named <label>\.txt in ".*empty", found an empty folder/,
    );
    expect((await caughtAsync(() => loadLabelledFolder(folder('csv', { 'a.csv': '1' })))).message).toMatch(
      /found no \.txt files among a\.csv/,
    );
    const blank = await caughtAsync(() =>
      loadLabelledFolder(folder('blank', { 'A.txt': 'x\n', 'B.txt': '\n  \n' })),
    );
    expect(blank.message).toMatch(/at least one example \(a non-blank line\) in ".*B\.txt", found none/);
  });
});

describe('streaming a file larger than the read buffer', () => {
  let path: string;
  let text: string;

  beforeAll(() => {
    const lines: string[] = [];
    const words = ['Zoë', 'Łukasz', 'crème', 'brûlée', '東京', '🙂', 'plain', 'text,', 'more.'];
    for (let i = 0; i < 4000; i++)
      lines.push(Array.from({ length: 1 + (i % 7) }, (_, k) => words[(i + k) % words.length]).join(' '));
    text = `${lines.join('\r\n')}\r\n`;
    path = join(dir, 'corpus.txt');
    writeFileSync(path, `\ufeff${text}`);
  });

  it('reads lines, vocabularies and indices as reading the whole file does', async () => {
    const whole = await readTextFile(path);
    expect(whole).toBe(text.replaceAll('\r\n', '\n'));
    expect(readFileSync(path).length).toBeGreaterThan(50 * 97);
    const small = { chunkSize: 97 };
    for await (const chunk of fileSource(path, small)) expect(chunk.length).toBeLessThanOrEqual(97);
    expect(await collect(fileLines(path, small))).toEqual(whole.split('\n').slice(0, -1));
    for (const level of ['char', 'word'] as const) {
      const streamed = await vocabFromFile(path, { level, ...small });
      const inMemory = (level === 'char' ? CharVocab : WordVocab).fromTexts([whole]);
      expect(streamed.toJSON()).toEqual(inMemory.toJSON());
      expect(Array.from(await encodeFile(streamed, path, small))).toEqual(Array.from(inMemory.encode(whole)));
    }
  });

  it('writes indices to disk and reads BPTT chunks from there, the same as in memory', async () => {
    const vocab = await vocabFromFile(path, { level: 'char' });
    const indexPath = join(dir, 'corpus.idx');
    const n = await writeIndexFile(indexPath, encodeStream(vocab, fileSource(path, { chunkSize: 113 })));
    const inMemory = await encodeFile(vocab, path);
    expect(n).toBe(inMemory.length);
    const file = await openIndexFile(indexPath);
    try {
      expect(file.length).toBe(n);
      expect(Array.from(await file.read(100, 5))).toEqual(Array.from(inMemory.subarray(100, 105)));
      const expected = [...bpttChunks(batchify(inMemory, 3), { seqLen: 50 })];
      let k = 0;
      for await (const c of bpttChunksFrom(file, { batchSize: 3, seqLen: 50 })) {
        expect(values(c.inputs)).toEqual(values(expected[k]!.inputs));
        expect(values(c.targets)).toEqual(values(expected[k]!.targets));
        k++;
      }
      expect(k).toBe(expected.length);
      await expect(file.read(n - 1, 2)).rejects.toThrow(/a range within 0\.\.\d+/);
    } finally {
      await file.close();
    }
  });

  it('rejects files that are not index files', async () => {
    const notIndex = join(dir, 'not.idx');
    writeFileSync(notIndex, 'hello, this is text');
    const e = await caughtAsync(() => openIndexFile(notIndex));
    expect(e).toBeInstanceOf(DataFormatError);
    expect(e.message).toMatch(
      /expected an index file \(header RECURIDX, version 1\), found header "hello, t"/,
    );
    const truncated = join(dir, 'trunc.idx');
    await writeIndexFile(truncated, [Int32Array.of(1, 2, 3)]);
    writeFileSync(truncated, readFileSync(truncated).subarray(0, 16 + 10));
    expect((await caughtAsync(() => openIndexFile(truncated))).message).toMatch(
      /a whole number of int32 values, found 10 bytes/,
    );
    expect((await caughtAsync(() => openIndexFile(join(dir, 'missing.idx')))).message).toMatch(/ENOENT/);
  });

  it('explains a missing or empty corpus file', async () => {
    const missing = await caughtAsync(() => vocabFromFile(join(dir, 'missing.txt'), { level: 'char' }));
    expect(missing).toBeInstanceOf(DataError);
    expect(missing.message).toMatch(/fileSource: expected a readable file at ".*missing\.txt", found ENOENT/);
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '');
    expect((await caughtAsync(() => vocabFromFile(empty, { level: 'word' }))).message).toMatch(
      /vocabFromFile: expected at least one token, found an empty file ".*empty\.txt"/,
    );
    expect((await caughtAsync(() => encodeFile(CharVocab.fromTexts(['a']), empty))).message).toMatch(
      /no tokens/,
    );
    expect((await caughtAsync(() => readTextFile(join(dir, 'missing.txt')))).message).toMatch(/ENOENT/);
  });
});

describe('vocabulary files', () => {
  it('save and load atomically, leaving no temporary file', async () => {
    const d = folder('vocab', {});
    const v = CharVocab.fromTexts(['Ślusarski', 'Müller'], {
      asciiFold: true,
      specials: ['pad', 'unk', 'eos'],
    });
    const path = join(d, 'vocab.json');
    await saveVocab(path, v);
    await saveVocab(path, v); // overwrite
    expect(readdirSync(d)).toEqual(['vocab.json']);
    const back = await loadVocab(path);
    expect(back.toJSON()).toEqual(v.toJSON());
    expect(back.decode(back.encode('Śmüller'))).toBe(v.decode(v.encode('Śmüller')));
  });

  it('explain a file of the wrong shape, naming the file', async () => {
    const path = join(dir, 'bad-vocab.json');
    writeFileSync(
      path,
      JSON.stringify({
        format: 'recur-vocab',
        version: 1,
        level: 'char',
        text: {},
        specials: {},
        tokens: [1],
        counts: [0],
      }),
    );
    const e = await caughtAsync(() => loadVocab(path));
    expect(e).toBeInstanceOf(DataFormatError);
    expect(e.message).toMatch(
      /bad-vocab\.json: Vocab\.fromJSON: expected tokens\[0\] to be a string, found 1/,
    );
    writeFileSync(path, '{"format": ');
    expect((await caughtAsync(() => loadVocab(path))).message).toMatch(/expected JSON text/);
    expect(
      (await caughtAsync(() => saveVocab(join(dir, 'no', 'such', 'dir.json'), CharVocab.fromTexts(['a']))))
        .message,
    ).toMatch(
      /saveVocab: expected to create a temporary file beside ".*dir\.json", found an error: ENOENT.*Check that the directory exists/,
    );
  });
});

describe('sentence pairs and CSV files', () => {
  it('load with the file named in errors', async () => {
    const pairs = join(dir, 'pairs.txt');
    writeFileSync(pairs, 'Go.\tVa !\tCC-BY\nHi.\tSalut !\tCC-BY\n');
    expect(await loadSentencePairs(pairs)).toEqual([
      { source: 'Go.', target: 'Va !' },
      { source: 'Hi.', target: 'Salut !' },
    ]);
    const empty = join(dir, 'pairs-empty.txt');
    writeFileSync(empty, '\n\n');
    expect((await caughtAsync(() => loadSentencePairs(empty))).message).toMatch(
      /sentence pairs in ".*pairs-empty\.txt", found an empty file/,
    );
    const csv = join(dir, 'series.csv');
    writeFileSync(csv, 't,value\n0,1.5\n1,oops\n');
    const e = await caughtAsync(() => loadCsvColumn(csv, { column: 'value' }));
    expect(e.message).toMatch(
      /series\.csv, line 3, column 2: readCsvColumn: expected a number in column 2 \("value"\), found "oops"/,
    );
  });
});
