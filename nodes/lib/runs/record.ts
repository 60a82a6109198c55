import type { Meta, RunInfo } from "../message";
import type { RequestRecord } from "../records";
import type { NotificationRecord } from "../notify";
import type { Tracked } from "./tracked";

export type { RequestRecord };

/** How a run ended, or that it has not yet. */
/** Every status a run can have, in the order a run may pass through them. */
export const RUN_STATUSES = [
  "queued",
  "running",
  "succeeded",
  "completed with failures",
  "failed",
  "stopped",
  "timed out",
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const FINAL_STATUSES: ReadonlySet<RunStatus> = new Set<RunStatus>([
  "succeeded",
  "completed with failures",
  "failed",
  "stopped",
  "timed out",
]);

/** What one node did for one run. */
export interface StepStats {
  node: string;
  type?: string;
  name?: string;
  messagesIn: number;
  messagesOut: number;
  /** Records in and out, counted where the payload is an array. */
  recordsIn: number;
  recordsOut: number;
  errors: number;
  /** Wall time during which the node held at least one of the run's messages (delivered, not yet done). */
  timeMs: number;
  /** Messages this node sent without the run context that could not be attributed. */
  untracked?: number;
  /** HTTP requests made by this node for the run (the most recent, up to a cap). */
  requests?: RequestRecord[];
  /** Requests beyond the cap, counted but not listed. */
  requestsDropped?: number;
  /** Payload snapshots kept for this step (see the run's payloads). */
  snapshots?: number;
  firstAt: number;
  lastAt: number;
}

export interface RunError {
  node: string;
  type?: string;
  name?: string;
  message: string;
  at: number;
  /** A Catch node received it. */
  handled: boolean;
}

/**
 * On a live run's record: its step table, which the store serialises directly instead of
 * making step objects first. A symbol, so JSON and copies of the record never show it.
 */
export const STEP_TABLE = Symbol("pw-run-steps");

/** One run as the run store keeps it. */
export interface RunRecord {
  id: string;
  flow: string;
  trigger: string;
  via?: RunInfo["via"];
  parent?: string;
  retryOf?: string;
  status: RunStatus;
  /** When the run joined the queue, if it had to wait for a slot. */
  queuedAt?: number;
  startedAt: number;
  endedAt?: number;
  durationMs?: number;
  /** The trigger's payload and meta, kept (within a cap) so a retry can start from them. */
  input: { payloadJson?: string; meta: Meta; truncated?: boolean; bytes: number };
  steps: Record<string, StepStats>;
  errors: RunError[];
  /** Records shapes sent to a failure output. */
  failedRecords: number;
  /** Times a late message reopened the run after it looked finished (see the tracker). */
  late?: number;
  /** Why a run stopped or timed out, or which rule decided its status. */
  reason?: string;
  /** Which payloads the run keeps: off, errors, all, never. */
  snapshots?: "off" | "errors" | "all" | "never";
  /**
   * Small JSON checkpoints shapes keep with the run, by key (a pull's: the next page to fetch
   * and the pages already sent on), so a Retry goes on where this run stopped.
   */
  checkpoints?: Record<string, unknown>;
  /** Values track-data shapes recorded, by name (see runs/tracked.ts for the caps). */
  tracked?: Tracked;
  /** Values that did not fit under the cap. */
  trackedDropped?: number;
  /** What notify shapes sent for the run, and how each channel went (the latest NOTIFICATIONS_PER_RUN). */
  notifications?: NotificationRecord[];
  /** Scale-out mode: the worker running it (the one that last took it). */
  worker?: string;
  /** Scale-out mode: the run log of hand-overs ("taken over by worker B after worker A stopped"). */
  handovers?: string[];
}

/** Notifications a run log keeps; the earliest go first. */
export const NOTIFICATIONS_PER_RUN = 50;

/** Where finished and changed runs go; the store batches the writes. */
export interface RunSink {
  save(record: RunRecord): void;
}

/** Why a run that was going when Node-RED stopped or crashed ended as failed (retry it). */
export const INTERRUPTED = "interrupted by a restart (Node-RED stopped while the run was in progress)";
