import { beforeAll, describe, expect, it } from 'vitest';
import { DataError, DataFormatError, Labels } from '../src/index.js';
import { caught, useJsBackend, values } from './helpers.js';

beforeAll(() => {
  useJsBackend();
});

describe('Labels', () => {
  it('sorts the labels of examples and maps names to indices and back', () => {
    const examples = [
      { input: 'a', label: 'Russian' },
      { input: 'b', label: 'Arabic' },
      { input: 'c', label: 'Russian' },
    ];
    const labels = Labels.fromExamples(examples);
    expect(labels.names).toEqual(['Arabic', 'Russian']);
    expect(labels.size).toBe(2);
    expect(labels.indexOf('Russian')).toBe(1);
    expect(labels.nameOf(0)).toBe('Arabic');
    expect(labels.has('Korean')).toBe(false);
    const t = labels.encode(['Russian', 'Arabic', 'Russian']);
    expect(t.dtype).toBe('i32');
    expect(t.shape).toEqual([3]);
    expect(values(t)).toEqual([1, 0, 1]);
  });

  it('round-trips through JSON', () => {
    const labels = new Labels(['x', 'y', 'z']);
    expect(Labels.fromJSON(JSON.stringify(labels)).names).toEqual(['x', 'y', 'z']);
    expect(Labels.fromJSON(labels.toJSON()).names).toEqual(['x', 'y', 'z']);
  });

  it('explains unknown names, bad indices, duplicates and malformed JSON', () => {
    const labels = new Labels(['Arabic', 'Russian']);
    const e = caught(() => labels.encode(['Klingon']));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toBe(
      'Labels.indexOf: expected one of the 2 classes (Arabic, Russian), found "Klingon".',
    );
    expect(caught(() => labels.nameOf(2)).message).toMatch(/an index from 0 to 1, found 2/);
    expect(caught(() => new Labels(['a', 'a'])).message).toMatch(/unique names, found "a" at 0 and 1/);
    expect(caught(() => new Labels([])).message).toMatch(/at least one class/);
    expect(caught(() => new Labels(['a', ''])).message).toMatch(/non-empty strings, found "" at index 1/);
    expect(caught(() => Labels.fromJSON('{')).message).toMatch(/expected JSON text/);
    const shape = caught(() => Labels.fromJSON({ labels: ['a'] }));
    expect(shape).toBeInstanceOf(DataFormatError);
    expect(shape.message).toMatch(/expected \{ "names": \[strings\] \}/);
  });
});
