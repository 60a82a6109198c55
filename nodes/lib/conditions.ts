import { IANAZone, type Zone } from "luxon";
import { compileGetter, hasWildcard, parsePath, type Getter } from "./paths";
import { compileTemplate, type Template, type TemplateView } from "./templates";
import { cachedUserRegex, compileUserRegex, type UserRegex } from "./user-regex";

/**
 * The one condition engine of filter, route (and later the legacy service shape). A
 * configuration is compiled once into a matcher; per message it is bound to the message's
 * template view and clock (templates rendered, relative dates fixed), giving a predicate
 * that runs over every record without parsing anything again.
 */
export type ValueType = "string" | "number" | "date" | "boolean";

/**
 * What each operator takes: no value, one value, a range (value and upper value), a list, or
 * an amount of minutes, hours or days; and the type it always compares as, if any. The one
 * description of the operators: the engine reads it, and the editor's condition builder gets
 * it through an admin route (nodes/pw-editor.ts) to lay out its rows.
 */
export interface OperatorInfo {
  group: "compare" | "dates" | "presence";
  takes: "nothing" | "value" | "range" | "list" | "amount";
  type?: ValueType;
}
const INFO = {
  equals: { group: "compare", takes: "value" },
  not_equals: { group: "compare", takes: "value" },
  contains: { group: "compare", takes: "value" },
  not_contains: { group: "compare", takes: "value" },
  starts_with: { group: "compare", takes: "value" },
  ends_with: { group: "compare", takes: "value" },
  in: { group: "compare", takes: "list" },
  not_in: { group: "compare", takes: "list" },
  gt: { group: "compare", takes: "value" },
  gte: { group: "compare", takes: "value" },
  lt: { group: "compare", takes: "value" },
  lte: { group: "compare", takes: "value" },
  between: { group: "compare", takes: "range" },
  exists: { group: "presence", takes: "nothing" },
  not_exists: { group: "presence", takes: "nothing" },
  empty: { group: "presence", takes: "nothing" },
  not_empty: { group: "presence", takes: "nothing" },
  regex: { group: "compare", takes: "value" },
  true: { group: "presence", takes: "nothing", type: "boolean" },
  false: { group: "presence", takes: "nothing", type: "boolean" },
  before: { group: "dates", takes: "value", type: "date" },
  after: { group: "dates", takes: "value", type: "date" },
  within_last: { group: "dates", takes: "amount", type: "date" },
  within_next: { group: "dates", takes: "amount", type: "date" },
  older_than: { group: "dates", takes: "amount", type: "date" },
} as const satisfies Record<string, OperatorInfo>;
export type Operator = keyof typeof INFO;
export const OPERATOR_INFO: Readonly<Record<Operator, OperatorInfo>> = INFO;
export const OPERATORS = Object.keys(INFO) as Operator[];
/** The order the editor groups operators in. */
export const OPERATOR_GROUPS = ["compare", "dates", "presence"] as const;
export const VALUE_TYPES: readonly ValueType[] = ["string", "number", "date", "boolean"];
/** Where a condition's value comes from. */
export const VALUE_SOURCES = ["literal", "template", "field"] as const;
/** The units of an amount (within_last, within_next, older_than), in milliseconds. */
export const UNIT_MS = { minutes: 60_000, hours: 3_600_000, days: 86_400_000 } as const;

export interface Condition {
  /** Path into the record (empty: the record itself); through `[*]` any element may match. */
  field: string;
  op: Operator;
  type?: ValueType;
  /** The value compared with: a literal, a `{{ }}` template, or another field of the record. */
  value?: string;
  valueType?: "literal" | "template" | "field";
  /** Upper bound of `between`. */
  value2?: string;
  /** For within_last / within_next / older_than: the unit of `value`. */
  unit?: "minutes" | "hours" | "days";
  caseInsensitive?: boolean;
  /** matches regex: the flags, any of `i`, `m`, `s`, `u` (Aa adds `i`). */
  flags?: string;
  /** Dates: the IANA zone of a date or time written without an offset (default UTC, never the server's). */
  zone?: string;
  /**
   * Through `[*]`: every element must match; an empty list is then no match (with a negative
   * operator, the negation of that: matches unless every element matches the positive form).
   */
  all?: boolean;
}

export interface ConditionGroup {
  logic: "and" | "or";
  rules: Array<Condition | ConditionGroup>;
}

