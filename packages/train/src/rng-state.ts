import { Rng, Tensor } from '@recur/tensor';
import { describe, TrainError, typeName } from './errors.js';

/** One generator's state, by its path inside a model (e.g. `dropout.rng`). */
export interface RngSnapshot {
  readonly path: string;
  /** The four 32-bit words of the xoshiro128** state. */
  readonly state: readonly [number, number, number, number];
  /** A cached second normal deviate (Box–Muller), or null. */
  readonly spare: number | null;
}

/** The state of a generator, to continue its sequence exactly later with `setRngState`. */
export function rngState(rng: Rng, path = ''): RngSnapshot {
  const { words, spare } = rng.state();
  return { path, state: [...words], spare };
}

/** Puts a generator in a saved state: its next draws are those the saved one would have made. */
export function setRngState(rng: Rng, snapshot: RngSnapshot): void {
  const s = snapshot?.state;
  if (
    !Array.isArray(s) ||
    s.length !== 4 ||
    !s.every((v) => Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 32)
  ) {
    throw new TrainError(describe('setRngState', 'a state of four 32-bit integers', typeName(s)));
  }
  rng.setState({
    words: [s[0]!, s[1]!, s[2]!, s[3]!],
    spare: typeof snapshot.spare === 'number' ? snapshot.spare : null,
  });
}

/**
 * Every `Rng` a model holds (dropout masks and the like), with its property path, found by walking
 * the model's fields: sub-modules, arrays, Maps and plain objects, never tensors. The order and paths
 * depend only on the model's structure, so the same architecture gives the same list.
 */
export function collectRngs(root: object): [string, Rng][] {
  const out: [string, Rng][] = [];
  const seen = new Set<object>();
  const visit = (value: unknown, path: string, depth: number): void => {
    if (depth > 32 || value === null || typeof value !== 'object') return;
    if (value instanceof Tensor) return;
    if (value instanceof Rng) {
      if (!seen.has(value)) {
        seen.add(value);
        out.push([path, value]);
      }
      return;
    }
    if (seen.has(value)) return;
    const proto = Object.getPrototypeOf(value);
    const isModule = typeof (value as { namedParameters?: unknown }).namedParameters === 'function';
    const isPlain = proto === Object.prototype || proto === null;
    if (!(isModule || isPlain || Array.isArray(value) || value instanceof Map)) return;
    seen.add(value);
    const join = (k: string): string => (path ? `${path}.${k}` : k);
    if (Array.isArray(value))
      for (let i = 0; i < value.length; i++) visit(value[i], join(String(i)), depth + 1);
    else if (value instanceof Map) for (const [k, v] of value) visit(v, join(String(k)), depth + 1);
    else for (const k of Object.keys(value)) visit((value as Record<string, unknown>)[k], join(k), depth + 1);
  };
  visit(root, '', 0);
  return out;
}

/** The states of every generator in `root` (see `collectRngs`). */
export function captureRngStates(root: object): RngSnapshot[] {
  return collectRngs(root).map(([path, rng]) => rngState(rng, path));
}

/** Restores generator states captured from a model of the same structure; paths must match. */
export function restoreRngStates(root: object, snapshots: readonly RngSnapshot[]): void {
  const rngs = collectRngs(root);
  const found = rngs.map(([p]) => p).join(', ') || 'none';
  const saved = Array.isArray(snapshots)
    ? snapshots.map((s) => s.path).join(', ') || 'none'
    : typeName(snapshots);
  if (
    !Array.isArray(snapshots) ||
    snapshots.length !== rngs.length ||
    snapshots.some((s, i) => s.path !== rngs[i]![0])
  ) {
    throw new TrainError(
      describe(
        'restoreRngStates',
        `random generators at ${found} (this model)`,
        `saved states for ${saved}`,
        'The state was saved from a model of another structure.',
      ),
    );
  }
  snapshots.forEach((s, i) => {
    setRngState(rngs[i]![1], s);
  });
}
