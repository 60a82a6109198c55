import { DateTime, IANAZone } from "luxon";
import { ZONE_ABBREVIATIONS } from "./zone-abbreviations";

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
      if (dialect === "php") {
        const parse = compilePhpParser(requirePattern(pattern), zone);
        return (v) => {
          if (v instanceof MappedDate || v instanceof Date) return toDate(v, zone);
          if (typeof v !== "string" && typeof v !== "number")
            throw new DateValueError(`does not match the pattern "${pattern}"`);
          return parse(String(v).trim());
        };
      }
      const tokens = requirePattern(pattern);
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

const DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/** The letters each direction supports, listed in the help and in the refusal of any other letter. */
export const PHP_FORMAT_LETTERS =
  "d D j l N S w z W F m M n t L o X x Y y a A B g G h H i s u v e I O P p T Z c r U";
export const PHP_PARSE_LETTERS = "d j D l S z F M m n Y y a A g h G H i s v u e O P p T U";

/**
 * PHP's DateTime::createFromFormat, compiled once into one regular expression. As in PHP: d, j,
 * m, n, g, h, G and H take one or two digits, i and s two, S (st, nd, rd, th) is read and ignored,
 * D and l must be day names and are otherwise ignored, F and M take a full or short month name,
 * space matches a space or a tab, `#` one of ;:/.,-(), `?` any one character, `*` anything up
 * to the next separator or digit, `+` allows trailing text, `!` and `|` are accepted. Unlike PHP,
 * fields the pattern does not have are 1970-01-01 00:00:00 (PHP's `|`) rather than now, and a
 * value out of range (a 31st of February, minute 75) is refused instead of rolled over.
 */
function compilePhpParser(pattern: string, zone: string): (text: string) => MappedDate {
  let source = "^";
  const setters: Array<(s: string, f: PhpFields) => void> = [];
  const group = (re: string, set: (s: string, f: PhpFields) => void) => {
    source += `(${re})`;
    setters.push(set);
  };
  const int = (s: string) => Number(s);
  let trailing = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "\\" && i + 1 < pattern.length) {
      source += escapeRe(pattern[++i]);
      continue;
    }
    switch (ch) {
      case "d":
      case "j":
        group("\\d{1,2}", (s, f) => (f.day = int(s)));
        break;
      case "D":
      case "l":
        group("[a-zA-Z]{3,9}", (s) => {
          if (
            !DAYS.some(
              (d) => d.toLowerCase() === s.toLowerCase() || d.slice(0, 3).toLowerCase() === s.toLowerCase(),
            )
          )
            throw new DateValueError(`has "${s}" where a day name should be`);
        });
        break;
      case "S":
        source += "(?:st|nd|rd|th|ST|ND|RD|TH)";
        break;
      case "z":
        group("\\d{1,3}", (s, f) => (f.dayOfYear = int(s)));
        break;
      case "F":
      case "M":
        group("[a-zA-Z]{3,9}", (s, f) => {
          const low = s.toLowerCase();
          const m = MONTHS.findIndex(
            (name) => name.toLowerCase() === low || name.slice(0, 3).toLowerCase() === low,
          );
          if (m < 0 && low !== "sept") throw new DateValueError(`has "${s}" where a month name should be`);
          f.month = m < 0 ? 9 : m + 1;
        });
        break;
      case "m":
      case "n":
        group("\\d{1,2}", (s, f) => (f.month = int(s)));
        break;
      case "Y":
        group("\\d{1,4}", (s, f) => (f.year = int(s)));
        break;
      case "y":
        // PHP: 70-99 are 1970-1999, 00-69 are 2000-2069.
        group("\\d{2}", (s, f) => (f.year = int(s) + (int(s) < 70 ? 2000 : 1900)));
        break;
      case "a":
      case "A":
        group("[aApP][mM]", (s, f) => (f.pm = s.toLowerCase() === "pm"));
        break;
      case "g":
      case "h":
        group("\\d{1,2}", (s, f) => {
          f.hour = int(s);
          f.twelve = true;
        });
        break;
      case "G":
      case "H":
        group("\\d{1,2}", (s, f) => (f.hour = int(s)));
        break;
      case "i":
        group("\\d{2}", (s, f) => (f.minute = int(s)));
        break;
      case "s":
        group("\\d{2}", (s, f) => (f.second = int(s)));
        break;
      case "v":
        group("\\d{1,3}", (s, f) => (f.ms = int(s.padEnd(3, "0"))));
        break;
      case "u":
        group("\\d{1,6}", (s, f) => (f.ms = int(s.padEnd(6, "0").slice(0, 3))));
        break;
      case "e":
      case "O":
      case "P":
      case "p":
      case "T":
        group("Z|z|[+-]\\d{2}(?::?\\d{2})?|[A-Za-z][A-Za-z0-9_/+-]*", (s, f) => (f.zone = zoneOf(s)));
        break;
      case "U":
        group("-?\\d+", (s, f) => (f.epoch = int(s)));
        break;
      case " ":
        source += "[ \\t]";
        break;
      case "#":
        source += "[;:/.,\\-()]";
        break;
      case "?":
        source += "[\\s\\S]";
        break;
      case "*":
        source += "[^\\s;:/.,\\-()0-9]*";
        break;
      case "!":
      case "|":
        break;
      case "+":
        trailing = true;
        break;
      default:
        // A letter PHP writes but does not read is refused (the pattern wants a field it cannot get);
        // any other character, letters PHP does not know included, matches itself, as in PHP.
        if (PHP_FORMAT_LETTERS.includes(ch) && /[a-zA-Z]/.test(ch))
          throw new Error(
            `the PHP date letter "${ch}" is not supported for reading dates (supported: ${PHP_PARSE_LETTERS}; escape it as \\${ch} for the letter itself)`,
          );
        source += escapeRe(ch);
    }
  }
  const re = new RegExp(source + (trailing ? "" : "$"));
  return (text) => {
    const m = re.exec(text);
    if (!m) throw new DateValueError(`does not match the pattern "${pattern}"`);
    const f: PhpFields = {};
    for (let g = 0; g < setters.length; g++) setters[g](m[g + 1], f);
    return phpDate(f, zone);
  };
}

