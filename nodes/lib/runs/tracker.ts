import type { PwContext } from "../run-context";
import { systemClock, type Clock } from "../schedule";
import type { RequestRecord, RunError, RunRecord, RunSink, StepStats } from "./record";
import { DEFAULT_SNAPSHOT_CAP_BYTES, SNAPSHOTS_PER_STEP, takeSnapshot, type Snapshot, type SnapshotMode } from "./snapshots";

/**
 * Follows every message of every run through the runtime, from the messaging hooks'
 * point of view, and decides when a run is over. Knows nothing of Node-RED: the plugin
 * feeds it hook events, tests feed it synthetic ones.
 *
 * Counting: a message is "in flight" from the moment the router hands it to a node
 * (preDeliver; or onReceive when it reached the node without the router, as Catch, Status
 * and link-in nodes do) until that node finishes it (onComplete; or postReceive for nodes
 * whose input handler takes no `done`). A run is over when nothing of it has been in flight
 * for a settle window; it times out when it has messages in flight but no activity at all
 * for the inactivity timeout (a node that never calls `done`).
 */
export interface HookNode {
  id: string;
  type?: string;
  name?: string;
  /** The node's input handler takes `done`, so onComplete will come. */
  takesDone: boolean;
}

export interface TrackerOptions {
  /** How long a run must have nothing in flight to count as finished. */
  settleMs?: number;
  /** How long a run may show no activity at all before it ends as timed out. */
  inactivityMs?: number;
  /** Cap on the JSON size of the trigger payload kept with the run. */
  inputCapBytes?: number;
  clock?: Clock;
  /** Told of every run that ends (the run service frees its slot). */
  onEnd?: (record: RunRecord) => void;
  /** Where a finished run's payload snapshots go. */
  snapshotSink?: { save(runId: string, steps: Record<string, Snapshot[]>): void };
  /** Largest payload kept whole in one snapshot. */
  snapshotCapBytes?: number;
}

export const DEFAULT_SETTLE_MS = 100;
export const DEFAULT_INACTIVITY_MS = 10 * 60 * 1000;
export const DEFAULT_INPUT_CAP_BYTES = 1024 * 1024;

/** Requests listed per step; a long paginated pull keeps its latest ones. */
export const MAX_REQUESTS_PER_STEP = 200;

interface LiveRun {
  record: RunRecord;
  /** Aborted when the run stops or ends; made on first use, as most runs never need one. */
  abort?: AbortController;
  pw: PwContext;
  inFlight: number;
  lastActivity: number;
  settleTimer?: unknown;
  /** Nodes whose errors a Catch node already received for this run, waiting for the error itself. */
  caughtFrom?: Set<string>;
  /** Payload snapshots by node, when the run keeps them. */
  snapshots?: Record<string, Snapshot[]>;
}

interface Delivery {
  run: LiveRun;
  node: string;
  at: number;
  /** Counted at preDeliver and not yet seen at onReceive. */
  routed: boolean;
}

export class RunTracker {
  private readonly runs = new Map<string, LiveRun>();
  private readonly finishListeners = new Map<string, Array<(record: RunRecord) => void>>();
  /** Runs stopped recently: their late messages are still held back. */
  private readonly stoppedIds = new Set<string>();
  /**
   * Deliveries in flight, by message object and then node. One object can be at several
   * nodes at once: a node with a single wire forwards the very object it received.
   */
  private readonly processing = new WeakMap<object, Delivery | Delivery[]>();
  /** Per node, the runs it has messages of in flight: errors and lost contexts are attributed through it. */
  private readonly atNode = new Map<string, Map<string, number>>();
  private readonly settleMs: number;
  private readonly inactivityMs: number;
  private readonly inputCapBytes: number;
  private readonly clock: Clock;
  private sweepTimer: unknown;
  private readonly onEnd?: (record: RunRecord) => void;
  private readonly snapshotSink?: TrackerOptions["snapshotSink"];
  private readonly snapshotCapBytes: number;

  constructor(private readonly sink: RunSink, opts: TrackerOptions = {}) {
    this.onEnd = opts.onEnd;
    this.snapshotSink = opts.snapshotSink;
    this.snapshotCapBytes = opts.snapshotCapBytes ?? DEFAULT_SNAPSHOT_CAP_BYTES;
    this.settleMs = opts.settleMs ?? DEFAULT_SETTLE_MS;
    this.inactivityMs = opts.inactivityMs ?? DEFAULT_INACTIVITY_MS;
    this.inputCapBytes = opts.inputCapBytes ?? DEFAULT_INPUT_CAP_BYTES;
    this.clock = opts.clock ?? systemClock;
  }

