import { DateTime, IANAZone } from "luxon";

/**
 * Dates for the map shape. A date travels between transforms as epoch milliseconds in a
 * `MappedDate` (with the zone it should be shown in); luxon does time zones and custom
 * patterns, plain Date.parse the common ISO case, which is most of the records in a sync.
 *
 * Two pattern dialects, never mixed: "standard" is luxon's (Unicode) token set
 * (`yyyy-MM-dd HH:mm:ss`), "php" the product's (`Y-m-d H:i:s`), chosen per transform so `m`
 * never means both month and minute.
 */
export class MappedDate {
  constructor(
    readonly ms: number,
    readonly zone: string = "UTC",
  ) {}
  toJSON(): string {
    return formatDate(this, "iso");
  }
}

export type Dialect = "standard" | "php";
export type DateFormat = "iso" | "epoch_s" | "epoch_ms" | "date" | "custom";

export class DateValueError extends Error {}

export function checkZone(zone: string | undefined): string {
  const z = (zone ?? "").trim() || "UTC";
  if (!IANAZone.isValidZone(z))
    throw new Error(`"${z}" is not a time zone (use an IANA name such as Europe/London, or UTC)`);
  return z;
}

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Reads a date: a MappedDate, a Date, epoch ms (or seconds below 10^11), or ISO 8601 text. */
export function toDate(value: unknown, zone = "UTC"): MappedDate {
  if (value instanceof MappedDate) return value;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new DateValueError("is an invalid date");
    return new MappedDate(value.getTime(), zone);
  }
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new DateValueError("is not a date");
    return new MappedDate(Math.abs(value) < 1e11 ? value * 1000 : value, zone);
  }
  if (typeof value === "string") {
    // The common case first and cheaply: an ISO time with its offset, as APIs send them.
    if (
      value.length >= 17 &&
      value.charCodeAt(4) === 45 &&
      value.charCodeAt(7) === 45 &&
      value.charCodeAt(10) === 84 /* yyyy-mm-ddT */ &&
      hasOffset(value)
    ) {
      const ms = Date.parse(value);
      if (!Number.isNaN(ms)) return new MappedDate(ms, zone);
    }
    const s = value.trim();
    if (/^-?\d+(\.\d+)?$/.test(s)) return toDate(Number(s), zone);
    if (ISO_WITH_ZONE.test(s)) {
      const ms = Date.parse(s);
      if (!Number.isNaN(ms)) return new MappedDate(ms, zone);
    }
    // Dates and times without an offset are read in the transform's zone.
    const dt = DateTime.fromISO(s, { zone, setZone: false });
    if (dt.isValid) return new MappedDate(dt.toMillis(), zone);
    if (ISO_DATE.test(s)) throw new DateValueError("is not a real date");
  }
  throw new DateValueError("is not a date (ISO 8601 or epoch time expected)");
}

/** Ends in Z, +hh:mm, -hh:mm, +hhmm or -hhmm. */
function hasOffset(s: string): boolean {
  const n = s.length;
  const last = s.charCodeAt(n - 1);
  if (last === 90 /* Z */) return true;
  const six = s.charCodeAt(n - 6);
  const five = s.charCodeAt(n - 5);
  return ((six === 43 || six === 45) && s.charCodeAt(n - 3) === 58) || five === 43 || five === 45;
}

