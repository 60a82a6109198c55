import vm from "node:vm";
import slugify from "slugify";
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

/**
 * Reads a number: a number as it is, true/false as 1/0, or text as locale formatting writes it
 * ("1,234.50", "1.234,50 €" with the decimal comma, "-£12.50", "£-12.50", "CHF 1’234.50",
 * "(12.50)" for an accounting negative, "12.50-"). Thousands separators must group digits in
 * threes (or Indian twos), so "1,5" with a decimal point is refused rather than read as 15. Text
 * with more digits than a number keeps (an 18-digit order id) is refused rather than changed.
 */
function number(value: unknown, decimal = "."): number {
  if (typeof value === "number") {
    if (Number.isFinite(value)) return value;
    throw new TransformError(`${value} is not a usable number`);
  }
  if (typeof value === "string") {
    // Most values are plain numbers already: "120.50". Long ones are checked for lost digits.
    if (decimal === "." && value !== "" && value.length <= 15) {
      const quick = Number(value);
      if (Number.isFinite(quick) && value.trim() !== "") return quick;
    }
    return numberFromText(value, decimal);
  }
  if (typeof value === "boolean") return value ? 1 : 0;
  throw new TransformError(`cannot read ${describe(value)} as a number`);
}

const NUMBER_TEXT = /^([^\d]*?)([\d.,'\u2019]*\d)([^\d]*)$/u;
const AFFIX = /^[+-]?(?:\p{Sc}|\p{L}){0,4}\.?[+-]?$/u;
const THOUSANDS: Record<string, RegExp> = { ".": /[,'\u2019]/g, ",": /[.'\u2019]/g };
const GROUPED: Record<string, RegExp> = {
  ".": /^\d{1,3}(?:(?:[,'\u2019]\d{3})+|(?:[,'\u2019]\d{2})+[,'\u2019]\d{3})$/,
  ",": /^\d{1,3}(?:(?:[.'\u2019]\d{3})+|(?:[.'\u2019]\d{2})+[.'\u2019]\d{3})$/,
};

function numberFromText(value: string, decimal: string): number {
  const fail = (why = "") => new TransformError(`cannot read ${describe(value)} as a number${why}`);
  let s = value.replace(/\s/g, "").replace(/\u2212/g, "-");
  let negative = false;
  if (s.length > 2 && s.startsWith("(") && s.endsWith(")")) {
    negative = true;
    s = s.slice(1, -1);
  }
  const m = NUMBER_TEXT.exec(s);
  if (!m) throw fail();
  const [, before, core, after] = m;
  if (!AFFIX.test(before) || !AFFIX.test(after)) throw fail();
  const minus = (before.match(/-/g)?.length ?? 0) + (after.match(/-/g)?.length ?? 0);
  if (minus > 1 || (minus === 1 && negative)) throw fail();
  if (minus === 1) negative = true;
  const point = core.indexOf(decimal);
  const whole = point < 0 ? core : core.slice(0, point);
  const fraction = point < 0 ? "" : core.slice(point + 1);
  if (!/^\d*$/.test(fraction))
    throw fail(
      decimal === "."
        ? " (read with a decimal point: choose the decimal comma for 1.234,50)"
        : " (read with a decimal comma: choose the decimal point for 1,234.50)",
    );
  let digits = whole;
  if (/\D/.test(whole)) {
    if (!GROUPED[decimal].test(whole))
      throw fail(
        decimal === "."
          ? " (thousands separators must group three digits: is the decimal separator a comma?)"
          : " (thousands separators must group three digits: is the decimal separator a point?)",
      );
    digits = whole.replace(THOUSANDS[decimal], "");
  }
  if (digits === "" && fraction === "") throw fail();
  const text = `${negative ? "-" : ""}${digits || "0"}${fraction ? `.${fraction}` : ""}`;
  const n = Number(text);
  if (!Number.isFinite(n)) throw fail();
  exact(text, n, value);
  return n === 0 ? 0 : n;
}

/** Refuses decimal text whose digits a number cannot keep (above 2^53, or more than 15 significant digits that do not survive). */
function exact(text: string, n: number, original: unknown): void {
  const t = text.replace(/^-/, "");
  const dot = t.indexOf(".");
  const whole = (dot < 0 ? t : t.slice(0, dot)).replace(/^0+(?=\d)/, "");
  const fraction = dot < 0 ? "" : t.slice(dot + 1).replace(/0+$/, "");
  if ((whole + fraction).replace(/^0+/, "").length <= 15) return;
  const abs = Math.abs(n);
  const kept = Number.isInteger(abs) && fraction === "" ? BigInt(abs).toString() : String(abs);
  if (kept === (fraction ? `${whole}.${fraction}` : whole)) return;
  throw new TransformError(
    `${describe(original)} has more digits than a number can hold exactly (it would become ${n < 0 ? "-" : ""}${kept}); ` +
      "keep it as text (an id needs no to number)",
  );
}

function date(value: unknown, zone?: string): MappedDate {
  try {
    return toDate(value, zone);
  } catch (err) {
    if (err instanceof DateValueError) throw new TransformError(`${describe(value)} ${err.message}`);
    throw err;
  }
}

/** n × 10^places as written in decimal (1.005 → 100.5, not 100.49999…), through the exponent. */
function shift(n: number, places: number): number {
  const t = String(n);
  const e = t.indexOf("e");
  return e < 0 ? Number(`${t}e${places}`) : Number(`${t.slice(0, e)}e${Number(t.slice(e + 1)) + places}`);
}

/**
 * Rounds as PHP's round() and number_format() do, and as invoices and VAT need: half away from
 * zero, for negative numbers too (-2.5 → -3, -0.125 → -0.13), on the decimal the number is
 * written as (1.005 → 1.01). Never negative zero.
 */
export function roundTo(n: number, places: number, mode: "round" | "ceil" | "floor" = "round"): number {
  const shifted = shift(n, places);
  if (!Number.isFinite(shifted)) return n;
  const r =
    mode === "ceil"
      ? Math.ceil(shifted)
      : mode === "floor"
        ? Math.floor(shifted)
        : shifted < 0
          ? -Math.round(-shifted)
          : Math.round(shifted);
  const out = shift(r, -places);
  return out === 0 ? 0 : out;
}

/** Decimal places of a number as written (0.1 → 1, 2.50 → 1, 1e-7 → 7). */
function decimals(n: number): number {
  if (Number.isInteger(n)) return 0;
  // The fewest places p whose decimal reads back as n: what String(n) would show, without the string.
  for (let p = 1; p <= 15; p++) if (Math.round(n * POWERS[p]) / POWERS[p] === n) return p;
  const t = String(n);
  const e = t.indexOf("e");
  const mantissa = e < 0 ? t : t.slice(0, e);
  const dot = mantissa.indexOf(".");
  const places = dot < 0 ? 0 : mantissa.length - dot - 1;
  return e < 0 ? places : Math.max(0, places - Number(t.slice(e + 1)));
}

/**
 * Arithmetic on decimals without binary artefacts (0.1 + 0.2 is 0.3): a sum or difference of
 * decimals has at most the operands' places, a product their total, so the result is rounded to
 * them (exactly: an integer divided by a power of ten is the double nearest the decimal); a
 * quotient has no such bound and is rounded to 15 significant digits (0.3 / 0.1 is 3).
 */
type Arithmetic = (a: number, b: number, bPlaces: number) => number;
const ARITHMETIC: Record<string, Arithmetic> = {
  add: (a, b, bp) => toPlaces(a + b, Math.max(decimals(a), bp)),
  subtract: (a, b, bp) => toPlaces(a - b, Math.max(decimals(a), bp)),
  multiply: (a, b, bp) => toPlaces(a * b, decimals(a) + bp),
  divide: (a, b) => {
    const q = Number((a / b).toPrecision(15));
    return q === 0 ? 0 : q;
  },
};
function toPlaces(n: number, places: number): number {
  if (places > 15) return n === 0 ? 0 : n;
  const f = POWERS[places];
  const x = n * f;
  if (Math.abs(x) < 2 ** 52) {
    const r = Math.round(x) / f;
    return r === 0 ? 0 : r;
  }
  return roundTo(n, places);
}
const POWERS = Array.from({ length: 16 }, (_, i) => 10 ** i);

/** Settings that count decimal places: whole numbers in a sensible range. */
const places = (s: TransformSpec, key: string, fallback: number, max = 20): number => {
  const n = num(s, key, fallback);
  if (!Number.isInteger(n) || n < -max || n > max)
    throw new Error(`"${key}" must be a whole number from ${-max} to ${max}, not ${n}`);
  return n;
};

/** Grapheme clusters: what a reader counts as one character (an emoji with its modifiers, e + a combining accent). */
const segmenter = new Intl.Segmenter("en", { granularity: "grapheme" });
const SIMPLE_TEXT = /^[\x20-\x7e]*$/;
function characters(t: string): string[] {
  const out: string[] = [];
  for (const s of segmenter.segment(t)) out.push(s.segment);
  return out;
}
/** Characters of t, or undefined when every UTF-16 unit is one (printable ASCII): the common, cheap case. */
const charactersIfNeeded = (t: string): string[] | undefined =>
  SIMPLE_TEXT.test(t) ? undefined : characters(t);
const characterCount = (t: string): number => (SIMPLE_TEXT.test(t) ? t.length : characters(t).length);

function pad(length: number, fill: string, side: "left" | "right"): TransformFn {
  const fillChars = characters(fill);
  return (v) => {
    const t = text(v);
    const need = length - characterCount(t);
    if (need <= 0) return t;
    let padding = "";
    for (let i = 0; i < need; i++) padding += fillChars[i % fillChars.length];
    return side === "left" ? padding + t : t + padding;
  };
}

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
  // Lengths and positions count characters as a reader does (grapheme clusters), never half an emoji.
  substring: {
    arrays: "each",
    compile(s) {
      const start = num(s, "start", 0);
      const length = s.length === undefined || s.length === "" ? undefined : num(s, "length");
      const cut = <T extends string | string[]>(t: T): T => {
        const from = start < 0 ? Math.max(0, t.length + start) : start;
        return (length === undefined ? t.slice(from) : t.slice(from, from + length)) as T;
      };
      return (v) => {
        const t = text(v);
        const chars = charactersIfNeeded(t);
        return chars ? cut(chars).join("") : cut(t);
      };
    },
  },
  pad_left: {
    arrays: "each",
    compile: (s) => pad(num(s, "length"), str(s, "char", " ") || " ", "left"),
  },
  pad_right: {
    arrays: "each",
    compile: (s) => pad(num(s, "length"), str(s, "char", " ") || " ", "right"),
  },
  truncate: {
    arrays: "each",
    compile(s) {
      const length = num(s, "length");
      const ellipsis = str(s, "ellipsis");
      const keep = Math.max(0, length - characters(ellipsis).length);
      return (v) => {
        const t = text(v);
        const chars = charactersIfNeeded(t);
        if (!chars) return t.length <= length ? t : t.slice(0, keep) + ellipsis;
        return chars.length <= length ? t : chars.slice(0, keep).join("") + ellipsis;
      };
    },
  },
  // Transliterated as people write names in URLs (Łódź → lodz, Straße → strasse, & → and), by slugify.
  slug: {
    arrays: "each",
    compile: () => (v) =>
      slugify(text(v).normalize("NFC"), { lower: true, strict: true, trim: true }).replace(/^-+|-+$/g, ""),
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
      if (decimal !== "." && decimal !== ",")
        throw new Error(`the decimal separator is "." or ",", not "${decimal}"`);
      return (v) => (v === "" ? undefined : number(v, decimal) || 0);
    },
  },
  round: {
    arrays: "each",
    compile(s) {
      const digits = places(s, "places", 0);
      const mode = str(s, "mode", "round") as "round" | "ceil" | "floor";
      if (!["round", "ceil", "floor"].includes(mode)) throw new Error(`unknown rounding "${mode}"`);
      return (v) => roundTo(number(v), digits, mode);
    },
  },
  math: {
    arrays: "each",
    compile(s) {
      const op = str(s, "op", "add");
      const f: Arithmetic | undefined = Object.hasOwn(ARITHMETIC, op) ? ARITHMETIC[op] : undefined;
      if (!f) throw new Error(`unknown operation "${op}" (add, subtract, multiply, divide)`);
      const byField = str(s, "operandType") === "field";
      const get = byField ? compileGetter(str(s, "operand")) : undefined;
      const constant = byField ? 0 : num(s, "operand");
      if (!byField && op === "divide" && constant === 0) throw new Error("cannot divide by 0");
      const constantPlaces = decimals(constant);
      return (v, env) => {
        const b = get ? number(get(env.record)) : constant;
        if (op === "divide" && b === 0) throw new TransformError("would divide by 0");
        return f(number(v), b, get ? decimals(b) : constantPlaces);
      };
    },
  },
  abs: { arrays: "each", compile: () => (v) => Math.abs(number(v)) || 0 },
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
      const digits = places(s, "places", 2, 20);
      if (digits < 0) throw new Error(`"places" must be 0 or more, not ${digits}`);
      return (v) => roundTo(number(v), digits).toFixed(digits);
    },
  },
  to_minor: {
    arrays: "each",
    compile(s) {
      const digits = places(s, "digits", 2, 10);
      // "-12.345" → -1235: half away from zero, as the sale it refunds rounded 12.345 to 1235.
      return (v) => roundTo(shift(number(v), digits), 0);
    },
  },
  to_major: {
    arrays: "each",
    compile(s) {
      const digits = places(s, "digits", 2, 10);
      return (v) => {
        const n = shift(number(v), -digits);
        return n === 0 ? 0 : n;
      };
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
