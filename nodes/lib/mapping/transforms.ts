import vm from "node:vm";
import { compileGetter } from "../paths";
import { compileTemplate, type TemplateView } from "../templates";
import { compileUserRegex } from "../user-regex";
import {
  addToDate,
  boundaryOf,
  checkZone,
  dateFormatter,
  dateParser,
  DateValueError,
  MappedDate,
  toDate,
  type DateFormat,
  type DateUnit,
  type Dialect,
} from "./dates";

/**
 * The map shape's transforms. Each is compiled once from its settings into a function of
 * the value; a value it cannot work with throws a TransformError saying why, and the rule's
 * error policy decides what happens. A missing value (undefined or null) passes through
 * every transform except those made for it (default, now, template, expression).
 */
export interface TransformSpec {
  type: string;
  [setting: string]: unknown;
}

/** What a transform may read besides its value. */
export interface MapEnv {
  record: unknown;
  view(): TemplateView;
  now: number;
}

export type TransformFn = (value: unknown, env: MapEnv) => unknown;

/** A cross-reference table as the map sees it (see pw-lookup-table). */
export interface LookupTable {
  name: string;
  /** The value for a key in a column (the first value column when none is named), or undefined. */
  get(key: unknown, column?: string): unknown;
  /** What the table says to do with a key it does not have. */
  miss: "default" | "passthrough" | "error";
  defaultValue?: string;
  columns: string[];
}

export interface CompileDeps {
  table(id: string): LookupTable | undefined;
  /** The most an expression may ask for (settings.js `patchworks.map.maxExpressionMs`); 1000 ms when unset. */
  maxExpressionMs?: number;
}

/** An expression's time limit when the rule sets none, and the cap when settings.js sets none. */
export const EXPRESSION_DEFAULT_MS = 100;
export const EXPRESSION_CAP_MS = 1000;

export class TransformError extends Error {}

/** A transform that must fail the message whatever the rule's error policy says (an expression over its time limit). */
export class TransformLimitError extends Error {}

interface Def {
  /** each: applied to every element of an array value; whole: to the value as it is. */
  arrays: "each" | "whole";
  /** Runs even when the value is missing. */
  missing?: boolean;
  compile(s: TransformSpec, deps: CompileDeps): TransformFn;
}

const str = (s: TransformSpec, key: string, fallback = ""): string =>
  s[key] === undefined || s[key] === null ? fallback : String(s[key]);
const num = (s: TransformSpec, key: string, fallback?: number): number => {
  const raw = s[key];
  if ((raw === undefined || raw === "") && fallback !== undefined) return fallback;
  const n = Number(raw);
  if (raw === undefined || raw === "" || !Number.isFinite(n))
    throw new Error(`"${key}" must be a number, not "${String(raw ?? "")}"`);
  return n;
};

function text(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value);
  if (value instanceof MappedDate) return value.toJSON();
  throw new TransformError(`cannot use ${describe(value)} as text`);
}

function number(value: unknown, decimal = "."): number {
  if (typeof value === "number") {
    if (Number.isFinite(value)) return value;
    throw new TransformError(`${value} is not a usable number`);
  }
  if (typeof value === "string") {
    // Most values are plain numbers already: "120.50".
    if (decimal === "." && value !== "") {
      const quick = Number(value);
      if (Number.isFinite(quick) && value.trim() !== "") return quick;
    }
    let s = value.trim().replace(/[\s\u00a0]/g, "");
    if (decimal === ",") s = s.replace(/\./g, "").replace(",", ".");
    else s = s.replace(/,/g, "");
    // A currency sign in front is common in exports: "£12.50".
    s = s.replace(/^[^\d+\-.]+/, "");
    const n = s === "" ? Number.NaN : Number(s);
    if (Number.isFinite(n)) return n;
  }
  if (typeof value === "boolean") return value ? 1 : 0;
  throw new TransformError(`cannot read ${describe(value)} as a number`);
}