export interface Conditions extends ConditionGroup {
  /** A value that cannot be compared: no match (default), or an error naming field, record and value. */
  onBadValue?: "no-match" | "error";
}

/** The input of a rule a problem is about, when it is one of the rule's own fields. */
export type RulePart = "field" | "flags" | "zone";

/** A rule that cannot be compiled, naming the input at fault when it is one of the rule's fields. */
class RuleError extends Error {
  constructor(
    message: string,
    readonly part: RulePart,
    cause: unknown,
  ) {
    super(message, { cause });
  }
}

/** A record's value could not be compared, and the policy says so. */
export class ConditionValueError extends Error {
  constructor(
    readonly field: string,
    readonly record: number,
    readonly value: unknown,
    why: string,
  ) {
    super(`record ${record}: field "${field}" ${why} (value ${preview(value)})`);
    this.name = "ConditionValueError";
  }
}

export type Predicate = (record: unknown, index: number) => boolean;

export interface Matcher {
  /** True when no condition needs the message (no templates, no relative dates): bind once. */
  readonly constant: boolean;
  /** Takes everything: no conditions at all. */
  readonly always: boolean;
  /** Some condition reads a field of the record (not the record itself): records must be objects. */
  readonly readsFields: boolean;
  bind(view: () => TemplateView, now: number): Predicate;
}

/** The negative operators and the positive form each negates (the whole condition, through `[*]` too). */
export const NEGATIONS: Readonly<Partial<Record<Operator, Operator>>> = {
  not_equals: "equals",
  not_contains: "contains",
  not_in: "in",
  not_exists: "exists",
  not_empty: "empty",
};
const RELATIVE = new Set(OPERATORS.filter((op) => OPERATOR_INFO[op].takes === "amount"));
/** Per element: matched, did not, or could not be compared. */
const YES = 1;
const NO = 0;
const BAD = -1;
type Verdict = typeof YES | typeof NO | typeof BAD;

/** A record value that cannot be compared as the condition's type. */
const UNREADABLE = Symbol("unreadable");

/** Compiles conditions once; throws with the rule's position and what is wrong. */
export function compileConditions(input: unknown): Matcher {
  const config = normalise(input);
  const onBad = config.onBadValue === "error" ? "error" : "no-match";
  const root = compileGroup(config, "", onBad);
  const always = config.rules.length === 0;
  const readsFields = root.readsFields;
  if (root.constant) {
    const predicate = root.bind(() => ({}), 0);
    return { constant: true, always, readsFields, bind: () => predicate };
  }
  return { constant: false, always, readsFields, bind: root.bind };
}

interface Compiled {
  constant: boolean;
  readsFields: boolean;
  bind(view: () => TemplateView, now: number): Predicate;
}

function normalise(input: unknown): Conditions {
  if (input === undefined || input === null || input === "") return { logic: "and", rules: [] };
  let value = input;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      throw new Error("the conditions are not valid JSON");
    }
  }
  if (Array.isArray(value)) return { logic: "and", rules: value as Condition[] };
  if (typeof value !== "object" || value === null || !Array.isArray((value as ConditionGroup).rules)) {
    throw new Error('the conditions must be a group: { logic: "and" | "or", rules: [...] }');
  }
  return value as Conditions;
}

/** A problem of one rule, by its position: indexes into `rules`, group by group ([] is the whole). */
export interface ConditionProblem {
  rule: number[];
  message: string;
  /** The rule's input at fault, when the problem is one of its fields. */
  part?: RulePart;
}

/**
 * Every problem compileConditions would stop at, not only the first, each with its rule's
 * position: what the editor's condition builder shows beside each row.
 */
export function conditionProblems(input: unknown): ConditionProblem[] {
  const problems: ConditionProblem[] = [];
  const attempt = (rule: number[], compile: () => void) => {
    try {
      compile();
    } catch (err) {
      const part = err instanceof RuleError ? { part: err.part } : {};
      problems.push({ rule, message: (err as Error).message, ...part });
    }
  };
  const walk = (group: ConditionGroup, at: string, position: number[]) => {
    attempt(position, () => checkLogic(group, at));
    group.rules.forEach((rule, i) => {
      const where = ruleName(at, i);
      if (isGroup(rule)) walk(rule, where, [...position, i]);
      else attempt([...position, i], () => compileCondition(rule as Condition, where, "no-match"));
    });
  };
  let config: Conditions | undefined;
  attempt([], () => (config = normalise(input)));
  if (config) walk(config, "", []);
  return problems;
}

