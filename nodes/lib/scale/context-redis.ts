import { randomUUID } from "node:crypto";
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
 *
 * Reads with a callback ask Redis. Reads without one (a function node's `flow.get("x")`, a
 * `{{flow.x}}` template) are answered from a copy of the store kept in memory, as Node-RED's file
 * store does in its cache mode: loaded at open, changed by this worker's writes at once and by
 * other workers' through a Redis channel (a few milliseconds later), and loaded again after
 * Redis comes back from a restart.
 */

type Callback = (err?: Error | null, ...values: unknown[]) => void;

interface StoreConfig {
  redis?: unknown;
  prefix?: unknown;
  /**
   * Forget the variables of nodes and flows a deploy removed (Node-RED's clean). Off by default:
   * every worker's deploy cleans against its own flows, so a worker with older flows (a rolling
   * update, one started before its flows arrived) would wipe the variables of the others' new ones.
   */
  cleanUnused?: unknown;
}

/** A change another worker made: a variable's new JSON (null: deleted), or a whole scope dropped. */
interface Change {
  o: string;
  s: string;
  f?: string;
  v?: string | null;
}

const DELETE = Symbol("delete");

class RedisContextStore {
  private redis?: Redis;
  private sub?: Redis;
  private readonly prefix: string;
  private readonly scopesKey: string;
  private readonly channel: string;
  private readonly origin = randomUUID();
  /** The in-memory copy: scope → variable → value. */
  private readonly copy = new Map<string, Map<string, unknown>>();
  /** The latest path write of each variable still on its way: an earlier one does not overwrite the copy a later set made. */
  private readonly latest = new Map<string, number>();
  private writes = 0;
  /**
   * This store's writes, one at a time and in the order they were made: a later set of a variable
   * never lands before an earlier one, and a path write's WATCH…EXEC has the connection to itself
   * (WATCH is per connection; another write's EXEC would drop it).
   */
  private writing: Promise<unknown> = Promise.resolve();