  /** A trigger started a run; its payload and meta are kept for retry. */
  begin(pw: PwContext, payload: unknown, queuedAt?: number, snapshots: SnapshotMode = "off"): RunRecord {
    const now = this.clock.now();
    const record = this.newRecord(pw, payload, now, snapshots);
    if (queuedAt !== undefined) record.queuedAt = queuedAt;
    const run: LiveRun = { record, pw, inFlight: 0, lastActivity: now };
    this.runs.set(record.id, run);
    this.sink.save(record);
    // A trigger with nothing wired ends its run at once.
    this.scheduleSettle(run);
    this.ensureSweep();
    return record;
  }

  /** A run waiting in the queue: recorded (and shown) as queued, not yet followed. */
  recordQueued(pw: PwContext, payload: unknown, snapshots: SnapshotMode = "off"): RunRecord {
    const now = this.clock.now();
    const record = this.newRecord(pw, payload, now, snapshots);
    record.status = "queued";
    record.queuedAt = now;
    this.sink.save(record);
    return record;
  }

  /** Ends a record that is not live (a cancelled queued run) and tells whoever waits for it. */
  endUnfollowed(record: RunRecord, status: "stopped" | "failed", reason: string): void {
    record.status = status;
    record.reason = reason;
    record.endedAt = this.clock.now();
    record.durationMs = 0;
    this.sink.save(record);
    this.notifyFinished(record);
  }

  private newRecord(pw: PwContext, payload: unknown, now: number, snapshots: SnapshotMode): RunRecord {
    const record: RunRecord = {
      id: pw.run.id,
      flow: pw.run.flow,
      trigger: pw.run.trigger,
      via: pw.run.via,
      parent: pw.run.parent,
      retryOf: pw.run.retryOf,
      status: "running",
      startedAt: now,
      // "never store payloads": not even the trigger's, so such runs cannot be retried.
      input: snapshots === "never" ? { meta: { ...pw.meta }, truncated: true, bytes: 0 } : keepInput(payload, pw.meta, this.inputCapBytes),
      steps: {},
      errors: [],
      failedRecords: 0,
    };
    if (snapshots !== "off") record.snapshots = snapshots;
    return record;
  }

  get(runId: string): RunRecord | undefined {
    return this.runs.get(runId)?.record;
  }

  isActive(runId: string): boolean {
    return this.runs.has(runId);
  }

  isStopped(msg: unknown): boolean {
    const id = runIdOf(msg);
    return id !== undefined && this.stoppedIds.has(id);
  }

  /** Messages a node sends: counted out of that node, and the run context restored if the node dropped it. */
  onSend(source: HookNode, msg: Record<string, unknown>): void {
    let run = this.runOf(msg);
    if (!run) {
      run = this.soleRunAt(source.id);
      if (!run) {
        if (msg && (msg as { pw?: unknown }).pw === undefined) this.markUntracked(source);
        return;
      }
      // A function returning a new object loses msg.pw; with one run at the node it can only be that one.
      msg.pw = run.pw;
    }
    const step = this.step(run, source);
    step.messagesOut++;
    const payload = msg.payload;
    if (Array.isArray(payload)) step.recordsOut += payload.length;
    this.touch(run);
  }

  /** The router hands a message to a node. */
  preDeliver(destination: HookNode, msg: object): boolean {
    if (this.stoppedIds.size > 0 && this.isStopped(msg)) return false;
    const run = this.runOf(msg);
    if (!run) return true;
    this.enter(run, destination, msg, true);
    return true;
  }

  /** A node is about to process a message (some arrive without the router). */
  onReceive(destination: HookNode, msg: object): boolean {
    if (this.stoppedIds.size > 0 && this.isStopped(msg)) return false;
    const run = this.runOf(msg);
    if (!run) return true;
    const routed = this.find(msg, destination.id, (d) => d.routed);
    if (routed) routed.routed = false;
    else this.enter(run, destination, msg, false);
    if (destination.type === "catch") this.caught(run, msg);
    const step = this.step(run, destination);
    step.messagesIn++;
    const payload = (msg as { payload?: unknown }).payload;
    if (Array.isArray(payload)) step.recordsIn += payload.length;
    if (run.record.snapshots === "all" && step.messagesIn <= SNAPSHOTS_PER_STEP) this.snapshot(run, destination.id, payload, false);
    return true;
  }

