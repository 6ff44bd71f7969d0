import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  CharVocab,
  dedupe,
  loadLabelledFolder,
  loadSentencePairs,
  majorityBaseline,
  stratifiedSplit,
  vocabFromFile,
} from '../src/node.js';

// The bundled data sets: $RECUR_DATA, else ../shared/data beside the repository.
const dataDir =
  process.env.RECUR_DATA ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared/data');
const present = existsSync(join(dataDir, 'names'));
if (!present) {
  console.log(
    `Skipping the bundled-data tests: no data sets at ${dataDir} (set RECUR_DATA to their folder).`,
  );
}

describe.skipIf(!present)('the bundled data sets', () => {
  it('names: 18 languages, always-Russian scores about 47% as the data README says', async () => {
    const { examples, labels, counts } = await loadLabelledFolder(join(dataDir, 'names'));
    expect(labels.size).toBe(18);
    expect(labels.names[0]).toBe('Arabic');
    expect(examples.length).toBe(20075); // non-blank lines
    const russian = counts.get('Russian')! / examples.length;
    expect(russian).toBeGreaterThan(0.46);
    expect(russian).toBeLessThan(0.48);
    expect(majorityBaseline(examples, examples)).toEqual({ label: 'Russian', accuracy: russian });
    // Arabic: 2 000 lines but about 108 distinct names.
    const unique = dedupe(examples).examples;
    expect(unique.filter((e) => e.label === 'Arabic').length).toBe(108);
    // 18 016 distinct raw lines; "To The First  Page" (two spaces) equals another once whitespace is collapsed.
    expect(unique.length).toBe(18015);
  });

  it('names: a deduplicated stratified split leaks no name and keeps the classes', async () => {
    const { examples, labels } = await loadLabelledFolder(join(dataDir, 'names'));
    const split = stratifiedSplit(examples, { valid: 0.1, test: 0.1, seed: 0 });
    const train = new Set(split.train.map((e) => e.input));
    for (const e of [...split.valid, ...split.test]) expect(train.has(e.input)).toBe(false);
    const testLabels = new Set(split.test.map((e) => e.label));
    expect(testLabels.size).toBe(labels.size);
    const arabicTest = split.test.filter((e) => e.label === 'Arabic').length;
    expect(arabicTest).toBeGreaterThanOrEqual(9);
    expect(arabicTest).toBeLessThanOrEqual(13);
    // On the deduplicated test split the majority baseline is about 52%, not 47%.
    const { label, accuracy } = majorityBaseline(split.train, split.test);
    expect(label).toBe('Russian');
    expect(accuracy).toBeGreaterThan(0.5);
    expect(accuracy).toBeLessThan(0.54);
    const vocab = CharVocab.fromTexts(split.train.map((e) => e.input));
    expect(vocab.size).toBeGreaterThan(60);
    const folded = CharVocab.fromTexts(
      split.train.map((e) => e.input),
      { asciiFold: true },
    );
    expect(folded.tokens.slice(2).every((t) => t.charCodeAt(0) < 128)).toBe(true);
  });

  it('tinyshakespeare: 65 distinct characters', async () => {
    const vocab = await vocabFromFile(join(dataDir, 'text', 'tinyshakespeare.txt'), {
      level: 'char',
      specials: [],
    });
    expect(vocab.size).toBe(65);
  });

  it('eng-fra: 5 000 sentence pairs', async () => {
    const pairs = await loadSentencePairs(join(dataDir, 'translation', 'eng-fra.txt'));
    expect(pairs.length).toBe(5000);
    expect(pairs[0]).toEqual({ source: 'Go.', target: 'Va !' });
  });
});
