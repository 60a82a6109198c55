import { setMaxListeners } from "node:events";
import { runIdOf, type PwContext, type PwMessage } from "../message";
import type { RequestRecord } from "../records";
import { systemClock, type Clock } from "../schedule";
import { addError, errorText, Handling, markCaught, type ErrorSource } from "./errors";
import {
  NOTIFICATIONS_PER_RUN,
  STEP_TABLE,
  type RunError,
  type RunRecord,
  type RunSink,
  type RunStatus,
} from "./record";
import type { NotificationRecord } from "../notify";
import { addTracked } from "./tracked";
import { addRequest } from "./requests";
import { Scopes, type Scope, type ScopeResult } from "./scopes";
import { SettleQueue } from "./settle";
import {
  ACTIVE,
  BUSY,
  ERRORS,
  FIRST,
  IN,
  LAST,
  OUT,
  PENDING,
  RECORDS_IN,
  RECORDS_OUT,
  SINCE,
  StepTable,
  TIME,
  WIDTH,
  type StepNode,
} from "./steps";
import {
  DEFAULT_SNAPSHOT_CAP_BYTES,
  SNAPSHOTS_PER_STEP,
  keepPayload,
  takeSnapshot,
  type Snapshot,
  type SnapshotMode,
} from "./snapshots";

export type { ScopeResult } from "./scopes";
export { MAX_REQUESTS_PER_STEP } from "./requests";

/**
 * Follows every message of every run through the runtime, from the messaging hooks'
 * point of view, and decides when a run is over. Knows nothing of Node-RED: the plugin
 * feeds it hook events, tests feed it synthetic ones. Its parts, each testable alone:
 * counting and settling (here, with SettleQueue), scopes (Scopes), error attribution
 * (errors.ts), the request log (requests.ts).
 *
 * Counting: a message is "in flight" from the moment it is sent to a node (preDeliver, which
 * the plugin calls from the onSend hook for each wire; or onReceive when it reached the node
 * without the router, as Catch, Status and link-in nodes do) until that node finishes it
 * (onComplete; or, for nodes whose input handler takes no `done`, as the handler is entered:
 * see postReceive). A run is over when nothing of it has been in flight for a settle window;
 * it times out when it has messages in flight but no activity at all for the inactivity
 * timeout (a node that never calls `done`).
 *
 * Errors: an error a node raises for a message (thrown by its handler, `done(err)`,
 * `node.error(text, msg)`) belongs to that message's run only (messageError). An error
 * logged without a message goes to the run whose message the node is handling right then,
 * or else to the runs with messages at that node (nodeError).
 *
 * Late messages: a node may hold a message and send it from its own timer after the run
 * looked finished (the core trigger node's second output, a join with a timeout). A message
 * of a run that ended on its own within the late window reopens it: the run is running
 * again, counts the late steps, and ends again when they settle.
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
  /** How long after its end a late message may still reopen a run. */
  lateWindowMs?: number;
  /** At most this many ended runs are remembered for late messages (the oldest go first). */
  lateRunsKept?: number;
  /** Cap on the JSON size of the trigger payload kept with the run. */
  inputCapBytes?: number;
  clock?: Clock;
  /** Told of every run that ends (the run service frees its slot); once per run. */
  onEnd?: (record: RunRecord) => void;
  /**
   * Told once per run, the first time nothing of it is in flight after it had messages (the
   * run service frees its slot then, not after the settle window). See also idleNow.
   */
  onIdle?: (runId: string) => void;
  /** Where a finished run's payload snapshots go. */
  snapshotSink?: { save(runId: string, steps: Record<string, Snapshot[]>): void };
  /** Largest payload kept whole in one snapshot. */
  snapshotCapBytes?: number;
  /** A run as the store has it (for a retry: the checkpoints the retried run left). */
  previous?: (runId: string) => RunRecord | undefined;
}

/** A checkpoint's JSON may take this many characters, and a run this many keys. */
export const CHECKPOINT_MAX_CHARS = 4096;
export const CHECKPOINT_MAX_KEYS = 64;

export const DEFAULT_SETTLE_MS = 100;
export const DEFAULT_INACTIVITY_MS = 10 * 60 * 1000;
export const DEFAULT_LATE_WINDOW_MS = 10 * 60 * 1000;
export const DEFAULT_INPUT_CAP_BYTES = 1024 * 1024;
/** Ended runs remembered for late messages (each keeps its step table); beyond, the oldest go first. */
export const DEFAULT_LATE_RUNS_KEPT = 10_000;
/** Stopped and timed-out runs remembered, so that their late messages are held back. */
const STOPPED_RUNS_KEPT = 10_000;

