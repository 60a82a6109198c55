import type { Redis } from "ioredis";
import { connectRedis } from "./redis";
import { readRedisTarget } from "./settings";
import { parsePath, parseTargetPath, step, type Segment } from "../paths";

/**
 * A Node-RED context store kept in Redis, so flow and global variables (and the cache shape's
 * entries) are the same on every worker of the scale-out mode, and outlive a worker. Node-RED
 * has no Redis store of its own and npm none kept up (node-red-contrib-redis is a node), so
 * this is ours. In settings.js:
 *
 *   contextStorage: {
 *     default: "memory",
 *     redis: {
 *       module: require("node-red-contrib-patchworks/dist/lib/scale/context-redis"),
 *       config: { redis: "redis://127.0.0.1:6379/0", prefix: "pw" },
 *     },
 *   }
 *
 * Each scope (global, a flow, a node) is a Redis hash `<prefix>:ctx:{<scope>}`: a field per
 * top-level variable, its value as JSON (what JSON cannot hold, such as functions, is lost, as in
 * Node-RED's file store). Setting a variable is one HSET; setting a path inside one (`a.b[2]`) reads,
 * changes and writes it back under WATCH, tried again when another worker wrote it meanwhile.
 * While Redis is away, reads and writes wait for it to come back (they are not lost).
 */

type Callback = (err?: Error | null, ...values: unknown[]) => void;

interface StoreConfig {
  redis?: unknown;
  prefix?: unknown;
}

const DELETE = Symbol("delete");

class RedisContextStore {
  private redis?: Redis;
  private readonly prefix: string;
  private readonly scopesKey: string;
  /** Writes of a path inside a variable, one at a time (WATCH is per connection). */
  private writing: Promise<unknown> = Promise.resolve();

  constructor(private readonly config: StoreConfig) {
    const prefix = config.prefix ?? "pw";
    if (typeof prefix !== "string" || !/^[A-Za-z0-9_.-]{1,40}$/.test(prefix))
      throw new Error(
        "the Redis context store's config.prefix must be 1–40 letters, digits, '_', '.' or '-'",
      );
    // Checked here, so a wrong setting stops Node-RED at start-up with the reason.
    readRedisTarget(config.redis ?? "redis://127.0.0.1:6379/0");
    this.prefix = prefix;
    this.scopesKey = `${prefix}:ctx:scopes`;
  }

  private hashOf(scope: string): string {
    return `${this.prefix}:ctx:{${scope}}`;
  }

  private get conn(): Redis {
    if (!this.redis) throw new Error("the Redis context store is not open");
    return this.redis;
  }

  async open(): Promise<void> {
    const redis = connectRedis(
      readRedisTarget(this.config.redis ?? "redis://127.0.0.1:6379/0"),
      "pw-context",
    );
    // ioredis reports a lost connection as an error event; it reconnects by itself.
    redis.on("error", () => undefined);
    this.redis = redis;
    await redis.ping();
  }

  async close(): Promise<void> {
    await this.writing.catch(() => undefined);
    const redis = this.redis;
    this.redis = undefined;
    if (redis) await redis.quit().catch(() => redis.disconnect());
  }

  get(scope: string, key: string | string[], callback?: Callback): unknown {
    if (typeof callback !== "function")
      throw new Error("the Redis context store is asynchronous: pass a callback to get");
    const keys = Array.isArray(key) ? key : [key];
    let paths: Segment[][];
    try {
      paths = keys.map((k) => parsePath(String(k)));
    } catch (err) {
      callback(err as Error);
      return;
    }
    const fields = paths.map((p, i) => topOf(p, keys[i]));
    this.conn.hmget(this.hashOf(scope), ...fields).then(
      (texts) => {
        try {
          const values = texts.map((text, i) => {
            if (text == null) return undefined;
            let value: unknown = JSON.parse(text);
            for (const seg of paths[i].slice(1)) {
              if (value == null) return undefined;
              value = step(value, seg);
            }
            return value;
          });
          callback(null, ...values);
        } catch (err) {
          callback(err as Error);
        }
      },
      (err: Error) => callback(err),
    );
  }

