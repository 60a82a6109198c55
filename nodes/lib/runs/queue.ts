/**
 * Concurrency slots and the queue of runs waiting for one. A global limit bounds the runs
 * going at once; each trigger may bound its own (a slow scheduled run never overlaps
 * itself). Waiting runs leave the queue by priority, then in arrival order; manual runs and
 * retries come before every trigger priority.
 *
 * One FIFO per priority rank and trigger, so an enqueue, a cancel and a start cost the same
 * with ten runs waiting or ten thousand: nothing is sorted or copied per operation. The queue
 * lives in memory only; the intake journal (journal.ts) is what makes it outlive a restart.
 */
export const PRIORITIES = ["highest", "high", "regular", "low", "lowest"] as const;
export type Priority = (typeof PRIORITIES)[number];

/** The rank of manual runs and retries: before any trigger priority. */
export const MANUAL_RANK = -1;

export function priorityRank(p: string | undefined): number {
  const at = PRIORITIES.indexOf((p ?? "regular") as Priority);
  return at < 0 ? 2 : at;
}

/** A run waiting for a slot, with what its trigger needs to start it later (also after a restart). */
export interface QueuedRun {
  runId: string;
  trigger: string;
  /** MANUAL_RANK (manual runs, retries), then 0 highest … 4 lowest. */
  rank: number;
  /** The trigger's own limit for this run; 0 for none. */
  limit: number;
  /** Arrival order, given by the queue. */
  seq: number;
  enqueuedAt: number;
  /** JSON of the message to send: payload, pw and extras such as msg.webhook. */
  message?: string;
}

export interface QueueOptions {
  maxConcurrent: number;
  maxQueued: number;
}

/** An array used as a FIFO: shift moves a head index, the array is trimmed now and then. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  unshift(item: T): void {
    if (this.head > 0) this.items[--this.head] = item;
    else this.items.unshift(item);
  }
  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined as unknown as T;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
  *[Symbol.iterator](): Iterator<T> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i];
  }
}

const RANKS = PRIORITIES.length + 1;
const slotOf = (rank: number) => Math.min(Math.max(rank - MANUAL_RANK, 0), RANKS - 1);

export class RunQueue {
  private readonly runningBy = new Map<string, number>();
  private running = 0;
  /** Per rank (manual first), per trigger, the runs in arrival order; cancelled ones are skipped lazily. */
  private readonly lanes: Array<Map<string, Fifo<QueuedRun>>> = Array.from(
    { length: RANKS },
    () => new Map(),
  );
  /** Every waiting run by id: what counts, and what cancel removes. */
  private readonly waiting = new Map<string, QueuedRun>();
  private seq = 0;

  constructor(private readonly opts: QueueOptions) {}

  get runningCount(): number {
    return this.running;
  }

  get queuedCount(): number {
    return this.waiting.size;
  }

  get maxQueued(): number {
    return this.opts.maxQueued;
  }

  /** Takes a slot if the global and the trigger's limits allow (limit 0: no limit of its own). */
  tryAcquire(trigger: string, limit: number): boolean {
    if (this.running >= this.opts.maxConcurrent) return false;
    if (limit > 0 && (this.runningBy.get(trigger) ?? 0) >= limit) return false;
    this.running++;
    this.runningBy.set(trigger, (this.runningBy.get(trigger) ?? 0) + 1);
    return true;
  }

  release(trigger: string): void {
    const n = this.runningBy.get(trigger) ?? 0;
    if (n <= 0) return;
    this.running--;
    if (n === 1) this.runningBy.delete(trigger);
    else this.runningBy.set(trigger, n - 1);
  }

  /** Adds a waiting run (it is given its place in arrival order); false when the queue is full. */
  enqueue(item: QueuedRun, force = false): boolean {
    if (!force && this.waiting.size >= this.opts.maxQueued) return false;
    item.seq = this.seq++;
    this.waiting.set(item.runId, item);
    this.lane(item).push(item);
    return true;
  }

  /** Puts back a run taken to start that could not (its trigger went away meanwhile): first in its lane. */
  requeue(item: QueuedRun): void {
    this.waiting.set(item.runId, item);
    this.lane(item).unshift(item);
  }

  /**
   * Takes the runs that may start now, each with its slot already taken. Runs of triggers
   * that are not deployed (`deployed` says no) wait. Each run taken costs a look at the head
   * of each trigger's lane, whatever the depth of the queue.
   */
  takeStartable(deployed: (trigger: string) => boolean): QueuedRun[] {
    const out: QueuedRun[] = [];
    if (this.waiting.size === 0) return out;
    while (this.running < this.opts.maxConcurrent) {
      let best: Fifo<QueuedRun> | undefined;
      let bestSeq = Infinity;
      for (const lanes of this.lanes) {
        for (const [trigger, lane] of lanes) {
          const head = this.headOf(lane);
          if (!head) {
            lanes.delete(trigger);
            continue;
          }
          if (head.seq >= bestSeq || !deployed(trigger)) continue;
          if (head.limit > 0 && (this.runningBy.get(trigger) ?? 0) >= head.limit) continue;
          best = lane;
          bestSeq = head.seq;
        }
        if (best) break;
      }
      if (!best) break;
      const item = best.shift() as QueuedRun;
      this.waiting.delete(item.runId);
      this.tryAcquire(item.trigger, 0);
      out.push(item);
    }
    return out;
  }

  cancel(runId: string): QueuedRun | undefined {
    const item = this.waiting.get(runId);
    if (item) this.waiting.delete(runId);
    return item;
  }

  has(runId: string): boolean {
    return this.waiting.has(runId);
  }

  /** The waiting runs in the order they would leave (for tests and the admin view; walks the queue). */
  list(): QueuedRun[] {
    return [...this.waiting.values()].sort((a, b) => slotOf(a.rank) - slotOf(b.rank) || a.seq - b.seq);
  }

  private lane(item: QueuedRun): Fifo<QueuedRun> {
    const lanes = this.lanes[slotOf(item.rank)];
    let lane = lanes.get(item.trigger);
    if (!lane) lanes.set(item.trigger, (lane = new Fifo()));
    return lane;
  }

  /** The lane's first run still waiting; cancelled runs at the head are dropped on the way. */
  private headOf(lane: Fifo<QueuedRun>): QueuedRun | undefined {
    for (let head = lane.peek(); head; head = lane.peek()) {
      if (this.waiting.get(head.runId) === head) return head;
      lane.shift();
    }
    return undefined;
  }
}