interface LiveRun {
  record: RunRecord;
  table: StepTable;
  /** Aborted when the run stops or ends; made on first use, as most runs never need one. */
  abort?: AbortController;
  pw: PwContext;
  inFlight: number;
  lastActivity: number;
  /** When nothing of the run was last left in flight; undefined while it is busy. */
  idleSince?: number;
  /** Nodes whose errors a Catch node already received for this run, waiting for the error itself. */
  caughtFrom?: Set<string>;
  /** Payload snapshots by node, when the run keeps them. */
  snapshots?: Record<string, Snapshot[]>;
  /** onEnd and the finish listeners were told: a reopened run does not tell them again. */
  told?: boolean;
  /** onIdle was told (or idleNow answered true): it is not told again. */
  idled?: boolean;
  /** Checkpoints the retried run left, not yet taken by the shapes (see resumePoint). */
  inherited?: Map<string, unknown>;
}

/** Per node, across runs: how many runs it holds messages of, and the latest to arrive. */
interface NodeState {
  busyRuns: number;
  last?: LiveRun;
}

type Described = HookNode & { state?: NodeState };

export class RunTracker {
  private readonly runs = new Map<string, LiveRun>();
  private readonly finishListeners = new Map<string, Array<(record: RunRecord) => void>>();
  /** Runs stopped or timed out recently: their late messages are held back. */
  private readonly stoppedIds = new Set<string>();
  /** Runs that ended on their own recently, by id, oldest first: a late message reopens one. */
  private readonly ended = new Map<string, LiveRun>();
  private readonly nodes = new Map<string, NodeState>();
  private readonly settling: SettleQueue<LiveRun>;
  private readonly scopes: Scopes;
  /** The run the last message belonged to, by its `msg.pw.run` object (see runOf). */
  private lastInfo?: object;
  private lastRun?: LiveRun;
  private readonly handling = new Handling<LiveRun, Scope[]>();
  private readonly settleMs: number;
  private readonly inactivityMs: number;
  private readonly lateWindowMs: number;
  private readonly lateRunsKept: number;
  private readonly inputCapBytes: number;
  private readonly clock: Clock;
  private readonly now: () => number;
  private sweepTimer: unknown;
  private readonly onEnd?: (record: RunRecord) => void;
  private readonly onIdle?: (runId: string) => void;
  private readonly snapshotSink?: TrackerOptions["snapshotSink"];
  private readonly snapshotCapBytes: number;
  private readonly previous?: (runId: string) => RunRecord | undefined;

  constructor(
    private readonly sink: RunSink,
    opts: TrackerOptions = {},
  ) {
    this.onEnd = opts.onEnd;
    this.onIdle = opts.onIdle;
    this.snapshotSink = opts.snapshotSink;
    this.previous = opts.previous;
    this.snapshotCapBytes = opts.snapshotCapBytes ?? DEFAULT_SNAPSHOT_CAP_BYTES;
    this.settleMs = opts.settleMs ?? DEFAULT_SETTLE_MS;
    this.inactivityMs = opts.inactivityMs ?? DEFAULT_INACTIVITY_MS;
    this.lateWindowMs = opts.lateWindowMs ?? DEFAULT_LATE_WINDOW_MS;
    this.lateRunsKept = opts.lateRunsKept ?? DEFAULT_LATE_RUNS_KEPT;
    this.inputCapBytes = opts.inputCapBytes ?? DEFAULT_INPUT_CAP_BYTES;
    this.clock = opts.clock ?? systemClock;
    // The hooks read the time for every message: straight from Date.now unless a test's clock is in charge.
    const clock = this.clock;
    this.now = clock === systemClock ? Date.now : () => clock.now();
    this.settling = new SettleQueue<LiveRun>(this.settleMs, this.clock, this.now, (run) => this.finish(run));
    this.scopes = new Scopes(this.settleMs, this.clock);
  }

  /** A trigger started a run; its payload and meta are kept for retry. */
  begin(pw: PwContext, payload: unknown, queuedAt?: number, snapshots: SnapshotMode = "off"): RunRecord {
    const now = this.now();
    const table = new StepTable(now);
    const record = this.newRecord(pw, payload, now, snapshots, table);
    if (queuedAt !== undefined) record.queuedAt = queuedAt;
    const run: LiveRun = { record, table, pw, inFlight: 0, lastActivity: now };
    this.inherit(run);
    this.runs.set(record.id, run);
    this.sink.save(record);
    // A trigger with nothing wired ends its run at once.
    this.settling.idle(run, now);
    this.ensureSweep();
    return record;
  }