  set(scope: string, key: string | string[], value: unknown, callback?: Callback): void {
    const keys = Array.isArray(key) ? key : [key];
    const values = Array.isArray(key) ? (Array.isArray(value) ? value : [value]) : [value];
    const done = (err?: Error | null) => {
      if (callback) callback(err ?? undefined);
    };
    let paths: Segment[][];
    try {
      paths = keys.map((k) => parseTargetPath(String(k), "the context variable"));
      paths.forEach((p, i) => topOf(p, keys[i]));
    } catch (err) {
      done(err as Error);
      return;
    }
    const hash = this.hashOf(scope);
    const work = async () => {
      await this.conn.sadd(this.scopesKey, scope);
      for (let i = 0; i < keys.length; i++) {
        const v = i < values.length ? values[i] : null;
        const path = paths[i];
        const field = (path[0] as { key: string }).key;
        if (path.length === 1) {
          if (v === undefined) await this.conn.hdel(hash, field);
          else await this.conn.hset(hash, field, JSON.stringify(v));
        } else await this.setInside(hash, field, path.slice(1), v === undefined ? DELETE : v);
      }
    };
    work().then(
      () => done(),
      (err: Error) => done(err),
    );
  }

  /** Read, change, write back under WATCH; again if another writer came between. */
  private setInside(hash: string, field: string, rest: Segment[], value: unknown): Promise<void> {
    const attempt = async (): Promise<void> => {
      for (let tries = 0; tries < 50; tries++) {
        await this.conn.watch(hash);
        const text = await this.conn.hget(hash, field);
        const root = setPath(text == null ? undefined : JSON.parse(text), rest, value);
        const result = await this.conn.multi().hset(hash, field, JSON.stringify(root)).exec();
        if (result) return;
      }
      throw new Error(`the context variable "${field}" kept changing under this write: try again`);
    };
    const turn = this.writing.then(attempt, attempt);
    this.writing = turn.catch(() => undefined);
    return turn;
  }

  keys(scope: string, callback: Callback): void {
    if (typeof callback !== "function")
      throw new Error("the Redis context store is asynchronous: pass a callback to keys");
    this.conn.hkeys(this.hashOf(scope)).then(
      (keys) => callback(null, keys),
      (err: Error) => callback(err),
    );
  }

  async delete(scope: string): Promise<void> {
    await this.conn.multi().del(this.hashOf(scope)).srem(this.scopesKey, scope).exec();
  }

  /** Forgets the scopes of nodes and flows no longer deployed (global stays). */
  async clean(activeNodes: string[]): Promise<void> {
    const active = new Set(activeNodes);
    const scopes = await this.conn.smembers(this.scopesKey);
    for (const scope of scopes)
      if (scope !== "global" && !active.has(scope.split(":")[0])) await this.delete(scope);
  }
}

/** The variable a path starts at (a path must start with a name). */
function topOf(path: Segment[], key: unknown): string {
  const first = path[0];
  if (!first || first.kind !== "key")
    throw new Error(`the context key "${String(key)}" must start with a variable name`);
  return first.key;
}

/** A copy of `root` with `value` at `path` (DELETE removes it), creating objects and arrays on the way. */
function setPath(root: unknown, path: Segment[], value: unknown): unknown {
  const seg = path[0];
  if (seg.kind === "all") throw new Error("a context key cannot write to [*]");
  const container: Record<string, unknown> | unknown[] =
    seg.kind === "index"
      ? Array.isArray(root)
        ? [...root]
        : []
      : root && typeof root === "object" && !Array.isArray(root)
        ? { ...(root as Record<string, unknown>) }
        : {};
  const at = seg.kind === "index" ? seg.index : seg.key;
  const current = (container as Record<string | number, unknown>)[at];
  const next = path.length === 1 ? value : setPath(current, path.slice(1), value);
  if (next === DELETE) {
    if (Array.isArray(container)) container.splice(at as number, 1);
    else delete container[at as string];
  } else (container as Record<string | number, unknown>)[at] = next;
  return container;
}

export = function (config: StoreConfig): RedisContextStore {
  return new RedisContextStore(config ?? {});
};
