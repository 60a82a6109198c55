import type { Node, NodeAPI } from "node-red";
import type { ConnectorClient } from "./lib/connectors/client";
import type { LookupTable } from "./lib/mapping/transforms";
import type { Meta, PwContext, RunInfo } from "./lib/message";
import type { RequestRecord } from "./lib/records";
import type { RunRecord } from "./lib/runs/record";
import type { SubmitOptions, Submitted, TriggerLauncher } from "./lib/runs/service";
import type { ScopeResult, StepWork } from "./lib/runs/tracker";
import type { NotificationRecord } from "./lib/notify";
import type { Mailer } from "./lib/mailer";

/**
 * The interfaces between nodes, in one place: what one node of this package may call on
 * another (config nodes, triggers) and on the runs service. Both sides are typed by these,
 * so renaming a method on either side fails to compile. The message type and its accessors
 * are in lib/message.ts, where the engine can use them too.
 */

/** What an instance was deployed with, besides its secrets. */
export interface InstanceSettings {
  connector: string;
  vars: Record<string, unknown>;
  auth: number;
  tlsCa: string;
  tlsInsecure: boolean;
  /** Which credential slot holds which secret variable. */
  secretSlots: Record<string, number>;
}

/** A `pw-instance` config node: one account of a connector. */
export interface InstanceNode extends Node<Record<string, string | undefined>> {
  /** Its deployed settings: a request may use its saved secrets only with these. */
  deployed?: InstanceSettings;
  /** The client for the instance's connector; absent when the instance cannot be used. */
  client?: ConnectorClient;
  /** Why the instance cannot be used, when it cannot. */
  problem?: string;
}

/** A `pw-lookup-table` config node: a cross-reference table for map rules' lookup transform. */
export interface LookupTableNode extends Node {
  table?: LookupTable;
  /** Why the table cannot be used, when it cannot. */
  problem?: string;
}

/** One saved version of a `pw-saved-script`. */
export interface ScriptVersion {
  version: number;
  code: string;
  /** ISO 8601 time it was saved in the editor. */
  savedAt?: string;
  note?: string;
}

/** A `pw-saved-script` config node: a script shared by script shapes, with its numbered versions. */
export interface SavedScriptNode extends Node {
  /** The version asked for ("latest" or its number); throws naming what exists when there is none. */
  version(wanted: string | number | undefined): ScriptVersion;
  /** Why the saved script cannot be used, when it cannot. */
  problem?: string;
}

/** A `pw-trigger`: where every run starts. */
export interface TriggerNode extends Node<{ secret?: string }> {
  /**
   * Starts a run as the manual route and the editor button do; resolves once it is on disk.
   * Rejects with `status` 429 when the run queue is full.
   */
  fireManually(payload: unknown): Promise<RunInfo>;
  /** Starts a run again from a finished run's original payload and meta; as fireManually. */
  retryRun(payload: unknown, meta: Meta, retryOf: string): Promise<RunInfo>;
  /** Starts a child run for a run-flow shape; refuses a loop back to a trigger already in the chain. */
  startChild(payload: unknown, parent: PwContext | undefined): PwContext;
  /** Why the trigger cannot start runs (its configuration), when it cannot. */
  problem?: string;
}

/** A `pw-smtp` config node: an SMTP server and its recipient groups, for notify shapes. */
export interface SmtpNode extends Node<{ user?: string; password?: string }> {
  /** Absent when the settings cannot be used (see problem). */
  mailer?: Mailer;
  problem?: string;
}

/** A `pw-notify` shape, as a trigger's "notify when this run fails" calls it. */
export interface NotifyNode extends Node {
  /** Sends the shape's notification, at level error, about a run that ended badly; never throws. */
  alertRunEnded(record: RunRecord): void;
  problem?: string;
}

/** The node types above, by the type name they register. */
interface NodeTypes {
  "pw-instance": InstanceNode;
  "pw-lookup-table": LookupTableNode;
  "pw-trigger": TriggerNode;
  /** A legacy service starts its own runs, as a trigger does. */
  "pw-service": TriggerNode;
  "pw-saved-script": SavedScriptNode;
  "pw-smtp": SmtpNode;
  "pw-notify": NotifyNode;
}

