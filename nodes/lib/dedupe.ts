import fsSync, { promises as fs } from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import { compileGetter } from "./paths";
import { compileTemplate, type TemplateView } from "./templates";

/**
 * De-dupe data pools: the idempotent consumer's repository. A pool is a named set of keys,
 * each under an entity (e.g. "orders", "fulfillments"), each with an expiry; any de-dupe shape
 * naming the pool shares it.
 *
 * In memory a pool is a Map per entity of key → expiry, so a check is one Map lookup and a
 * check-and-set of a whole payload runs synchronously: two messages (of two parallel runs)
 * can never both pass the same key. Expiries are whole seconds since 2020 (small integers
 * until 2054, so the Map holds no boxed numbers).
 *
 * On disk a pool is an append-only log under the user directory, one file per pool:
 * a header line `{"pool":…,"v":1}`, then `<expiry>\t<entity>\t<key>` per key tracked
 * (tab, newline and backslash escaped). Lines are group-committed (one write and one fdatasync
 * for everything appended in a turn of the event loop) and a shape sends its records on only
 * once the keys it tracked are on disk. When the file has grown well past what is live, it is
 * rewritten from memory without expired keys (a temp file, fsync, rename).
 */

export type DedupeMode = "filter" | "track" | "filter-and-track";
export const DEDUPE_MODES: readonly DedupeMode[] = ["filter", "track", "filter-and-track"];
export const DEFAULT_TTL_SECONDS = 90 * 24 * 60 * 60;
/** The longest time to live (about ten years: expiries stay small integers). */
export const MAX_TTL_SECONDS = 10 * 366 * 24 * 60 * 60;
export const MAX_POOL_NAME = 100;
export const MAX_KEY_LENGTH = 1024;

/** Whether the text holds a control character (names are shown in lists and file headers). */
const hasControl = (text: string): boolean => {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) < 0x20) return true;
  return false;
};

const EPOCH_MS = Date.UTC(2020, 0, 1);
/** Seconds since 2020, rounded up: the unit expiries are kept in. */
export const toStamp = (ms: number): number => Math.ceil((ms - EPOCH_MS) / 1000);
export const fromStamp = (stamp: number): number => EPOCH_MS + stamp * 1000;

/** Throws unless the name can name a pool. */
export function checkPoolName(name: unknown): string {
  if (typeof name !== "string" || !name.trim()) throw new Error("the data pool name is empty: name a pool");
  if (name.length > MAX_POOL_NAME)
    throw new Error(`the data pool name is ${name.length} characters long, over ${MAX_POOL_NAME}`);
  if (hasControl(name)) throw new Error("the data pool name holds a control character");
  return name;
}

/** Throws unless the entity can name one (empty is the pool's default entity). */
export function checkEntity(entity: unknown): string {
  if (entity === undefined || entity === null) return "";
  if (typeof entity !== "string") throw new Error("the entity is not text");
  if (entity.length > MAX_POOL_NAME)
    throw new Error(`the entity is ${entity.length} characters long, over ${MAX_POOL_NAME}`);
  if (hasControl(entity)) throw new Error("the entity holds a control character");
  return entity;
}

/** A time to live in seconds from a number and a unit, checked. */
export function ttlSeconds(value: unknown, unit: unknown = "days"): number {
  const units: Record<string, number> = { seconds: 1, minutes: 60, hours: 3600, days: 86400 };
  const n = value === undefined || value === "" ? 90 : Number(value);
  if (typeof unit !== "string" || !Object.hasOwn(units, unit))
    throw new Error(`unknown time to live unit "${String(unit)}" (use seconds, minutes, hours or days)`);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`the time to live "${String(value)}" is not a positive number`);
  const seconds = Math.round(n * units[unit]);
  if (seconds > MAX_TTL_SECONDS)
    throw new Error(`the time to live is over ten years (${String(value)} ${unit})`);
  return Math.max(1, seconds);
}