function date(value: unknown, zone?: string): MappedDate {
  try {
    return toDate(value, zone);
  } catch (err) {
    if (err instanceof DateValueError) throw new TransformError(`${describe(value)} ${err.message}`);
    throw err;
  }
}

const roundTo = (n: number, places: number, mode: "round" | "ceil" | "floor") => {
  const f = 10 ** places;
  // Shifting through exponent notation avoids 1.005 * 100 = 100.49999.
  const shifted = Number(`${n}e${places}`);
  const r =
    mode === "ceil" ? Math.ceil(shifted) : mode === "floor" ? Math.floor(shifted) : Math.round(shifted);
  return Number.isFinite(shifted) ? Number(`${r}e-${places}`) : Math[mode](n * f) / f;
};

/** Start or end of the day, week or month, in the given zone or the date's own. */
function boundary(edge: "start" | "end"): Def {
  return {
    arrays: "each",
    compile(s) {
      const zone = s.zone ? checkZone(str(s, "zone")) : undefined;
      const unit = str(s, "unit", "day") as "day" | "week" | "month";
      if (!["day", "week", "month"].includes(unit))
        throw new Error(`unknown unit "${unit}" (day, week or month)`);
      return (v) => boundaryOf(date(v), edge, unit, zone);
    },
  };
}

