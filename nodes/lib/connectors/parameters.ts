import { compileGetter, type Getter } from "../paths";

/**
 * Typed endpoint parameters. A parameter says what the API accepts (`type`, `enum`, `format`)
 * and the engine checks a value before any request leaves, so a filter the API would refuse
 * (`created_at_min=2026-01-01` where Shopify wants a date and time; `financial_status=Paid`
 * where it wants `paid`) fails with a message that says what to write instead.
 */
export type ParameterType = "string" | "integer" | "number" | "boolean" | "date-time" | "date" | "json";

export interface Parameter {
  key: string;
  label: string;
  /** Where the value goes; `body`: only into the endpoint's body template (`{{params.key}}`), e.g. a GraphQL variable. */
  in: "query" | "path" | "header" | "body";
  required?: boolean;
  help?: string;
  /** What the API accepts (default string). */
  type?: ParameterType;
  /** The only values the API accepts, exactly as written. */
  enum?: Array<string | number | boolean>;
  /**
   * A finer format, as OpenAPI says it (email, uuid, int64 …): shown, checked where known.
   * `unix-time` on an integer: seconds since 1970, given as a number or as a date and time.
   */
  format?: string;
  /** Used when the shape sets nothing and the parameter is required; shown as a hint otherwise. */
  default?: string | number | boolean;
}

export const PARAMETER_TYPES: ParameterType[] = [
  "string",
  "integer",
  "number",
  "boolean",
  "date-time",
  "date",
  "json",
];

// RFC 3339 (ISO 8601's profile that APIs use): a date-time carries its offset.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function realDate(y: string, m: string, d: string): boolean {
  const date = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
  return (
    date.getUTCFullYear() === Number(y) &&
    date.getUTCMonth() === Number(m) - 1 &&
    date.getUTCDate() === Number(d)
  );
}

/**
 * The value to send for a parameter, checked against its type, enum and format; throws a
 * message naming the parameter, what it needs and the value given (parameters are filters,
 * never secrets).
 */
export function checkParameter(p: Parameter, value: unknown): string | number | boolean | object {
  const name = `parameter "${p.label || p.key}"`;
  const shown = (v: unknown) =>
    typeof v === "string" ? `"${v.length > 60 ? `${v.slice(0, 57)}...` : v}"` : String(v);
  const fail = (what: string): never => {
    throw new Error(`${name} must be ${what}, not ${shown(value)}`);
  };
  // json: a list or an object (or JSON text of one), placed as data in a body (HubSpot's filterGroups).
  if (p.type === "json") {
    let v = value;
    if (typeof v === "string") {
      try {
        v = JSON.parse(v);
      } catch {
        v = undefined;
      }
    }
    if (v === null || typeof v !== "object" || v instanceof Date) return fail("a list or an object (JSON)");
    return v as object;
  }
  if (value !== null && typeof value === "object" && !(value instanceof Date))
    fail("a single value (text, number, true/false or a date)");
  let out: string | number | boolean;
  switch (p.type ?? "string") {
    case "integer": {
      // Unix seconds (TikTok Shop's update_time_ge) also take a date and time, so a watermark
      // kept as {{run.startedAt}} (ISO 8601) feeds them as it feeds Shopify's updated_at_min.
      if (p.format === "unix-time" && !/^\s*-?\d+\s*$/.test(String(value))) {
        const at = value instanceof Date ? value.getTime() : unixTimeOf(String(value).trim());
        if (!Number.isFinite(at))
          fail(
            "a whole number of seconds since 1970 or a date and time with its offset (e.g. 2026-01-01T00:00:00Z)",
          );
        out = Math.floor(at / 1000);
        break;
      }
      const n = typeof value === "number" ? value : /^\s*-?\d+\s*$/.test(String(value)) ? Number(value) : NaN;
      if (!Number.isSafeInteger(n)) fail("a whole number");
      out = n;
      break;
    }
    case "number": {
      const n = typeof value === "number" ? value : String(value).trim() === "" ? NaN : Number(value);
      if (!Number.isFinite(n)) fail("a number");
      out = n;
      break;
    }
    case "boolean": {
      if (value === true || value === false) out = value;
      else if (/^(true|false)$/i.test(String(value).trim()))
        out = String(value).trim().toLowerCase() === "true";
      else out = fail("true or false");
      break;
    }
    case "date-time": {
      if (value instanceof Date) {
        if (Number.isNaN(value.getTime())) fail("a valid date and time");
        out = value.toISOString();
        break;
      }
      const m = DATE_TIME.exec(String(value).trim());
      if (!m || !realDate(m[1], m[2], m[3]) || Number(m[4]) > 23 || Number(m[5]) > 59)
        fail(
          `a date and time with its offset (ISO 8601 / RFC 3339, e.g. ${/^\d{4}-\d{2}-\d{2}$/.test(String(value).trim()) ? `${String(value).trim()}T00:00:00Z` : "2026-01-01T00:00:00Z"})`,
        );
      out = String(value).trim();
      break;
    }
    case "date": {
      if (value instanceof Date) {
        if (Number.isNaN(value.getTime())) fail("a valid date");
        out = value.toISOString().slice(0, 10);
        break;
      }
      const m = DATE.exec(String(value).trim());
      if (!m || !realDate(m[1], m[2], m[3])) fail("a date (YYYY-MM-DD, e.g. 2026-01-31)");
      out = String(value).trim();
      break;
    }
    default:
      out = value instanceof Date ? value.toISOString() : (value as string | number | boolean);
  }
  if (p.enum && p.enum.length) {
    const hit = p.enum.find((e) => String(e) === String(out));
    if (hit === undefined) {
      const near = p.enum.find((e) => String(e).toLowerCase() === String(out).toLowerCase());
      fail(
        `one of ${p.enum.map((e) => String(e)).join(", ")}${near !== undefined ? ` (did you mean "${String(near)}"?)` : ""}`,
      );
    }
  }
  if (typeof out === "string") checkFormat(p.format, out, fail);
  return out;
}