interface PhpFields {
  year?: number;
  month?: number;
  day?: number;
  dayOfYear?: number;
  hour?: number;
  twelve?: boolean;
  pm?: boolean;
  minute?: number;
  second?: number;
  ms?: number;
  /** Minutes east of UTC, or an IANA zone. */
  zone?: number | string;
  epoch?: number;
}

function phpDate(f: PhpFields, zone: string): MappedDate {
  if (f.epoch !== undefined) return new MappedDate(f.epoch * 1000, zone);
  const year = f.year ?? 1970;
  let month = f.month ?? 1;
  let day = f.day ?? 1;
  let hour = f.hour ?? 0;
  if (month < 1 || month > 12) throw new DateValueError(`is not a real date (there is no month ${month})`);
  if (f.dayOfYear !== undefined) {
    const d = new Date(Date.UTC(year, 0, 1 + f.dayOfYear));
    if (d.getUTCFullYear() !== year)
      throw new DateValueError(`is not a real date (day ${f.dayOfYear} of ${year})`);
    month = d.getUTCMonth() + 1;
    day = d.getUTCDate();
  }
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > daysInMonth)
    throw new DateValueError(`is not a real date (${MONTHS[month - 1]} ${year} has no day ${day})`);
  if (f.twelve) {
    if (hour < 1 || hour > 12)
      throw new DateValueError(`is not a real time (hour ${hour} on a 12-hour clock)`);
    if (hour === 12) hour = 0;
    if (f.pm) hour += 12;
  } else if (f.pm !== undefined && hour <= 12) {
    if (hour === 12) hour = 0;
    if (f.pm) hour += 12;
  }
  const minute = f.minute ?? 0;
  const second = f.second ?? 0;
  if (hour > 23 || minute > 59 || second > 59)
    throw new DateValueError(`is not a real time (${hour}:${pad(minute)}:${pad(second)})`);
  const ms = f.ms ?? 0;
  const z = f.zone ?? zone;
  if (typeof z === "number") {
    const utc = Date.UTC(year, month - 1, day, hour, minute, second, ms);
    // Years 0-99 would be read as 1900-1999 by Date.UTC.
    const fixed = year < 100 ? new Date(utc).setUTCFullYear(year) : utc;
    return new MappedDate(fixed - z * 60_000, zone);
  }
  const dt = DateTime.fromObject({ year, month, day, hour, minute, second, millisecond: ms }, { zone: z });
  if (!dt.isValid) throw new DateValueError(`is not a real date`);
  return new MappedDate(dt.toMillis(), zone);
}

