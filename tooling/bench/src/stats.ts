/** Median, minimum and maximum of a sample (the median of an even count is the mean of the middle two). */
export function summarize(ms: readonly number[]): { median: number; min: number; max: number } {
  if (ms.length === 0) throw new Error('summarize: no samples');
  const s = [...ms].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]! };
}

/** Largest |a − b|, and the largest |b| (for relative comparisons). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): { diff: number; scale: number } {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths ${a.length} and ${b.length} differ`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (Number.isNaN(d)) return { diff: Number.NaN, scale: Number.NaN };
    if (d > diff) diff = d;
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return { diff, scale };
}