  private inTurn(work: () => Promise<void>): Promise<void> {
    const turn = this.writing.then(work, work);
    this.writing = turn.catch(() => undefined);
    return turn;
  }

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
    this.channel = `${prefix}:ctx:changes`;
  }

  private hashOf(scope: string): string {
    return `${this.prefix}:ctx:{${scope}}`;
  }

  private get conn(): Redis {
    if (!this.redis) throw new Error("the Redis context store is not open");
    return this.redis;
  }

  async open(): Promise<void> {
    const target = readRedisTarget(this.config.redis ?? "redis://127.0.0.1:6379/0");
    const redis = connectRedis(target, "pw-context");
    const sub = connectRedis(target, "pw-context-changes");
    // ioredis reports a lost connection as an error event; it reconnects by itself.
    redis.on("error", () => undefined);
    sub.on("error", () => undefined);
    this.redis = redis;
    this.sub = sub;
    sub.on("message", (_channel: string, text: string) => this.apply(text));
    await sub.subscribe(this.channel);
    await this.reload();
    // Changes published while Redis was away are lost with it: read everything again.
    sub.on("ready", () => {
      this.reload().catch(() => undefined);
    });
  }

  async close(): Promise<void> {
    await this.writing.catch(() => undefined);
    for (const conn of [this.sub, this.redis]) if (conn) await conn.quit().catch(() => conn.disconnect());
    this.redis = undefined;
    this.sub = undefined;
  }

  private async reload(): Promise<void> {
    const scopes = await this.conn.smembers(this.scopesKey);
    const loaded = new Map<string, Map<string, unknown>>();
    for (const scope of scopes) {
      const all = await this.conn.hgetall(this.hashOf(scope));
      loaded.set(scope, new Map(Object.entries(all).map(([k, v]) => [k, JSON.parse(v) as unknown])));
    }
    this.copy.clear();
    for (const [scope, vars] of loaded) this.copy.set(scope, vars);
  }

  private apply(text: string): void {
    let change: Change;
    try {
      change = JSON.parse(text) as Change;
    } catch {
      return;
    }
    if (change.o === this.origin) return;
    if (change.f === undefined) this.copy.delete(change.s);
    else {
      let value: unknown = DELETE;
      try {
        if (change.v != null) value = JSON.parse(change.v);
      } catch {
        // Thrown here, it would reach ioredis's socket handler and end Node-RED: the copy reads it again instead.
        this.reload().catch(() => undefined);
        return;
      }
      this.remember(change.s, change.f, value);
    }
  }

  private remember(scope: string, field: string, value: unknown): void {
    let vars = this.copy.get(scope);
    if (value === DELETE) {
      vars?.delete(field);
      return;
    }
    if (!vars) this.copy.set(scope, (vars = new Map()));
    vars.set(field, value);
  }

  private publish(change: Omit<Change, "o">): Promise<unknown> {
    return this.conn.publish(this.channel, JSON.stringify({ o: this.origin, ...change }));
  }

  get(scope: string, key: string | string[], callback?: Callback): unknown {
    const keys = Array.isArray(key) ? key : [key];
    let paths: Segment[][];
    let fields: string[];
    try {
      paths = keys.map((k) => parsePath(String(k)));
      fields = paths.map((p, i) => topOf(p, keys[i]));
    } catch (err) {
      // As Node-RED's own stores: to the callback when there is one, else thrown.
      if (typeof callback !== "function") throw err;
      callback(err as Error);
      return undefined;
    }
    const inside = (root: unknown, path: Segment[]) => {
      let value = root;
      for (const seg of path.slice(1)) {
        if (value == null) return undefined;
        value = step(value, seg);
      }
      return value;
    };
    if (typeof callback !== "function") {
      const vars = this.copy.get(scope);
      const values = paths.map((p, i) => inside(vars?.get(fields[i]), p));
      return Array.isArray(key) ? values : values[0];
    }
    this.conn.hmget(this.hashOf(scope), ...fields).then(
      (texts) => {
        try {
          const values = texts.map((text, i) => {
            const root = text == null ? undefined : (JSON.parse(text) as unknown);
            this.remember(scope, fields[i], text == null ? DELETE : root);
            return inside(root, paths[i]);
          });
          callback(null, ...values);
        } catch (err) {
          callback(err as Error);
        }
      },
      (err: Error) => callback(err),
    );
    return undefined;
  }

  set(scope: string, key: string | string[], value: unknown, callback?: Callback): void {
    const keys = Array.isArray(key) ? key : [key];
    const values = Array.isArray(key) ? (Array.isArray(value) ? value : [value]) : [value];
    let paths: Segment[][];
    try {
      paths = keys.map((k) => parseTargetPath(String(k), "the context variable"));
      paths.forEach((p, i) => topOf(p, keys[i]));
    } catch (err) {
      if (typeof callback !== "function") throw err;
      callback(err as Error);
      return;
    }
    const hash = this.hashOf(scope);
    const writes: Array<() => Promise<void>> = [];
    for (let i = 0; i < keys.length; i++) {
      const v = i < values.length ? values[i] : null;
      const path = paths[i];
      const field = (path[0] as { key: string }).key;
      const which = `${scope}\u0000${field}`;
      const mark = ++this.writes;
      this.latest.set(which, mark);
      const isLatest = () => this.latest.get(which) === mark;
      const done = () => {
        if (isLatest()) this.latest.delete(which);
      };
      if (path.length === 1) {
        // JSON now, so a value changed by its owner after the set is not what gets stored.
        const text = v === undefined ? null : JSON.stringify(v);
        this.remember(scope, field, text == null ? DELETE : JSON.parse(text));
        writes.push(async () => {
          try {
            if (text == null) await this.conn.hdel(hash, field);
            else await this.conn.hset(hash, field, text);
            await this.publish({ s: scope, f: field, v: text });
          } finally {
            done();
          }
        });
      } else {
        const target = v === undefined ? DELETE : v === null ? null : JSON.parse(JSON.stringify(v));
        this.remember(scope, field, setPath(this.copy.get(scope)?.get(field), path.slice(1), target));
        writes.push(() => this.setInside(scope, field, path.slice(1), target, isLatest).finally(done));
      }
    }
    const work = async () => {
      await this.conn.sadd(this.scopesKey, scope);
      for (const write of writes) await write();
    };
    this.inTurn(work).then(
      () => callback?.(),
      (err: Error) => callback?.(err),
    );
  }

  /** Read, change, write back under WATCH; again if another writer came between. */
  private async setInside(
    scope: string,
    field: string,
    rest: Segment[],
    value: unknown,
    latest: () => boolean,
  ): Promise<void> {
    const hash = this.hashOf(scope);
    for (let tries = 0; tries < 50; tries++) {
      await this.conn.watch(hash);
      let json: string;
      let root: unknown;
      try {
        const text = await this.conn.hget(hash, field);
        root = setPath(text == null ? undefined : JSON.parse(text), rest, value);
        json = JSON.stringify(root);
      } catch (err) {
        await this.conn.unwatch();
        throw err;
      }
      if (await this.conn.multi().hset(hash, field, json).exec()) {
        if (latest()) this.remember(scope, field, root);
        await this.publish({ s: scope, f: field, v: json });
        return;
      }
    }
    throw new Error(`the context variable "${field}" kept changing under this write: try again`);
  }

  keys(scope: string, callback?: Callback): unknown {
    if (typeof callback !== "function") return [...(this.copy.get(scope)?.keys() ?? [])];
    this.conn.hkeys(this.hashOf(scope)).then(
      (keys) => callback(null, keys),
      (err: Error) => callback(err),
    );
    return undefined;
  }

  async delete(scope: string): Promise<void> {
    this.copy.delete(scope);
    await this.inTurn(async () => {
      await this.conn.multi().del(this.hashOf(scope)).srem(this.scopesKey, scope).exec();
      await this.publish({ s: scope });
    });
  }

  /** Forgets the scopes of nodes and flows no longer deployed (global stays), when the config says so. */
  async clean(activeNodes: string[]): Promise<void> {
    if (this.config.cleanUnused !== true) return;
    const active = new Set(activeNodes);
    const scopes = new Set([...(await this.conn.smembers(this.scopesKey)), ...this.copy.keys()]);
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