const escapeRe = (ch: string) => ch.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** A zone read from text: an offset (+02:00, +0200, +02, Z), an IANA name, or an abbreviation the database gives one offset. */
function zoneOf(s: string): number | string {
  if (s === "Z" || s === "z") return 0;
  const off = /^([+-])(\d{2}):?(\d{2})?$/.exec(s);
  if (off) return (off[1] === "-" ? -1 : 1) * (Number(off[2]) * 60 + Number(off[3] ?? 0));
  // Abbreviations first: Intl takes a few as zone names of its own ("IST" as India's).
  const byAbbreviation = abbreviationOffsets().get(s.toUpperCase());
  if (byAbbreviation === null)
    throw new DateValueError(
      `has the time zone abbreviation "${s}", which means different offsets in different places`,
    );
  if (byAbbreviation !== undefined) return byAbbreviation;
  if (IANAZone.isValidZone(s)) return s;
  throw new DateValueError(`has "${s}" where a time zone should be`);
}

type AbbreviationTable = Map<string, Map<number, string>>;
let zoneTable: AbbreviationTable | undefined;
let reverseTable: Map<string, number | null> | undefined;

function abbreviations(): AbbreviationTable {
  if (zoneTable) return zoneTable;
  zoneTable = new Map();
  for (const line of ZONE_ABBREVIATIONS) {
    const colon = line.indexOf(":");
    const offsets = new Map<number, string>();
    for (const pair of line.slice(0, colon).split(",")) {
      const eq = pair.indexOf("=");
      offsets.set(Number(pair.slice(0, eq)), pair.slice(eq + 1));
    }
    for (const z of line.slice(colon + 1).split(" ")) zoneTable.set(z, offsets);
  }
  return zoneTable;
}

/** Abbreviation → offset in minutes, or null when places use it for different offsets (IST: India, Ireland, Israel). */
function abbreviationOffsets(): Map<string, number | null> {
  if (reverseTable) return reverseTable;
  reverseTable = new Map();
  for (const offsets of abbreviations().values())
    for (const [offset, abbr] of offsets) {
      if (/^[+-]/.test(abbr)) continue;
      const seen = reverseTable.get(abbr);
      reverseTable.set(abbr, seen === undefined || seen === offset ? offset : null);
    }
  return reverseTable;
}

const canonical = new Map<string, string>();

/** What PHP's date("T") prints: the IANA database's abbreviation (BST, EST, JST), else the offset (+04, +0530). */
export function zoneAbbreviation(dt: DateTime): string {
  const table = abbreviations();
  const name = dt.zoneName ?? "UTC";
  let offsets = table.get(name);
  if (!offsets) {
    let c = canonical.get(name);
    if (c === undefined) {
      try {
        c = new Intl.DateTimeFormat("en", { timeZone: name }).resolvedOptions().timeZone;
      } catch {
        c = name;
      }
      canonical.set(name, c);
    }
    offsets = table.get(c);
  }
  const found = offsets?.get(dt.offset);
  if (found) return found;
  const abs = Math.abs(dt.offset);
  return `${dt.offset < 0 ? "-" : "+"}${pad(Math.floor(abs / 60))}${abs % 60 ? pad(abs % 60) : ""}`;
}

