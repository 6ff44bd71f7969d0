import { bytesPerElement, type DType } from '@recur/tensor';
import { bytesOf, type Lowered } from './lower.js';

export interface MemoryPlan {
  /** Physical buffers to allocate (sizes in elements). */
  readonly physical: readonly { readonly dtype: DType; readonly size: number }[];
  /** For each logical buffer, its physical buffer (-1: bound by the caller or never used). */
  readonly assign: readonly number[];
  /** Bytes of the physical buffers. */
  readonly plannedBytes: number;
  /** Bytes if every logical buffer had its own allocation (no reuse, nothing in place). */
  readonly unplannedBytes: number;
}

/**
 * Liveness-based buffer reuse. Logical buffers whose live ranges do not overlap share one
 * physical buffer (best fit by size and dtype; a buffer may grow to its largest tenant); a fused
 * kernel's output may take over an input that dies at that kernel (in place), and a stacked
 * output of a loop may take over a stacked input step by step (`Lowered.stepInPlace`). Loop
 * temporaries have per-step live ranges; values that cross steps are live for the whole loop.
 */
export function planMemory(l: Lowered): MemoryPlan {
  const assign = l.buffers.map(() => -1);
  const physical: { dtype: DType; size: number; freeAt: number; tenant: number }[] = [];
  const inPlace = new Set(l.inPlace.map(([i, o]) => `${i}>${o}`));
  const overwrites = new Map<number, number[]>();
  for (const [x, y] of l.stepInPlace) overwrites.set(y, [...(overwrites.get(y) ?? []), x]);
  const order = l.buffers
    .filter((b) => b.kind !== 'external' && b.first !== Infinity)
    .sort((a, b) => a.first - b.first || a.id - b.id);
  let unplannedBytes = 0;
  for (const b of order) {
    unplannedBytes += bytesOf(b);
    if (b.kind === 'const') {
      assign[b.id] = physical.length;
      physical.push({ dtype: b.dtype, size: b.size, freeAt: Infinity, tenant: b.id });
      continue;
    }
    // A stacked value written step by step over a stacked input that dies with the loop.
    const over = (overwrites.get(b.id) ?? []).find(
      (x) => assign[x]! >= 0 && physical[assign[x]!]!.tenant === x,
    );
    if (over !== undefined) {
      const p = physical[assign[over]!]!;
      p.size = Math.max(p.size, b.size);
      p.freeAt = Math.max(p.freeAt, b.last);
      p.tenant = b.id;
      assign[b.id] = assign[over]!;
      continue;
    }
    let best = -1;
    let bestScore = Infinity;
    physical.forEach((p, i) => {
      if (p.dtype !== b.dtype) return;
      const free = p.freeAt < b.first || (p.freeAt === b.first && inPlace.has(`${p.tenant}>${b.id}`));
      if (!free) return;
      // Exact fit first, then the smallest larger buffer, then the largest smaller one (grown).
      const score = p.size === b.size ? 0 : p.size > b.size ? p.size - b.size : 1e15 + (b.size - p.size);
      if (score < bestScore) {
        bestScore = score;
        best = i;
      }
    });
    if (best < 0) {
      best = physical.length;
      physical.push({ dtype: b.dtype, size: b.size, freeAt: b.last, tenant: b.id });
    } else {
      const p = physical[best]!;
      p.size = Math.max(p.size, b.size);
      p.freeAt = b.last;
      p.tenant = b.id;
    }
    assign[b.id] = best;
  }
  const plannedBytes = physical.reduce((acc, p) => acc + p.size * bytesPerElement(p.dtype), 0);
  return {
    physical: physical.map((p) => ({ dtype: p.dtype, size: p.size })),
    assign,
    plannedBytes,
    unplannedBytes,
  };
}