/** How a record's key is found: a path into the record, or a template of several fields. */
export type KeyReader = (record: unknown, extra: Omit<TemplateView, "payload">) => unknown;

export function compileKey(keyType: unknown, key: unknown): KeyReader {
  const text = typeof key === "string" ? key : "";
  if (!text.trim())
    throw new Error("the key is empty: give the path of the field that identifies a record (e.g. id)");
  if (keyType === "template") {
    const render = compileTemplate(text);
    return (record, extra) => render({ ...extra, record } as TemplateView);
  }
  if (keyType !== undefined && keyType !== "path" && keyType !== "")
    throw new Error(`unknown key type "${String(keyType)}" (use path or template)`);
  const get = compileGetter(text);
  return (record) => get(record);
}

/** A key as text; why not, when it cannot be one. */
export function keyText(value: unknown): string | { problem: string } {
  if (value === undefined || value === null || value === "") return { problem: "has no key" };
  if (typeof value === "string") {
    if (value.length > MAX_KEY_LENGTH)
      return { problem: `has a key ${value.length} characters long, over ${MAX_KEY_LENGTH}` };
    return value;
  }
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean")
    return String(value);
  return {
    problem: `has a key that is ${Array.isArray(value) ? "a list" : "an object"}, not text or a number`,
  };
}

const escape = (s: string) =>
  /[\t\n\r\\]/.test(s)
    ? s.replace(/[\t\n\r\\]/g, (c) => (c === "\t" ? "\\t" : c === "\n" ? "\\n" : c === "\r" ? "\\r" : "\\\\"))
    : s;
const unescape = (s: string) =>
  s.includes("\\")
    ? s.replace(/\\([tnr\\])/g, (_m, c: string) =>
        c === "t" ? "\t" : c === "n" ? "\n" : c === "r" ? "\r" : "\\",
      )
    : s;

export interface PoolInfo {
  name: string;
  keys: number;
  /** Keys by entity ("" is the default entity). */
  entities: Record<string, number>;
  /** The log's size on disk. */
  bytes: number;
}

export interface TrackResult {
  /** Per key given: it passed (not seen, or expired; always in track mode). */
  passed: boolean[];
  /** Keys written to the pool by this call. */
  tracked: number;
  /** Resolves once what this call tracked is on disk. */
  durable: Promise<void>;
}

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

export class DedupePool {
  /** entity → key → expiry stamp. Maps, never objects: keys are user data. */
  private readonly entities = new Map<string, Map<string, number>>();
  private pending: string[] = [];
  private waiters: Waiter[] = [];
  private writing = false;
  private scheduled = false;
  private fd: number | undefined;
  private bytes = 0;
  private lines = 0;
  private closed = false;

  constructor(
    readonly name: string,
    readonly file: string,
    private readonly opts: { compactMinBytes: number; now: () => number },
  ) {}

  /** Keys in the pool (expired ones not yet pruned included). */
  get size(): number {
    let n = 0;
    for (const keys of this.entities.values()) n += keys.size;
    return n;
  }

  info(): PoolInfo {
    const entities: Record<string, number> = Object.create(null) as Record<string, number>;
    const now = toStamp(this.opts.now());
    let keys = 0;
    for (const [entity, map] of this.entities) {
      let live = 0;
      for (const expiry of map.values()) if (expiry > now) live++;
      if (live) entities[entity] = live;
      keys += live;
    }
    return { name: this.name, keys, entities: { ...entities }, bytes: this.bytes };
  }

  /** Whether the key is in the pool and not expired. */
  has(entity: string, key: string): boolean {
    const expiry = this.entities.get(entity)?.get(key);
    return expiry !== undefined && expiry > toStamp(this.opts.now());
  }