/** PHP date() formatting, letter by letter, in English as PHP writes it. */
function compilePhp(pattern: string): (dt: DateTime) => string {
  const parts: Array<string | ((dt: DateTime) => string)> = [];
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "\\" && i + 1 < pattern.length) {
      parts.push(pattern[++i]);
      continue;
    }
    // Every letter PHP's date() knows is here; any other character is written as it is, as PHP does.
    const f = Object.hasOwn(PHP_FORMAT, ch) ? PHP_FORMAT[ch] : undefined;
    parts.push(f ?? ch);
  }
  return (dt) => {
    let out = "";
    for (const p of parts) out += typeof p === "string" ? p : p(dt);
    return out;
  };
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");
/** +02:00, as PHP's P (and its c) writes every offset, UTC included. */
const offsetText = (dt: DateTime, colon = true) => {
  const abs = Math.abs(dt.offset);
  return `${dt.offset < 0 ? "-" : "+"}${pad(Math.floor(abs / 60))}${colon ? ":" : ""}${pad(abs % 60)}`;
};
const year4 = (y: number) => (y < 0 ? `-${pad(-y, 4)}` : pad(y, 4));
const PHP_FORMAT: Record<string, (dt: DateTime) => string> = {
  d: (dt) => pad(dt.day),
  D: (dt) => DAYS[dt.weekday - 1].slice(0, 3),
  j: (dt) => String(dt.day),
  l: (dt) => DAYS[dt.weekday - 1],
  N: (dt) => String(dt.weekday),
  S: (dt) => ordinal(dt.day),
  w: (dt) => String(dt.weekday % 7),
  z: (dt) => String(dt.ordinal - 1),
  W: (dt) => pad(dt.weekNumber),
  F: (dt) => MONTHS[dt.month - 1],
  m: (dt) => pad(dt.month),
  M: (dt) => MONTHS[dt.month - 1].slice(0, 3),
  n: (dt) => String(dt.month),
  t: (dt) => String(dt.daysInMonth),
  L: (dt) => (dt.isInLeapYear ? "1" : "0"),
  o: (dt) => String(dt.weekYear),
  X: (dt) => (dt.year < 0 ? "" : "+") + year4(dt.year),
  x: (dt) => (dt.year >= 10000 ? "+" : "") + year4(dt.year),
  Y: (dt) => String(dt.year),
  y: (dt) => pad(dt.year % 100),
  a: (dt) => (dt.hour < 12 ? "am" : "pm"),
  A: (dt) => (dt.hour < 12 ? "AM" : "PM"),
  B: (dt) => pad(Math.floor(((((dt.toMillis() / 1000 + 3600) % 86400) + 86400) % 86400) / 86.4), 3),
  g: (dt) => String(dt.hour % 12 || 12),
  G: (dt) => String(dt.hour),
  h: (dt) => pad(dt.hour % 12 || 12),
  H: (dt) => pad(dt.hour),
  i: (dt) => pad(dt.minute),
  s: (dt) => pad(dt.second),
  v: (dt) => pad(dt.millisecond, 3),
  u: (dt) => pad(dt.millisecond * 1000, 6),
  e: (dt) => dt.zoneName ?? "UTC",
  I: (dt) => (dt.isInDST ? "1" : "0"),
  T: zoneAbbreviation,
  P: (dt) => offsetText(dt),
  p: (dt) => (dt.offset === 0 ? "Z" : offsetText(dt)),
  O: (dt) => offsetText(dt, false),
  Z: (dt) => String(dt.offset * 60),
  U: (dt) => String(Math.floor(dt.toMillis() / 1000)),
  c: (dt) =>
    `${year4(dt.year)}-${pad(dt.month)}-${pad(dt.day)}T${pad(dt.hour)}:${pad(dt.minute)}:${pad(dt.second)}${offsetText(dt)}`,
  r: (dt) =>
    `${DAYS[dt.weekday - 1].slice(0, 3)}, ${pad(dt.day)} ${MONTHS[dt.month - 1].slice(0, 3)} ${dt.year} ${pad(dt.hour)}:${pad(dt.minute)}:${pad(dt.second)} ${offsetText(dt, false)}`,
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