const ruleName = (at: string, i: number) => `${at}${at ? "." : ""}rule ${i + 1}`;

const isGroup = (rule: unknown): rule is ConditionGroup =>
  !!rule && typeof rule === "object" && Array.isArray((rule as ConditionGroup).rules);

function checkLogic(group: ConditionGroup, at: string): void {
  if (group.logic !== undefined && group.logic !== "and" && group.logic !== "or") {
    throw new Error(`${at || "the conditions"}: logic must be "and" or "or", not "${String(group.logic)}"`);
  }
}

function compileGroup(group: ConditionGroup, at: string, onBad: "no-match" | "error"): Compiled {
  checkLogic(group, at);
  const parts = group.rules.map((rule, i) => {
    const where = ruleName(at, i);
    if (isGroup(rule)) return compileGroup(rule, where, onBad);
    return compileCondition(rule as Condition, where, onBad);
  });
  const or = group.logic === "or";
  const constant = parts.every((p) => p.constant);
  const readsFields = parts.some((p) => p.readsFields);
  const bind = (view: () => TemplateView, now: number): Predicate => {
    const predicates = parts.map((p) => p.bind(view, now));
    if (predicates.length === 0) return () => true;
    if (predicates.length === 1) return predicates[0];
    if (predicates.length === 2) {
      const [a, b] = predicates;
      return or ? (r, i) => a(r, i) || b(r, i) : (r, i) => a(r, i) && b(r, i);
    }
    return or ? (r, i) => predicates.some((p) => p(r, i)) : (r, i) => predicates.every((p) => p(r, i));
  };
  return { constant, readsFields, bind };
}

