import { runIdOf, type PwContext, type PwMessage } from "../message";
import { systemClock, type Clock } from "../schedule";
import { STEP_TABLE, type RequestRecord, type RunError, type RunRecord, type RunSink } from "./record";
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

/**
 * Follows every message of every run through the runtime, from the messaging hooks'
 * point of view, and decides when a run is over. Knows nothing of Node-RED: the plugin
 * feeds it hook events, tests feed it synthetic ones.
 *
 * Counting: a message is "in flight" from the moment it is sent to a node (preDeliver, which
 * the plugin calls from the onSend hook for each wire; or onReceive when it reached the node
 * without the router, as Catch, Status and link-in nodes do) until that node finishes it
 * (onComplete; or, for nodes whose input handler takes no `done`, as the handler is entered:
 * see postReceive). A run is over when nothing of it has been in flight
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
  table: StepTable;
  /** Aborted when the run stops or ends; made on first use, as most runs never need one. */
  abort?: AbortController;
  pw: PwContext;
  inFlight: number;
  lastActivity: number;
  /** When nothing of the run was last left in flight; undefined while something is. */
  idleSince?: number;
  /** Nodes whose errors a Catch node already received for this run, waiting for the error itself. */
  caughtFrom?: Set<string>;
  /** Payload snapshots by node, when the run keeps them. */
  snapshots?: Record<string, Snapshot[]>;
}

/** What a scope's messages came to (see openScope). */
export interface ScopeResult {
  failed: boolean;
  /** Errors no Catch node handled, as "node: message". */
  errors: string[];
  /** Set when the run ended (stopped, timed out) before the scope finished. */
  ended?: string;
}

interface Scope {
  token: string;
  run: LiveRun;
  inFlight: number;
  timer?: unknown;
  errors: Array<{ node: string; text: string }>;
  /** Nodes whose errors on the scope's messages a Catch node received. */
  handled: Set<string>;
  /** Nodes holding the scope's messages: errors they log without a message are the scope's. */
  atNodes: Map<string, number>;
  onClose: (result: ScopeResult) => void;
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
  /** Runs stopped recently: their late messages are still held back. */
  private readonly stoppedIds = new Set<string>();
  private readonly nodes = new Map<string, NodeState>();
  /**
   * Runs that went idle, in the order they did. The settle window is the same for every
   * run, so the head is always the next to expire: one timer serves them all, and a run that
   * gets busy again just leaves a stale entry behind (no timer to clear per message).
   */
  private settleRuns: LiveRun[] = [];
  private settleTimes: number[] = [];
  private settleHead = 0;
  private settleTimer: unknown;
  /** Open scopes (see openScope), by token. */
  private readonly scopes = new Map<string, Scope>();
  /** The run the last message belonged to, by its `msg.pw.run` object (see runOf). */
  private lastInfo?: object;
  private lastRun?: LiveRun;
  /** The node without `done` whose handler is running, and its message's run (see postReceive). */
  private handlingNode?: string;
  private handlingRun?: LiveRun;
  private handlingScopes?: Scope[];
  /** The error onComplete just recorded: Node-RED logs it right after, for the same node. */
  private reported?: { node: string; message: string };
  private readonly settleMs: number;
  private readonly inactivityMs: number;
  private readonly inputCapBytes: number;
  private readonly clock: Clock;
  private readonly now: () => number;
  private sweepTimer: unknown;
  private readonly onEnd?: (record: RunRecord) => void;
  private readonly snapshotSink?: TrackerOptions["snapshotSink"];
  private readonly snapshotCapBytes: number;

  constructor(
    private readonly sink: RunSink,
    opts: TrackerOptions = {},
  ) {
    this.onEnd = opts.onEnd;
    this.snapshotSink = opts.snapshotSink;
    this.snapshotCapBytes = opts.snapshotCapBytes ?? DEFAULT_SNAPSHOT_CAP_BYTES;
    this.settleMs = opts.settleMs ?? DEFAULT_SETTLE_MS;
    this.inactivityMs = opts.inactivityMs ?? DEFAULT_INACTIVITY_MS;
    this.inputCapBytes = opts.inputCapBytes ?? DEFAULT_INPUT_CAP_BYTES;
    this.clock = opts.clock ?? systemClock;
    // The hooks read the time for every message: straight from Date.now unless a test's clock is in charge.
    const clock = this.clock;
    this.now = clock === systemClock ? Date.now : () => clock.now();
  }

