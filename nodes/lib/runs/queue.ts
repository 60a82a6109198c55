import { promises as fs } from "node:fs";
import path from "node:path";

/**
 * Concurrency slots and the queue of runs waiting for one. A global limit bounds the runs
 * going at once; each trigger may bound its own (a slow scheduled run never overlaps
 * itself). Waiting runs leave the queue by priority, then in arrival order.
 */
export const PRIORITIES = ["highest", "high", "regular", "low", "lowest"] as const;
export type Priority = (typeof PRIORITIES)[number];

export function priorityRank(p: string | undefined): number {
  const at = PRIORITIES.indexOf((p ?? "regular") as Priority);
  return at < 0 ? 2 : at;
}

/** A run waiting for a slot, with what its trigger needs to start it later (also after a restart). */
export interface QueuedRun {
  runId: string;
  trigger: string;
  rank: number;
  /** The trigger's own limit for this run; 0 for none. */
  limit: number;
  seq: number;
  enqueuedAt: number;
  /** JSON of the message to send: payload, pw and extras such as msg.webhook. */
  message: string;
}

export interface QueuePersistence {
  load(): Promise<QueuedRun[]>;
  save(items: QueuedRun[]): void;
}

export interface QueueOptions {
  maxConcurrent: number;
  maxQueued: number;
}

export class RunQueue {
  private readonly runningBy = new Map<string, number>();
  private running = 0;
  private items: QueuedRun[] = [];
  private seq = 0;

  constructor(
    private readonly persistence: QueuePersistence,
    private readonly opts: QueueOptions,
  ) {}

  async open(): Promise<void> {
    const loaded = await this.persistence.load();
    this.items = [...loaded, ...this.items];
    this.seq = Math.max(this.seq, ...this.items.map((i) => i.seq + 1), 0);
    this.sort();
  }

  get runningCount(): number {
    return this.running;
  }

  get queuedCount(): number {
    return this.items.length;
  }

  /** Takes a slot if the global and the trigger's limits allow (limit 0: no limit of its own). */
  tryAcquire(trigger: string, limit: number): boolean {
    if (this.running >= this.opts.maxConcurrent) return false;
    if (limit > 0 && (this.runningBy.get(trigger) ?? 0) >= limit) return false;
    this.acquire(trigger);
    return true;
  }

  /** Takes a slot whatever the limits say: manual runs skip the queue but still count. */
  acquire(trigger: string): void {
    this.running++;
    this.runningBy.set(trigger, (this.runningBy.get(trigger) ?? 0) + 1);
  }

  release(trigger: string): void {
    const n = this.runningBy.get(trigger) ?? 0;
    if (n <= 0) return;
    this.running--;
    if (n === 1) this.runningBy.delete(trigger);
    else this.runningBy.set(trigger, n - 1);
  }

  /** Adds a waiting run; false when the queue is full. */
  enqueue(item: Omit<QueuedRun, "seq">): boolean {
    if (this.items.length >= this.opts.maxQueued) return false;
    this.items.push({ ...item, seq: this.seq++ });
    this.sort();
    this.persist();
    return true;
  }

  /**
   * Takes the runs that may start now, each with its slot already taken. Runs of triggers
   * that are not deployed (`deployed` says no) wait.
   */
  takeStartable(deployed: (trigger: string) => boolean): QueuedRun[] {
    const out: QueuedRun[] = [];
    const kept: QueuedRun[] = [];
    for (const item of this.items) {
      if (deployed(item.trigger) && this.tryAcquire(item.trigger, item.limit ?? 0)) out.push(item);
      else kept.push(item);
    }
    if (out.length > 0) {
      this.items = kept;
      this.persist();
    }
    return out;
  }

  cancel(runId: string): QueuedRun | undefined {
    const at = this.items.findIndex((i) => i.runId === runId);
    if (at < 0) return undefined;
    const [item] = this.items.splice(at, 1);
    this.persist();
    return item;
  }

  list(): QueuedRun[] {
    return [...this.items];
  }

  private sort(): void {
    this.items.sort((a, b) => a.rank - b.rank || a.seq - b.seq);
  }

  private persist(): void {
    this.persistence.save(this.items);
  }
}

/**
 * The queue on disk: one JSON file, rewritten (temp file, then rename) shortly after each
 * change, so a burst of webhooks costs one write.
 */
export class FileQueuePersistence implements QueuePersistence {
  private timer: NodeJS.Timeout | undefined;
  private latest: QueuedRun[] | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly delayMs = 20,
  ) {}

  async load(): Promise<QueuedRun[]> {
    try {
      const items = JSON.parse(await fs.readFile(this.file, "utf8")) as QueuedRun[];
      return Array.isArray(items) ? items : [];
    } catch {
      return [];
    }
  }

  save(items: QueuedRun[]): void {
    this.latest = [...items];
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.delayMs);
  }

  flush(): Promise<void> {
    const items = this.latest;
    if (!items) return this.writing;
    this.latest = undefined;
    this.writing = this.writing.then(async () => {
      await fs.mkdir(path.dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      await fs.writeFile(tmp, JSON.stringify(items), "utf8");
      await fs.rename(tmp, this.file);
    });
    return this.writing;
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
