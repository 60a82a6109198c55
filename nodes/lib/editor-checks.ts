import { checkBatchSize, compileBatchLevel } from "./batching";
import {
  conditionProblems,
  NEGATIONS,
  OPERATOR_GROUPS,
  OPERATOR_INFO,
  OPERATORS,
  UNIT_MS,
  VALUE_SOURCES,
  VALUE_TYPES,
} from "./conditions";
import { compileGetter } from "./paths";
import { compileParentFields, compileSplitter, type ParentField } from "./splitting";
import { compileTemplate } from "./templates";
import { bodyLimitBytes, compileReplyBody, scheduleProblems } from "./trigger-config";
import { normalisePath } from "./webhook/routes";
import { compileRules, type VariableRule } from "./variables";
import { checkEntity, checkPoolName, compileKey, ttlSeconds } from "./dedupe";
import { checkCacheName, maxBytesOf } from "./cache";
import { compileScript, ScriptSyntaxError } from "./script";
import { compileIgnorePaths, parseExpected } from "./comparison";
import { compileNotify, type NotifySettings } from "./notify";
import { compileMailer, parseAddresses, type SmtpSettings } from "./mailer";
import { compileTracking } from "./tracking";

/**
 * The checks the editor's dialogs ask the runtime for (through pw/editor/check), so a dialog
 * flags exactly what deploying would refuse: each kind runs the engine's own compile step.
 */
export interface CheckProblem {
  message: string;
  /** conditions: the rule's position, indexes into `rules` group by group. */
  rule?: number[];
  /** conditions, mapping: the input at fault, when it is one of the row's fields. */
  part?: string;
  /** script: where in the code (1-based), when known. */
  line?: number;
  column?: number;
  /** schedules: the schedule's position. */
  row?: number;
}

const text = (value: unknown): string => (value === undefined || value === null ? "" : String(value));

/** One problem from a compile step that throws, or none. */
const compiles =
  (compile: (value: unknown) => unknown) =>
  (value: unknown): CheckProblem[] => {
    try {
      compile(value);
      return [];
    } catch (err) {
      return [{ message: (err as Error).message }];
    }
  };

export const CHECKS: Readonly<Record<string, (value: unknown) => CheckProblem[]>> = {
  /** Filter and route conditions: every rule's problem, by position. */
  conditions: (value) => conditionProblems(value),
  /** A path into the payload (set variables' "payload path" values). */
  path: compiles((value) => compileGetter(text(value))),
  /** A {{ }} template (set variables' template values). */
  template: compiles((value) => compileTemplate(text(value))),
  /** Flow control's batch level. */
  "batch-level": compiles((value) => compileBatchLevel(text(value))),
  /** Flow control's batch size. */
  "batch-size": compiles((value) => checkBatchSize(value)),
  /** Split's path to the element split out. */
  "split-path": compiles((value) => compileSplitter({ path: text(value), mode: "each" })),
  /** Split's parent fields. */
  "split-fields": compiles((value) => compileParentFields(value as ParentField[])),
  /** Set variables' rows. */
  variables: compiles((value) => compileRules(value as VariableRule[])),
  /** A trigger's schedules: every schedule's problems, by position (`row`) and input (`part`). */
  schedules: (value) => scheduleProblems(value),
  /** A trigger's immediate reply: { type, body }. */
  "reply-body": compiles((value) => {
    const { type, body } = (value ?? {}) as { type?: string; body?: unknown };
    return compileReplyBody(type, body === undefined ? undefined : text(body));
  }),
  /** JSON text (a manual payload, run-flow's manual payload). */
  json: compiles((value) => {
    try {
      return JSON.parse(text(value));
    } catch (err) {
      throw new Error(`not valid JSON: ${(err as Error).message}`, { cause: err });
    }
  }),
  /** A trigger's webhook path. */
  "webhook-path": compiles((value) => normalisePath(text(value))),
  /** A notify shape's message, subject, level and value length together. */
  notify: compiles((value) => compileNotify((value ?? {}) as NotifySettings)),
  /** An SMTP server's settings (host, port, security, sender, groups), without connecting. */
  smtp: compiles((value) => compileMailer((value ?? {}) as SmtpSettings).close()),
  /** One recipient group's addresses. */
  addresses: compiles((value) => parseAddresses(text(value), "the group")),
  /** A track-data shape's rows. */
  "track-fields": compiles((value) => compileTracking(value)),
  /** A trigger's webhook body size limit. */
  "body-limit": compiles((value) => bodyLimitBytes(text(value))),
  /** De-dupe's key: { keyType: path | template, key }. */
  "dedupe-key": compiles((value) => {
    const v = (value ?? {}) as { keyType?: unknown; key?: unknown };
    compileKey(v.keyType, v.key);
  }),
  /** A de-dupe data pool's name. */
  "data-pool": compiles((value) => checkPoolName(value)),
  /** A de-dupe entity. */
  entity: compiles((value) => checkEntity(value)),
  /** A cache's name. */
  "cache-name": compiles((value) => checkCacheName(value)),
  /** A cache's size limit in MB. */
  "cache-size": compiles((value) => maxBytesOf(value)),
  /** A time to live: { ttl, unit }. */
  ttl: compiles((value) => {
    const v = (value ?? {}) as { ttl?: unknown; unit?: unknown };
    ttlSeconds(v.ttl, v.unit);
  }),
  /** A script (script shape, saved script): whether it parses, and where it does not. */
  script: (value) => {
    try {
      compileScript(text(value));
      return [];
    } catch (err) {
      const at = err instanceof ScriptSyntaxError ? err.position : undefined;
      return [{ message: (err as Error).message, ...(at ? { line: at.line, column: at.column } : {}) }];
    }
  },
  /** The assert shape's expected payload (JSON text). */
  "expected-payload": compiles((value) => parseExpected(value)),
  /** The assert shape's ignored paths. */
  "ignore-paths": compiles((value) => compileIgnorePaths(value)),
};

/**
 * Checks that need what only a node set knows (the instance's connectors and saved secrets),
 * added by that set when it loads.
 */
const added: Record<string, (value: unknown) => CheckProblem[]> = {};

export function addCheck(kind: string, check: (value: unknown) => CheckProblem[]): void {
  added[kind] = check;
}

/** The check of a kind, or undefined when there is none. */
export function checkOf(kind: string): ((value: unknown) => CheckProblem[]) | undefined {
  if (Object.hasOwn(CHECKS, kind)) return CHECKS[kind];
  return Object.hasOwn(added, kind) ? added[kind] : undefined;
}

export const checkKinds = (): string[] => [...Object.keys(CHECKS), ...Object.keys(added)];

export const CHECK_KINDS = Object.keys(CHECKS);

/** What the editor's condition builder lays its rows out from: the engine's own description. */
export function conditionRules() {
  return {
    operators: OPERATORS.map((op) => ({ op, ...OPERATOR_INFO[op] })),
    groups: [...OPERATOR_GROUPS],
    types: [...VALUE_TYPES],
    sources: [...VALUE_SOURCES],
    units: Object.keys(UNIT_MS),
    /** Each negative operator and the positive one it negates (the builder words `all` with it). */
    negations: { ...NEGATIONS },
  };
}