/** A deployed node of one of our types by id; undefined when there is none of that type. */
export function findNode<T extends keyof NodeTypes>(
  RED: NodeAPI,
  id: string,
  type: T,
): NodeTypes[T] | undefined {
  const node = id ? RED.nodes.getNode(id) : null;
  return node && node.type === type ? (node as NodeTypes[T]) : undefined;
}

/** A node as the run log names it. */
export interface NodeRef {
  id: string;
  type?: string;
  name?: string;
}

/** What shapes may ask of the run tracker. */
export interface ShapeRuns {
  /** The run is going (not ended, stopped or timed out). */
  isActive(runId: string): boolean;
  /** Aborted when the run stops or ends: long work (requests, waits) gives up then. */
  signal(runId: string): AbortSignal | undefined;
  /** Called once when the run ends, with its record. */
  whenFinished(runId: string, listener: (record: RunRecord) => void): void;
  recordRequest(runId: string, node: NodeRef, request: RequestRecord): void;
  /** Work a shape did inside itself, as a step of its own (a service's pull, map and send). */
  recordStep(runId: string, node: NodeRef, work: StepWork): void;
  /** Records a shape handed to its failure output (the run ends "completed with failures"). */
  failedRecords(runId: string, count: number): void;
  /** Counts what messages carrying `token` start; calls back when all of it has finished. */
  openScope(runId: string, token: string, onClose: (result: ScopeResult) => void): boolean;
  /**
   * Keeps a small JSON checkpoint with the run under `key` (the shape's id and what it is
   * for), written with the run so it outlives a restart; undefined removes it. False when the
   * run is not live here or the value is too big (over 4 KB, or over 64 keys in the run).
   */
  checkpoint(runId: string, key: string, value: unknown): boolean;
  /**
   * The checkpoint under `key` that the run this run retries left (`msg.pw.run.retryOf`; a
   * retry of a retry sees the latest one), given once: a second call for the same key in the
   * same run answers undefined, so a second pull with the same request starts afresh.
   * Undefined when there is none, or the retried run had succeeded (its retry starts over).
   */
  resumePoint(runId: string, key: string): unknown;
  /**
   * Records (name, value) pairs of a track-data shape into the run, so runs can be found by
   * them: at most TRACKED_VALUES_PER_RUN distinct values of TRACKED_VALUE_CHARS characters
   * (runs/tracked.ts). How many were new and how many did not fit; undefined when the run is
   * not live here.
   */
  trackValues(
    runId: string,
    entries: Iterable<readonly [string, string]>,
  ): { added: number; dropped: number } | undefined;
  /** Adds a notification to the run's log (a live run, or one that ended a short while ago). */
  recordNotification(runId: string, notification: NotificationRecord): boolean;
}

/** What a trigger may ask of the run service. */
export interface TriggerRuns {
  registerTrigger(id: string, launcher: TriggerLauncher): void;
  /** In scale-out mode resolves once the trigger's runs still going here are handed back to the shared queue. */
  unregisterTrigger(id: string, launcher: TriggerLauncher): void | Promise<void>;
  submit(
    pw: PwContext,
    payload: unknown,
    message: Record<string, unknown>,
    options: SubmitOptions,
    launch: (message: Record<string, unknown>) => void,
  ): Submitted;
  readonly queue: { readonly queuedCount: number };
}

/** The runs service as the runs plugin provides it. */
export interface Runs extends TriggerRuns {
  readonly tracker: ShapeRuns;
}

/**
 * The runtime's one runs service. The runs plugin provides it; shapes and triggers reach it
 * here. Absent (tracking off, or under node-red-node-test-helper, which has no hooks): runs
 * start at once and nothing is tracked.
 */
let current: Runs | undefined;

export function provideRuns(runs: Runs | undefined): void {
  current = runs;
}

/** The run tracker, for shapes. */
export function shapeRuns(): ShapeRuns | undefined {
  return current?.tracker;
}

/** The run service, for triggers. */
export function triggerRuns(): TriggerRuns | undefined {
  return current;
}
