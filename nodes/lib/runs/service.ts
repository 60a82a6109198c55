import type { PwContext } from "../message";
import { FINAL_STATUSES, INTERRUPTED, type RunRecord, type RunStatus } from "./record";

export { INTERRUPTED };
import type { RunQueue } from "./queue";
import type { RunTracker } from "./tracker";
import { systemClock, type Clock } from "../schedule";
import type { SnapshotMode } from "./snapshots";
import type { IntakeEntry, IntakeJournal, JournalReplay } from "./journal";

/**
 * Starts runs: now, when a slot is free, or later from the queue. Triggers register how to
 * launch a run of theirs. Every run is written to the intake journal before it is
 * acknowledged or launched (see journal.ts). A run holds its slot while it has work in
 * flight: the slot is freed the first time nothing of it is in flight (not after the settle
 * window), or at its end, whichever comes first, once; a run that gets busy again after that
 * (a node that sends after calling done) goes on without a slot.
 */
export interface TriggerLauncher {
  /** Which payloads its runs keep. */
  snapshots?: SnapshotMode;
  launch(message: Record<string, unknown>): void;
}

export interface SubmitOptions {
  /** Queue priority rank: MANUAL_RANK for manual runs and retries, then 0 highest … 4 lowest. */
  rank: number;
  limit: number;
  /** Properties that cannot be stored (a held HTTP request): kept in memory, lost on restart. */
  live?: Record<string, unknown>;
  /**
   * Scale-out mode: a key that admits the run once across all workers (a schedule's tick:
   * every worker's scheduler fires, one run starts). The embedded service has one scheduler per
   * trigger and ignores it.
   */
  once?: string;
  snapshots?: SnapshotMode;
}

export type Admission = "started" | "queued" | "full";

export interface Submitted {
  admission: Admission;
  /**
   * Resolves once the run is on disk: acknowledge it then (answer the webhook). Rejects when
   * it could not be written; the run is then not started. Resolves at once when full.
   */
  written: Promise<void>;
}

/** The part of the run store the service reads and fixes. */
export interface RunRecords {
  get(id: string): RunRecord | undefined;
  save(record: RunRecord): void;
  /** Runs left queued or running in the store. */
  unfinished(): RunRecord[];
}

export class RunService {
  private readonly launchers = new Map<string, TriggerLauncher>();
  /** Runs holding a slot, with their trigger. */
  private readonly slotHolders = new Map<string, string>();
  private readonly liveExtras = new Map<string, Record<string, unknown>>();
  /** Runs taken from the queue, waiting for their start to be on disk. */
  private readonly launching = new Map<string, IntakeEntry & { cancelled?: string }>();
  /**
   * Queued runs start only while flows are running: a trigger registers as its flow starts,
   * before the nodes wired after it exist, so a run launched then would go nowhere.
   */
  private flowsRunning = false;
  /** The journal was read and the queue rebuilt: until then every run waits in the queue. */
  private ready = false;

  constructor(
    readonly tracker: RunTracker,
    readonly queue: RunQueue,
    private readonly records: RunRecords,
    private readonly journal: IntakeJournal,
    private readonly clock: Clock = systemClock,
    private readonly warn: (message: string) => void = () => undefined,
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
  ): Submitted {
    const trigger = pw.run.trigger;
    const entry: IntakeEntry = {
      runId: pw.run.id,
      trigger,
      rank: opts.rank,
      limit: opts.limit,
      seq: 0,
      enqueuedAt: this.clock.now(),
      run: pw.run,
      started: false,
      message: JSON.stringify(message, keepBuffers),
    };
    if (this.ready && this.flowsRunning && this.queue.tryAcquire(trigger, opts.limit)) {
      entry.started = true;
      this.slotHolders.set(entry.runId, trigger);
      const written = this.journal.accept(entry);
      written.then(
        () => {
          entry.message = undefined;
          if (!this.flowsRunning || !this.launchers.has(trigger)) {
            // Its flow stopped meanwhile (a redeploy): it waits for the flow to start again.
            this.releaseSlot(entry.runId);
            if (opts.live) this.liveExtras.set(entry.runId, opts.live);
            entry.message = JSON.stringify(message, keepBuffers);
            this.requeue(entry);
            this.tracker.recordQueued(pw, payload, opts.snapshots);
            return;
          }
          this.tracker.begin(pw, payload, undefined, opts.snapshots);
          send(opts.live ? { ...message, ...opts.live } : message);
          this.afterLaunch(entry.runId);
        },
        (err: Error) => {
          this.releaseSlot(entry.runId);
          this.warn(`run ${entry.runId} was not started: it could not be written to disk (${err.message})`);
        },
      );
      return { admission: "started", written };
    }
    if (!this.queue.enqueue(entry)) return { admission: "full", written: Promise.resolve() };
    if (opts.live) this.liveExtras.set(pw.run.id, opts.live);
    const record = this.tracker.recordQueued(pw, payload, opts.snapshots);
    const written = this.journal.accept(entry);
    written.catch((err: Error) => {
      // Not acknowledged: it leaves the queue rather than run without a trace on disk.
      if (this.queue.cancel(entry.runId)) {
        this.liveExtras.delete(entry.runId);
        this.tracker.endUnfollowed(record, "failed", `the run could not be written to disk: ${err.message}`);
      }
    });
    return { admission: "queued", written };
  }