  /** The node's input handler returned; without `done`, that is the end of the message. */
  postReceive(destination: HookNode, msg: object): void {
    if (!destination.takesDone) this.leave(msg, destination.id);
  }

  /** The node called `done`, perhaps with an error. */
  onComplete(node: HookNode, msg: object, error?: unknown): void {
    const delivery = this.find(msg, node.id, (d) => !d.routed);
    if (error !== undefined && error !== null && delivery) {
      this.recordError(delivery.run, node, errorText(error));
      const mode = delivery.run.record.snapshots;
      if (mode === "errors" || mode === "all") this.snapshot(delivery.run, node.id, (msg as { payload?: unknown }).payload, true);
    }
    this.leave(msg, node.id);
  }

  /** An error Node-RED logged for a node: it belongs to the runs that node is working on. */
  nodeError(node: { id: string; type?: string; name?: string }, message: string): void {
    const runs = this.atNode.get(node.id);
    if (!runs) return;
    for (const runId of runs.keys()) {
      const run = this.runs.get(runId);
      if (run) this.recordError(run, node, message);
    }
  }

  /**
   * The run's AbortSignal: pagination, backoff waits, pacing delays and child runs listen to
   * it so a stop takes effect at once. Undefined for runs that are not live here.
   */
  signal(runId: string): AbortSignal | undefined {
    const run = this.runs.get(runId);
    if (!run) return undefined;
    return (run.abort ??= new AbortController()).signal;
  }

  /** Calls back once the run has ended (a queued run too, once it has run or been cancelled). */
  whenFinished(runId: string, listener: (record: RunRecord) => void): void {
    const list = this.finishListeners.get(runId);
    if (list) list.push(listener);
    else this.finishListeners.set(runId, [listener]);
  }

  /** Adds an HTTP request to the step of the node that made it. */
  recordRequest(runId: string, node: { id: string; type?: string; name?: string }, request: RequestRecord): void {
    const run = this.runs.get(runId);
    if (!run) return;
    const step = this.step(run, node);
    const list = (step.requests ??= []);
    list.push(request);
    if (list.length > MAX_REQUESTS_PER_STEP) {
      list.shift();
      step.requestsDropped = (step.requestsDropped ?? 0) + 1;
    }
    this.touch(run);
  }

  /** Records sent to a failure output make the run "completed with failures". */
  failedRecords(runId: string, count: number): void {
    const run = this.runs.get(runId);
    if (run) run.record.failedRecords += count;
  }

  /** Stops a run: its messages go no further and it ends as stopped. */
  stop(runId: string, reason = "stopped by a user"): boolean {
    const run = this.runs.get(runId);
    if (!run) return false;
    this.stoppedIds.add(runId);
    // Remembering the last thousand stopped runs is plenty to hold back their late messages.
    if (this.stoppedIds.size > 1000) this.stoppedIds.delete(this.stoppedIds.values().next().value as string);
    this.finish(run, "stopped", reason);
    return true;
  }

