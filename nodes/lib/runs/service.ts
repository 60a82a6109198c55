import type { PwContext } from "../message";
import type { RunRecord } from "./record";
import type { RunQueue } from "./queue";
import type { RunTracker } from "./tracker";
import { systemClock, type Clock } from "../schedule";
import type { SnapshotMode } from "./snapshots";

/**
 * Starts runs: now, when a slot is free, or later from the queue. Triggers register how to
 * launch a run of theirs; the service frees a slot whenever a run that held one ends and
 * starts what waits.
 */
export interface TriggerLauncher {
  /** Which payloads its runs keep. */
  snapshots?: SnapshotMode;
  launch(message: Record<string, unknown>): void;
}

export interface SubmitOptions {
  /** Queue priority rank: 0 highest … 4 lowest. */
  rank: number;
  limit: number;
  /** Manual runs and retries skip the queue but still take a slot. */
  skipQueue?: boolean;
  /** Properties that cannot be stored (a held HTTP request): kept in memory, lost on restart. */
  live?: Record<string, unknown>;
  snapshots?: SnapshotMode;
}

export type Admission = "started" | "queued" | "full";

export class RunService {
  private readonly launchers = new Map<string, TriggerLauncher>();
  private readonly slotHolders = new Map<string, string>();
  private readonly liveExtras = new Map<string, Record<string, unknown>>();
  /**
   * Queued runs start only while flows are running: a trigger registers as its flow starts,
   * before the nodes wired after it exist, so a run launched then would go nowhere.
   */
  private flowsRunning = false;

  constructor(
    readonly tracker: RunTracker,
    readonly queue: RunQueue,
    private readonly records: { get(id: string): RunRecord | undefined },
    private readonly clock: Clock = systemClock,
  ) {}

  registerTrigger(id: string, launcher: TriggerLauncher): void {
    this.launchers.set(id, launcher);
    this.drain();
  }

  unregisterTrigger(id: string, launcher: TriggerLauncher): void {
    if (this.launchers.get(id) === launcher) this.launchers.delete(id);
  }

  submit(
    pw: PwContext,
    payload: unknown,
    message: Record<string, unknown>,
    opts: SubmitOptions,
    send: (message: Record<string, unknown>) => void,
  ): Admission {
    const trigger = pw.run.trigger;
    if (opts.skipQueue) this.queue.acquire(trigger);
    else if (!this.queue.tryAcquire(trigger, opts.limit)) {
      const queued = this.queue.enqueue({
        runId: pw.run.id,
        trigger,
        rank: opts.rank,
        limit: opts.limit,
        enqueuedAt: this.clock.now(),
        message: JSON.stringify(message, keepBuffers),
      });
      if (!queued) return "full";
      if (opts.live) this.liveExtras.set(pw.run.id, opts.live);
      this.tracker.recordQueued(pw, payload, opts.snapshots);
      return "queued";
    }
    this.slotHolders.set(pw.run.id, trigger);
    this.tracker.begin(pw, payload, undefined, opts.snapshots);
    send(opts.live ? { ...message, ...opts.live } : message);
    return "started";
  }

  /** Cancels a queued run; false when it is not in the queue. */
  cancel(runId: string, reason = "cancelled while queued"): boolean {
    const item = this.queue.cancel(runId);
    if (!item) return false;
    this.liveExtras.delete(runId);
    const record = this.records.get(runId);
    if (record) this.tracker.endUnfollowed(record, "stopped", reason);
    return true;
  }

  /** The tracker tells of every run that ends. */
  ended(record: RunRecord): void {
    const trigger = this.slotHolders.get(record.id);
    if (trigger === undefined) return;
    this.slotHolders.delete(record.id);
    this.queue.release(trigger);
    this.drain();
  }

  setFlowsRunning(running: boolean): void {
    this.flowsRunning = running;
    if (running) this.drain();
  }

  /** Starts every queued run whose trigger is deployed and has a slot. */
  drain(): void {
    if (!this.flowsRunning) return;
    for (const item of this.queue.takeStartable((t) => this.launchers.has(t))) {
      const launcher = this.launchers.get(item.trigger) as TriggerLauncher;
      const message = reviveBuffers(JSON.parse(item.message)) as Record<string, unknown> & {
        pw: PwContext;
        payload: unknown;
      };
      const live = this.liveExtras.get(item.runId);
      this.liveExtras.delete(item.runId);
      this.slotHolders.set(item.runId, item.trigger);
      this.tracker.begin(message.pw, message.payload, item.enqueuedAt, launcher.snapshots);
      launcher.launch(live ? { ...message, ...live } : message);
    }
  }
}

/** Buffers (a webhook's raw body) are stored as base64, not as JSON's array of numbers. */
function keepBuffers(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  return Buffer.isBuffer(raw) ? { $buffer: raw.toString("base64") } : value;
}

function reviveBuffers(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reviveBuffers);
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (typeof o.$buffer === "string" && Object.keys(o).length === 1) return Buffer.from(o.$buffer, "base64");
    for (const key of Object.keys(o)) o[key] = reviveBuffers(o[key]);
  }
  return value;
}