function compileCondition(c: Condition, where: string, onBad: "no-match" | "error"): Compiled {
  if (!c || typeof c !== "object") throw new Error(`${where}: not a condition`);
  if (!(OPERATORS as readonly string[]).includes(c.op))
    throw new Error(`${where}: unknown operator "${String(c.op)}" (use one of ${OPERATORS.join(", ")})`);
  const field = typeof c.field === "string" ? c.field.trim() : "";
  const label = field || "(the record)";
  let getter: Getter;
  let wildcard: boolean;
  try {
    const segments = parsePath(field);
    getter = compileGetter(segments);
    wildcard = hasWildcard(segments);
  } catch (err) {
    throw new RuleError(`${where}: ${(err as Error).message}`, "field", err);
  }
  const positive = NEGATIONS[c.op] ?? c.op;
  const negate = positive !== c.op;
  const info = OPERATOR_INFO[c.op];
  const type: ValueType = info.type ?? c.type ?? "string";
  if (!VALUE_TYPES.includes(type)) throw new Error(`${where}: unknown type "${String(c.type)}"`);
  const named = `${where} (${label} ${c.op})`;
  const ci = c.caseInsensitive === true && type === "string";
  const flags = regexFlags(c.flags, ci, named);
  const zone = timeZone(c.zone, named);
  const valueType = c.valueType ?? "literal";
  if (info.takes !== "nothing" && (c.value === undefined || c.value === ""))
    throw new Error(`${named}: needs a value`);
  if (info.takes === "range" && (c.value2 === undefined || c.value2 === ""))
    throw new Error(`${where} (${label} between): needs an upper value`);
  if (info.takes === "list" && valueType === "field")
    throw new Error(`${named}: a list must be typed in or come from a template, not a field`);
  if (RELATIVE.has(positive) && valueType === "field")
    throw new Error(`${named}: the amount must be a number or a template, not a field`);

  // A regex tests the text as it is, with the i flag for Aa: lower-casing it would change \D into \d.
  const opts: ReadOptions = { ci: ci && positive !== "regex", zone, flags };
  const read = reader(type, opts);
  /** A value from another field that cannot be compared: what it was and why (read by settle). */
  const other = { hit: false, value: undefined as unknown, why: "", field: "" };
  const source = (
    raw: string | undefined,
    name: string,
  ): ((view: () => TemplateView) => (record: unknown) => unknown) => {
    if (raw === undefined) return () => () => undefined;
    if (valueType === "field") {
      let get: Getter;
      try {
        get = compileGetter(raw);
      } catch (err) {
        throw new Error(`${where}: ${name}: ${(err as Error).message}`, { cause: err });
      }
      const otherField = raw.trim();
      const bad = (value: unknown, why: string) => {
        other.hit = true;
        other.value = value;
        other.why = why;
        other.field = otherField;
        return UNREADABLE;
      };
      if (positive === "regex")
        // A pattern per record: compiled once per distinct pattern (the bounded cache).
        return () => (record) => {
          const pattern = get(record);
          if (typeof pattern !== "string" || pattern === "")
            return bad(pattern, "holds no pattern (text is needed)");
          try {
            return userRegex(pattern, flags, true);
          } catch (err) {
            return bad(pattern, `holds a pattern that cannot be used: ${(err as Error).message}`);
          }
        };
      const why = whyBad(type, positive);
      return () => (record) => {
        const value = get(record);
        const v = read(value);
        if (v !== UNREADABLE) return v;
        return bad(value, value === undefined || value === null ? "is missing" : why);
      };
    }
    if (valueType === "template") {
      let template: Template;
      try {
        template = compileTemplate(raw);
      } catch (err) {
        throw new Error(`${where}: ${name}: ${(err as Error).message}`, { cause: err });
      }
      return (view) => {
        const value = prepare(positive, type, opts, template(view()), `${named}: ${name}`, true);
        return () => value;
      };
    }
    const value = prepare(positive, type, opts, raw, `${named}: ${name}`);
    return () => () => value;
  };
  const first = source(c.value, "the value");
  const second = source(c.value2, "the upper value");
  const constant = valueType !== "template" && !RELATIVE.has(positive);
  const all = c.all === true;

  const bind = (view: () => TemplateView, now: number): Predicate => {
    const v1 = first(view);
    const v2 = second(view);
    const test = elementTest(positive, type, read, v1, v2, now, c.unit ?? "days");
    const settle = (verdict: Verdict, value: unknown, index: number): boolean => {
      if (verdict === BAD) {
        // The other field was at fault (it is read only once the record's own value reads).
        const fromOther = other.hit;
        other.hit = false;
        if (onBad === "error") {
          if (fromOther) throw new ConditionValueError(other.field, index, other.value, other.why);
          throw new ConditionValueError(label, index, value, whyBad(type, positive));
        }
        return false;
      }
      return negate ? verdict === NO : verdict === YES;
    };
    if (!wildcard)
      return (record, index) => {
        const value = getter(record);
        return settle(test(value, record), value, index);
      };
    return (record, index) => {
      const values = getter(record) as unknown[];
      let bad: unknown = UNREADABLE;
      let sawBad = false;
      if (all) {
        // Every element of no element at all is no match (so a negative operator matches).
        if (values.length === 0) return negate;
        for (const value of values) {
          const verdict = test(value, record);
          if (verdict === NO) return settle(NO, value, index);
          if (verdict === BAD && !sawBad) {
            sawBad = true;
            bad = value;
          }
        }
        return sawBad ? settle(BAD, bad, index) : settle(YES, undefined, index);
      }
      for (const value of values) {
        const verdict = test(value, record);
        if (verdict === YES) return settle(YES, value, index);
        if (verdict === BAD && !sawBad) {
          sawBad = true;
          bad = value;
        }
      }
      return sawBad ? settle(BAD, bad, index) : settle(NO, undefined, index);
    };
  };
  return { constant, readsFields: field !== "" || valueType === "field", bind };
}

/** How a condition reads values: ignoring case (text), the zone of times without an offset, regex flags. */
interface ReadOptions {
  ci: boolean;
  zone: Zone | undefined;
  flags: string;
}

const REGEX_FLAGS = "imsu";

/** A condition's regex flags (Aa adds i), checked at deploy. */
function regexFlags(raw: unknown, ci: boolean, named: string): string {
  if (raw !== undefined && raw !== null && typeof raw !== "string")
    throw new RuleError(`${named}: the flags must be text such as "im"`, "flags", undefined);
  let flags = "";
  for (const flag of typeof raw === "string" ? raw.trim() : "") {
    if (!REGEX_FLAGS.includes(flag))
      throw new RuleError(
        `${named}: the regular expression flag "${flag}" is not supported (use i, m, s or u${
          flag === "g" ? "; g, every match, means nothing to a test" : ""
        })`,
        "flags",
        undefined,
      );
    if (!flags.includes(flag)) flags += flag;
  }
  return ci && !flags.includes("i") ? flags + "i" : flags;
}