  /**
   * The check-and-set of one payload, synchronous so no other message comes between:
   * filter passes keys not in the pool; track adds every key (refreshing its expiry) and passes
   * all; filter-and-track passes and adds keys not in the pool (a key twice in one payload
   * passes once). `undefined` keys (records without one) are skipped: passed is false.
   */
  process(entity: string, keys: Array<string | undefined>, mode: DedupeMode, ttlSec: number): TrackResult {
    const now = toStamp(this.opts.now());
    const expiry = now + ttlSec;
    let map = this.entities.get(entity);
    const passed = new Array<boolean>(keys.length);
    let out = "";
    let tracked = 0;
    const e = escape(entity);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      if (key === undefined) {
        passed[i] = false;
        continue;
      }
      const seen = map?.get(key);
      const fresh = seen === undefined || seen <= now;
      if (mode === "filter") {
        passed[i] = fresh;
        continue;
      }
      passed[i] = mode === "track" || fresh;
      if (!fresh && (mode === "filter-and-track" || seen === expiry)) continue;
      if (!map) this.entities.set(entity, (map = new Map()));
      map.set(key, expiry);
      out += `${expiry}\t${e}\t${escape(key)}\n`;
      tracked++;
    }
    return { passed, tracked, durable: tracked ? this.append(out, tracked) : Promise.resolve() };
  }

  /** Adds keys (an import): only keys not already live; resolves with how many were added. */
  async add(entity: string, keys: Iterable<string>, ttlSec: number): Promise<number> {
    const list = [...keys];
    const result = this.process(entity, list, "filter-and-track", ttlSec);
    await result.durable;
    return result.tracked;
  }

  /** Live keys, entity by entity, for inspecting and exporting. */
  *entries(entity?: string): Generator<{ entity: string; key: string; expiresAt: number }> {
    const now = toStamp(this.opts.now());
    for (const [name, map] of this.entities) {
      if (entity !== undefined && name !== entity) continue;
      for (const [key, stamp] of map)
        if (stamp > now) yield { entity: name, key, expiresAt: fromStamp(stamp) };
    }
  }

  /** Removes every key; resolves once the empty pool is on disk. */
  async clear(): Promise<void> {
    this.entities.clear();
    await this.flushed();
    await this.rewrite();
  }

  /** Reads the log (a line cut short by a crash is skipped); expired keys are left out. */
  async load(): Promise<void> {
    await fs.mkdir(path.dirname(this.file), { recursive: true });
    let text = "";
    try {
      text = await fs.readFile(this.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    const now = toStamp(this.opts.now());
    let start = text.indexOf("\n") + 1; // after the header
    if (start === 0) start = text.length;
    let lines = 0;
    while (start < text.length) {
      const end = text.indexOf("\n", start);
      if (end === -1) break; // cut short: never acknowledged
      const t1 = text.indexOf("\t", start);
      const t2 = t1 === -1 ? -1 : text.indexOf("\t", t1 + 1);
      if (t2 !== -1 && t2 < end) {
        const stamp = Number(text.slice(start, t1));
        if (stamp > now) {
          const entity = unescape(text.slice(t1 + 1, t2));
          let map = this.entities.get(entity);
          if (!map) this.entities.set(entity, (map = new Map()));
          map.set(unescape(text.slice(t2 + 1, end)), stamp);
        }
        lines++;
      }
      start = end + 1;
    }
    this.lines = lines;
    this.bytes = Buffer.byteLength(text);
    if (text && this.size * 2 >= lines) {
      this.fd = fsSync.openSync(this.file, "a", 0o600);
    } else {
      await this.rewrite();
    }
  }

  /** Resolves once everything appended so far is on disk. */
  async flushed(): Promise<void> {
    while (this.writing || this.pending.length > 0) {
      if (!this.writing) this.commit();
      await new Promise((r) => setImmediate(r));
    }
  }

  async close(): Promise<void> {
    await this.flushed();
    this.closed = true;
    if (this.fd !== undefined) fsSync.closeSync(this.fd);
    this.fd = undefined;
  }

  private append(text: string, lines: number): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`the data pool "${this.name}" is closed`));
    this.pending.push(text);
    this.lines += lines;
    this.schedule();
    return new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private schedule(): void {
    if (this.scheduled || this.writing || this.pending.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.commit();
    });
  }

  /** One write and one fdatasync for everything pending; a rewrite instead when the log is mostly dead lines. */
  private commit(): void {
    if (this.writing || this.pending.length === 0) return;
    this.writing = true;
    const waiters = this.waiters;
    this.waiters = [];
    const compact = this.bytes > this.opts.compactMinBytes && this.lines > this.size * 2;
    const text = compact ? "" : this.pending.join("");
    this.pending = [];
    const done = (err?: Error | null) => {
      this.writing = false;
      for (const w of waiters) {
        if (err) w.reject(err);
        else w.resolve();
      }
      this.schedule();
    };
    if (compact || this.fd === undefined) {
      // Memory holds everything that was pending.
      this.rewrite().then(() => done(), done);
      return;
    }
    const fd = this.fd;
    fsSync.write(fd, text, null, "utf8", (err) => {
      if (err) return done(err);
      this.bytes += Buffer.byteLength(text);
      fsSync.fdatasync(fd, done);
    });
  }

  /** The log anew from memory, live keys only: temp file, fsync, rename; appends go to it then. */
  private async rewrite(): Promise<void> {
    const tmp = `${this.file}.${process.pid}.tmp`;
    const handle = await fs.open(tmp, "w", 0o600);
    let bytes = 0;
    let lines = 0;
    try {
      const header = `${JSON.stringify({ pool: this.name, v: 1 })}\n`;
      await handle.write(header);
      bytes += Buffer.byteLength(header);
      const now = toStamp(this.opts.now());
      let chunk = "";
      for (const [entity, map] of this.entities) {
        const e = escape(entity);
        for (const [key, stamp] of map) {
          if (stamp <= now) {
            map.delete(key);
            continue;
          }
          chunk += `${stamp}\t${e}\t${escape(key)}\n`;
          lines++;
          if (chunk.length > 1 << 20) {
            bytes += Buffer.byteLength(chunk);
            await handle.write(chunk);
            chunk = "";
          }
        }
        if (map.size === 0) this.entities.delete(entity);
      }
      if (chunk) {
        bytes += Buffer.byteLength(chunk);
        await handle.write(chunk);
      }
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, this.file);
    const dir = await fs.open(path.dirname(this.file), "r").catch(() => undefined);
    await dir?.sync().catch(() => undefined);
    await dir?.close();
    if (this.fd !== undefined) fsSync.closeSync(this.fd);
    this.fd = fsSync.openSync(this.file, "a", 0o600);
    this.bytes = bytes;
    this.lines = lines;
  }
}