/** A parser for one format, compiled once. */
export function dateParser(
  format: DateFormat,
  pattern: string | undefined,
  dialect: Dialect,
  zone: string,
): (value: unknown) => MappedDate {
  switch (format) {
    case "epoch_s":
      return (v) => {
        const n = typeof v === "string" ? Number(v.trim()) : v;
        if (typeof n !== "number" || !Number.isFinite(n) || (typeof v === "string" && v.trim() === ""))
          throw new DateValueError("is not a number of seconds");
        return new MappedDate(n * 1000, zone);
      };
    case "epoch_ms":
      return (v) => {
        const n = typeof v === "string" ? Number(v.trim()) : v;
        if (typeof n !== "number" || !Number.isFinite(n) || (typeof v === "string" && v.trim() === ""))
          throw new DateValueError("is not a number of milliseconds");
        return new MappedDate(n, zone);
      };
    case "custom": {
      const tokens = dialect === "php" ? phpToStandard(requirePattern(pattern)) : requirePattern(pattern);
      return (v) => {
        if (v instanceof MappedDate || v instanceof Date) return toDate(v, zone);
        const dt = DateTime.fromFormat(String(v).trim(), tokens, { zone });
        if (!dt.isValid) throw new DateValueError(`does not match the pattern "${pattern}"`);
        return new MappedDate(dt.toMillis(), zone);
      };
    }
    default:
      return (v) => toDate(v, zone);
  }
}

/** A formatter for one format, compiled once; the date's zone unless `zone` is given. */
export function dateFormatter(
  format: DateFormat,
  pattern: string | undefined,
  dialect: Dialect,
  zone?: string,
): (d: MappedDate) => string | number {
  switch (format) {
    case "epoch_s":
      return (d) => Math.floor(d.ms / 1000);
    case "epoch_ms":
      return (d) => d.ms;
    case "date":
      return (d) => inZone(d, zone).toISODate() as string;
    case "custom": {
      const p = requirePattern(pattern);
      if (dialect === "php") {
        const compiled = compilePhp(p);
        return (d) => compiled(inZone(d, zone));
      }
      return (d) => inZone(d, zone).toFormat(p);
    }
    default:
      return (d) => formatDate(d, "iso", zone);
  }
}

export function formatDate(d: MappedDate, format: "iso", zone?: string): string {
  const z = zone ?? d.zone;
  // The common case without luxon: UTC ISO text with milliseconds, as JSON dates are written.
  if (z === "UTC") return new Date(d.ms).toISOString();
  return inZone(d, z).toISO({ suppressMilliseconds: false }) as string;
}

export function inZone(d: MappedDate, zone?: string): DateTime {
  return DateTime.fromMillis(d.ms, { zone: zone ?? d.zone });
}

function requirePattern(pattern: string | undefined): string {
  if (!pattern || !pattern.trim()) throw new Error("a custom date format needs a pattern");
  return pattern;
}

/** PHP date() letters as luxon tokens, for parsing. Backslash escapes a letter, as in PHP. */
const PHP_TO_STANDARD: Record<string, string> = {
  d: "dd",
  D: "ccc",
  j: "d",
  l: "cccc",
  N: "c",
  F: "LLLL",
  m: "MM",
  M: "LLL",
  n: "L",
  Y: "yyyy",
  y: "yy",
  a: "a",
  A: "a",
  g: "h",
  G: "H",
  h: "hh",
  H: "HH",
  i: "mm",
  s: "ss",
  v: "SSS",
  u: "SSS",
  e: "z",
  T: "ZZZZ",
  P: "ZZ",
  O: "ZZZ",
  p: "ZZ",
  U: "X",
  W: "WW",
  o: "kkkk",
  z: "o",
};

export function phpToStandard(pattern: string): string {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "\\" && i + 1 < pattern.length) {
      out += quote(pattern[++i]);
    } else if (/[a-zA-Z]/.test(ch)) {
      const token = PHP_TO_STANDARD[ch];
      if (!token)
        throw new Error(
          `the PHP date letter "${ch}" is not supported (escape it as \\${ch} for the letter itself)`,
        );
      out += token;
    } else {
      out += ch === "'" ? "''" : ch;
    }
  }
  return out;
}

const quote = (ch: string) => (ch === "'" ? "''" : `'${ch}'`);

