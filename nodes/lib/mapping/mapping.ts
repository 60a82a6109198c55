import { compileGetter, parsePath, parseTargetPath, step, type Getter, type Segment } from "../paths";
import { compileTemplate, type TemplateView } from "../templates";
import { MappedDate } from "./dates";
import { elementNotRecord, notARecord, payloadNotRecords } from "../record-check";
import {
  compileChain,
  describe,
  literal,
  TransformError,
  TransformLimitError,
  type CompileDeps,
  type MapEnv,
  type TransformSpec,
} from "./transforms";

/**
 * The map shape's engine: rules compiled once into one function over a record, run over
 * every record of the payload. Paths are parsed and templates compiled here, never per record.
 *
 * Wildcards pair by position: `line_items[*].sku` → `items[*].code` writes element i of the
 * source to element i of the target; nested wildcards pair in order; a source through `[*]`
 * into a target without one gives an array (and the target's [*]s pair with the source's
 * first ones, the rest collected into arrays).
 */
export interface MapRule {
  /** Shown in errors and in the editor. */
  name?: string;
  /** Path in the source record; empty for a static value. */
  source?: string;
  target: string;
  /** A static rule's value: text, number, true/false, JSON, null, or a {{ }} template. */
  valueType?: "str" | "num" | "bool" | "json" | "null" | "template";
  value?: string;
  transforms?: TransformSpec[];
  /** A value a transform cannot work with: fail the message (default), leave the field out, or write the default. */
  onError?: "fail" | "skip" | "default";
  default?: string;
  defaultType?: string;
}

export interface MapOptions {
  /** Treat a single-record payload as a list of one (and so always output a list). */
  wrapInput?: boolean;
  /** Always output a list, even for a single record in. */
  wrapOutput?: boolean;
}

export interface MessageContext {
  view(): TemplateView;
  now: number;
}

export class MappingError extends Error {}

export interface Mapping {
  /** Maps a payload: each record of an array, or the one record. */
  map(payload: unknown, ctx: MessageContext): unknown;
  /** Maps one record (for the editor's test button and tests). */
  mapRecord(record: unknown, ctx: MessageContext, index?: number): Record<string, unknown>;
}

type Apply = (record: unknown, out: Record<string, unknown>, env: MapEnv, index: number) => void;

export function compileMapping(
  rules: MapRule[],
  options: MapOptions = {},
  deps: CompileDeps = { table: () => undefined },
): Mapping {
  if (!Array.isArray(rules)) throw new Error("the rules must be a list");
  const problems: RuleProblem[] = [];
  const applies = rules.map((rule, i) => {
    try {
      return compileRule(rule, deps);
    } catch (err) {
      problems.push(ruleProblem(rule, i, err));
      return undefined;
    }
  });
  // Every rule's problem at once, so one deploy shows all there is to fix.
  if (problems.length)
    throw new Error(problems.map((p) => p.message).join("; "), { cause: problems[0].cause });
  const compiled = applies as Apply[];
  const count = compiled.length;

  const one = (record: unknown, env: MapEnv, index: number): Record<string, unknown> => {
    env.record = record;
    const out: Record<string, unknown> = {};
    for (let r = 0; r < count; r++) compiled[r](record, out, env, index);
    return out;
  };
  const envFor = (ctx: MessageContext): MapEnv => {
    let view: TemplateView | undefined;
    return { record: undefined, now: ctx.now, view: () => (view ??= ctx.view()) };
  };

  return {
    map(payload, ctx) {
      const env = envFor(ctx);
      // Records are objects: text or a number is not mapped as a record without fields.
      if (Array.isArray(payload)) {
        const out = new Array(payload.length);
        for (let i = 0; i < payload.length; i++) {
          const record = payload[i];
          if (typeof record !== "object" || record === null)
            throw new MappingError(elementNotRecord(notARecord(record) as string, record, i).message);
          out[i] = one(record, env, i);
        }
        return out;
      }
      const what = notARecord(payload);
      if (what) throw new MappingError(payloadNotRecords(what, payload).message);
      const mapped = one(payload, env, 0);
      return options.wrapInput || options.wrapOutput ? [mapped] : mapped;
    },
    mapRecord(record, ctx, index = 0) {
      return one(record, envFor(ctx), index);
    },
  };
}

