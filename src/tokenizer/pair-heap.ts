/**
 * A binary max-heap of (count, pair key) entries for the BPE trainer: the largest count first,
 * ties broken by the smaller key so that training is deterministic. Entries may go stale (the
 * trainer checks them against the live counts when it pops them).
 */
export class PairHeap {
  private readonly counts: number[] = [];
  private readonly keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    this.siftUp(this.counts.length - 1);
  }

  /** Removes and returns the top entry, or undefined when the heap is empty. */
  pop(): { count: number; key: number } | undefined {
    if (this.counts.length === 0) return undefined;
    const top = { count: this.counts[0], key: this.keys[0] };
    const lastCount = this.counts.pop() as number;
    const lastKey = this.keys.pop() as number;
    if (this.counts.length > 0) {
      this.counts[0] = lastCount;
      this.keys[0] = lastKey;
      this.siftDown(0);
    }
    return top;
  }

  private before(left: number, right: number): boolean {
    const countLeft = this.counts[left];
    const countRight = this.counts[right];
    return countLeft > countRight || (countLeft === countRight && this.keys[left] < this.keys[right]);
  }

  private swap(left: number, right: number): void {
    [this.counts[left], this.counts[right]] = [this.counts[right], this.counts[left]];
    [this.keys[left], this.keys[right]] = [this.keys[right], this.keys[left]];
  }

  private siftUp(index: number): void {
    let child = index;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (!this.before(child, parent)) return;
      this.swap(child, parent);
      child = parent;
    }
  }

  private siftDown(index: number): void {
    let parent = index;
    const length = this.counts.length;
    while (true) {
      const left = 2 * parent + 1;
      const right = left + 1;
      let best = parent;
      if (left < length && this.before(left, best)) best = left;
      if (right < length && this.before(right, best)) best = right;
      if (best === parent) return;
      this.swap(parent, best);
      parent = best;
    }
  }
}
