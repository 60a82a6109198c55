import vm from "node:vm";
import { checkWritableKey } from "./keys";
import { withMeta } from "./meta";
import type { Meta } from "./message";

/**
 * The script shape's engine: user JavaScript run on a payload in a `vm` context, with one
 * time limit over everything it does (its synchronous code, the promise callbacks it queues,
 * its timers and awaits). `vm` keeps the script from reaching `require` and `process` by
 * accident; it is not a security boundary (any object handed in leads back to the host).
 *
 * How the limit is kept:
 * - the context runs with `microtaskMode: "afterEvaluate"`, so promise callbacks run inside
 *   each `runInContext` call and its `timeout` covers them (a microtask loop is stopped);
 * - everything that enters the context later (a timer callback, the pump that lets awaits on
 *   host promises continue) enters through `runInContext` with the time left;
 * - a host timer fails the run at the deadline, whatever the script is waiting for. Work the
 *   script started on the host (a request through `require`d modules) may still finish after.
 */

/** The product's limit, and this shape's default: 120 s. */
export const SCRIPT_DEFAULT_SECONDS = 120;
/** The most a shape may ask for unless settings.js raises it (patchworks.script.maxTimeoutSeconds). */
export const SCRIPT_CAP_SECONDS = 600;

const FILENAME = "pw-script";
/** The parameters the user's code sees, in order. */
const PARAMS = ["payload", "meta", "flow", "env", "log", "run"];
/** How often awaits on host promises get the chance to continue. */
const PUMP_MS = 5;

/** Where in the user's code something went wrong (1-based), when known. */
export interface CodePosition {
  line: number;
  column?: number;
}

/** The script does not parse: refused at deploy. */
export class ScriptSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: CodePosition | undefined,
  ) {
    super(message);
    this.name = "ScriptSyntaxError";
  }
}

/** The script threw, rejected, or returned something the shape cannot send. */
export class ScriptRunError extends Error {
  constructor(
    message: string,
    readonly position?: CodePosition,
  ) {
    super(message);
    this.name = "ScriptRunError";
  }
}

/** The script went over its time limit. */
export class ScriptTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ScriptTimeoutError";
  }
}

/** Flow variables as the shape reads and writes them (Node-RED flow context, synchronously). */
export interface FlowAccess {
  get(key: string, store?: string): unknown;
  keys(store?: string): string[];
}

export type LogLevel = "debug" | "info" | "warn" | "error";

/** What the host lends the script. */
export interface ScriptHost {
  flow: FlowAccess;
  env(name: string): unknown;
  log(level: LogLevel, text: string): void;
}

export interface RunOptions {
  /** The whole time limit, in ms. */
  timeoutMs: number;
  /** Given to the script as a global when settings.js allows it. */
  require?: NodeJS.Require;
  /** Give the script `process` (settings.js). */
  process?: boolean;
  /** Aborted when the run stops: the script fails at once, its timers cancelled. */
  signal?: AbortSignal;
}

export interface ScriptInput {
  payload: unknown;
  meta: Meta;
  run: unknown;
}

export interface ScriptResult {
  /** What the script returned (null: send nothing). */
  value: unknown;
  /** The meta variables after the script (the same object when unchanged). */
  meta: Meta;
  /** Flow variables the script set, in order, to write now that it succeeded. */
  flowWrites: Array<{ key: string; value: unknown; store?: string }>;
}

export interface CompiledScript {
  run(input: ScriptInput, host: ScriptHost, options: RunOptions): Promise<ScriptResult>;
}

/** The line and column of a syntax error, read from V8's report ("file:LINE\nsource\n   ^^^"). */
function syntaxPosition(err: Error): CodePosition | undefined {
  const lines = String(err.stack ?? "").split("\n");
  const m = new RegExp(`^${FILENAME}:(\\d+)$`).exec(lines[0] ?? "");
  if (!m) return undefined;
  const caret = (lines[2] ?? "").indexOf("^");
  return { line: Number(m[1]), column: caret >= 0 ? caret + 1 : undefined };
}