/** A condition's time zone: an IANA name; none (or UTC) reads times without an offset in UTC. */
function timeZone(raw: unknown, named: string): Zone | undefined {
  if (raw === undefined || raw === null || raw === "") return undefined;
  const name = typeof raw === "string" ? raw.trim() : "";
  if (!name || !IANAZone.isValidZone(name))
    throw new RuleError(
      `${named}: ${preview(raw)} is not a time zone (use an IANA name such as Europe/London or America/New_York, or UTC)`,
      "zone",
      undefined,
    );
  return name.toUpperCase() === "UTC" ? undefined : IANAZone.create(name);
}

/** A pattern written as in code, `/…/flags`: the flags a JavaScript or PHP literal may carry. */
const DELIMITED = /^\/((?:[^/\\]|\\[\s\S])+)\/([dgimsuvyx]*)$/;

/**
 * A user's regex on the linear-time engine. A pattern between slashes (`/^gift-\d{3}$/i`) is
 * refused with how to write it: read as it is, it would match only texts with those slashes.
 */
function userRegex(pattern: string, flags: string, perMessage: boolean): UserRegex {
  const literal = DELIMITED.exec(pattern);
  if (literal) {
    const [, body, given] = literal;
    const fix = given
      ? `write the pattern alone, ${body}, and set the flags ${given} on the condition`
      : `write the pattern alone, ${body}`;
    throw new Error(
      `the regular expression "${pattern}" is written between slashes as in code; ${fix} (to match a text between slashes, escape them: \\/${body}\\/)`,
    );
  }
  return perMessage ? cachedUserRegex(pattern, flags) : compileUserRegex(pattern, flags);
}

/** The record side: a value as the condition's type, or UNREADABLE. */
function reader(type: ValueType, opts: ReadOptions): (value: unknown) => unknown {
  switch (type) {
    case "number":
      return toNumber;
    case "date": {
      const zone = opts.zone;
      return zone ? (v) => toTime(v, zone) : toUtcTime;
    }
    case "boolean":
      return toBoolean;
    default:
      return opts.ci
        ? (v) => {
            const s = toText(v);
            return s === UNREADABLE ? s : (s as string).toLowerCase();
          }
        : toText;
  }
}

/**
 * The condition side, read once (or once per message for templates); a bad value is a
 * configuration error. Regexes run on the linear-time engine; one from a template is compiled
 * once per distinct pattern (a bounded cache).
 */
function prepare(
  op: Operator,
  type: ValueType,
  opts: ReadOptions,
  raw: string,
  where: string,
  perMessage = false,
): unknown {
  if (op === "regex") {
    try {
      return userRegex(raw, opts.flags, perMessage);
    } catch (err) {
      throw new Error(`${where}: ${(err as Error).message}`, { cause: err });
    }
  }
  if (RELATIVE.has(op)) {
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(n) || n < 0)
      throw new Error(`${where}: "${raw}" is not a number of minutes, hours or days`);
    return n;
  }
  if (op === "in") {
    const items = raw
      .split(/[,\n]/)
      .map((s) => s.trim())
      .filter((s) => s !== "");
    return new Set(items.map((item) => prepareOne(type, opts, item, where)));
  }
  return prepareOne(type, opts, raw, where);
}

function prepareOne(type: ValueType, opts: ReadOptions, raw: string, where: string): unknown {
  const value = reader(type, opts)(raw);
  if (value === UNREADABLE)
    throw new Error(
      `${where}: "${raw}" is not a ${type === "date" ? "date (use ISO 8601, e.g. 2026-11-27 or 2026-11-27T10:00:00Z)" : type}`,
    );
  return value;
}

type ValueOf = (record: unknown) => unknown;

