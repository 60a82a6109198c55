import { newId } from "./ids";

/**
 * The message every shape and the run tracker handle: a Node-RED message with the run
 * context under `pw`. Declared here, structurally, so the engine needs nothing from
 * Node-RED; a Node-RED `NodeMessage` is one, and one is a `NodeMessage`.
 * Read the context with `readPw` / `runIdOf`; build the next message with `derive`.
 */
export interface PwMessage {
  payload?: unknown;
  topic?: string;
  _msgid?: string;
  /**
   * The run context, as far as the message carries one: a node of someone else's may have
   * rebuilt or dropped it, so its fields are checked where it matters (readPw, runIdOf).
   */
  pw?: Partial<PwContext>;
  [key: string]: unknown;
}

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

/** `msg.pw` if the message carries a well-formed one (a run id at least). */
export function readPw(msg: PwMessage | undefined): PwContext | undefined {
  const pw = msg?.pw;
  if (!pw || typeof pw !== "object" || !pw.run || typeof pw.run.id !== "string") return undefined;
  return pw as PwContext;
}

/** The id of the run the message belongs to, if any. */
export function runIdOf(msg: PwMessage | undefined): string | undefined {
  const id: unknown = msg?.pw?.run?.id;
  return typeof id === "string" ? id : undefined;
}

/**
 * The run context as far as the message carries one, for messages that may have lost parts
 * of it (a function node that rebuilt `pw`): never undefined, fields may be.
 */
export function pwOf(msg: PwMessage | undefined): Partial<PwContext> {
  const pw = msg?.pw;
  return pw && typeof pw === "object" ? pw : {};
}

/**
 * The next message of a shape: a shallow copy (own object, payload replaced), with its own
 * `pw` when fields of the context change. Never copies the payload (see DESIGN: cloning is
 * the hidden cost).
 */
export function derive(msg: PwMessage, payload: unknown, pw?: Partial<PwContext>): PwMessage {
  const out: PwMessage = { ...msg, payload };
  if (pw) out.pw = { ...pwOf(msg), ...pw };
  return out;
}

/** The same message, payload kept, with its own `pw` changed by `pw` (meta, scope …). */
export function withPw(msg: PwMessage, pw: Partial<PwContext>): PwMessage {
  return { ...msg, pw: { ...pwOf(msg), ...pw } };
}