  /** A run waiting in the queue: recorded (and shown) as queued, not yet followed. */
  recordQueued(pw: PwContext, payload: unknown, snapshots: SnapshotMode = "off"): RunRecord {
    const now = this.now();
    const record = this.newRecord(pw, payload, now, snapshots);
    record.status = "queued";
    record.queuedAt = now;
    this.sink.save(record);
    return record;
  }

  /** Ends a record that is not live (a cancelled queued run) and tells whoever waits for it. */
  endUnfollowed(record: RunRecord, status: RunStatus, reason: string | undefined): void {
    record.status = status;
    record.reason = reason;
    record.endedAt = this.now();
    record.durationMs = 0;
    this.sink.save(record);
    this.notifyFinished(record);
  }

  private newRecord(
    pw: PwContext,
    payload: unknown,
    now: number,
    snapshots: SnapshotMode,
    table?: StepTable,
  ): RunRecord {
    // "never store payloads": not even the trigger's, so such runs cannot be retried.
    const input =
      snapshots === "never"
        ? { meta: { ...pw.meta }, truncated: true, bytes: 0 }
        : keepInput(payload, pw.meta, this.inputCapBytes);
    const record: RunRecord = table
      ? new LiveRecord(pw, now, input, table)
      : {
          id: pw.run.id,
          flow: pw.run.flow,
          trigger: pw.run.trigger,
          via: pw.run.via,
          parent: pw.run.parent,
          retryOf: pw.run.retryOf,
          status: "running",
          startedAt: now,
          input,
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

  /**
   * True, once, when a run just launched has nothing in flight (a trigger with nothing wired
   * after it): onIdle will not be told of it.
   */
  idleNow(runId: string): boolean {
    const run = this.runs.get(runId);
    if (!run || run.inFlight > 0 || run.idled) return false;
    return (run.idled = true);
  }

  isStopped(msg: PwMessage): boolean {
    const id = runIdOf(msg);
    return id !== undefined && this.stoppedIds.has(id);
  }

  /** Messages a node sends: counted out of that node, and the run context restored if the node dropped it. */
  onSend(source: HookNode, msg: PwMessage): void {
    let run = this.runOf(msg);
    if (!run) {
      run = this.soleRunAt(source);
      if (!run) {
        if (msg && msg.pw === undefined) this.markUntracked(source);
        return;
      }
      // A function returning a new object loses msg.pw; with one run at the node it can only be that one.
      msg.pw = run.pw;
    }
    // No clock read here: a send is always followed by a delivery or a done, which read it.
    const v = run.table.v;
    const o = run.table.row(source);
    const messagesOut = ++v[o + OUT];
    const payload = msg.payload;
    if (Array.isArray(payload)) v[o + RECORDS_OUT] += payload.length;
    // What the step sent out, beside what it received: only for runs that keep every payload.
    if (run.record.snapshots === "all" && messagesOut <= SNAPSHOTS_PER_STEP)
      this.snapshot(run, source, payload, false, true);
  }

  /** A message is on its way to a node: the plugin calls this as it is sent, once per wire. */
  preDeliver(destination: HookNode, msg: PwMessage): boolean {
    if (this.stoppedIds.size > 0 && this.isStopped(msg)) return false;
    const run = this.runOf(msg);
    if (!run) return true;
    const o = this.enter(run, destination, msg);
    run.table.v[o + PENDING]++;
    return true;
  }

  /** A node is about to process a message (some arrive without the router). */
  onReceive(destination: HookNode, msg: PwMessage): boolean {
    this.handling.clear();
    if (this.stoppedIds.size > 0 && this.isStopped(msg)) return false;
    const run = this.runOf(msg);
    if (!run) return true;
    const now = this.now();
    const v = run.table.v;
    let o = run.table.row(destination);
    // Routed messages were counted in flight at preDeliver; the rest start here.
    if (v[o + PENDING] > 0) v[o + PENDING]--;
    else o = this.enter(run, destination, msg);
    const t = (now - run.table.startedAt) | 0;
    if (v[o + ACTIVE]++ === 0) v[o + SINCE] = t;
    if (v[o + FIRST] < 0) v[o + FIRST] = t;
    v[o + LAST] = t;
    run.lastActivity = now;
    if (destination.type === "catch") this.caught(run, msg);
    const messagesIn = ++v[o + IN];
    const payload = msg.payload;
    if (Array.isArray(payload)) v[o + RECORDS_IN] += payload.length;
    if (run.record.snapshots === "all" && messagesIn <= SNAPSHOTS_PER_STEP)
      this.snapshot(run, destination, payload, false);
    return true;
  }

  /**
   * For a node whose input handler takes no `done`, the message ends when the handler is
   * entered (the plugin calls this right after onReceive, sparing every message in the
   * runtime a fourth hook): the handler runs synchronously, and anything it sends is counted
   * in flight as it sends, before the settle window could close the run. Errors it logs while
   * it runs are still the run's (see nodeError).
   */
  postReceive(destination: HookNode, msg: PwMessage): void {
    if (destination.takesDone) return;
    const run = this.runOf(msg) ?? this.soleRunAt(destination);
    this.leave(run, destination, msg);
    this.handling.set(destination.id, run, this.scopes.size > 0 ? this.scopes.of(msg) : undefined);
  }

  /**
   * The node called `done`. An error passed to `done` comes next, through messageError, as
   * Node-RED reports it to the node's error handling with the message.
   */
  onComplete(node: HookNode, msg: PwMessage): void {
    this.handling.clear();
    // A node that deleted msg.pw in place still finishes the run's message.
    this.leave(this.runOf(msg) ?? this.soleRunAt(node), node, msg);
  }

  /**
   * An error a node raised for a message (thrown by its handler, `done(err)`,
   * `node.error(text, msg)`): it is that message's run's, and no other's. False when the
   * message belongs to no run followed here (the caller then treats it as logged without one).
   */
  messageError(node: ErrorSource, msg: PwMessage, error: unknown): boolean {
    const run = this.runOf(msg);
    if (!run) return false;
    const message = errorText(error);
    this.recordError(run, node, message);
    if (this.scopes.size > 0) this.scopes.errorOn(this.scopes.of(msg), node.id, describe(node, message));
    const mode = run.record.snapshots;
    if (mode === "errors" || mode === "all") this.snapshot(run, node, msg.payload, true);
    return true;
  }

  /**
   * An error Node-RED logged for a node without a message. It is the run's whose message the
   * node is handling right now (a handler without `done`, synchronously), or else the runs
   * that have messages at that node: the node did not say which, and all of them may be hit.
   */
  nodeError(node: ErrorSource, message: string): void {
    const handling = this.handling.of(node.id);
    const handlingRun =
      handling?.run && this.runs.get(handling.run.record.id) === handling.run ? handling.run : undefined;
    const runs = handlingRun ? [handlingRun] : this.runsAt(node);
    for (const run of runs) this.recordError(run, node, message);
    if (this.scopes.size > 0) this.scopes.errorAt(node.id, describe(node, message), handling?.scopes);
  }

  /**
   * The run's AbortSignal: pagination, backoff waits, pacing delays and child runs listen to
   * it so a stop takes effect at once. Undefined for runs that are not live here.
   */
  signal(runId: string): AbortSignal | undefined {
    const run = this.runs.get(runId);
    if (!run) return undefined;
    if (!run.abort) {
      run.abort = new AbortController();
      // Every request and wait of the run listens (a pull's pages each sent on by a shape of
      // their own): dozens at once are normal, not a leak; each removes its listener when done.
      setMaxListeners(0, run.abort.signal);
    }
    return run.abort.signal;
  }

  /** Calls back once the run has ended (a queued run too, once it has run or been cancelled). */
  whenFinished(runId: string, listener: (record: RunRecord) => void): void {
    const list = this.finishListeners.get(runId);
    if (list) list.push(listener);
    else this.finishListeners.set(runId, [listener]);
  }

  /** Adds an HTTP request to the step of the node that made it. */
  recordRequest(runId: string, node: StepNode, request: RequestRecord): void {
    const run = this.runs.get(runId);
    if (!run) return;
    addRequest(run.table.extra(this.touchRow(run, node, this.now())), request);
  }

  /**
   * Work a shape does inside itself, shown as a step of its own (a service's pull, map and
   * send): counts added to the step's row, made when first named.
   */
  recordStep(runId: string, node: StepNode, work: StepWork): void {
    const run = this.runs.get(runId);
    if (!run) return;
    const v = run.table.v;
    const o = this.touchRow(run, node, this.now());
    v[o + IN] += work.messagesIn ?? 0;
    v[o + OUT] += work.messagesOut ?? 0;
    v[o + RECORDS_IN] += work.recordsIn ?? 0;
    v[o + RECORDS_OUT] += work.recordsOut ?? 0;
    v[o + ERRORS] += work.errors ?? 0;
    v[o + TIME] += (work.timeMs ?? 0) | 0;
  }

  /** Records sent to a failure output make the run "completed with failures". */
  failedRecords(runId: string, count: number): void {
    const run = this.runs.get(runId);
    if (run) run.record.failedRecords += count;
  }

  /**
   * Records values a track-data shape read (name, value) into the run, within the caps
   * (runs/tracked.ts). Undefined when the run is not live here.
   */
  trackValues(
    runId: string,
    entries: Iterable<readonly [string, string]>,
  ): { added: number; dropped: number } | undefined {
    const run = this.runs.get(runId);
    if (!run) return undefined;
    return addTracked(run.record, entries);
  }

  /**
   * Adds a notification to the run's log: a live run's, or one that ended on its own a short
   * while ago (a trigger's "notify when this run fails" sends after the end), which is then
   * written again. False when the run is neither.
   */
  recordNotification(runId: string, notification: NotificationRecord): boolean {
    const live = this.runs.get(runId);
    const run = live ?? this.ended.get(runId);
    if (!run) return false;
    const list = (run.record.notifications ??= []);
    list.push(notification);
    if (list.length > NOTIFICATIONS_PER_RUN) list.splice(0, list.length - NOTIFICATIONS_PER_RUN);
    if (!live) this.sink.save(run.record);
    return true;
  }

  checkpoint(runId: string, key: string, value: unknown): boolean {
    const run = this.runs.get(runId);
    if (!run) return false;
    const record = run.record;
    if (value === undefined) {
      if (record.checkpoints && key in record.checkpoints) {
        delete record.checkpoints[key];
        this.sink.save(record);
      }
      return true;
    }
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch {
      return false;
    }
    if (json === undefined || json.length > CHECKPOINT_MAX_CHARS) return false;
    const checkpoints = (record.checkpoints ??= {});
    if (!(key in checkpoints) && Object.keys(checkpoints).length >= CHECKPOINT_MAX_KEYS) return false;
    // A copy: the caller may change its object later, and the line is written later still.
    checkpoints[key] = JSON.parse(json) as unknown;
    // Written soon (a running run's line too), so a crash keeps the latest checkpoint.
    this.sink.save(record);
    return true;
  }

  resumePoint(runId: string, key: string): unknown {
    const inherited = this.runs.get(runId)?.inherited;
    if (!inherited || !inherited.has(key)) return undefined;
    const value = inherited.get(key);
    inherited.delete(key);
    return value;
  }

  /**
   * A run taken over from a worker that stopped (scale-out mode) goes on from the checkpoints
   * that worker left, as a retry goes on from the run it retries; the note goes in its log.
   */
  takeOver(runId: string, checkpoints: Record<string, unknown> | undefined, note: string): void {
    const run = this.runs.get(runId);
    if (!run) return;
    (run.record.handovers ??= []).push(note);
    const entries = Object.entries(checkpoints ?? {}).slice(0, CHECKPOINT_MAX_KEYS);
    if (entries.length > 0) {
      run.inherited = new Map(entries);
      run.record.checkpoints = Object.fromEntries(entries);
    }
    this.sink.save(run.record);
  }

  /**
   * A retry takes over the checkpoints of the run it retries, unless that run succeeded
   * (retrying a success starts over). They are its own from the start, so a retry that fails
   * before a shape gets going still leaves that shape's point for the next retry.
   */
  private inherit(run: LiveRun): void {
    const of = run.pw.run.retryOf;
    if (!of || !this.previous) return;
    let before: RunRecord | undefined;
    try {
      before = this.previous(of);
    } catch {
      return;
    }
    const checkpoints = before?.checkpoints;
    if (!before || before.status === "succeeded" || !checkpoints || typeof checkpoints !== "object") return;
    const entries = Object.entries(checkpoints).slice(0, CHECKPOINT_MAX_KEYS);
    if (entries.length === 0) return;
    run.inherited = new Map(entries);
    run.record.checkpoints = Object.fromEntries(entries);
  }

  /** Stops a run: its messages go no further and it ends as stopped. */
  stop(runId: string, reason = "stopped by a user"): boolean {
    const run = this.runs.get(runId);
    if (!run) return false;
    this.finish(run, "stopped", reason);
    return true;
  }

  /** Ends every run, e.g. when the runtime stops. */
  close(reason = "Node-RED stopped while the run was in progress"): void {
    for (const run of [...this.runs.values()]) this.finish(run, "failed", reason);
    if (this.sweepTimer !== undefined) this.clock.clearTimer(this.sweepTimer);
    this.sweepTimer = undefined;
    this.settling.clear();
    this.ended.clear();
  }

  /**
   * Counts everything that messages carrying `token` in `msg.pw.scope` start, and calls back
   * once none of them is in flight for the settle window (branch: the next output may go).
   * Errors reported by nodes on such messages, minus those a Catch node received, make the
   * scope failed. False when the run is not live here (tracking off, run over).
   */
  openScope(runId: string, token: string, onClose: (result: ScopeResult) => void): boolean {
    const run = this.runs.get(runId);
    return run !== undefined && this.scopes.start(run, token, onClose);
  }

  /**
   * By id, never by a reference kept on msg.pw: Node-RED clones messages with lodash,
   * which copies even hidden properties, and would copy the whole live run with them.
   */
  private runOf(msg: PwMessage | undefined): LiveRun | undefined {
    const info = msg?.pw?.run;
    if (info === undefined || info === null) return undefined;
    // A message passes several hooks in a row, and a chain of nodes passes on the same object.
    if (info === this.lastInfo) return this.lastRun;
    const id = info.id;
    if (typeof id !== "string") return undefined;
    const run = this.runs.get(id) ?? (this.ended.size > 0 ? this.reopen(id) : undefined);
    if (run) {
      this.lastInfo = info;
      this.lastRun = run;
    }
    return run;
  }

  /** A late message of a run that ended on its own within the late window: the run goes on. */
  private reopen(id: string): LiveRun | undefined {
    const run = this.ended.get(id);
    if (!run) return undefined;
    this.ended.delete(id);
    const now = this.now();
    const record = run.record;
    if (record.endedAt === undefined || now - record.endedAt > this.lateWindowMs) return undefined;
    record.status = "running";
    record.late = (record.late ?? 0) + 1;
    record.endedAt = record.durationMs = record.reason = undefined;
    run.lastActivity = now;
    run.idleSince = undefined;
    this.runs.set(id, run);
    this.sink.save(record);
    this.ensureSweep();
    return run;
  }

  private stateOf(node: Described): NodeState {
    let state = node.state;
    if (state) return state;
    state = this.nodes.get(node.id);
    if (!state) this.nodes.set(node.id, (state = { busyRuns: 0 }));
    // The plugin describes each runtime node once, so the next lookup is a property read.
    node.state = state;
    return state;
  }

  /** The live runs that have messages in flight at this node. */
  private runsAt(node: { id: string }): LiveRun[] {
    const state = this.nodes.get(node.id);
    if (!state || state.busyRuns === 0) return [];
    if (state.busyRuns === 1 && state.last && this.busyAt(state.last, node.id)) return [state.last];
    const out: LiveRun[] = [];
    for (const run of this.runs.values()) if (this.busyAt(run, node.id)) out.push(run);
    return out;
  }

  private busyAt(run: LiveRun, nodeId: string): boolean {
    if (this.runs.get(run.record.id) !== run) return false;
    const o = run.table.find(nodeId);
    return o >= 0 && run.table.v[o + BUSY] > 0;
  }

  private soleRunAt(node: { id: string }): LiveRun | undefined {
    const state = this.nodes.get(node.id);
    if (!state || state.busyRuns !== 1) return undefined;
    return this.runsAt(node)[0];
  }

  /** A message of the run is on its way to or at the node. */
  private enter(run: LiveRun, node: HookNode, msg: PwMessage): number {
    if (this.scopes.size > 0) this.scopes.count(msg, node.id, 1);
    const table = run.table;
    const o = table.row(node);
    const v = table.v;
    if (v[o + BUSY]++ === 0) {
      const state = this.stateOf(node);
      state.busyRuns++;
      state.last = run;
    }
    run.inFlight++;
    run.idleSince = undefined;
    return o;
  }

  private leave(run: LiveRun | undefined, node: HookNode, msg: PwMessage): void {
    if (!run) return;
    const o = run.table.findNode(node);
    if (o < 0) return;
    const v = run.table.v;
    if (v[o + BUSY] === 0) return;
    if (this.scopes.size > 0) this.scopes.count(msg, node.id, -1);
    const now = this.now();
    if (--v[o + BUSY] === 0) this.stateOf(node).busyRuns--;
    const t = (now - run.table.startedAt) | 0;
    if (v[o + ACTIVE] > 0 && --v[o + ACTIVE] === 0) v[o + TIME] += t - v[o + SINCE];
    v[o + LAST] = t;
    run.lastActivity = now;
    if (--run.inFlight === 0) {
      if (run.idled !== true && this.onIdle !== undefined) {
        run.idled = true;
        this.onIdle(run.record.id);
      }
      this.settling.idle(run, now);
    }
  }

  /** Notes activity on a node's row outside message flow (errors, requests). */
  private touchRow(run: LiveRun, node: StepNode, now: number): number {
    const o = run.table.row(node);
    const v = run.table.v;
    const t = (now - run.table.startedAt) | 0;
    if (v[o + FIRST] < 0) v[o + FIRST] = t;
    v[o + LAST] = t;
    run.lastActivity = now;
    return o;
  }

  private ensureSweep(): void {
    if (this.sweepTimer !== undefined) return;
    const every = Math.max(50, Math.min(5000, Math.floor(this.inactivityMs / 4)));
    const sweep = () => {
      const now = this.now();
      for (const run of [...this.runs.values()]) {
        if (run.inFlight > 0 && now - run.lastActivity >= this.inactivityMs) {
          this.finish(
            run,
            "timed out",
            `no activity for ${Math.round(this.inactivityMs / 1000)} s with ${run.inFlight} message(s) unfinished`,
          );
        }
      }
      this.sweepTimer = this.runs.size > 0 ? this.clock.setTimer(sweep, every) : undefined;
    };
    this.sweepTimer = this.clock.setTimer(sweep, every);
  }

  private finish(run: LiveRun, forced?: "stopped" | "timed out" | "failed", reason?: string): void {
    const id = run.record.id;
    if (this.runs.get(id) !== run) return;
    this.runs.delete(id);
    if (this.lastRun === run) this.lastInfo = this.lastRun = undefined;
    run.idleSince = undefined;
    const { nodes, v } = run.table;
    for (let i = 0; i < nodes.length; i++) {
      const state = this.nodes.get(nodes[i].id);
      if (!state) continue;
      if (v[i * WIDTH + BUSY] > 0) {
        state.busyRuns--;
        // Its messages there are gone with it: a reopened run starts from nothing in flight.
        v[i * WIDTH + BUSY] = v[i * WIDTH + ACTIVE] = v[i * WIDTH + PENDING] = 0;
      }
      if (state.last === run) state.last = undefined;
    }
    run.inFlight = 0;
    if (this.scopes.size > 0)
      this.scopes.endRun(run, `the run ended (${forced ?? "finished"}${reason ? `: ${reason}` : ""})`);
    const record = run.record;
    record.endedAt = this.now();
    record.durationMs = record.endedAt - record.startedAt;
    if (forced) {
      record.status = forced;
      record.reason = reason;
    } else {
      const unhandled = record.errors.reduce((n, e) => (e.handled ? n : n + 1), 0);
      if (unhandled > 0) {
        record.status = "failed";
        record.reason = `${unhandled} error(s) not handled by a Catch node`;
      } else if (record.failedRecords > 0) {
        record.status = "completed with failures";
        record.reason = `${record.failedRecords} record(s) went to a failure output`;
      } else {
        record.status = "succeeded";
      }
    }
    if (forced === "stopped" || forced === "timed out") {
      // Its messages still on their way are dropped, as a user who stopped it expects.
      this.stoppedIds.add(id);
      if (this.stoppedIds.size > STOPPED_RUNS_KEPT) this.stoppedIds.delete(first(this.stoppedIds));
      run.abort?.abort(new Error(reason ?? `run ${id} ended`));
    } else if (!forced) {
      // A node may still hold one of its messages to send later: remember it for a while.
      this.rememberEnded(id, run, record.endedAt);
      run.abort?.abort(new Error(`run ${id} ended`));
      run.abort = undefined;
    } else {
      run.abort?.abort(new Error(reason ?? `run ${id} ended`));
    }
    this.sink.save(record);
    if (run.snapshots) this.snapshotSink?.save(id, run.snapshots);
    if (run.told) return;
    run.told = true;
    this.notifyFinished(record);
  }

  /** A payload a step received (or, with `sent`, sent out), kept for the run's payloads view. */
  /**
   * Keeps an ended run for late messages, and lets go of those past the late window or beyond
   * the count: they ended in this order, so the oldest are first.
   */
  private rememberEnded(id: string, run: LiveRun, now: number): void {
    this.ended.set(id, run);
    for (const [oldId, old] of this.ended) {
      const fresh = now - (old.record.endedAt ?? now) <= this.lateWindowMs;
      if (fresh && this.ended.size <= this.lateRunsKept) break;
      this.ended.delete(oldId);
    }
  }

  private snapshot(run: LiveRun, node: StepNode, payload: unknown, error: boolean, sent?: boolean): void {
    const list = ((run.snapshots ??= {})[node.id] ??= []);
    // The first few received and the first few sent, and one at an error.
    if (list.length >= 2 * SNAPSHOTS_PER_STEP + 1) return;
    const now = this.now();
    const snap = takeSnapshot(payload, this.snapshotCapBytes, now, error);
    if (sent) snap.sent = true;
    list.push(snap);
    run.table.extra(run.table.row(node)).snapshots = list.length;
  }

  private notifyFinished(record: RunRecord): void {
    const listeners = this.finishListeners.get(record.id);
    if (listeners) {
      this.finishListeners.delete(record.id);
      for (const listener of listeners) listener(record);
    }
    this.onEnd?.(record);
  }

  private markUntracked(source: HookNode): void {
    // Without a run there is nowhere to count it; remember it on every run at the node.
    const now = this.now();
    for (const run of this.runsAt(source)) {
      const extra = run.table.extra(this.touchRow(run, source, now));
      extra.untracked = (extra.untracked ?? 0) + 1;
    }
  }

  private recordError(run: LiveRun, node: ErrorSource, message: string): RunError | undefined {
    const now = this.now();
    const error = addError(run.record, run.caughtFrom, node, message, now);
    if (error) run.table.v[this.touchRow(run, node, now) + ERRORS]++;
    return error;
  }

  /** A Catch node received a message with an error: that error, on this run, is handled. */
  private caught(run: LiveRun, msg: PwMessage): void {
    const error = msg.error as
      { message?: unknown; source?: { id?: string; type?: string; name?: string } } | undefined;
    const source = error?.source;
    if (!source?.id) return;
    if (this.scopes.size > 0) this.scopes.caught(msg, source.id);
    (run.caughtFrom ??= new Set()).add(source.id);
    if (markCaught(run.record, source.id)) return;
    // The Catch node may hear of it before the error reaches us (or only it does).
    const from = { id: source.id, type: source.type, name: source.name };
    this.recordError(run, from, String(error?.message ?? "error"));
    const mode = run.record.snapshots;
    if (mode === "errors" || mode === "all") this.snapshot(run, from, msg.payload, true);
  }
}

function describe(node: ErrorSource, message: string): string {
  return `${node.name || node.type || node.id}: ${message}`;
}

function first<T>(items: Iterable<T>): T {
  for (const item of items) return item;
  throw new Error("empty");
}

/** What recordStep adds to a step. */
export interface StepWork {
  messagesIn?: number;
  messagesOut?: number;
  recordsIn?: number;
  recordsOut?: number;
  errors?: number;
  timeMs?: number;
}

/** A live run's record: steps are read from the run's table when someone looks. */
class LiveRecord implements RunRecord {
  id: string;
  flow: string;
  trigger: string;
  via?: RunRecord["via"];
  parent?: string;
  retryOf?: string;
  status: RunRecord["status"] = "running";
  queuedAt?: number;
  startedAt: number;
  endedAt?: number;
  durationMs?: number;
  input: RunRecord["input"];
  errors: RunError[] = [];
  failedRecords = 0;
  reason?: string;
  snapshots?: RunRecord["snapshots"];
  checkpoints?: RunRecord["checkpoints"];
  tracked?: RunRecord["tracked"];
  trackedDropped?: number;
  notifications?: RunRecord["notifications"];
  worker?: string;
  handovers?: string[];
  readonly [STEP_TABLE]: StepTable;

  constructor(pw: PwContext, now: number, input: RunRecord["input"], table: StepTable) {
    this.id = pw.run.id;
    this.flow = pw.run.flow;
    this.trigger = pw.run.trigger;
    this.via = pw.run.via;
    this.parent = pw.run.parent;
    this.retryOf = pw.run.retryOf;
    this.startedAt = now;
    this.input = input;
    this[STEP_TABLE] = table;
  }

  get steps(): RunRecord["steps"] {
    return this[STEP_TABLE].toSteps();
  }

  toJSON(): Omit<RunRecord, never> {
    return { ...this, steps: this.steps };
  }
}

function keepInput(payload: unknown, meta: PwContext["meta"], cap: number): RunRecord["input"] {
  const kept = keepPayload(payload, cap);
  const input: RunRecord["input"] = { meta: { ...meta }, bytes: kept.bytes };
  if (kept.json !== undefined) input.payloadJson = kept.json;
  if (kept.truncated) input.truncated = true;
  return input;
}