/** One element's verdict for the positive form of the operator. */
function elementTest(
  op: Operator,
  type: ValueType,
  read: (v: unknown) => unknown,
  v1: ValueOf,
  v2: ValueOf,
  now: number,
  unit: keyof typeof UNIT_MS,
): (value: unknown, record: unknown) => Verdict {
  switch (op) {
    case "exists":
      return (value) => (value !== undefined && value !== null ? YES : NO);
    case "empty":
      return (value) => (isEmpty(value) ? YES : NO);
    case "true":
    case "false": {
      const want = op === "true";
      return (value) => {
        if (value === undefined || value === null) return NO;
        const b = toBoolean(value);
        return b === UNREADABLE ? BAD : b === want ? YES : NO;
      };
    }
    case "within_last":
    case "within_next":
    case "older_than": {
      const span = UNIT_MS[unit] ?? UNIT_MS.days;
      return (value, record) => {
        if (value === undefined || value === null) return NO;
        // These operators always read dates: `read` is the condition's date reader (its zone).
        const t = read(value);
        if (t === UNREADABLE) return BAD;
        const amount = (v1(record) as number) * span;
        if (op === "older_than") return (t as number) < now - amount ? YES : NO;
        if (op === "within_last") return (t as number) >= now - amount && (t as number) <= now ? YES : NO;
        return (t as number) >= now && (t as number) <= now + amount ? YES : NO;
      };
    }
    case "contains":
      if (type === "string") {
        return (value, record) => {
          if (value === undefined || value === null) return NO;
          const want = v1(record);
          if (want === UNREADABLE) return BAD;
          // An array field without [*]: "contains" means one of its elements is the value.
          if (Array.isArray(value)) return value.some((e) => read(e) === want) ? YES : NO;
          const s = read(value);
          return s === UNREADABLE ? BAD : (s as string).includes(want as string) ? YES : NO;
        };
      }
      return (value, record) => {
        if (!Array.isArray(value)) return value === undefined || value === null ? NO : BAD;
        const want = v1(record);
        if (want === UNREADABLE) return BAD;
        return value.some((e) => read(e) === want) ? YES : NO;
      };
    default:
      break;
  }
  const compare = comparison(op, type);
  if (op === "between")
    return (value, record) => {
      if (value === undefined || value === null) return NO;
      const a = read(value);
      if (a === UNREADABLE) return BAD;
      const b = v1(record);
      if (b === UNREADABLE) return BAD;
      const c = v2(record);
      if (c === UNREADABLE) return BAD;
      return compare(a, b, c) ? YES : NO;
    };
  return (value, record) => {
    if (value === undefined || value === null) return NO;
    const a = read(value);
    if (a === UNREADABLE) return BAD;
    const b = v1(record);
    if (b === UNREADABLE) return BAD;
    return compare(a, b, undefined) ? YES : NO;
  };
}

function comparison(op: Operator, type: ValueType): (a: unknown, b: unknown, c: unknown) => boolean {
  // Numbers are doubles, or exact decimal text when longer than a double holds (see toNumber).
  if (type === "number") {
    const quick = (a: unknown, b: unknown) => typeof a === "number" && typeof b === "number";
    switch (op) {
      case "gt":
        return (a, b) => (quick(a, b) ? (a as number) > (b as number) : compareExact(a, b) > 0);
      case "gte":
        return (a, b) => (quick(a, b) ? (a as number) >= (b as number) : compareExact(a, b) >= 0);
      case "lt":
        return (a, b) => (quick(a, b) ? (a as number) < (b as number) : compareExact(a, b) < 0);
      case "lte":
        return (a, b) => (quick(a, b) ? (a as number) <= (b as number) : compareExact(a, b) <= 0);
      case "between":
        return (a, b, c) =>
          quick(a, b) && typeof c === "number"
            ? (a as number) >= (b as number) && (a as number) <= c
            : compareExact(a, b) >= 0 && compareExact(a, c) <= 0;
      default:
        // equals and in: each number has one form (toNumber), so === and Set lookups are exact.
        break;
    }
  }
  switch (op) {
    case "equals":
      return (a, b) => a === b;
    case "starts_with":
      return (a, b) => String(a).startsWith(String(b));
    case "ends_with":
      return (a, b) => String(a).endsWith(String(b));
    case "in":
      return (a, b) => (b as Set<unknown>).has(a);
    case "gt":
    case "after":
      return (a, b) => (a as number) > (b as number);
    case "gte":
      return (a, b) => (a as number) >= (b as number);
    case "lt":
    case "before":
      return (a, b) => (a as number) < (b as number);
    case "lte":
      return (a, b) => (a as number) <= (b as number);
    case "between":
      return (a, b, c) => (a as number) >= (b as number) && (a as number) <= (c as number);
    case "regex":
      return (a, b) => (b as UserRegex).test(String(a));
    default:
      throw new Error(`operator ${op} has no comparison`);
  }
}

function toText(v: unknown): unknown {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  return UNREADABLE;
}

/**
 * A number, in one form per value so that === is exact: a double when the double is exactly
 * the value written (any text of up to 15 characters, every JavaScript number), else the exact
 * decimal as canonical text (`123456789012345678`, an 18-digit id a double would round to
 * …680). Ordering between the two forms compares digits (compareExact).
 */
