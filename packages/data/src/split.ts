import { DataError, describe, show } from './errors.js';
import { rngOf, type Seed } from './random.js';

/** A labelled example: an input text and its class. */
export interface Example {
  readonly input: string;
  readonly label: string;
}

/** The three parts of a split, each in the order the examples came in. */
export interface Split<T> {
  readonly train: T[];
  readonly valid: T[];
  readonly test: T[];
}

export interface SplitOptions<T> {
  /** Fraction of groups for validation (default 0.1). */
  readonly valid?: number;
  /** Fraction of groups for testing (default 0.1). */
  readonly test?: number;
  /** Seed of the assignment (default 0); the same seed and data give the same split. */
  readonly seed?: Seed;
  /**
   * Items with the same key always land in the same part, so nothing leaks between them. For
   * `stratifiedSplit` the default is the input text: a name listed under two languages is either
   * in training or in testing, never both.
   */
  readonly key?: (item: T) => string;
}

export interface StratifiedSplitOptions<T extends Example> extends SplitOptions<T> {
  /** Remove repeated (input, label) pairs first (default true; see `dedupe`). */
  readonly dedupe?: boolean;
}

/**
 * Removes repeated (input, label) pairs, keeping the first of each in order. The bundled names
 * data repeats many names (Arabic: 2 000 lines, 108 distinct names); without this, a split puts
 * copies of one name on both sides and the test score measures memory, not generalisation.
 */
export function dedupe<T extends Example>(examples: readonly T[]): { examples: T[]; removed: number } {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const e of examples) {
    const k = `${e.label}\u0000${e.input}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(e);
  }
  return { examples: out, removed: examples.length - out.length };
}

function fractions(where: string, options: { valid?: number; test?: number }): [number, number] {
  const valid = options.valid ?? 0.1;
  const test = options.test ?? 0.1;
  for (const [name, f] of [
    ['valid', valid],
    ['test', test],
  ] as const) {
    if (typeof f !== 'number' || !(f >= 0 && f < 1)) {
      throw new DataError(describe(where, `${name} to be a fraction in [0, 1)`, show(f)));
    }
  }
  if (valid + test >= 1) {
    throw new DataError(
      describe(where, 'valid + test < 1 (something must be left to train on)', `${valid} + ${test}`),
    );
  }
  return [valid, test];
}

interface Group {
  /** Positions of the group's items. */
  readonly members: number[];
  stratum: string;
}

/** Groups item positions by key, in order of first appearance. */
function groupItems<T>(items: readonly T[], key: ((item: T) => string) | undefined): Group[] {
  if (key === undefined) return items.map((_, i) => ({ members: [i], stratum: '' }));
  const byKey = new Map<string, Group>();
  items.forEach((item, i) => {
    const k = key(item);
    let g = byKey.get(k);
    if (g === undefined) {
      g = { members: [], stratum: '' };
      byKey.set(k, g);
    }
    g.members.push(i);
  });
  return [...byKey.values()];
}

/** Splits groups stratum by stratum (strata in code-point order, groups shuffled within each). */
function assign<T>(where: string, items: readonly T[], groups: Group[], options: SplitOptions<T>): Split<T> {
  const [validFraction, testFraction] = fractions(where, options);
  const rng = rngOf(options.seed ?? 0, where);
  const strata = new Map<string, Group[]>();
  for (const g of groups) {
    const s = strata.get(g.stratum);
    if (s === undefined) strata.set(g.stratum, [g]);
    else s.push(g);
  }
  const part: ('train' | 'valid' | 'test')[] = new Array(items.length);
  for (const name of [...strata.keys()].sort(compare)) {
    const list = rng.shuffle(strata.get(name)!.slice());
    const n = list.length;
    let nTest = Math.round(n * testFraction);
    let nValid = Math.round(n * validFraction);
    // Keep at least one group for training in every stratum.
    while (n > 0 && nTest + nValid > n - 1) {
      if (nValid >= nTest && nValid > 0) nValid--;
      else nTest--;
    }
    list.forEach((g, i) => {
      const p = i < nTest ? 'test' : i < nTest + nValid ? 'valid' : 'train';
      for (const i of g.members) part[i] = p;
    });
  }
  const out: Split<T> = { train: [], valid: [], test: [] };
  items.forEach((item, i) => {
    out[part[i]!].push(item);
  });
  return out;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function checkItems(where: string, items: unknown): void {
  if (!Array.isArray(items)) throw new DataError(describe(where, 'an array of items', show(items)));
  if (items.length === 0) throw new DataError(describe(where, 'at least one item', 'an empty array'));
}

/**
 * A seeded train/validation/test split that keeps each class's proportions (up to rounding: every
 * class gets round(n·valid) and round(n·test) groups of its n, and at least one in training).
 * Repeated (input, label) pairs are removed first, and examples with the same input are kept
 * together, so a name listed under several labels cannot be in training and in testing at once;
 * such a group is stratified by its rarest label.
 */
export function stratifiedSplit<T extends Example>(
  examples: readonly T[],
  options: StratifiedSplitOptions<T> = {},
): Split<T> {
  const where = 'stratifiedSplit';
  checkItems(where, examples);
  const items = (options.dedupe ?? true) ? dedupe(examples).examples : examples.slice();
  const groups = groupItems(items, options.key ?? ((e: T) => e.input));
  // Count groups per label, then stratify each group by its rarest label (ties by name).
  const groupsPerLabel = new Map<string, number>();
  const labelsOf = groups.map((g) => [...new Set(g.members.map((i) => items[i]!.label))].sort(compare));
  for (const labels of labelsOf)
    for (const l of labels) groupsPerLabel.set(l, (groupsPerLabel.get(l) ?? 0) + 1);
  groups.forEach((g, i) => {
    let best = labelsOf[i]![0]!;
    for (const l of labelsOf[i]!) if (groupsPerLabel.get(l)! < groupsPerLabel.get(best)!) best = l;
    g.stratum = best;
  });
  return assign(where, items, groups, options);
}

/**
 * A seeded train/validation/test split without classes (sentence pairs, texts). With `key`,
 * items with equal keys stay together; otherwise each item is placed on its own.
 */
export function randomSplit<T>(items: readonly T[], options: SplitOptions<T> = {}): Split<T> {
  checkItems('randomSplit', items);
  return assign('randomSplit', items, groupItems(items, options.key), options);
}

/** The number of examples of each label, labels in code-point order. */
export function classCounts(examples: Iterable<{ readonly label: string }>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of examples) counts.set(e.label, (counts.get(e.label) ?? 0) + 1);
  return new Map([...counts].sort((a, b) => compare(a[0], b[0])));
}

/**
 * The baseline every classifier must beat: the accuracy on `test` of always answering the most
 * frequent label of `train` (ties by name).
 */
export function majorityBaseline(
  train: Iterable<{ readonly label: string }>,
  test: Iterable<{ readonly label: string }>,
): { label: string; accuracy: number } {
  let label: string | undefined;
  let best = -1;
  for (const [l, c] of classCounts(train)) {
    if (c > best) {
      best = c;
      label = l;
    }
  }
  if (label === undefined) throw new DataError(describe('majorityBaseline', 'training examples', 'none'));
  let hit = 0;
  let n = 0;
  for (const e of test) {
    n++;
    if (e.label === label) hit++;
  }
  if (n === 0) throw new DataError(describe('majorityBaseline', 'test examples', 'none'));
  return { label, accuracy: hit / n };
}