/** The position of the innermost frame in the user's code, from an error's stack. */
function framePosition(stack: unknown): CodePosition | undefined {
  if (typeof stack !== "string") return undefined;
  for (const line of stack.split("\n")) {
    if (!/^\s+at /.test(line)) continue;
    const m = new RegExp(`${FILENAME}:(\\d+):(\\d+)\\)?\\s*$`).exec(line);
    if (m) return { line: Number(m[1]), column: Number(m[2]) };
  }
  return undefined;
}

const where = (p: CodePosition | undefined): string =>
  p ? `line ${p.line}${p.column ? `, column ${p.column}` : ""}: ` : "";

/** Any value as a line of log text: strings as they are, the rest as JSON, cut at 2,000 characters. */
function logText(args: unknown[]): string {
  const text = args
    .map((a) => {
      if (typeof a === "string") return a;
      if (a instanceof Error || (a && typeof a === "object" && "stack" in a && "message" in a))
        return String((a as Error).message);
      try {
        return JSON.stringify(a) ?? String(a);
      } catch {
        return String(a);
      }
    })
    .join(" ");
  return text.length > 2000 ? text.slice(0, 2000) + "…" : text;
}

/**
 * Compiles the user's code once (at deploy) as the body of an async function, so `await` and
 * `return` work at its top level. A syntax error names its line and column in the user's code.
 */
export function compileScript(code: unknown): CompiledScript {
  if (typeof code !== "string" || !code.trim())
    throw new ScriptSyntaxError("the script is empty: write code that ends with return payload;", undefined);
  const userLines = code.split("\n").length;
  let script: vm.Script;
  try {
    // The wrapper's first line is line 0, so line numbers are the user's own.
    script = new vm.Script(`(async function (${PARAMS.join(", ")}) {\n${code}\n})`, {
      filename: FILENAME,
      lineOffset: -1,
    });
  } catch (err) {
    const position = syntaxPosition(err as Error);
    const beyond = position && position.line > userLines;
    throw new ScriptSyntaxError(
      beyond
        ? `the script does not parse: ${(err as Error).message} at the end of the script (a bracket, brace or quote left open, or closed once too often)`
        : `the script does not parse: ${where(position)}${(err as Error).message}`,
      beyond ? { line: userLines } : position,
    );
  }
  const start = new vm.Script("__pw.fn.apply(undefined, __pw.args).then(__pw.ok, __pw.fail)", {
    filename: "pw-script-start",
  });
  const callback = new vm.Script("__pw.cb.apply(undefined, __pw.cbArgs)", { filename: "pw-script-timer" });
  const drain = new vm.Script("undefined", { filename: "pw-script-pump" });
  return {
    run: (input, host, options) => runOnce(script, { start, callback, drain }, input, host, options),
  };
}

interface Runners {
  start: vm.Script;
  callback: vm.Script;
  drain: vm.Script;
}