function toNumber(v: unknown): unknown {
  if (typeof v === "number") return Number.isFinite(v) ? v : UNREADABLE;
  if (typeof v === "string") {
    const s = v.trim();
    if (s === "") return UNREADABLE;
    if (s.length > 15) {
      const exact = exactDecimal(s);
      if (exact !== undefined) return exact;
    }
    const n = Number(s);
    return Number.isFinite(n) ? n : UNREADABLE;
  }
  if (typeof v === "bigint") return exactDecimal(v.toString());
  return UNREADABLE;
}

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** Decimal text as [negative, significant digits, position of the point], or undefined. */
function decimalParts(s: string): [boolean, string, number] | undefined {
  const m = DECIMAL.exec(s);
  if (!m || (m[2] === "" && !m[3])) return undefined;
  const exp = m[4] ? Number(m[4]) : 0;
  if (Math.abs(exp) > 400) return undefined;
  let digits = m[2] + (m[3] ?? "");
  let point = m[2].length + exp;
  let lead = 0;
  while (lead < digits.length && digits.charCodeAt(lead) === 48) lead++;
  let end = digits.length;
  while (end > lead && digits.charCodeAt(end - 1) === 48) end--;
  digits = digits.slice(lead, end);
  point -= lead;
  return [m[1] === "-" && digits !== "", digits, point];
}

/** Canonical decimal text: no exponent, no leading or trailing zeros, "-" only when below zero. */
function plainDecimal([negative, digits, point]: [boolean, string, number]): string {
  if (digits === "") return "0";
  const text =
    point <= 0
      ? `0.${"0".repeat(-point)}${digits}`
      : point >= digits.length
        ? digits + "0".repeat(point - digits.length)
        : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return negative ? `-${text}` : text;
}

/** Long decimal text as its number form (see toNumber), or undefined when not plain decimal text. */
function exactDecimal(s: string): number | string | undefined {
  const parts = decimalParts(s);
  if (!parts) return undefined;
  // Up to 15 significant digits, the nearest double keeps the value's place among all others.
  if (parts[1].length <= 15) return parts[1] === "" ? 0 : Number(s);
  const text = plainDecimal(parts);
  const n = Number(text);
  return Number.isFinite(n) && plainDecimal(decimalParts(String(n))!) === text ? n : text;
}

/** Orders two numbers in their toNumber forms exactly, by their decimal digits. */
function compareExact(a: unknown, b: unknown): number {
  const x = typeof a === "number" ? plainDecimal(decimalParts(String(a))!) : (a as string);
  const y = typeof b === "number" ? plainDecimal(decimalParts(String(b))!) : (b as string);
  const nx = x.startsWith("-");
  const ny = y.startsWith("-");
  if (nx !== ny) return nx ? -1 : 1;
  const size = compareMagnitude(nx ? x.slice(1) : x, ny ? y.slice(1) : y);
  return nx ? -size : size;
}

