import type { Clock } from "../schedule";

/** Something that goes idle and busy again: a run, counted by the tracker. */
export interface Settling {
  /** Messages in flight; the item may settle only at 0. */
  inFlight: number;
  /** When it last went idle; undefined while it is busy. */
  idleSince?: number;
}

/**
 * The settle window: an item that stays idle for `settleMs` is over. The window is the same
 * for every item, so they expire in the order they went idle: one timer serves them all, and
 * an item that gets busy again just leaves a stale entry behind (no timer to clear per message).
 */
export class SettleQueue<T extends Settling> {
  private items: T[] = [];
  private times: number[] = [];
  private head = 0;
  private timer: unknown;

  constructor(
    private readonly settleMs: number,
    private readonly clock: Clock,
    private readonly now: () => number,
    /** Called for an item that stayed idle through the window. */
    private readonly settled: (item: T) => void,
  ) {}

  /** The item went idle now. */
  idle(item: T, now: number): void {
    item.idleSince = now;
    this.items.push(item);
    this.times.push(now);
    if (this.timer === undefined) this.arm(now);
  }

  /** Entries waiting, stale ones included (for tests and the bench). */
  get size(): number {
    return this.items.length - this.head;
  }

  clear(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.items = [];
    this.times = [];
    this.head = 0;
  }

  private arm(now: number): void {
    if (this.head >= this.items.length) return;
    const due = this.times[this.head] + this.settleMs;
    this.timer = this.clock.setTimer(() => this.due(), Math.max(0, due - now));
  }

  private due(): void {
    this.timer = undefined;
    const now = this.now();
    const items = this.items;
    const times = this.times;
    while (this.head < items.length && times[this.head] + this.settleMs <= now) {
      const item = items[this.head];
      const since = times[this.head];
      items[this.head] = undefined as unknown as T;
      this.head++;
      if (item.idleSince === since && item.inFlight === 0) this.settled(item);
    }
    if (this.head === items.length) {
      this.items = [];
      this.times = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > items.length) {
      this.items = items.slice(this.head);
      this.times = times.slice(this.head);
      this.head = 0;
    }
    if (this.timer === undefined) this.arm(now);
  }
}
