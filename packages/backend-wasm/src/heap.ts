/**
 * A best-fit allocator over one WebAssembly.Memory, kept on the JavaScript side (the kernels only
 * see addresses). Blocks are 64-byte aligned (a cache line; SIMD loads never straddle a block's
 * start). Free blocks are coalesced with their neighbours and a free block that touches the top of
 * the heap returns to it, so a program that frees what it allocates comes back to the same
 * footprint. The memory grows (in 64 KiB pages, at least doubling up to the maximum) when no free
 * block fits; growth never moves existing blocks.
 */
export const ALIGN = 64;

export class OutOfMemoryError extends Error {
  override name = 'OutOfMemoryError';
}

export class Heap {
  /** start -> size of each free block. */
  private readonly freeBySize = new Map<number, number>();
  /** end -> start of each free block, for merging with a block freed just after it. */
  private readonly freeByEnd = new Map<number, number>();
  /** Free block starts binned by floor(log2(size)). */
  private readonly bins: Set<number>[] = Array.from({ length: 33 }, () => new Set());
  private top: number;
  private liveBytes = 0;

  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly maxPages: number,
    /** Bytes at the bottom of memory never handed out (address 0 stays null). */
    reserved = ALIGN,
  ) {
    this.top = Math.ceil(reserved / ALIGN) * ALIGN;
  }

  /** Bytes handed out and not yet freed (rounded to blocks). */
  get used(): number {
    return this.liveBytes;
  }

  /** End of the highest block ever in use (the heap's footprint). */
  get highWater(): number {
    return this.top;
  }

  alloc(bytes: number): number {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    const found = this.takeFree(size);
    this.liveBytes += size;
    if (found >= 0) return found;
    const start = this.top;
    this.ensure(start + size);
    this.top = start + size;
    return start;
  }

  free(start: number, bytes: number): void {
    let size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    this.liveBytes -= size;
    // Merge with the free block ending where this one starts, and the one starting where it ends.
    const before = this.freeByEnd.get(start);
    if (before !== undefined) {
      const bsize = this.freeBySize.get(before)!;
      this.remove(before, bsize);
      start = before;
      size += bsize;
    }
    const afterSize = this.freeBySize.get(start + size);
    if (afterSize !== undefined) {
      this.remove(start + size, afterSize);
      size += afterSize;
    }
    if (start + size === this.top) {
      this.top = start;
      return;
    }
    this.insert(start, size);
  }

  private takeFree(size: number): number {
    for (let b = binOf(size); b < this.bins.length; b++) {
      let best = -1;
      let bestSize = Infinity;
      for (const start of this.bins[b]!) {
        const s = this.freeBySize.get(start)!;
        if (s >= size && s < bestSize) {
          best = start;
          bestSize = s;
          if (s === size) break;
        }
      }
      if (best >= 0) {
        this.remove(best, bestSize);
        if (bestSize > size) this.insert(best + size, bestSize - size);
        return best;
      }
    }
    return -1;
  }

  private insert(start: number, size: number): void {
    this.freeBySize.set(start, size);
    this.freeByEnd.set(start + size, start);
    this.bins[binOf(size)]!.add(start);
  }

  private remove(start: number, size: number): void {
    this.freeBySize.delete(start);
    this.freeByEnd.delete(start + size);
    this.bins[binOf(size)]!.delete(start);
  }

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const havePages = have / 65536;
    const needPages = Math.ceil(end / 65536);
    const want = Math.min(this.maxPages, Math.max(needPages, havePages * 2));
    if (needPages > this.maxPages) {
      throw new OutOfMemoryError(
        `wasm: expected an allocation to fit in the memory limit of ${this.maxPages * 64} KiB, found ${Math.ceil(end / 1024)} KiB needed. Free tensors you no longer need (tidy, dispose) or create the backend with a larger maxMemoryMB.`,
      );
    }
    this.memory.grow(want - havePages);
  }
}

function binOf(size: number): number {
  return 31 - Math.clz32(size);
}