  /** Cancels a queued run; false when it is not in the queue. */
  cancel(runId: string, reason = "cancelled while queued"): boolean {
    const launching = this.launching.get(runId);
    if (launching) {
      launching.cancelled = reason;
      return true;
    }
    const item = this.queue.cancel(runId);
    if (!item) return false;
    this.liveExtras.delete(runId);
    this.endQueued(runId, "stopped", reason);
    return true;
  }

  /** The tracker tells of every run that ends: it is final in the journal, and its slot (if still held) is free. */
  ended(record: RunRecord): void {
    this.journal.finished(record.id, record.status);
    if (this.releaseSlot(record.id)) this.drain();
  }

  /** The tracker tells when a run first has nothing in flight: its slot is free for the next run. */
  idle(runId: string): void {
    if (this.releaseSlot(runId)) this.drain();
  }

  setFlowsRunning(running: boolean): void {
    this.flowsRunning = running;
    if (running) this.drain();
  }

  /**
   * After a restart: queued runs wait again (in their order), runs that had started and not
   * ended are failed as interrupted, runs the journal saw end but the store did not are given
   * the journal's status, and runs left `queued` in the store that no journal holds are
   * failed, so none waits forever.
   */
  recover(replay: JournalReplay, interruptedInStore: Set<string>): void {
    for (const [id, { status, entry }] of replay.finals) {
      if (!FINAL_STATUSES.has(status as RunStatus)) continue;
      const record = this.records.get(id);
      const reason = "it ended just before Node-RED stopped, before its steps were written";
      if (record && interruptedInStore.has(id)) {
        record.status = status as RunStatus;
        record.reason = status === "succeeded" ? undefined : reason;
        this.records.save(record);
      } else if (!record && entry) this.endFromEntry(entry, status as RunStatus, reason);
    }
    for (const entry of replay.interrupted) {
      const record = this.records.get(entry.runId);
      if (record && FINAL_STATUSES.has(record.status)) this.journal.finished(entry.runId, record.status);
      else this.endFromEntry(entry, "failed", INTERRUPTED);
    }
    const queued = new Set<string>();
    for (const entry of replay.queued) {
      queued.add(entry.runId);
      this.queue.enqueue(entry, true);
      if (this.records.get(entry.runId)?.status !== "queued") {
        const { pw, payload } = parse(entry);
        this.tracker.recordQueued(pw, payload).queuedAt = entry.enqueuedAt;
      }
    }
    for (const record of this.records.unfinished()) {
      if (record.status !== "queued" || queued.has(record.id) || this.queue.has(record.id)) continue;
      this.tracker.endUnfollowed(record, "failed", `${INTERRUPTED}; it was queued and its place was lost`);
    }
    this.ready = true;
    this.drain();
  }

  /** Runs that were waiting in a queue file of an earlier version: into the journal, in their order. */
  adopt(items: Array<Omit<IntakeEntry, "run" | "started">>): void {
    for (const item of items) {
      if (this.records.get(item.runId) && FINAL_STATUSES.has(this.records.get(item.runId)!.status)) continue;
      if (!item.message) continue;
      const { pw } = parse(item as IntakeEntry);
      const entry: IntakeEntry = { ...item, run: pw.run, started: false };
      this.queue.enqueue(entry, true);
      void this.journal.accept(entry);
    }
  }

