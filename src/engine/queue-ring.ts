/**
 * A growable ring buffer used as a FIFO queue: push at the back, shift at the front, both O(1)
 * amortised. `Array.prototype.shift` is O(n) on large arrays, which a queue of thousands of
 * waiting requests cannot afford.
 */
export class RingQueue<T> {
  private slots: (T | undefined)[];
  private head = 0;
  private count = 0;

  constructor(initialCapacity = 16) {
    // A power of two lets the index wrap with a mask instead of a division.
    let capacity = 1;
    while (capacity < initialCapacity) capacity <<= 1;
    this.slots = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  push(value: T): void {
    if (this.count === this.slots.length) this.grow();
    this.slots[(this.head + this.count) & (this.slots.length - 1)] = value;
    this.count++;
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.slots[this.head];
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const value = this.slots[this.head];
    // Clear the slot so a dispatched item is not kept alive by the buffer.
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) & (this.slots.length - 1);
    this.count--;
    return value;
  }

  /** Keeps only the values `keep` accepts, in order. O(n); callers run it rarely enough to stay amortised O(1). */
  retain(keep: (value: T) => boolean): void {
    const kept: T[] = [];
    for (let i = 0; i < this.count; i++) {
      const value = this.slots[(this.head + i) & (this.slots.length - 1)] as T;
      if (keep(value)) kept.push(value);
    }
    let capacity = 16;
    while (capacity < kept.length) capacity <<= 1;
    const slots = new Array<T | undefined>(capacity);
    for (let i = 0; i < kept.length; i++) slots[i] = kept[i];
    this.slots = slots;
    this.head = 0;
    this.count = kept.length;
  }

  clear(): void {
    this.slots = new Array<T | undefined>(16);
    this.head = 0;
    this.count = 0;
  }

  private grow(): void {
    const next = new Array<T | undefined>(this.slots.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = this.slots[(this.head + i) & (this.slots.length - 1)];
    this.slots = next;
    this.head = 0;
  }
}
