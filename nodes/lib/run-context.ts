import { newId } from "./ids";

/** `msg.pw.run`: who started this run, and when. Defined here and nowhere else. */
export interface RunInfo {
  id: string;
  /** The tab (process flow) the trigger is on. */
  flow: string;
  /** The trigger node's id. */
  trigger: string;
  /** ISO 8601 time the run started. */
  startedAt: string;
  /** The run that started this one (run process flow, or a message arriving at a trigger's input). */
  parent?: string;
  /** The run this one retries. */
  retryOf?: string;
  /** What fired the trigger: a schedule, the editor or admin API, a webhook, a message at its input, a retry, or a run-flow shape. */
  via?: "schedule" | "manual" | "webhook" | "event" | "retry" | "flow";
  /** Triggers of the runs that led to this one, oldest first: how run-flow refuses loops. */
  chain?: string[];
}

export type Meta = Record<string, string>;

/** `msg.pw`: the run context every message of a run carries. */
export interface PwContext {
  run: RunInfo;
  meta: Meta;
  page?: { number: number; last: boolean };
  batch?: { index: number; count: number };
  scope?: string[];
}

export interface StartRunOptions {
  flow: string;
  trigger: string;
  /** The context of the message that started this run, if it already belonged to a run. */
  parent?: Partial<PwContext>;
  retryOf?: string;
  via?: RunInfo["via"];
  now?: Date;
}

/**
 * A fresh run context. A run started by a message of another run keeps that run's meta
 * variables (the product passes meta into child flows) and records it as the parent.
 */
export function startRun(opts: StartRunOptions): PwContext {
  const now = opts.now ?? new Date();
  const run: RunInfo = {
    id: newId(now.getTime()),
    flow: opts.flow,
    trigger: opts.trigger,
    startedAt: now.toISOString(),
  };
  const parentRun = opts.parent?.run;
  if (parentRun && typeof parentRun.id === "string") {
    run.parent = parentRun.id;
    run.chain = [...(Array.isArray(parentRun.chain) ? parentRun.chain : []), parentRun.trigger];
  }
  if (opts.retryOf) run.retryOf = opts.retryOf;
  if (opts.via) run.via = opts.via;
  const parentMeta = run.parent ? opts.parent?.meta : undefined;
  return { run, meta: isMeta(parentMeta) ? { ...parentMeta } : {} };
}

function isMeta(value: unknown): value is Meta {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === "string")
  );
}

/** Reads `msg.pw` if the message carries a well-formed one. */
export function readPw(msg: { pw?: unknown }): PwContext | undefined {
  const pw = msg.pw as Partial<PwContext> | undefined;
  if (!pw || typeof pw !== "object" || !pw.run || typeof pw.run.id !== "string") return undefined;
  return pw as PwContext;
}