function runOnce(
  script: vm.Script,
  runners: Runners,
  input: ScriptInput,
  host: ScriptHost,
  options: RunOptions,
): Promise<ScriptResult> {
  const limitMs = options.timeoutMs;
  const deadline = Date.now() + limitMs;
  const seconds = `${Math.round(limitMs) / 1000} s`;
  const meta: Record<string, unknown> = { ...input.meta };
  const flowWrites: ScriptResult["flowWrites"] = [];
  const timers = new Set<NodeJS.Timeout>();
  let settled = false;

  return new Promise<ScriptResult>((resolve, reject) => {
    let pump: NodeJS.Timeout | undefined;
    const finish = (err: Error | undefined, value?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      clearInterval(pump);
      options.signal?.removeEventListener("abort", stopped);
      for (const t of timers) clearTimeout(t);
      timers.clear();
      if (err) return reject(err);
      if (value === undefined)
        return reject(
          new ScriptRunError(
            "the script returned nothing: end it with return payload; (or return null to send no message)",
          ),
        );
      let nextMeta: Meta = input.meta;
      const changed =
        Object.keys(meta).length !== Object.keys(input.meta).length ||
        Object.keys(meta).some((k) => meta[k] !== input.meta[k]);
      try {
        if (changed) nextMeta = withMeta(undefined, meta);
      } catch (e) {
        return reject(new ScriptRunError(`meta: ${(e as Error).message}`));
      }
      resolve({ value, meta: nextMeta, flowWrites });
    };
    const failWith = (thrown: unknown) => {
      const err = thrown as { message?: unknown; stack?: unknown; name?: unknown } | null;
      if (err && typeof err === "object" && typeof err.message === "string") {
        const position = framePosition(err.stack);
        const name = typeof err.name === "string" && err.name !== "Error" ? `${err.name}: ` : "";
        finish(new ScriptRunError(`${where(position)}${name}${err.message}`, position));
      } else finish(new ScriptRunError(`the script threw ${logText([thrown])}`));
    };
    /** Runs something in the context with the time left; a timeout or a throw ends the run. */
    const enter = (runner: vm.Script): void => {
      if (settled) return;
      const left = deadline - Date.now();
      if (left <= 0) return timedOut();
      try {
        runner.runInContext(context, { timeout: Math.max(1, Math.ceil(left)) });
      } catch (thrown) {
        if ((thrown as { code?: string }).code === "ERR_SCRIPT_EXECUTION_TIMEOUT") return timedOut();
        failWith(thrown);
      }
    };
    const timedOut = () =>
      finish(
        new ScriptTimeoutError(
          `the script did not finish within its limit of ${seconds} (its code, promise callbacks, timers and awaits together). ` +
            `Make it do less, or raise the shape's time limit. Work it started outside the script (requests, files) may still be running`,
        ),
      );

    const setKey = (key: unknown, what: string): string => {
      if (typeof key !== "string" || !key.trim())
        throw new TypeError(`${what}: the name must be non-empty text`);
      for (const part of key.split(/[.[\]'"\s]+/)) checkWritableKey(part, `${what} "${key}"`);
      return key;
    };
    const flow = {
      get(key: unknown, store?: unknown): unknown {
        const name = String(key);
        const s = typeof store === "string" && store ? store : undefined;
        for (let i = flowWrites.length - 1; i >= 0; i--)
          if (flowWrites[i].key === name && flowWrites[i].store === s) return flowWrites[i].value;
        return host.flow.get(name, s);
      },
      set(key: unknown, value: unknown, store?: unknown): void {
        const name = setKey(key, "flow.set");
        flowWrites.push({ key: name, value, store: typeof store === "string" && store ? store : undefined });
      },
      keys(store?: unknown): string[] {
        const s = typeof store === "string" && store ? store : undefined;
        const own = flowWrites.filter((w) => w.store === s).map((w) => w.key);
        return [...new Set([...host.flow.keys(s), ...own])];
      },
    };
    const env = { get: (name: unknown) => host.env(String(name)) };
    const logger =
      (level: LogLevel) =>
      (...args: unknown[]) =>
        host.log(level, logText(args));
    const log = {
      debug: logger("debug"),
      info: logger("info"),
      warn: logger("warn"),
      error: logger("error"),
    };
    const state: Record<string, unknown> = {
      args: [input.payload, meta, flow, env, log, input.run],
      ok: (value: unknown) => finish(undefined, value),
      fail: failWith,
    };
    const sandbox: Record<string, unknown> = {
      __pw: state,
      console: { log: log.info, info: log.info, debug: log.debug, warn: log.warn, error: log.error },
      setTimeout: (fn: unknown, ms?: unknown, ...args: unknown[]) => {
        if (typeof fn !== "function") throw new TypeError("setTimeout needs a function");
        if (settled) return undefined;
        const t = setTimeout(
          () => {
            timers.delete(t);
            state.cb = fn;
            state.cbArgs = args;
            enter(runners.callback);
          },
          Math.max(0, Number(ms) || 0),
        );
        timers.add(t);
        return t;
      },
      clearTimeout: (t: unknown) => {
        if (timers.delete(t as NodeJS.Timeout)) clearTimeout(t as NodeJS.Timeout);
      },
    };
    if (options.require) sandbox.require = options.require;
    if (options.process) sandbox.process = process;
    const context = vm.createContext(sandbox, { microtaskMode: "afterEvaluate" });
    const guard = setTimeout(timedOut, limitMs);
    const stopped = () => finish(new ScriptRunError("the run was stopped while the script ran"));
    if (options.signal?.aborted) return stopped();
    options.signal?.addEventListener("abort", stopped);
    try {
      state.fn = script.runInContext(context);
    } catch (thrown) {
      return failWith(thrown);
    }
    enter(runners.start);
    // Awaits on promises the host resolves (modules given through require) continue only when
    // something runs in the context: pump it while the script is pending.
    if (!settled) pump = setInterval(() => enter(runners.drain), PUMP_MS);
  });
}

/**
 * The shape's time limit in ms from its setting in seconds. Empty means 120 s (the cap when
 * settings.js sets a lower one); a limit set over the cap is refused: a shape never silently
 * gets less than it asked for.
 */
export function scriptTimeoutMs(seconds: unknown, capSeconds = SCRIPT_CAP_SECONDS): number {
  if (seconds === undefined || seconds === null || String(seconds).trim() === "")
    return Math.round(Math.min(SCRIPT_DEFAULT_SECONDS, capSeconds) * 1000);
  const s = Number(seconds);
  if (!Number.isFinite(s) || s <= 0)
    throw new Error(`the time limit must be a number of seconds above 0, not ${JSON.stringify(seconds)}`);
  if (s > capSeconds)
    throw new Error(
      `the time limit of ${s} s is over the cap of ${capSeconds} s: lower it, or raise patchworks.script.maxTimeoutSeconds in settings.js`,
    );
  return Math.round(s * 1000);
}

/** What a script returned, as the payloads to send: one, each element of an array, or none. */
export function payloadsOf(value: unknown, each: boolean): unknown[] {
  if (value === null) return [];
  if (!each) return [value];
  if (!Array.isArray(value))
    throw new ScriptRunError(
      `the script returned ${value === null ? "null" : typeof value}, not an array: "send each element as its own message" is on, so return an array of payloads (or turn it off)`,
    );
  return value;
}

/** A saved version of a shared script, as the saved-script config node keeps it. */
export interface SavedVersion {
  version: number;
  code: string;
  savedAt?: string;
  note?: string;
}

/** Checks a saved script's versions (numbered 1, 2, … without repeats) and returns them, oldest first. */
export function checkVersions(versions: unknown): SavedVersion[] {
  if (!Array.isArray(versions) || versions.length === 0)
    throw new Error("it has no saved version: open it, write the script and press Done");
  const seen = new Set<number>();
  const list = versions.map((v: Partial<SavedVersion> | null, i) => {
    const n = v?.version;
    if (!Number.isInteger(n) || (n as number) < 1)
      throw new Error(`version ${i + 1} has no version number (a whole number from 1)`);
    if (seen.has(n as number)) throw new Error(`version ${n} is saved twice`);
    seen.add(n as number);
    if (typeof v?.code !== "string") throw new Error(`version ${n} has no code`);
    return v as SavedVersion;
  });
  return list.sort((a, b) => a.version - b.version);
}

/** The version a shape asks for: "latest" (or nothing) is the highest number. */
export function pickVersion(versions: SavedVersion[], wanted: string | number | undefined): SavedVersion {
  if (wanted === undefined || wanted === "" || wanted === "latest") return versions[versions.length - 1];
  const n = Number(wanted);
  const found = versions.find((v) => v.version === n);
  if (!found)
    throw new Error(
      `it has no version ${String(wanted)} (saved: ${versions.map((v) => v.version).join(", ")}); choose one of those or "latest"`,
    );
  return found;
}