/** Milliseconds of an RFC 3339 date and time (with its offset), NaN for anything else. */
function unixTimeOf(text: string): number {
  const m = DATE_TIME.exec(text);
  if (!m || !realDate(m[1], m[2], m[3]) || Number(m[4]) > 23 || Number(m[5]) > 59) return NaN;
  return Date.parse(text);
}

function checkFormat(format: string | undefined, value: string, fail: (what: string) => never): void {
  switch (format) {
    case "email":
      if (!/^[^\s@]+@[^\s@]+$/.test(value)) fail("an email address");
      break;
    case "uuid":
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) fail("a UUID");
      break;
    case "uri":
      try {
        new URL(value);
      } catch {
        fail("a URL");
      }
      break;
    default:
  }
}

/** Checks a parameter's own declaration (an enum of its type, a default it accepts); problems by field. */
export function parameterProblems(p: Parameter, at: string): string[] {
  const problems: string[] = [];
  for (const [i, e] of (p.enum ?? []).entries()) {
    try {
      checkParameter({ ...p, enum: undefined }, e);
    } catch (err) {
      problems.push(`${at}.enum[${i}]: ${(err as Error).message}`);
    }
  }
  if (p.default !== undefined) {
    try {
      checkParameter(p, p.default);
    } catch (err) {
      problems.push(`${at}.default: ${(err as Error).message}`);
    }
  }
  return problems;
}

/**
 * The values a path template places in the path (`{{record.id}}`), each read from the view:
 * a request whose path would have an empty segment (`PUT /orders/.json`) is refused before
 * it leaves. Only plain variable tags are looked at (sections and partials are the author's).
 */
export function pathPlaceholders(path: string): Array<{ tag: string; get: Getter }> {
  const out: Array<{ tag: string; get: Getter }> = [];
  for (const m of path.matchAll(/\{\{\{?\s*&?\s*([A-Za-z_$][\w$]*(?:\.[\w$]+|\[\d+\])*)\s*\}?\}\}/g))
    out.push({ tag: m[1], get: compileGetter(m[1]) });
  return out;
}
