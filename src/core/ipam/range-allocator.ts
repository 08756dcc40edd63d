/**
 * Hands out integers from [first, last] minus excluded ranges, with a cost per allocation that
 * does not grow with how many are in use: a cursor sweeps forward once, released values go to a
 * free list, and only when both are spent while the count says room is left does the cursor sweep
 * again (which a free list kept in step with releases makes rare). The caller decides what an
 * allocation means; uniqueness across processes is the store's job (compare-and-swap), this only
 * keeps proposals cheap and mostly right.
 */

export type Range = readonly [bigint, bigint];

export class RangeAllocator {
  private readonly excluded: Range[];
  private readonly used = new Set<bigint>();
  private usedAllowed = 0;
  private cursor: bigint;
  private free: bigint[] = [];
  private freeHead = 0;
  /** How many values can be handed out at all. */
  readonly capacity: bigint;

  /**
   * At most this many released values are remembered. Beyond it a release is only counted: a later
   * sweep finds the value again. This bounds memory on huge ranges (an IPv6 /64 whose cursor never
   * reaches the end) under endless churn.
   */
  private readonly freeListCap: number;

  constructor(
    readonly first: bigint,
    readonly last: bigint,
    excluded: readonly Range[] = [],
    options: { freeListCap?: number } = {},
  ) {
    this.freeListCap = options.freeListCap ?? 65_536;
    this.excluded = mergeRanges(excluded.map(([a, b]) => [a < first ? first : a, b > last ? last : b] as Range).filter(([a, b]) => a <= b));
    let excludedCount = 0n;
    for (const [a, b] of this.excluded) excludedCount += b - a + 1n;
    this.capacity = last >= first ? last - first + 1n - excludedCount : 0n;
    this.cursor = first;
  }

  /** Why a value can never be handed out, or undefined when it can. */
  isAllowed(value: bigint): boolean {
    return value >= this.first && value <= this.last && !this.isExcluded(value);
  }

  isUsed(value: bigint): boolean {
    return this.used.has(value);
  }

  get usedCount(): number {
    return this.usedAllowed;
  }

  /** Records a value as in use (an allocation seen in the store, or one this process proposes). */
  markUsed(value: bigint): void {
    if (this.used.has(value)) return;
    this.used.add(value);
    if (this.isAllowed(value)) this.usedAllowed++;
  }

  /** Records a value as free again. */
  release(value: bigint): void {
    if (!this.used.delete(value)) return;
    if (this.isAllowed(value)) {
      this.usedAllowed--;
      if (this.free.length - this.freeHead < this.freeListCap) this.free.push(value);
    }
  }

  /** Proposes a free value and marks it used; undefined when everything is in use. */
  allocate(): bigint | undefined {
    if (BigInt(this.usedAllowed) >= this.capacity) return undefined;
    for (let sweep = 0; sweep < 2; sweep++) {
      const fromCursor = this.advance();
      if (fromCursor !== undefined) return this.take(fromCursor);
      while (this.freeHead < this.free.length) {
        const value = this.free[this.freeHead++];
        if (!this.used.has(value) && this.isAllowed(value)) {
          this.compactFreeList();
          return this.take(value);
        }
      }
      this.compactFreeList();
      // The count says there is room but neither the cursor nor the free list has it: sweep once more.
      this.cursor = this.first;
    }
    return undefined;
  }

  private take(value: bigint): bigint {
    this.markUsed(value);
    return value;
  }

  private advance(): bigint | undefined {
    while (this.cursor <= this.last) {
      const range = this.excludedRangeOf(this.cursor);
      if (range) {
        this.cursor = range[1] + 1n;
        continue;
      }
      const value = this.cursor;
      this.cursor++;
      if (!this.used.has(value)) return value;
    }
    return undefined;
  }

  private compactFreeList(): void {
    if (this.freeHead > 1024 && this.freeHead * 2 > this.free.length) {
      this.free = this.free.slice(this.freeHead);
      this.freeHead = 0;
    } else if (this.freeHead === this.free.length) {
      this.free = [];
      this.freeHead = 0;
    }
  }

  private isExcluded(value: bigint): boolean {
    return this.excludedRangeOf(value) !== undefined;
  }

  private excludedRangeOf(value: bigint): Range | undefined {
    let low = 0;
    let high = this.excluded.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const [a, b] = this.excluded[middle];
      if (value < a) high = middle - 1;
      else if (value > b) low = middle + 1;
      else return this.excluded[middle];
    }
    return undefined;
  }
}

export function mergeRanges(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const merged: [bigint, bigint][] = [];
  for (const [a, b] of sorted) {
    const top = merged[merged.length - 1];
    if (top && a <= top[1] + 1n) {
      if (b > top[1]) top[1] = b;
    } else {
      merged.push([a, b]);
    }
  }
  return merged;
}
