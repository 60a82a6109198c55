import { parsePath, type Segment } from "./paths";

/**
 * The assert shape's engine: compares a payload with an expected payload and lists every
 * difference by path, compiled once from the shape's settings.
 *
 * - `equal`: the same fields, elements and values (deep equality).
 * - `subset`: every field of the expected payload is present with its value; the payload may
 *   have more fields. Arrays still need the same number of elements (each compared as a subset).
 * - `ignoreOrder`: arrays match when each expected element matches a different element anywhere
 *   in the array (first fit, so in subset mode list the most specific expected elements first).
 * - ignored paths (the path syntax of every shape: `updated_at`, `[*].id`, `line_items[*].price`):
 *   those fields are left out on both sides, wherever they are missing or different.
 */

export type ComparisonMode = "equal" | "subset";

export interface ComparisonConfig {
  expected: unknown;
  mode?: ComparisonMode;
  ignoreOrder?: boolean;
  ignorePaths?: string[];
}

export type Problem = "different value" | "different type" | "missing" | "unexpected" | "not found";

export interface Difference {
  /** Where, in the path syntax of the shapes (`[0].customer.email`); empty: the payload itself. */
  path: string;
  problem: Problem;
  expected?: unknown;
  actual?: unknown;
}

export interface Comparison {
  pass: boolean;
  /** The first `MAX_DIFFERENCES`, in payload order. */
  differences: Difference[];
  /** How many differences there are in all. */
  count: number;
  /** The differences as lines a person reads (no more than the first `MAX_DIFFERENCES`). */
  text: string;
}

export const MAX_DIFFERENCES = 50;
const VALUE_CHARS = 120;

type Step = string | number;

/** Parses the expected payload: JSON text, refused when empty or not JSON (`{}` is fine). */
export function parseExpected(text: unknown): unknown {
  if (typeof text !== "string" || !text.trim())
    throw new Error("the expected payload is empty: paste the payload you expect ({} or [] are allowed)");
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`the expected payload is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

/** Parses the ignored paths once; a bad one throws naming its row. */
export function compileIgnorePaths(paths: unknown): Segment[][] {
  if (paths === undefined || paths === null) return [];
  if (!Array.isArray(paths)) throw new Error("the ignored paths must be a list of paths");
  return paths.map((p, i) => {
    const text = typeof p === "string" ? p.trim() : "";
    if (!text)
      throw new Error(
        `ignored path ${i + 1} is empty: write a path such as updated_at or [*].id, or remove the row`,
      );
    try {
      return parsePath(text);
    } catch (err) {
      throw new Error(`ignored path ${i + 1}: ${(err as Error).message}`, { cause: err });
    }
  });
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);

/** A value as JSON would carry it: a Date is its ISO text. */
const plain = (v: unknown): unknown => (v instanceof Date ? v.toISOString() : v);

const kind = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

export function formatPath(steps: Step[]): string {
  let out = "";
  for (const s of steps) {
    if (typeof s === "number") out += `[${s}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(s)) out += out ? `.${s}` : s;
    else out += `['${s.replace(/'/g, "\\'")}']`;
  }
  return out;
}