  /** Ends every run, e.g. when the runtime stops. */
  close(reason = "Node-RED stopped while the run was in progress"): void {
    for (const run of [...this.runs.values()]) this.finish(run, "failed", reason);
    if (this.sweepTimer !== undefined) this.clock.clearTimer(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  private runOf(msg: unknown): LiveRun | undefined {
    const id = runIdOf(msg);
    return id === undefined ? undefined : this.runs.get(id);
  }

  private soleRunAt(nodeId: string): LiveRun | undefined {
    const runs = this.atNode.get(nodeId);
    if (!runs || runs.size !== 1) return undefined;
    return this.runs.get(runs.keys().next().value as string);
  }

  private find(msg: object, node: string, match: (d: Delivery) => boolean): Delivery | undefined {
    const entry = this.processing.get(msg);
    if (entry === undefined) return undefined;
    if (!Array.isArray(entry)) return entry.node === node && match(entry) ? entry : undefined;
    return entry.find((d) => d.node === node && match(d));
  }

  private enter(run: LiveRun, node: HookNode, msg: object, routed: boolean): void {
    run.inFlight++;
    this.touch(run);
    const delivery: Delivery = { run, node: node.id, at: this.clock.now(), routed };
    // Most messages are at one node at a time: no array for them.
    const entry = this.processing.get(msg);
    if (entry === undefined) this.processing.set(msg, delivery);
    else if (Array.isArray(entry)) entry.push(delivery);
    else this.processing.set(msg, [entry, delivery]);
    let runs = this.atNode.get(node.id);
    if (!runs) this.atNode.set(node.id, (runs = new Map()));
    runs.set(run.record.id, (runs.get(run.record.id) ?? 0) + 1);
  }

  private leave(msg: object, nodeId: string): void {
    const entry = this.processing.get(msg);
    if (entry === undefined) return;
    let delivery: Delivery;
    if (!Array.isArray(entry)) {
      if (entry.node !== nodeId || entry.routed) return;
      delivery = entry;
      this.processing.delete(msg);
    } else {
      const at = entry.findIndex((d) => d.node === nodeId && !d.routed);
      if (at < 0) return;
      delivery = entry.splice(at, 1)[0];
      if (entry.length === 1) this.processing.set(msg, entry[0]);
    }
    const { run, node } = delivery;
    const now = this.clock.now();
    const step = run.record.steps[node];
    if (step) step.timeMs += now - delivery.at;
    const runs = this.atNode.get(node);
    if (runs) {
      const left = (runs.get(run.record.id) ?? 1) - 1;
      if (left > 0) runs.set(run.record.id, left);
      else {
        runs.delete(run.record.id);
        if (runs.size === 0) this.atNode.delete(node);
      }
    }
    run.inFlight = Math.max(0, run.inFlight - 1);
    this.touch(run);
    if (run.inFlight === 0) this.scheduleSettle(run);
  }

  private touch(run: LiveRun): void {
    run.lastActivity = this.clock.now();
    if (run.settleTimer !== undefined && run.inFlight > 0) {
      this.clock.clearTimer(run.settleTimer);
      run.settleTimer = undefined;
    }
  }

  private scheduleSettle(run: LiveRun): void {
    if (run.settleTimer !== undefined) this.clock.clearTimer(run.settleTimer);
    run.settleTimer = this.clock.setTimer(() => {
      run.settleTimer = undefined;
      if (run.inFlight === 0 && this.runs.get(run.record.id) === run) this.finish(run);
    }, this.settleMs);
  }

  private ensureSweep(): void {
    if (this.sweepTimer !== undefined) return;
    const every = Math.max(50, Math.min(5000, Math.floor(this.inactivityMs / 4)));
    const sweep = () => {
      const now = this.clock.now();
      for (const run of [...this.runs.values()]) {
        if (run.inFlight > 0 && now - run.lastActivity >= this.inactivityMs) {
          this.finish(run, "timed out", `no activity for ${Math.round(this.inactivityMs / 1000)} s with ${run.inFlight} message(s) unfinished`);
        }
      }
      this.sweepTimer = this.runs.size > 0 ? this.clock.setTimer(sweep, every) : undefined;
    };
    this.sweepTimer = this.clock.setTimer(sweep, every);
  }

  private finish(run: LiveRun, forced?: "stopped" | "timed out" | "failed", reason?: string): void {
    if (this.runs.get(run.record.id) !== run) return;
    this.runs.delete(run.record.id);
    if (run.settleTimer !== undefined) this.clock.clearTimer(run.settleTimer);
    for (const [node, runs] of this.atNode) {
      runs.delete(run.record.id);
      if (runs.size === 0) this.atNode.delete(node);
    }
    run.abort?.abort(new Error(reason ?? `run ${run.record.id} ended`));
    const record = run.record;
    record.endedAt = this.clock.now();
    record.durationMs = record.endedAt - record.startedAt;
    const unhandled = record.errors.filter((e) => !e.handled);
    if (forced) {
      record.status = forced;
      record.reason = reason;
    } else if (unhandled.length > 0) {
      record.status = "failed";
      record.reason = `${unhandled.length} error(s) not handled by a Catch node`;
    } else if (record.failedRecords > 0) {
      record.status = "completed with failures";
      record.reason = `${record.failedRecords} record(s) went to a failure output`;
    } else {
      record.status = "succeeded";
    }
    this.sink.save(record);
    if (run.snapshots) this.snapshotSink?.save(record.id, run.snapshots);
    this.notifyFinished(record);
  }

  private snapshot(run: LiveRun, nodeId: string, payload: unknown, error: boolean): void {
    const list = ((run.snapshots ??= {})[nodeId] ??= []);
    if (list.length >= SNAPSHOTS_PER_STEP + 1) return;
    list.push(takeSnapshot(payload, this.snapshotCapBytes, this.clock.now(), error));
    const step = run.record.steps[nodeId];
    if (step) step.snapshots = list.length;
  }

  private notifyFinished(record: RunRecord): void {
    const listeners = this.finishListeners.get(record.id);
    if (listeners) {
      this.finishListeners.delete(record.id);
      for (const listener of listeners) listener(record);
    }
    this.onEnd?.(record);
  }

  private step(run: LiveRun, node: { id: string; type?: string; name?: string }): StepStats {
    let step = run.record.steps[node.id];
    if (!step) {
      const now = this.clock.now();
      step = run.record.steps[node.id] = {
        node: node.id, messagesIn: 0, messagesOut: 0, recordsIn: 0, recordsOut: 0, errors: 0, timeMs: 0, firstAt: now, lastAt: now,
      };
      if (node.type) step.type = node.type;
      if (node.name) step.name = node.name;
    }
    step.lastAt = this.clock.now();
    return step;
  }

  private markUntracked(source: HookNode): void {
    // Without a run there is nowhere to count it; remember it on every run at the node.
    const runs = this.atNode.get(source.id);
    if (!runs) return;
    for (const runId of runs.keys()) {
      const run = this.runs.get(runId);
      if (run) this.step(run, source).untracked = (this.step(run, source).untracked ?? 0) + 1;
    }
  }

  private recordError(run: LiveRun, node: { id: string; type?: string; name?: string }, message: string): void {
    const now = this.clock.now();
    // done(err) is seen twice: by onComplete and in the log. Keep it once.
    const same = run.record.errors.find((e) => e.node === node.id && e.message === message && now - e.at < 1000);
    if (same) return;
    const error: RunError = { node: node.id, message, at: now, handled: run.caughtFrom?.has(node.id) === true };
    if (node.type) error.type = node.type;
    if (node.name) error.name = node.name;
    run.record.errors.push(error);
    this.step(run, node).errors++;
    this.touch(run);
  }

  private caught(run: LiveRun, msg: object): void {
    const error = (msg as { error?: { message?: unknown; source?: { id?: string; type?: string; name?: string } } }).error;
    const source = error?.source;
    if (!source?.id) return;
    (run.caughtFrom ??= new Set()).add(source.id);
    let known = false;
    for (const e of run.record.errors) {
      if (e.node === source.id) {
        e.handled = true;
        known = true;
      }
    }
    // Node-RED logs only errors no Catch node took, so a caught one may be news here.
    if (!known) this.recordError(run, { id: source.id, type: source.type, name: source.name }, String(error?.message ?? "error"));
    const mode = run.record.snapshots;
    if (mode === "errors" || mode === "all") this.snapshot(run, source.id, (msg as { payload?: unknown }).payload, true);
  }
}

export function runIdOf(msg: unknown): string | undefined {
  const id = (msg as { pw?: { run?: { id?: unknown } } } | undefined)?.pw?.run?.id;
  return typeof id === "string" ? id : undefined;
}

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "object" && error !== null && "message" in error) return String((error as { message: unknown }).message);
  return String(error);
}

/**
 * The payload is kept as JSON text: serialising is the copy that protects it from nodes
 * that later change the payload in place, and it is parsed again only for a retry.
 */
function keepInput(payload: unknown, meta: PwContext["meta"], cap: number): RunRecord["input"] {
  let text: string | undefined;
  try {
    text = payload === undefined ? undefined : JSON.stringify(payload);
  } catch {
    text = undefined;
  }
  const bytes = text === undefined ? 0 : Buffer.byteLength(text, "utf8");
  if (text === undefined || bytes > cap) {
    return { meta: { ...meta }, truncated: payload !== undefined, bytes };
  }
  return { payloadJson: text, meta: { ...meta }, bytes };
}
