// The opt-in scale-out mode, as settings.js turns it on:
//
//   patchworks: { scaleOut: { redis: "redis://127.0.0.1:6379/0", prefix: "pw", workerId: "w1" } }
//
// Absent (the default) means the embedded single-process mode. Read once at start-up: a worker
// does not change modes while it runs.

export interface RedisTarget {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls: boolean;
}

export interface ScaleOutSettings {
  redis: RedisTarget;
  /** Namespaces every key and queue, so several Patchworks installations can share one Redis. */
  prefix: string;
  /** Names this worker in the run log and in leases; defaults to host name and process id. */
  workerId: string;
  /** How long a worker's claim on a run lasts without renewal before another takes it over. */
  leaseMs: number;
  /** How long a shutting-down worker waits for its runs before handing them back. */
  drainMs: number;
}

const DEFAULTS = { prefix: "pw", leaseMs: 30_000, drainMs: 30_000 };

/** Reads `patchworks.scaleOut`; null when it is not set. Throws, naming the setting, when it is wrong. */
export function readScaleOut(raw: unknown, fallbackWorkerId: string): ScaleOutSettings | null {
  if (raw == null || raw === false) return null;
  if (typeof raw !== "object") throw new Error("patchworks.scaleOut in settings.js must be an object");
  const s = raw as Record<string, unknown>;
  const prefix = s.prefix ?? DEFAULTS.prefix;
  if (typeof prefix !== "string" || !/^[A-Za-z0-9_.-]{1,40}$/.test(prefix))
    throw new Error("patchworks.scaleOut.prefix must be 1–40 letters, digits, '_', '.' or '-'");
  const workerId = s.workerId ?? fallbackWorkerId;
  if (typeof workerId !== "string" || !workerId) throw new Error("patchworks.scaleOut.workerId must be text");
  return {
    redis: readRedisTarget(s.redis),
    prefix,
    workerId,
    leaseMs: positiveMs(s.leaseMs, "leaseMs", DEFAULTS.leaseMs),
    drainMs: positiveMs(s.drainMs, "drainMs", DEFAULTS.drainMs),
  };
}

function positiveMs(v: unknown, name: string, fallback: number): number {
  if (v == null) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 100)
    throw new Error(`patchworks.scaleOut.${name} must be a number of milliseconds, at least 100`);
  return v;
}

/** A `redis://` or `rediss://` URL, or { host, port, db, username, password, tls }. */
export function readRedisTarget(raw: unknown): RedisTarget {
  if (typeof raw === "string") {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new Error("patchworks.scaleOut.redis is not a URL: write redis://host:6379/0");
    }
    if (url.protocol !== "redis:" && url.protocol !== "rediss:")
      throw new Error("patchworks.scaleOut.redis must start with redis:// or rediss://");
    const db = url.pathname.replace(/^\//, "");
    return {
      host: url.hostname || "127.0.0.1",
      port: url.port ? Number(url.port) : 6379,
      db: db ? Number(db) : 0,
      username: url.username ? decodeURIComponent(url.username) : undefined,
      password: url.password ? decodeURIComponent(url.password) : undefined,
      tls: url.protocol === "rediss:",
    };
  }
  if (raw && typeof raw === "object") {
    const r = raw as Record<string, unknown>;
    const port = r.port ?? 6379;
    const db = r.db ?? 0;
    if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535)
      throw new Error("patchworks.scaleOut.redis.port must be a port number");
    if (typeof db !== "number" || !Number.isInteger(db) || db < 0)
      throw new Error("patchworks.scaleOut.redis.db must be a database number (0, 1, …)");
    return {
      host: typeof r.host === "string" && r.host ? r.host : "127.0.0.1",
      port,
      db,
      username: typeof r.username === "string" ? r.username : undefined,
      password: typeof r.password === "string" ? r.password : undefined,
      tls: r.tls === true,
    };
  }
  throw new Error("patchworks.scaleOut.redis must be a redis:// URL or { host, port }");
}