const DEFS: Record<string, Def> = {
  // Date and time
  date_parse: {
    arrays: "each",
    compile(s) {
      const parse = dateParser(
        str(s, "format", "iso") as DateFormat,
        str(s, "pattern"),
        str(s, "dialect", "standard") as Dialect,
        checkZone(str(s, "zone")),
      );
      return (v) => {
        try {
          return parse(v);
        } catch (err) {
          if (err instanceof DateValueError) throw new TransformError(`${describe(v)} ${err.message}`);
          throw err;
        }
      };
    },
  },
  date_format: {
    arrays: "each",
    compile(s) {
      const zone = s.zone ? checkZone(str(s, "zone")) : undefined;
      const format = dateFormatter(
        str(s, "format", "iso") as DateFormat,
        str(s, "pattern"),
        str(s, "dialect", "standard") as Dialect,
        zone,
      );
      return (v) => format(date(v));
    },
  },
  date_zone: {
    arrays: "each",
    compile(s) {
      const zone = checkZone(str(s, "zone"));
      return (v) => new MappedDate(date(v).ms, zone);
    },
  },
  date_add: {
    arrays: "each",
    compile(s) {
      const amount = num(s, "amount");
      const unit = str(s, "unit", "days") as DateUnit;
      if (!["minutes", "hours", "days", "weeks", "months", "years"].includes(unit))
        throw new Error(`unknown unit "${unit}"`);
      return (v) => addToDate(date(v), amount, unit);
    },
  },
  date_start: boundary("start"),
  date_end: boundary("end"),
  now: {
    arrays: "whole",
    missing: true,
    compile(s) {
      const zone = checkZone(str(s, "zone"));
      return (_v, env) => new MappedDate(env.now, zone);
    },
  },

  // Text
  upper: { arrays: "each", compile: () => (v) => text(v).toUpperCase() },
  lower: { arrays: "each", compile: () => (v) => text(v).toLowerCase() },
  capitalise: {
    arrays: "each",
    compile: (s) =>
      str(s, "words") === "true" || s.words === true
        ? (v) =>
            text(v)
              .toLowerCase()
              .replace(/(^|[\s\-'])(\p{L})/gu, (_m, sep: string, ch: string) => sep + ch.toUpperCase())
        : (v) => {
            const t = text(v);
            return t.charAt(0).toUpperCase() + t.slice(1);
          },
  },
  trim: { arrays: "each", compile: () => (v) => text(v).trim() },
  prefix: {
    arrays: "each",
    compile: (s) => {
      const p = str(s, "text");
      return (v) => p + text(v);
    },
  },
  suffix: {
    arrays: "each",
    compile: (s) => {
      const p = str(s, "text");
      return (v) => text(v) + p;
    },
  },
  concat: {
    arrays: "whole",
    missing: true,
    compile(s) {
      const fields = (Array.isArray(s.fields) ? s.fields : str(s, "fields").split(","))
        .map((f) => String(f).trim())
        .filter(Boolean);
      if (fields.length === 0) throw new Error("name the fields to join, e.g. first_name, last_name");
      const getters = fields.map((f) => compileGetter(f));
      const sep = str(s, "separator", " ");
      const keepEmpty = s.keepEmpty === true;
      return (_v, env) => {
        const parts: string[] = [];
        for (const get of getters) {
          const value = get(env.record);
          if (value === undefined || value === null || value === "") {
            if (keepEmpty) parts.push("");
            continue;
          }
          parts.push(text(value));
        }
        return parts.join(sep);
      };
    },
  },
  split: {
    arrays: "each",
    compile(s) {
      const sep = str(s, "separator", ",");
      const trimParts = s.trim !== false;
      return (v) => {
        const parts = text(v).split(sep);
        return trimParts ? parts.map((p) => p.trim()).filter((p) => p !== "") : parts;
      };
    },
  },
  join: {
    arrays: "whole",
    compile(s) {
      const sep = str(s, "separator", ",");
      return (v) => {
        if (!Array.isArray(v)) return text(v);
        let out = "";
        let first = true;
        for (let i = 0; i < v.length; i++) {
          const e = v[i];
          if (e === undefined || e === null) continue;
          out += first ? text(e) : sep + text(e);
          first = false;
        }
        return out;
      };
    },
  },
  replace: {
    arrays: "each",
    compile(s) {
      const find = str(s, "find");
      const replacement = str(s, "replacement");
      if (s.regex === true || s.regex === "true") {
        // The linear-time engine: a pattern it cannot run is refused here, at deploy.
        const re = compileUserRegex(find, str(s, "flags", "g"));
        return (v) => re.replace(text(v), replacement);
      }
      if (find === "") throw new Error("say what text to replace");
      return (v) => text(v).split(find).join(replacement);
    },
  },
  substring: {
    arrays: "each",
    compile(s) {
      const start = num(s, "start", 0);
      const length = s.length === undefined || s.length === "" ? undefined : num(s, "length");
      return (v) => {
        const t = text(v);
        return length === undefined
          ? t.slice(start)
          : t.slice(start < 0 ? t.length + start : start, (start < 0 ? t.length + start : start) + length);
      };
    },
  },
  pad_left: {
    arrays: "each",
    compile(s) {
      const length = num(s, "length");
      const ch = str(s, "char", " ") || " ";
      return (v) => text(v).padStart(length, ch);
    },
  },
  pad_right: {
    arrays: "each",
    compile(s) {
      const length = num(s, "length");
      const ch = str(s, "char", " ") || " ";
      return (v) => text(v).padEnd(length, ch);
    },
  },
  truncate: {
    arrays: "each",
    compile(s) {
      const length = num(s, "length");
      const ellipsis = str(s, "ellipsis");
      return (v) => {
        const t = text(v);
        return t.length <= length ? t : t.slice(0, Math.max(0, length - ellipsis.length)) + ellipsis;
      };
    },
  },
  slug: {
    arrays: "each",
    compile: () => (v) =>
      text(v)
        .normalize("NFKD")
        .replace(/[\u0300-\u036f]/g, "")
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, "-")
        .replace(/^-+|-+$/g, ""),
  },
  default: {
    arrays: "whole",
    missing: true,
    compile(s) {
      const fallback = literal(s.value, str(s, "valueType", "str"));
      return (v) =>
        v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0) ? fallback : v;
    },
  },
  url_encode: { arrays: "each", compile: () => (v) => encodeURIComponent(text(v)) },

  // Numbers
  to_number: {
    arrays: "each",
    compile(s) {
      const decimal = str(s, "decimal", ".");
      return (v) => (v === "" ? undefined : number(v, decimal));
    },
  },
  round: {
    arrays: "each",
    compile(s) {
      const places = num(s, "places", 0);
      const mode = str(s, "mode", "round") as "round" | "ceil" | "floor";
      if (!["round", "ceil", "floor"].includes(mode)) throw new Error(`unknown rounding "${mode}"`);
      return (v) => roundTo(number(v), places, mode);
    },
  },
  math: {
    arrays: "each",
    compile(s) {
      const op = str(s, "op", "add");
      const apply: Record<string, (a: number, b: number) => number> = {
        add: (a, b) => a + b,
        subtract: (a, b) => a - b,
        multiply: (a, b) => a * b,
        divide: (a, b) => a / b,
      };
      const f = apply[op];
      if (!f) throw new Error(`unknown operation "${op}" (add, subtract, multiply, divide)`);
      const byField = str(s, "operandType") === "field";
      const get = byField ? compileGetter(str(s, "operand")) : undefined;
      const constant = byField ? 0 : num(s, "operand");
      if (!byField && op === "divide" && constant === 0) throw new Error("cannot divide by 0");
      return (v, env) => {
        const b = get ? number(get(env.record)) : constant;
        if (op === "divide" && b === 0) throw new TransformError("would divide by 0");
        return f(number(v), b);
      };
    },
  },
  abs: { arrays: "each", compile: () => (v) => Math.abs(number(v)) },
  min: {
    arrays: "whole",
    compile(s) {
      const bound = s.value === undefined || s.value === "" ? undefined : num(s, "value");
      return (v) =>
        Array.isArray(v)
          ? v.length
            ? Math.min(...v.map((e) => number(e)))
            : undefined
          : bound === undefined
            ? number(v)
            : Math.min(number(v), bound);
    },
  },
  max: {
    arrays: "whole",
    compile(s) {
      const bound = s.value === undefined || s.value === "" ? undefined : num(s, "value");
      return (v) =>
        Array.isArray(v)
          ? v.length
            ? Math.max(...v.map((e) => number(e)))
            : undefined
          : bound === undefined
            ? number(v)
            : Math.max(number(v), bound);
    },
  },
  fixed: {
    arrays: "each",
    compile(s) {
      const places = num(s, "places", 2);
      return (v) => roundTo(number(v), places, "round").toFixed(places);
    },
  },
  to_minor: {
    arrays: "each",
    compile(s) {
      const digits = num(s, "digits", 2);
      return (v) => Math.round(roundTo(number(v), digits, "round") * 10 ** digits);
    },
  },
  to_major: {
    arrays: "each",
    compile(s) {
      const digits = num(s, "digits", 2);
      return (v) => roundTo(number(v) / 10 ** digits, digits, "round");
    },
  },

  // Other
  lookup: {
    arrays: "each",
    compile(s, deps) {
      const id = str(s, "table");
      const table = deps.table(id);
      if (!table) throw new Error(`the lookup table "${id}" does not exist (choose one in the rule)`);
      const column = str(s, "column") || undefined;
      if (column && !table.columns.includes(column))
        throw new Error(
          `the lookup table "${table.name}" has no column "${column}" (it has ${table.columns.join(", ")})`,
        );
      const miss = str(s, "miss", "table");
      const policy = miss === "table" ? table.miss : (miss as LookupTable["miss"]);
      const fallback = miss === "table" ? table.defaultValue : str(s, "default");
      return (v) => {
        const found = table.get(v, column);
        if (found !== undefined) return found;
        if (policy === "passthrough") return v;
        if (policy === "default") return fallback;
        throw new TransformError(`${describe(v)} is not in the lookup table "${table.name}"`);
      };
    },
  },
  template: {
    arrays: "whole",
    missing: true,
    compile(s) {
      const template = compileTemplate(str(s, "template"));
      return (v, env) => template({ ...env.view(), record: env.record, value: v } as TemplateView);
    },
  },
  boolean: {
    arrays: "each",
    compile(s) {
      const list = (key: string, fallback: string) =>
        new Set(
          str(s, key, fallback)
            .split(",")
            .map((x) => x.trim().toLowerCase())
            .filter(Boolean),
        );
      const truthy = list("true", "true,yes,y,1,on");
      const falsy = list("false", "false,no,n,0,off,");
      const whenTrue = s.outputTrue === undefined ? true : literal(s.outputTrue, str(s, "outputType", "str"));
      const whenFalse =
        s.outputFalse === undefined ? false : literal(s.outputFalse, str(s, "outputType", "str"));
      return (v) => {
        const key = typeof v === "boolean" ? String(v) : text(v).trim().toLowerCase();
        if (truthy.has(key)) return whenTrue;
        if (falsy.has(key)) return whenFalse;
        throw new TransformError(
          `${describe(v)} is neither true (${[...truthy].join(", ")}) nor false (${[...falsy].filter(Boolean).join(", ")})`,
        );
      };
    },
  },
  to_string: {
    arrays: "whole",
    compile: () => (v) => (typeof v === "object" && !(v instanceof MappedDate) ? JSON.stringify(v) : text(v)),
  },
  json_parse: {
    arrays: "each",
    compile: () => (v) => {
      if (typeof v !== "string") return v;
      try {
        return JSON.parse(v);
      } catch (err) {
        throw new TransformError(`${describe(v)} is not JSON: ${(err as Error).message}`);
      }
    },
  },
  json_stringify: { arrays: "whole", compile: () => (v) => JSON.stringify(v) },
  count: {
    arrays: "whole",
    missing: true,
    compile: () => (v) => (Array.isArray(v) ? v.length : v === undefined || v === null ? 0 : 1),
  },
  sum: {
    arrays: "whole",
    compile(s) {
      const field = str(s, "field");
      const get = field ? compileGetter(field) : undefined;
      return (v) => {
        const items = Array.isArray(v) ? v : [v];
        let total = 0;
        for (const item of items) {
          const x = get ? get(item) : item;
          if (x !== undefined && x !== null && x !== "") total += number(x);
        }
        // Money adds up in cents: 0.1 + 0.2 is 0.3 here.
        return roundTo(total, 10, "round");
      };
    },
  },
  first: { arrays: "whole", compile: () => (v) => (Array.isArray(v) ? v[0] : v) },
  last: { arrays: "whole", compile: () => (v) => (Array.isArray(v) ? v[v.length - 1] : v) },
  null_if_empty: {
    arrays: "whole",
    missing: true,
    compile: () => (v) =>
      v === undefined ||
      v === null ||
      (typeof v === "string" && v.trim() === "") ||
      (Array.isArray(v) && v.length === 0) ||
      (typeof v === "object" && !(v instanceof MappedDate) && Object.keys(v as object).length === 0)
        ? null
        : v,
  },
  expression: {
    arrays: "whole",
    missing: true,
    compile(s, deps) {
      const code = str(s, "code").trim();
      if (!code) throw new Error("write an expression, e.g. value * 1.2");
      const timeout = expressionLimit(s, deps.maxExpressionMs);
      let script: vm.Script;
      try {
        script = new vm.Script(`(${code}\n)`, { filename: "map expression" });
      } catch (err) {
        throw new Error(`the expression does not parse: ${(err as Error).message}`, { cause: err });
      }
      // One sandbox per rule, reused: creating a context per value would cost milliseconds.
      // "afterEvaluate": promise callbacks the expression queues run inside the time limit too,
      // not later on the runtime's own queue where no limit applies.
      const sandbox = vm.createContext(
        { value: undefined, record: undefined, meta: undefined },
        { microtaskMode: "afterEvaluate" },
      );
      return (v, env) => {
        sandbox.value = v;
        sandbox.record = env.record;
        sandbox.meta = env.view().meta;
        try {
          return script.runInContext(sandbox, { timeout });
        } catch (err) {
          // Over the limit is not a value the rule can skip or default: the message fails.
          if ((err as { code?: string }).code === "ERR_SCRIPT_EXECUTION_TIMEOUT")
            throw new TransformLimitError(
              `did not finish within its limit of ${timeout} ms (promise callbacks included); ` +
                `make it do less per value, or raise the rule's limit (at most ${deps.maxExpressionMs ?? EXPRESSION_CAP_MS} ms, settings.js patchworks.map.maxExpressionMs)`,
            );
          throw new TransformError(`the expression failed: ${(err as Error).message}`);
        }
      };
    },
  },
};

export const TRANSFORMS = Object.keys(DEFS);

/** The rule's time limit, refused at deploy when over the cap (a rule never silently gets less than it asked for). */
function expressionLimit(s: TransformSpec, cap = EXPRESSION_CAP_MS): number {
  const ms = num(s, "timeoutMs", EXPRESSION_DEFAULT_MS);
  if (!Number.isInteger(ms) || ms < 1)
    throw new Error(`the time limit must be a whole number of ms, not ${ms}`);
  if (ms > cap)
    throw new Error(
      `the time limit of ${ms} ms is over the cap of ${cap} ms: lower it, or raise patchworks.map.maxExpressionMs in settings.js`,
    );
  return ms;
}

/** Compiles a chain of transforms into one function; throws naming the transform that is misconfigured. */
export function compileChain(specs: TransformSpec[] | undefined, deps: CompileDeps): TransformFn | undefined {
  if (!specs || specs.length === 0) return undefined;
  const steps = specs.map((spec, i) => {
    const def = spec && DEFS[spec.type];
    if (!def) throw new Error(`transform ${i + 1}: unknown transform "${String(spec?.type)}"`);
    let fn: TransformFn;
    try {
      fn = def.compile(spec, deps);
    } catch (err) {
      throw new Error(`transform ${i + 1} (${spec.type}): ${(err as Error).message}`, { cause: err });
    }
    const name = spec.type;
    const each = def.arrays === "each";
    const missing = def.missing === true;
    return (value: unknown, env: MapEnv): unknown => {
      if ((value === undefined || value === null) && !missing) return value;
      try {
        if (each && Array.isArray(value))
          return value.map((e) => (e === undefined || e === null ? e : fn(e, env)));
        return fn(value, env);
      } catch (err) {
        if (err instanceof TransformError) throw new TransformError(`${name}: ${err.message}`);
        if (err instanceof TransformLimitError) throw new TransformLimitError(`${name}: ${err.message}`);
        throw err;
      }
    };
  });
  if (steps.length === 1) return steps[0];
  return (value, env) => {
    let v = value;
    for (const step of steps) v = step(v, env);
    return v;
  };
}

/** A literal typed in the editor: text, number, true/false, JSON, or null. */
export function literal(value: unknown, type: string): unknown {
  const raw = value === undefined || value === null ? "" : String(value);
  switch (type) {
    case "num": {
      const n = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(n)) throw new Error(`"${raw}" is not a number`);
      return n;
    }
    case "bool":
      return raw === "true";
    case "json":
      try {
        return JSON.parse(raw);
      } catch (err) {
        throw new Error(`"${raw}" is not JSON: ${(err as Error).message}`, { cause: err });
      }
    case "null":
      return null;
    default:
      return raw;
  }
}

export function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (value instanceof MappedDate) return value.toJSON();
  let t: string;
  try {
    t = JSON.stringify(value) ?? String(value);
  } catch {
    t = String(value);
  }
  return t.length > 60 ? `${t.slice(0, 57)}...` : t;
}