/** A rule that does not compile: the message names the rule; `part` is the rule's input at fault. */
export interface RuleProblem {
  message: string;
  /** The rule's position in the list. */
  rule: number[];
  part?: "target" | "source" | "value" | "transforms";
  cause?: unknown;
}

/** An error about one input of a rule (its target, source, value or transforms). */
class PartError extends Error {
  constructor(
    message: string,
    readonly part: NonNullable<RuleProblem["part"]>,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

function at<T>(part: NonNullable<RuleProblem["part"]>, compile: () => T): T {
  try {
    return compile();
  } catch (err) {
    throw err instanceof PartError ? err : new PartError((err as Error).message, part, { cause: err });
  }
}

function ruleProblem(rule: MapRule | undefined, i: number, err: unknown): RuleProblem {
  return {
    message: `rule ${i + 1}${rule?.name ? ` "${rule.name}"` : ""}: ${(err as Error).message}`,
    rule: [i],
    part: err instanceof PartError ? err.part : undefined,
    cause: err,
  };
}

/** Every rule's problem (none when the mapping compiles), for the editor: what a deploy would refuse. */
export function mappingProblems(
  rules: unknown,
  deps: CompileDeps = { table: () => undefined },
): RuleProblem[] {
  if (!Array.isArray(rules)) return [{ message: "the rules must be a list", rule: [] }];
  const out: RuleProblem[] = [];
  (rules as MapRule[]).forEach((rule, i) => {
    try {
      compileRule(rule, deps);
    } catch (err) {
      const { cause: _cause, ...problem } = ruleProblem(rule, i, err);
      out.push(problem);
    }
  });
  return out;
}

function compileRule(rule: MapRule, deps: CompileDeps): Apply {
  if (!rule || typeof rule !== "object") throw new Error("not a rule");
  const targetText = (rule.target ?? "").trim();
  if (!targetText) throw new PartError("needs a target field", "target");
  const target = at("target", () => parseTargetPath(targetText));
  const sourceText = (rule.source ?? "").trim();
  const chain = at("transforms", () => compileChain(rule.transforms, deps));
  const label = `rule "${rule.name || `${sourceText || "(value)"} → ${targetText}`}"`;
  const policy = rule.onError ?? "fail";
  if (!["fail", "skip", "default"].includes(policy)) throw new Error(`unknown error policy "${policy}"`);
  const fallback = policy === "default" ? literal(rule.default, rule.defaultType ?? "str") : undefined;
  const targetStars = target.filter((s) => s.kind === "all").length;

  /** The transforms under the rule's error policy; SKIP leaves the field out. */
  const transform = (value: unknown, env: MapEnv, index: number): unknown => {
    if (!chain) return value;
    try {
      return chain(value, env);
    } catch (err) {
      if (err instanceof TransformLimitError)
        throw new MappingError(`${label}: record ${index}: ${err.message}`);
      if (!(err instanceof TransformError)) throw err;
      if (policy === "skip") return SKIP;
      if (policy === "default") return fallback;
      throw new MappingError(`${label}: record ${index}: ${err.message} (value ${describe(value)})`);
    }
  };

  if (!sourceText) {
    if (targetStars > 0) throw new Error("a value without a source cannot go to a target through [*]");
    const set = compileSetter(target);
    const type = rule.valueType ?? "str";
    if (type === "template") {
      const template = at("value", () => compileTemplate(rule.value ?? ""));
      return (record, out, env, index) =>
        write(set, out, transform(template({ ...env.view(), record } as TemplateView), env, index), []);
    }
    const constant = at("value", () => literal(rule.value, type));
    return (_record, out, env, index) => write(set, out, transform(constant, env, index), []);
  }

  const source = at("source", () => parsePath(sourceText));
  const sourceStars = source.filter((s) => s.kind === "all").length;
  if (targetStars > sourceStars)
    throw new Error(
      `the target has ${targetStars} [*] but the source only ${sourceStars}: each target [*] pairs with one of the source`,
    );
  const set = compileSetter(target);

  /**
   * The source field is not in the record (nor is the list a [*] goes through). Transforms made
   * for that (default when empty, …) may still give a value; otherwise the rule's policy decides:
   * fail the message naming the field, leave the field out, or write the default.
   */
  const missing = (out: Record<string, unknown>, env: MapEnv, index: number): void => {
    const value = transform(undefined, env, index);
    if (value !== undefined) return write(set, out, value, []);
    if (policy === "skip") return;
    if (policy === "default") return write(set, out, fallback, []);
    throw new MappingError(
      `${label}: record ${index}: the source field "${sourceText}" is not in the record ` +
        `(if it is optional, choose "leave the field out" or a default for the rule)`,
    );
  };
  // Through [*], the field is missing when the list itself is; an element without it is left out.
  const firstStar = source.findIndex((s) => s.kind === "all");
  const list: Getter | undefined = firstStar < 0 ? undefined : compileGetter(source.slice(0, firstStar));

  if (sourceStars === 0 || targetStars === 0) {
    // One value per record: the value, or every value found through the source's [*]s.
    const get: Getter = compileGetter(source);
    if (!list)
      return (record, out, env, index) => {
        const value = get(record);
        if (value === undefined) return missing(out, env, index);
        write(set, out, transform(value, env, index), []);
      };
    return (record, out, env, index) => {
      const head = list(record);
      if (head === undefined || head === null) return missing(out, env, index);
      write(set, out, transform(get(record), env, index), []);
    };
  }

  // Paired: each value goes to the target element with the same indices.
  return (record, out, env, index) => {
    const head = (list as Getter)(record);
    if (head === undefined || head === null) return missing(out, env, index);
    if (targetStars === sourceStars) {
      walkIndexed(record, source, 0, [], (value, idx) => write(set, out, transform(value, env, index), idx));
      return;
    }
    // Fewer [*] in the target: the extra levels are collected into arrays.
    const groups = new Map<string, { idx: number[]; values: unknown[] }>();
    walkIndexed(record, source, 0, [], (value, idx) => {
      const head = idx.slice(0, targetStars);
      const key = head.join(",");
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { idx: head, values: [] }));
      group.values.push(value);
    });
    for (const group of groups.values()) write(set, out, transform(group.values, env, index), group.idx);
  };
}