export interface DedupeStoreOptions {
  /** Logs are rewritten only once bigger than this (default 1 MB) and mostly dead lines. */
  compactMinBytes?: number;
  now?: () => number;
}

/** The embedded store of data pools: one log file per pool under `dir`, loaded on first use. */
export class DedupeStore {
  private readonly pools = new Map<string, Promise<DedupePool>>();
  private readonly compactMinBytes: number;
  private readonly now: () => number;

  constructor(
    readonly dir: string,
    opts: DedupeStoreOptions = {},
  ) {
    this.compactMinBytes = opts.compactMinBytes ?? 1 << 20;
    this.now = opts.now ?? Date.now;
  }

  /** The file a pool is kept in: a readable prefix and a hash of the whole name. */
  fileOf(name: string): string {
    const prefix = name.replace(/[^A-Za-z0-9_-]+/g, "_").slice(0, 40);
    const hash = crypto.createHash("sha256").update(name).digest("hex").slice(0, 16);
    return path.join(this.dir, `${prefix}-${hash}.log`);
  }

  /** The pool, loaded from disk the first time it is asked for (concurrent askers share the load). */
  pool(name: string): Promise<DedupePool> {
    checkPoolName(name);
    let pool = this.pools.get(name);
    if (!pool) {
      const p = new DedupePool(name, this.fileOf(name), {
        compactMinBytes: this.compactMinBytes,
        now: this.now,
      });
      pool = p.load().then(() => p);
      pool.catch(() => this.pools.delete(name));
      this.pools.set(name, pool);
    }
    return pool;
  }