  /** Starts every queued run whose trigger is deployed and has a slot, once its start is on disk. */
  drain(): void {
    if (!this.flowsRunning || !this.ready) return;
    const items = this.queue.takeStartable((t) => this.launchers.has(t)) as IntakeEntry[];
    if (items.length === 0) return;
    for (const item of items) {
      this.slotHolders.set(item.runId, item.trigger);
      this.launching.set(item.runId, item);
    }
    this.journal.started(items).then(
      () => {
        for (const item of items) this.launchQueued(item);
      },
      (err: Error) => {
        this.warn(
          `queued runs could not be started: their start could not be written to disk (${err.message})`,
        );
        for (const item of items) {
          this.launching.delete(item.runId);
          this.releaseSlot(item.runId);
          this.queue.requeue(item);
        }
      },
    );
  }

  private launchQueued(item: IntakeEntry & { cancelled?: string }): void {
    this.launching.delete(item.runId);
    if (item.cancelled) {
      this.releaseSlot(item.runId);
      this.liveExtras.delete(item.runId);
      this.endQueued(item.runId, "stopped", item.cancelled);
      this.drain();
      return;
    }
    const launcher = this.launchers.get(item.trigger);
    if (!launcher || !this.flowsRunning) {
      this.releaseSlot(item.runId);
      this.requeue(item);
      return;
    }
    const { pw, payload, message } = parse(item);
    item.message = undefined;
    const live = this.liveExtras.get(item.runId);
    this.liveExtras.delete(item.runId);
    this.tracker.begin(pw, payload, item.enqueuedAt, launcher.snapshots);
    launcher.launch(live ? { ...message, ...live } : message);
    this.afterLaunch(item.runId);
  }

  /** A trigger with nothing wired after it has nothing in flight once launched: its slot is free at once. */
  private afterLaunch(runId: string): void {
    if (this.tracker.idleNow(runId)) this.idle(runId);
  }

  private requeue(entry: IntakeEntry): void {
    this.journal.requeued(entry);
    this.queue.requeue(entry);
  }

  private releaseSlot(runId: string): boolean {
    const trigger = this.slotHolders.get(runId);
    if (trigger === undefined) return false;
    this.slotHolders.delete(runId);
    this.queue.release(trigger);
    return true;
  }

  private endQueued(runId: string, status: "stopped" | "failed", reason: string): void {
    const record = this.records.get(runId);
    if (record) this.tracker.endUnfollowed(record, status, reason);
    else this.journal.finished(runId, status);
  }

  /** Records a run the store never saw (it started less than a second before a crash) as ended. */
  private endFromEntry(entry: IntakeEntry, status: RunStatus, reason: string): void {
    const { pw, payload } = parse(entry);
    const record = this.tracker.recordQueued(pw, payload, entry.message === undefined ? "never" : "off");
    if (entry.message === undefined) delete record.snapshots;
    record.queuedAt = undefined;
    record.startedAt = entry.enqueuedAt;
    this.tracker.endUnfollowed(record, status, reason);
  }
}

/** A queued run's message as it was submitted (Buffers revived). */
export function parse(entry: IntakeEntry): {
  pw: PwContext;
  payload: unknown;
  message: Record<string, unknown> & { pw: PwContext };
} {
  const message = (
    entry.message === undefined
      ? { pw: { run: entry.run, meta: {} } }
      : reviveBuffers(JSON.parse(entry.message))
  ) as Record<string, unknown> & { pw: PwContext };
  return { pw: message.pw, payload: message.payload, message };
}

/** Buffers (a webhook's raw body) are stored as base64, not as JSON's array of numbers. */
/** Request headers that carry someone's credentials: never written to disk with a waiting run. */
const CREDENTIAL_HEADERS = new Set(["authorization", "proxy-authorization", "cookie", "set-cookie"]);

/**
 * How a run's message is written to the journal: Buffers as base64 (the raw webhook body), and
 * a webhook's Authorization and Cookie headers left out (the trigger already checked them).
 */
export function keepBuffers(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  if (Buffer.isBuffer(raw)) return { $buffer: raw.toString("base64") };
  if (key === "headers" && value && typeof value === "object" && !Array.isArray(value)) {
    const kept: Record<string, unknown> = {};
    for (const [name, v] of Object.entries(value))
      if (!CREDENTIAL_HEADERS.has(name.toLowerCase())) kept[name] = v;
    return kept;
  }
  return value;
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