const SKIP = Symbol("skip");

type Setter = (out: Record<string, unknown>, value: unknown, idx: number[]) => void;

function write(set: Setter, out: Record<string, unknown>, value: unknown, idx: number[]): void {
  if (value === undefined || value === SKIP) return;
  set(out, finalValue(value), idx);
}

/** Dates leave the mapping as ISO text (in the zone they were given); everything else as it is. */
function finalValue(value: unknown): unknown {
  if (value === 0) return 0; // never -0
  if (value instanceof MappedDate) return value.toJSON();
  if (Array.isArray(value) && value.some((v) => v instanceof MappedDate)) return value.map(finalValue);
  return value;
}

function walkIndexed(
  value: unknown,
  segments: Segment[],
  from: number,
  idx: number[],
  found: (value: unknown, idx: number[]) => void,
): void {
  let current = value;
  for (let i = from; i < segments.length; i++) {
    if (current === null || current === undefined) return;
    const seg = segments[i];
    if (seg.kind === "all") {
      if (!Array.isArray(current)) return;
      for (let n = 0; n < current.length; n++) {
        idx.push(n);
        walkIndexed(current[n], segments, i + 1, idx, found);
        idx.pop();
      }
      return;
    }
    current = step(current, seg);
  }
  if (current !== undefined) found(current, idx);
}

/**
 * Writes at a target path, creating objects and arrays on the way; each [*] takes the next
 * index. The path's keys were checked by parseTargetPath: none reaches a prototype.
 */
function compileSetter(segments: Segment[]): Setter {
  if (segments.length === 1 && segments[0].kind === "key") {
    const key = segments[0].key;
    return (out, value) => {
      out[key] = value;
    };
  }
  const keys = segments.map((s) => (s.kind === "key" ? s.key : s.kind === "index" ? s.index : null));
  const last = segments.length - 1;
  return (out, value, idx) => {
    let node: Record<string | number, unknown> = out;
    let star = 0;
    for (let i = 0; i < last; i++) {
      const key = keys[i] ?? idx[star++];
      let next = node[key];
      if (next === null || typeof next !== "object") {
        next = segments[i + 1].kind === "key" ? {} : [];
        node[key] = next;
      }
      node = next as Record<string | number, unknown>;
    }
    node[keys[last] ?? idx[star]] = value;
  };
}
