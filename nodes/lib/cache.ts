/**
 * The cache shape's engine: what an entry of a cache holds and how adding and loading change
 * it. Entries live in a Node-RED context store the user picks, one context variable per cache
 * name and key, so they are plain JSON: the payload is kept as JSON text in parts (an append
 * adds a part without reading the others back; loading parses them), which also makes its size
 * exact and loads return a fresh copy nobody else holds.
 */

export const CACHE_PREFIX = "pwcache_";
export const DEFAULT_MAX_MB = 50;
export const MAX_NAME = 100;

export type CacheScope = "run" | "flow" | "global";
export const CACHE_SCOPES: readonly CacheScope[] = ["run", "flow", "global"];

export interface CacheEntry {
  v: 1;
  cache: string;
  key: string;
  savedAt: number;
  /** Ms since epoch after which the entry counts as missing; absent: kept until cleared. */
  expiresAt?: number;
  /** JSON text of each payload stored. */
  parts: string[];
  /** Save all pages: the page number of each part. */
  pages?: number[];
  /** The run that last wrote (save all pages without append starts afresh for a new run). */
  run?: string;
  /** Written by appends: loading concatenates even a single part. */
  appended?: boolean;
  /** Characters of JSON text held (close to bytes for mostly-ASCII data). */
  bytes: number;
}

/** Context variable names carry only letters, digits and _ (dots and brackets would be paths). */
function encode(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    out += alnum ? text[i] : `_${c.toString(16).padStart(4, "0")}`;
  }
  return out;
}

function decode(text: string): string {
  return text.replace(/_([0-9a-f]{4})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** The context variable of one entry; run-scoped entries carry the run's id. */
export function contextKey(name: string, key: string, runId?: string): string {
  return `${CACHE_PREFIX}${runId ? `r${encode(runId)}__` : ""}${encode(name)}__${encode(key)}`;
}

/** The cache name a context variable belongs to, or undefined when it is not one of ours. */
export function cacheNameOf(variable: string): { name: string; run?: string } | undefined {
  if (!variable.startsWith(CACHE_PREFIX)) return undefined;
  const parts = variable.slice(CACHE_PREFIX.length).split("__");
  if (parts.length === 3 && parts[0].startsWith("r"))
    return { name: decode(parts[1]), run: decode(parts[0].slice(1)) };
  if (parts.length === 2) return { name: decode(parts[0]) };
  return undefined;
}

export function checkCacheName(name: unknown): string {
  if (typeof name !== "string" || !name.trim()) throw new Error("the cache name is empty: name the cache");
  if (name.length > MAX_NAME)
    throw new Error(`the cache name is ${name.length} characters long, over ${MAX_NAME}`);
  return name;
}

export function checkScope(scope: unknown): CacheScope {
  if (!CACHE_SCOPES.includes(scope as CacheScope))
    throw new Error(`unknown scope "${String(scope)}" (use run, flow or global)`);
  return scope as CacheScope;
}

/** A size limit in bytes from megabytes (default 50). */
export function maxBytesOf(mb: unknown): number {
  const n = mb === undefined || mb === "" ? DEFAULT_MAX_MB : Number(mb);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`the size limit "${String(mb)}" is not a positive number of MB`);
  return Math.round(n * 1024 * 1024);
}

/** A time to live in ms; 0 or empty: none. */
export function cacheTtlMs(value: unknown, unit: unknown = "days"): number {
  const units: Record<string, number> = { seconds: 1e3, minutes: 6e4, hours: 36e5, days: 864e5 };
  if (value === undefined || value === "" || Number(value) === 0) return 0;
  if (typeof unit !== "string" || !Object.hasOwn(units, unit))
    throw new Error(`unknown time to live unit "${String(unit)}" (use seconds, minutes, hours or days)`);
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new Error(`the time to live "${String(value)}" is not a positive number`);
  return n * units[unit];
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** JSON text of a payload, or an error saying why it cannot be cached. */
export function payloadJson(payload: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(payload);
  } catch (err) {
    throw new Error(`the payload cannot be cached as JSON (${(err as Error).message})`, { cause: err });
  }
  if (text === undefined)
    throw new Error("the payload cannot be cached as JSON (it is a function or undefined)");
  return text;
}

export interface AddOptions {
  cache: string;
  key: string;
  append: boolean;
  /** Save all pages: the page this payload is (1 when the message is no page of a pull). */
  page?: number;
  runId?: string;
  now: number;
  ttlMs: number;
  maxBytes: number;
}

/** The entry after adding a payload's JSON; throws (leaving nothing changed) when over the size limit. */
export function addToEntry(existing: CacheEntry | undefined, json: string, opts: AddOptions): CacheEntry {
  const live =
    existing && !(existing.expiresAt !== undefined && existing.expiresAt <= opts.now) ? existing : undefined;
  let parts: string[];
  let pages: number[] | undefined;
  if (opts.page !== undefined) {
    const fresh = !live || !live.pages || (!opts.append && live.run !== opts.runId);
    parts = fresh ? [] : [...live.parts];
    pages = fresh ? [] : [...(live.pages ?? [])];
    const at = opts.append ? -1 : pages.indexOf(opts.page);
    if (at >= 0) parts[at] = json;
    else {
      parts.push(json);
      pages.push(opts.page);
    }
  } else if (opts.append && live && !live.pages) {
    parts = [...live.parts, json];
  } else {
    parts = [json];
  }
  let bytes = 0;
  for (const p of parts) bytes += p.length;
  if (bytes > opts.maxBytes)
    throw new Error(
      `cache "${opts.cache}" (key "${opts.key}") would hold ${mb(bytes)}, over its ${mb(opts.maxBytes)} limit; ` +
        "nothing was written. Raise the size limit in the shape, clear the cache, or cache less (a map shape first)",
    );
  const entry: CacheEntry = { v: 1, cache: opts.cache, key: opts.key, savedAt: opts.now, parts, bytes };
  if (pages) entry.pages = pages;
  if (opts.runId) entry.run = opts.runId;
  if (opts.append) entry.appended = true;
  if (opts.ttlMs > 0) entry.expiresAt = opts.now + opts.ttlMs;
  return entry;
}

/** Whether a stored value is an entry of ours that has not expired. */
export function liveEntry(value: unknown, now: number): CacheEntry | undefined {
  const e = value as CacheEntry | undefined;
  if (!e || typeof e !== "object" || e.v !== 1 || !Array.isArray(e.parts)) return undefined;
  if (e.expiresAt !== undefined && e.expiresAt <= now) return undefined;
  return e;
}

/**
 * What an entry holds: one payload when it was stored once; appended payloads concatenated
 * (arrays spread, anything else as one element); with pages, in page order, either
 * concatenated the same way (`all`) or one payload per page (`each`).
 */
export function readEntry(
  entry: CacheEntry,
  pages: "all" | "each" = "all",
): { payload: unknown; pages?: Array<{ number: number; payload: unknown }> } {
  const parsed = entry.parts.map((p) => JSON.parse(p) as unknown);
  if (entry.pages) {
    const order = entry.pages
      .map((n, i) => ({ number: n, payload: parsed[i] }))
      .sort((a, b) => a.number - b.number);
    if (pages === "each") return { payload: undefined, pages: order };
    return { payload: concat(order.map((p) => p.payload)) };
  }
  return { payload: parsed.length === 1 && !entry.appended ? parsed[0] : concat(parsed) };
}

function concat(list: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const item of list) {
    if (Array.isArray(item)) for (const x of item) out.push(x);
    else out.push(item);
  }
  return out;
}