/** PHP date() formatting, letter by letter (luxon has no lowercase am/pm or ordinal suffix). */
function compilePhp(pattern: string): (dt: DateTime) => string {
  const parts: Array<string | ((dt: DateTime) => string)> = [];
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "\\" && i + 1 < pattern.length) {
      parts.push(pattern[++i]);
      continue;
    }
    const f = PHP_FORMAT[ch];
    if (f) parts.push(f);
    else if (/[a-zA-Z]/.test(ch))
      throw new Error(
        `the PHP date letter "${ch}" is not supported (escape it as \\${ch} for the letter itself)`,
      );
    else parts.push(ch);
  }
  return (dt) => {
    let out = "";
    for (const p of parts) out += typeof p === "string" ? p : p(dt);
    return out;
  };
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");
const PHP_FORMAT: Record<string, (dt: DateTime) => string> = {
  d: (dt) => pad(dt.day),
  D: (dt) => dt.toFormat("ccc"),
  j: (dt) => String(dt.day),
  l: (dt) => dt.toFormat("cccc"),
  N: (dt) => String(dt.weekday),
  S: (dt) => ordinal(dt.day),
  w: (dt) => String(dt.weekday % 7),
  z: (dt) => String(dt.ordinal - 1),
  W: (dt) => pad(dt.weekNumber),
  F: (dt) => dt.toFormat("LLLL"),
  m: (dt) => pad(dt.month),
  M: (dt) => dt.toFormat("LLL"),
  n: (dt) => String(dt.month),
  t: (dt) => String(dt.daysInMonth),
  L: (dt) => (dt.isInLeapYear ? "1" : "0"),
  o: (dt) => String(dt.weekYear),
  Y: (dt) => String(dt.year),
  y: (dt) => pad(dt.year % 100),
  a: (dt) => (dt.hour < 12 ? "am" : "pm"),
  A: (dt) => (dt.hour < 12 ? "AM" : "PM"),
  g: (dt) => String(dt.hour % 12 || 12),
  G: (dt) => String(dt.hour),
  h: (dt) => pad(dt.hour % 12 || 12),
  H: (dt) => pad(dt.hour),
  i: (dt) => pad(dt.minute),
  s: (dt) => pad(dt.second),
  v: (dt) => pad(dt.millisecond, 3),
  u: (dt) => pad(dt.millisecond * 1000, 6),
  e: (dt) => dt.zoneName ?? "UTC",
  T: (dt) => dt.offsetNameShort ?? "UTC",
  P: (dt) => dt.toFormat("ZZ"),
  p: (dt) => (dt.offset === 0 ? "Z" : dt.toFormat("ZZ")),
  O: (dt) => dt.toFormat("ZZZ"),
  Z: (dt) => String(dt.offset * 60),
  U: (dt) => String(Math.floor(dt.toSeconds())),
  c: (dt) => dt.toISO({ suppressMilliseconds: true }) as string,
  r: (dt) => dt.toRFC2822() as string,
};

function ordinal(day: number): string {
  if (day % 100 >= 11 && day % 100 <= 13) return "th";
  return ["th", "st", "nd", "rd"][day % 10] ?? "th";
}

export type DateUnit = "minutes" | "hours" | "days" | "weeks" | "months" | "years";

export function addToDate(d: MappedDate, amount: number, unit: DateUnit): MappedDate {
  if (unit === "minutes" || unit === "hours")
    return new MappedDate(d.ms + amount * (unit === "minutes" ? 60_000 : 3_600_000), d.zone);
  // Days and longer follow the calendar in the date's zone (a day across a DST change is 23 or 25 hours).
  return new MappedDate(
    inZone(d)
      .plus({ [unit]: amount })
      .toMillis(),
    d.zone,
  );
}

export function boundaryOf(
  d: MappedDate,
  edge: "start" | "end",
  unit: "day" | "week" | "month",
  zone?: string,
): MappedDate {
  const dt = inZone(d, zone);
  return new MappedDate((edge === "start" ? dt.startOf(unit) : dt.endOf(unit)).toMillis(), zone ?? d.zone);
}