  /** A trigger started a run; its payload and meta are kept for retry. */
  begin(pw: PwContext, payload: unknown, queuedAt?: number, snapshots: SnapshotMode = "off"): RunRecord {
    const now = this.now();
    const table = new StepTable(now);
    const record = this.newRecord(pw, payload, now, snapshots, table);
    if (queuedAt !== undefined) record.queuedAt = queuedAt;
    const run: LiveRun = { record, table, pw, inFlight: 0, lastActivity: now };
    this.runs.set(record.id, run);
    this.sink.save(record);
    // A trigger with nothing wired ends its run at once.
    this.settle(run, now);
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
  endUnfollowed(record: RunRecord, status: "stopped" | "failed", reason: string): void {
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
    v[o + OUT]++;
    const payload = msg.payload;
    if (Array.isArray(payload)) v[o + RECORDS_OUT] += payload.length;
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
    this.handlingNode = this.handlingRun = this.handlingScopes = undefined;
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
    if (destination.type === "catch") {
      this.caught(run, msg);
      const source = (msg.error as { source?: { id?: unknown } } | undefined)?.source?.id;
      if (this.scopes.size > 0 && typeof source === "string")
        for (const scope of this.scopesOf(msg)) scope.handled.add(source);
    }
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
    this.handlingNode = destination.id;
    this.handlingRun = run;
    this.handlingScopes = this.scopes.size > 0 ? this.scopesOf(msg) : undefined;
  }

  /** The node called `done`, perhaps with an error. */
  onComplete(node: HookNode, msg: PwMessage, error?: unknown): void {
    this.handlingNode = this.handlingRun = this.handlingScopes = undefined;
    // A node that deleted msg.pw in place still finishes the run's message.
    const run = this.runOf(msg) ?? this.soleRunAt(node);
    if (!run) return;
    if (error !== undefined && error !== null) {
      const message = errorText(error);
      this.recordError(run, node, message);
      if (this.scopes.size > 0)
        for (const scope of this.scopesOf(msg))
          scope.errors.push({ node: node.id, text: `${node.name || node.type || node.id}: ${message}` });
      this.reported = { node: node.id, message };
      const mode = run.record.snapshots;
      if (mode === "errors" || mode === "all") this.snapshot(run, node, msg.payload, true);
    }
    this.leave(run, node, msg);
  }

  /** An error Node-RED logged for a node: it belongs to the runs that node is working on. */
  nodeError(node: { id: string; type?: string; name?: string }, message: string): void {
    const reported = this.reported;
    this.reported = undefined;
    // done(err) reaches onComplete and then the log: recorded already, for its own run only.
    if (reported && reported.node === node.id && reported.message === message) return;
    const runs = this.runsAt(node);
    const handling = this.handlingNode === node.id ? this.handlingRun : undefined;
    if (handling && this.runs.get(handling.record.id) === handling && !runs.includes(handling))
      runs.push(handling);
    for (const run of runs) this.recordError(run, node, message);
    const text = `${node.name || node.type || node.id}: ${message}`;
    for (const scope of this.scopes.values())
      if (scope.atNodes.has(node.id)) scope.errors.push({ node: node.id, text });
    if (handling)
      for (const scope of this.handlingScopes ?? [])
        if (!scope.atNodes.has(node.id)) scope.errors.push({ node: node.id, text });
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
  recordRequest(
    runId: string,
    node: { id: string; type?: string; name?: string },
    request: RequestRecord,
  ): void {
    const run = this.runs.get(runId);
    if (!run) return;
    const now = this.now();
    const extra = run.table.extra(this.touchRow(run, node, now));
    const list = (extra.requests ??= []);
    list.push(request);
    if (list.length > MAX_REQUESTS_PER_STEP) {
      list.shift();
      extra.requestsDropped = (extra.requestsDropped ?? 0) + 1;
    }
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
    if (this.settleTimer !== undefined) this.clock.clearTimer(this.settleTimer);
    this.settleTimer = undefined;
    this.settleRuns = [];
    this.settleTimes = [];
    this.settleHead = 0;
  }

  /**
   * By id, never by a reference kept on msg.pw: Node-RED clones messages with lodash,
   * which copies even hidden properties, and would copy the whole live run with them.
   */
  /**
   * Counts everything that messages carrying `token` in `msg.pw.scope` start, and calls back
   * once none of them is in flight for the settle window (branch: the next output may go).
   * Errors reported by nodes on such messages, minus those a Catch node received, make the
   * scope failed. False when the run is not live here (tracking off, run over).
   */
  openScope(runId: string, token: string, onClose: (result: ScopeResult) => void): boolean {
    const run = this.runs.get(runId);
    if (!run || this.scopes.has(token)) return false;
    const scope: Scope = {
      token,
      run,
      inFlight: 0,
      errors: [],
      handled: new Set(),
      atNodes: new Map(),
      onClose,
    };
    this.scopes.set(token, scope);
    // Nothing wired to the output: the scope closes after the settle window.
    this.settleScope(token, scope);
    return true;
  }

  private scopesOf(msg: PwMessage): Scope[] {
    const tokens: unknown = msg.pw?.scope;
    if (!Array.isArray(tokens)) return [];
    const out: Scope[] = [];
    for (const token of tokens) {
      const scope = this.scopes.get(token as string);
      if (scope) out.push(scope);
    }
    return out;
  }

  private scopeCount(msg: PwMessage, nodeId: string, delta: 1 | -1): void {
    for (const scope of this.scopesOf(msg)) {
      scope.inFlight = Math.max(0, scope.inFlight + delta);
      const at = (scope.atNodes.get(nodeId) ?? 0) + delta;
      if (at > 0) scope.atNodes.set(nodeId, at);
      else scope.atNodes.delete(nodeId);
      if (delta > 0 && scope.timer !== undefined) {
        this.clock.clearTimer(scope.timer);
        scope.timer = undefined;
      }
      if (scope.inFlight === 0) this.settleScope(scope.token, scope);
    }
  }

  private settleScope(token: string, scope: Scope): void {
    if (scope.timer !== undefined) this.clock.clearTimer(scope.timer);
    scope.timer = this.clock.setTimer(() => {
      scope.timer = undefined;
      if (scope.inFlight === 0) this.closeScope(token, scope);
    }, this.settleMs);
  }

  private closeScope(token: string, scope: Scope, ended?: string): void {
    if (this.scopes.get(token) !== scope) return;
    this.scopes.delete(token);
    if (scope.timer !== undefined) this.clock.clearTimer(scope.timer);
    const unhandled = scope.errors.filter((e) => !scope.handled.has(e.node)).map((e) => e.text);
    scope.onClose({ failed: unhandled.length > 0 || ended !== undefined, errors: unhandled, ended });
  }

  private runOf(msg: PwMessage | undefined): LiveRun | undefined {
    const info = msg?.pw?.run;
    if (info === undefined || info === null) return undefined;
    // A message passes five hooks in a row, and a chain of nodes passes on the same object.
    if (info === this.lastInfo) return this.lastRun;
    const id = info.id;
    const run = typeof id === "string" ? this.runs.get(id) : undefined;
    if (run) {
      this.lastInfo = info;
      this.lastRun = run;
    }
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
    if (this.scopes.size > 0) this.scopeCount(msg, node.id, 1);
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
    if (this.scopes.size > 0) this.scopeCount(msg, node.id, -1);
    const now = this.now();
    if (--v[o + BUSY] === 0) this.stateOf(node).busyRuns--;
    const t = (now - run.table.startedAt) | 0;
    if (v[o + ACTIVE] > 0 && --v[o + ACTIVE] === 0) v[o + TIME] += t - v[o + SINCE];
    v[o + LAST] = t;
    run.lastActivity = now;
    if (--run.inFlight === 0) this.settle(run, now);
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

  private settle(run: LiveRun, now: number): void {
    run.idleSince = now;
    this.settleRuns.push(run);
    this.settleTimes.push(now);
    if (this.settleTimer === undefined) this.armSettle(now);
  }

  private armSettle(now: number): void {
    if (this.settleHead >= this.settleRuns.length) return;
    const due = this.settleTimes[this.settleHead] + this.settleMs;
    this.settleTimer = this.clock.setTimer(() => this.settleDue(), Math.max(0, due - now));
  }

  private settleDue(): void {
    this.settleTimer = undefined;
    const now = this.now();
    const runs = this.settleRuns;
    const times = this.settleTimes;
    while (this.settleHead < runs.length && times[this.settleHead] + this.settleMs <= now) {
      const run = runs[this.settleHead];
      const since = times[this.settleHead];
      runs[this.settleHead] = undefined as unknown as LiveRun;
      this.settleHead++;
      if (run.idleSince === since && run.inFlight === 0) this.finish(run);
    }
    if (this.settleHead === runs.length) {
      this.settleRuns = [];
      this.settleTimes = [];
      this.settleHead = 0;
    } else if (this.settleHead > 1024 && this.settleHead * 2 > runs.length) {
      this.settleRuns = runs.slice(this.settleHead);
      this.settleTimes = times.slice(this.settleHead);
      this.settleHead = 0;
    }
    if (this.settleTimer === undefined) this.armSettle(now);
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
    if (this.runs.get(run.record.id) !== run) return;
    this.runs.delete(run.record.id);
    if (this.lastRun === run) this.lastInfo = this.lastRun = undefined;
    run.idleSince = undefined;
    const { nodes, v } = run.table;
    for (let i = 0; i < nodes.length; i++) {
      if (v[i * WIDTH + BUSY] > 0) {
        const state = this.nodes.get(nodes[i].id);
        if (state) state.busyRuns--;
      }
    }
    run.abort?.abort(new Error(reason ?? `run ${run.record.id} ended`));
    if (this.scopes.size > 0) {
      for (const [token, scope] of this.scopes)
        if (scope.run === run)
          this.closeScope(
            token,
            scope,
            `the run ended (${forced ?? "finished"}${reason ? `: ${reason}` : ""})`,
          );
    }
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
    this.sink.save(record);
    if (run.snapshots) this.snapshotSink?.save(record.id, run.snapshots);
    this.notifyFinished(record);
  }

  private snapshot(run: LiveRun, node: StepNode, payload: unknown, error: boolean): void {
    const list = ((run.snapshots ??= {})[node.id] ??= []);
    if (list.length >= SNAPSHOTS_PER_STEP + 1) return;
    const now = this.now();
    list.push(takeSnapshot(payload, this.snapshotCapBytes, now, error));
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

  private recordError(
    run: LiveRun,
    node: { id: string; type?: string; name?: string },
    message: string,
  ): void {
    const now = this.now();
    // A Catch node may tell of an error the log tells of too. Keep it once.
    const same = run.record.errors.find(
      (e) => e.node === node.id && e.message === message && now - e.at < 1000,
    );
    if (same) return;
    const error: RunError = {
      node: node.id,
      message,
      at: now,
      handled: run.caughtFrom?.has(node.id) === true,
    };
    if (node.type) error.type = node.type;
    if (node.name) error.name = node.name;
    run.record.errors.push(error);
    run.table.v[this.touchRow(run, node, now) + ERRORS]++;
  }

  private caught(run: LiveRun, msg: PwMessage): void {
    const error = msg.error as
      { message?: unknown; source?: { id?: string; type?: string; name?: string } } | undefined;
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
    const from = { id: source.id, type: source.type, name: source.name };
    // Node-RED logs only errors no Catch node took, so a caught one may be news here.
    if (!known) this.recordError(run, from, String(error?.message ?? "error"));
    const mode = run.record.snapshots;
    if (mode === "errors" || mode === "all") this.snapshot(run, from, msg.payload, true);
  }
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

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "object" && error !== null && "message" in error)
    return String((error as { message: unknown }).message);
  return String(error);
}

function keepInput(payload: unknown, meta: PwContext["meta"], cap: number): RunRecord["input"] {
  const kept = keepPayload(payload, cap);
  const input: RunRecord["input"] = { meta: { ...meta }, bytes: kept.bytes };
  if (kept.json !== undefined) input.payloadJson = kept.json;
  if (kept.truncated) input.truncated = true;
  return input;
}