function compareMagnitude(x: string, y: string): number {
  const [xi, xf = ""] = x.split(".");
  const [yi, yf = ""] = y.split(".");
  if (xi.length !== yi.length) return xi.length < yi.length ? -1 : 1;
  if (xi !== yi) return xi < yi ? -1 : 1;
  return xf === yf ? 0 : xf < yf ? -1 : 1;
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** 400 Gregorian years in milliseconds: Date.UTC reads years 0–99 as 1900–1999. */
const FOUR_CENTURIES = 146_097 * 86_400_000;

/** Dates in UTC, when the condition names no zone. */
const toUtcTime = (v: unknown) => toTime(v, undefined);

/**
 * Dates: ISO 8601 text, epoch milliseconds (or seconds, below 10^11), Date objects. As ms.
 * A date or time without an offset is read in `zone`, or UTC: never in the server's zone.
 */
function toTime(v: unknown, zone: Zone | undefined): unknown {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? UNREADABLE : v.getTime();
  if (typeof v === "number") return Number.isFinite(v) ? (Math.abs(v) < 1e11 ? v * 1000 : v) : UNREADABLE;
  if (typeof v === "string") {
    const s = v.trim();
    if (/^-?\d+(\.\d+)?$/.test(s)) return toTime(Number(s), zone);
    return isoTime(s, zone);
  }
  return UNREADABLE;
}

/** The number written by `n` digits at `i`, or -1. */
function digitsAt(s: string, i: number, n: number): number {
  let out = 0;
  for (let k = i; k < i + n; k++) {
    const d = s.charCodeAt(k) - 48;
    if (!(d >= 0 && d <= 9)) return -1;
    out = out * 10 + d;
  }
  return out;
}

/**
 * ISO 8601 text, read by hand (quicker than a regex, and never Date.parse, which reads a time
 * without an offset in the server's zone): `2026-11-27`, then optionally `T` (or a space)
 * `10:00`, `:00`, `.123`; then `Z`, `+01:00`, `+0100`, `+01`, `UTC` / `GMT`, or no offset.
 */
function isoTime(s: string, zone: Zone | undefined): unknown {
  const year = digitsAt(s, 0, 4);
  const month = digitsAt(s, 5, 2);
  const day = digitsAt(s, 8, 2);
  if (year < 0 || month < 0 || day < 0 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return UNREADABLE;
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (month < 1 || month > 12 || day < 1 || day > DAYS[month - 1] + (leap ? 1 : 0)) return UNREADABLE;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let ms = 0;
  let i = 10;
  const sep = s[10];
  if (sep === "T" || sep === "t" || (sep === " " && s.charCodeAt(13) === 58)) {
    hour = digitsAt(s, 11, 2);
    minute = digitsAt(s, 14, 2);
    if (hour < 0 || minute < 0 || s.charCodeAt(13) !== 58) return UNREADABLE;
    i = 16;
    if (s.charCodeAt(i) === 58) {
      second = digitsAt(s, i + 1, 2);
      if (second < 0) return UNREADABLE;
      i += 3;
      if (s[i] === "." || s[i] === ",") {
        const start = ++i;
        while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
        if (i === start) return UNREADABLE;
        ms = +`${s.slice(start, Math.min(i, start + 3))}00`.slice(0, 3);
      }
    }
    if (hour > 24 || minute > 59 || second > 59 || (hour === 24 && (minute || second || ms)))
      return UNREADABLE;
  }
  while (s[i] === " ") i++;
  const wall =
    year < 100
      ? Date.UTC(year + 400, month - 1, day, hour, minute, second, ms) - FOUR_CENTURIES
      : Date.UTC(year, month - 1, day, hour, minute, second, ms);
  if (i === s.length) return zone ? wallTime(wall, zone) : wall;
  const rest = s.slice(i);
  if (rest === "Z" || rest === "z" || rest === "UTC" || rest === "GMT") return wall;
  const sign = rest[0];
  if (sign !== "+" && sign !== "-") return UNREADABLE;
  const hours = digitsAt(rest, 1, 2);
  let minutes = 0;
  if (rest.length === 6 && rest[3] === ":") minutes = digitsAt(rest, 4, 2);
  else if (rest.length === 5) minutes = digitsAt(rest, 3, 2);
  else if (rest.length !== 3) return UNREADABLE;
  if (hours < 0 || hours > 23 || minutes < 0 || minutes > 59) return UNREADABLE;
  const offset = (hours * 60 + minutes) * 60_000;
  return sign === "+" ? wall - offset : wall + offset;
}

/** The moment a wall-clock time (as if UTC) is in a zone; as luxon resolves a change of offset. */
function wallTime(wall: number, zone: Zone): number {
  const o1 = zone.offset(wall);
  let guess = wall - o1 * 60_000;
  const o2 = zone.offset(guess);
  if (o1 === o2) return guess;
  guess -= (o2 - o1) * 60_000;
  const o3 = zone.offset(guess);
  return o2 === o3 ? guess : wall - Math.min(o2, o3) * 60_000;
}

function toBoolean(v: unknown): unknown {
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v === 1 ? true : v === 0 ? false : UNREADABLE;
  if (typeof v === "string") {
    const s = v.trim().toLowerCase();
    if (s === "true" || s === "yes" || s === "1") return true;
    if (s === "false" || s === "no" || s === "0") return false;
  }
  return UNREADABLE;
}

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (typeof v === "string") return v.trim() === "";
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === "object") return Object.keys(v as object).length === 0;
  return false;
}

function whyBad(type: ValueType, op: Operator): string {
  if (op === "contains" && type !== "string") return "is not a list to look in";
  return type === "date"
    ? "is not a date"
    : type === "number"
      ? "is not a number"
      : type === "boolean"
        ? "is not true or false"
        : "is not text";
}

function preview(value: unknown): string {
  let text: string;
  try {
    text = typeof value === "string" ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