  /** The pool if it exists (loaded, or on disk); undefined otherwise. */
  async existing(name: string): Promise<DedupePool | undefined> {
    if (this.pools.has(name)) return this.pool(name);
    const exists = await fs.access(this.fileOf(name)).then(
      () => true,
      () => false,
    );
    return exists ? this.pool(name) : undefined;
  }

  /** Every pool on disk or in use, by name. */
  async names(): Promise<string[]> {
    const names = new Set(this.pools.keys());
    let files: string[] = [];
    try {
      files = await fs.readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    for (const file of files) {
      if (!file.endsWith(".log")) continue;
      const handle = await fs.open(path.join(this.dir, file), "r").catch(() => undefined);
      if (!handle) continue;
      try {
        const buf = Buffer.alloc(512);
        const { bytesRead } = await handle.read(buf, 0, 512, 0);
        const first = buf.toString("utf8", 0, bytesRead).split("\n")[0];
        const name = (JSON.parse(first) as { pool?: unknown }).pool;
        if (typeof name === "string") names.add(name);
      } catch {
        // not one of ours
      } finally {
        await handle.close();
      }
    }
    return [...names].sort();
  }

  /** Finishes every write and closes the files. */
  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(
      pools.map((p) =>
        p.then(
          (pool) => pool.close(),
          () => undefined,
        ),
      ),
    );
  }
}

/** A live key of a pool, for inspecting and exporting. */
export interface PoolEntry {
  entity: string;
  key: string;
  /** Epoch ms. */
  expiresAt: number;
}

/**
 * A data pool as the de-dupe shape and the admin routes use it, wherever it is kept: the
 * embedded pool (memory and a log under the user directory) or Redis (the scale-out mode,
 * one pool for every worker). `checkAndSet` is atomic in both: two messages, on one worker or
 * on two, never both pass the same key.
 */
export interface SharedPool {
  readonly name: string;
  checkAndSet(
    entity: string,
    keys: Array<string | undefined>,
    mode: DedupeMode,
    ttlSec: number,
  ): Promise<{ passed: boolean[]; tracked: number }>;
  info(): Promise<PoolInfo>;
  entries(entity?: string): AsyncIterable<PoolEntry>;
  /** Adds keys not already live (an import); resolves with how many were added. */
  add(entity: string, keys: string[], ttlSec: number): Promise<number>;
  clear(): Promise<void>;
}

export interface PoolStore {
  /** The pool, made when it does not exist yet. */
  pool(name: string): Promise<SharedPool>;
  /** The pool if it exists; undefined otherwise. */
  existing(name: string): Promise<SharedPool | undefined>;
  names(): Promise<string[]>;
  close(): Promise<void>;
}

/** The embedded store behind the PoolStore interface (resolves once what a call tracked is on disk). */
export function embeddedPools(store: DedupeStore): PoolStore {
  const wrappers = new WeakMap<DedupePool, SharedPool>();
  const wrap = (pool: DedupePool): SharedPool => {
    let w = wrappers.get(pool);
    if (!w) {
      w = {
        name: pool.name,
        async checkAndSet(entity, keys, mode, ttlSec) {
          // Synchronous to the end of process(): no other message comes between.
          const result = pool.process(entity, keys, mode, ttlSec);
          await result.durable;
          return { passed: result.passed, tracked: result.tracked };
        },
        info: async () => pool.info(),
        async *entries(entity) {
          yield* pool.entries(entity);
        },
        add: (entity, keys, ttlSec) => pool.add(entity, keys, ttlSec),
        clear: () => pool.clear(),
      };
      wrappers.set(pool, w);
    }
    return w;
  };
  return {
    pool: (name) => store.pool(name).then(wrap),
    existing: (name) => store.existing(name).then((p) => (p ? wrap(p) : undefined)),
    names: () => store.names(),
    close: () => store.close(),
  };
}
