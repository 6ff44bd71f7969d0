import { describe, expect, it } from 'vitest';
import { Rng } from '../src/random.js';

describe('Rng', () => {
  it('resumes exactly from a saved state, a cached normal deviate included', () => {
    const r = new Rng(7);
    r.uniform();
    r.normal(); // leaves the second deviate cached
    const saved = JSON.parse(JSON.stringify(r.state()));
    const expected = [r.normal(), r.nextU32(), r.uniform()];
    const other = new Rng(99);
    other.setState(saved);
    expect([other.normal(), other.nextU32(), other.uniform()]).toEqual(expected);
  });

  it('rejects states that are not four 32-bit words', () => {
    const r = new Rng(1);
    expect(() => r.setState({ words: [1, 2, 3] as never, spare: null })).toThrow(/four 32-bit integers/);
    expect(() => r.setState({ words: [0, 0, 0, 0], spare: null })).toThrow(/non-zero/);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const a = Array.from(
      { length: 5 },
      (() => {
        const r = new Rng(1);
        return () => r.nextU32();
      })(),
    );
    const b = Array.from(
      { length: 5 },
      (() => {
        const r = new Rng(1);
        return () => r.nextU32();
      })(),
    );
    expect(a).toEqual(b);
    expect(new Rng(2).nextU32()).not.toBe(new Rng(1).nextU32());
  });

  it('has uniform and normal moments close to the truth', () => {
    const r = new Rng(123);
    const n = 50_000;
    let su = 0;
    let sn = 0;
    let sn2 = 0;
    for (let i = 0; i < n; i++) {
      su += r.uniform();
      const z = r.normal();
      sn += z;
      sn2 += z * z;
    }
    expect(su / n).toBeCloseTo(0.5, 2);
    expect(sn / n).toBeCloseTo(0, 1);
    expect(sn2 / n).toBeCloseTo(1, 1);
  });

  it('shuffles into a permutation', () => {
    const items = Array.from({ length: 20 }, (_, i) => i);
    const shuffled = new Rng(9).shuffle([...items]);
    expect(shuffled).not.toEqual(items);
    expect([...shuffled].sort((x, y) => x - y)).toEqual(items);
  });

  it('rejects a non-finite seed', () => {
    expect(() => new Rng(Number.NaN)).toThrow(/finite number/);
  });
});