/** A value in a line of text: JSON, cut short. */
export function show(value: unknown): string {
  let text: string;
  try {
    text = value === undefined ? "nothing" : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > VALUE_CHARS ? text.slice(0, VALUE_CHARS) + "…" : text;
}

const typed = (v: unknown): string => (v === null ? "null" : `${kind(v)} ${show(v)}`);

export function describeDifference(d: Difference): string {
  const at = d.path || "(the payload)";
  switch (d.problem) {
    case "missing":
      return `${at}: missing (expected ${show(d.expected)})`;
    case "unexpected":
      return `${at}: not expected (got ${show(d.actual)})`;
    case "not found":
      return `${at}: no element matches ${show(d.expected)}`;
    case "different type":
      return `${at}: expected ${typed(d.expected)}, got ${typed(d.actual)}`;
    default:
      return `${at}: expected ${show(d.expected)}, got ${show(d.actual)}`;
  }
}

/** Compiles the settings once into a function from a payload to its comparison. */
export function compileComparison(config: ComparisonConfig): (actual: unknown) => Comparison {
  const mode: ComparisonMode = config.mode === "subset" ? "subset" : "equal";
  if (config.mode !== undefined && config.mode !== "equal" && config.mode !== "subset")
    throw new Error(`unknown comparison "${String(config.mode)}" (use equal or subset)`);
  const ignoreOrder = config.ignoreOrder === true;
  const ignored = compileIgnorePaths(config.ignorePaths);
  const expected = config.expected;

  const isIgnored = (steps: Step[]): boolean =>
    ignored.some(
      (pattern) =>
        pattern.length === steps.length &&
        pattern.every((seg, i) => {
          const s = steps[i];
          if (seg.kind === "all") return true;
          if (seg.kind === "index") return s === seg.index;
          return s === seg.key;
        }),
    );

  /** Adds the differences between e and a under `steps` to `out`; stops early when `out` is full. */
  function compare(e: unknown, a: unknown, steps: Step[], out: Difference[], limit: number): void {
    if (out.length >= limit || isIgnored(steps)) return;
    const av = plain(a);
    if (Array.isArray(e) && Array.isArray(av)) return compareArrays(e, av, steps, out, limit);
    if (isObject(e) && isObject(av)) return compareObjects(e, av, steps, out, limit);
    if (kind(e) !== kind(av))
      out.push({ path: formatPath(steps), problem: "different type", expected: e, actual: av });
    else if (e !== av && !(Number.isNaN(e) && Number.isNaN(av)))
      out.push({ path: formatPath(steps), problem: "different value", expected: e, actual: av });
  }

  function compareObjects(
    e: Record<string, unknown>,
    a: Record<string, unknown>,
    steps: Step[],
    out: Difference[],
    limit: number,
  ): void {
    for (const key of Object.keys(e)) {
      const at = [...steps, key];
      if (a[key] === undefined || !Object.hasOwn(a, key)) {
        if (e[key] !== undefined && !isIgnored(at))
          out.push({ path: formatPath(at), problem: "missing", expected: e[key] });
      } else compare(e[key], a[key], at, out, limit);
      if (out.length >= limit) return;
    }
    if (mode === "subset") return;
    for (const key of Object.keys(a)) {
      if (Object.hasOwn(e, key) || a[key] === undefined) continue;
      const at = [...steps, key];
      if (!isIgnored(at)) out.push({ path: formatPath(at), problem: "unexpected", actual: a[key] });
      if (out.length >= limit) return;
    }
  }

  const matches = (e: unknown, a: unknown, steps: Step[]): boolean => {
    const probe: Difference[] = [];
    compare(e, a, steps, probe, 1);
    return probe.length === 0;
  };

  function compareArrays(e: unknown[], a: unknown[], steps: Step[], out: Difference[], limit: number): void {
    if (!ignoreOrder) {
      for (let i = 0; i < Math.max(e.length, a.length) && out.length < limit; i++) {
        const at = [...steps, i];
        if (i >= a.length) {
          if (!isIgnored(at)) out.push({ path: formatPath(at), problem: "missing", expected: e[i] });
        } else if (i >= e.length) {
          if (!isIgnored(at)) out.push({ path: formatPath(at), problem: "unexpected", actual: a[i] });
        } else compare(e[i], a[i], at, out, limit);
      }
      return;
    }
    // Each expected element takes the first unused element that matches it; the same index first.
    const used = new Array<boolean>(a.length).fill(false);
    for (let i = 0; i < e.length && out.length < limit; i++) {
      let found = -1;
      if (i < a.length && !used[i] && matches(e[i], a[i], [...steps, i])) found = i;
      for (let j = 0; found < 0 && j < a.length; j++)
        if (!used[j] && matches(e[i], a[j], [...steps, j])) found = j;
      if (found >= 0) used[found] = true;
      else out.push({ path: formatPath([...steps, i]), problem: "not found", expected: e[i] });
    }
    for (let j = 0; j < a.length && out.length < limit; j++)
      if (!used[j] && !isIgnored([...steps, j]))
        out.push({ path: formatPath([...steps, j]), problem: "unexpected", actual: a[j] });
  }

  return (actual) => {
    // Every difference is counted; the first MAX_DIFFERENCES are kept for the message.
    const shown: Difference[] = [];
    compare(expected, actual, [], shown, Number.MAX_SAFE_INTEGER);
    const count = shown.length;
    const differences = shown.slice(0, MAX_DIFFERENCES);
    const lines = differences.map(describeDifference);
    if (count > differences.length) lines.push(`… and ${count - differences.length} more`);
    const text =
      count === 0
        ? "the payload matches the expected payload"
        : `${count} difference${count === 1 ? "" : "s"} from the expected payload:\n` + lines.join("\n");
    return { pass: count === 0, differences, count, text };
  };
}
