import { type Backend, fromData, type Tensor } from '@recur/tensor';
import { DataError, DataFormatError, describe, show } from './errors.js';

/** Class names and their indices: the output classes of a classifier. */
export class Labels {
  readonly names: readonly string[];
  private readonly index: Map<string, number>;

  /** The names in the order given (index i is names[i]); they must be unique non-empty strings. */
  constructor(names: readonly string[]) {
    const index = new Map<string, number>();
    names.forEach((n, i) => {
      if (typeof n !== 'string' || n === '') {
        throw new DataError(
          describe('Labels', 'names that are non-empty strings', `${show(n)} at index ${i}`),
        );
      }
      if (index.has(n)) {
        throw new DataError(describe('Labels', 'unique names', `${show(n)} at ${index.get(n)} and ${i}`));
      }
      index.set(n, i);
    });
    if (names.length === 0) throw new DataError(describe('Labels', 'at least one class', 'none'));
    this.names = names.slice();
    this.index = index;
  }

  /** The distinct labels of examples, sorted in code-point order, so indices do not depend on file order. */
  static fromExamples(examples: Iterable<{ readonly label: string }>): Labels {
    const set = new Set<string>();
    for (const e of examples) set.add(e.label);
    return new Labels([...set].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  get size(): number {
    return this.names.length;
  }

  /** The index of a class name; an unknown name is an error that lists the known ones. */
  indexOf(name: string): number {
    const i = this.index.get(name);
    if (i === undefined) {
      throw new DataError(
        describe('Labels.indexOf', `one of the ${this.size} classes (${this.names.join(', ')})`, show(name)),
      );
    }
    return i;
  }

  has(name: string): boolean {
    return this.index.has(name);
  }

  /** The class name of an index. */
  nameOf(index: number): string {
    const n = this.names[index];
    if (n === undefined || !Number.isInteger(index)) {
      throw new DataError(describe('Labels.nameOf', `an index from 0 to ${this.size - 1}`, show(index)));
    }
    return n;
  }

  /** Class indices of names as an i32 tensor of shape [N] (the targets of a cross-entropy loss). */
  encode(names: readonly string[], options: { backend?: Backend } = {}): Tensor {
    const data = Int32Array.from(names, (n) => this.indexOf(n));
    return fromData(data, [data.length], {
      dtype: 'i32',
      ...(options.backend ? { backend: options.backend } : {}),
    });
  }

  toJSON(): { names: string[] } {
    return { names: this.names.slice() };
  }

  /** Reads labels from `toJSON()`'s form (an object or a JSON string). */
  static fromJSON(input: unknown): Labels {
    let json = input;
    if (typeof json === 'string') {
      try {
        json = JSON.parse(json);
      } catch (err) {
        throw new DataFormatError(
          `Labels.fromJSON: expected JSON text, found a parse error: ${(err as Error).message}.`,
        );
      }
    }
    const names = (json as { names?: unknown } | null)?.names;
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) {
      throw new DataFormatError(
        describe(
          'Labels.fromJSON',
          '{ "names": [strings] }',
          show(json),
          'Pass what labels.toJSON() returned.',
        ),
      );
    }
    return new Labels(names as string[]);
  }
}
