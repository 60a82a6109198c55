import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import {
  checkPoolName,
  type DedupeMode,
  type PoolEntry,
  type PoolInfo,
  type PoolStore,
  type SharedPool,
} from "../dedupe";

/**
 * De-dupe data pools in Redis, for the scale-out mode: every worker checks and tracks keys in
 * the same pools. An entity of a pool is a sorted set (member: the key, score: its expiry in
 * epoch ms, on Redis's clock); one Lua script does the check-and-set of a whole payload, so
 * Redis runs it with nothing in between and two workers never both pass the same key. Expired
 * keys are pruned by the script as it goes; a set whose keys have all expired expires itself.
 *
 * Keys: `<prefix>:dd:pools` (a set of pool names), `<prefix>:dd:{<pool hash>}:entities` (a hash
 * of entity names), `<prefix>:dd:{<pool hash>}:e:<entity hash>` (the sorted sets). Names are
 * hashed into keys, so any text can name a pool or an entity.
 */

/**
 * KEYS[1]: the entity's sorted set, KEYS[2]: the pool's entity hash. ARGV: mode, ttl ms,
 * entity, then the keys. Returns { tracked, passed flags... }.
 */
const CHECK_AND_SET = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local mode = ARGV[1]
local ttl = tonumber(ARGV[2])
local expiry = now + ttl
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local out = { 0 }
local tracked = 0
for i = 4, #ARGV do
  local seen = redis.call('ZSCORE', KEYS[1], ARGV[i])
  local fresh = (seen == false)
  if mode == 'filter' then
    out[#out + 1] = fresh and 1 or 0
  else
    out[#out + 1] = (mode == 'track' or fresh) and 1 or 0
    if fresh or mode == 'track' then
      redis.call('ZADD', KEYS[1], expiry, ARGV[i])
      tracked = tracked + 1
    end
  end
end
out[1] = tracked
if tracked > 0 then
  redis.call('HSET', KEYS[2], ARGV[3], 1)
  if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
end
return out
`;

type Scripted = Redis & {
  pwDedupe(
    zset: string,
    entities: string,
    mode: string,
    ttlMs: number,
    entity: string,
    ...keys: string[]
  ): Promise<number[]>;
};

/** Keys per script call (a few milliseconds of Redis's time). */
const SLICE = 2000;

const hash = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 24);

export class RedisPoolStore implements PoolStore {
  private readonly redis: Scripted;
  private readonly poolsKey: string;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    const r = redis as Scripted;
    if (typeof r.pwDedupe !== "function")
      redis.defineCommand("pwDedupe", { numberOfKeys: 2, lua: CHECK_AND_SET });
    this.redis = r;
    this.poolsKey = `${prefix}:dd:pools`;
  }

  /** Pools named in Redis by this worker: a de-dupe shape asks for its pool with every message, and needs one SADD, not one each. */
  private readonly known = new Map<string, Promise<SharedPool>>();

  pool(name: string): Promise<SharedPool> {
    checkPoolName(name);
    let pool = this.known.get(name);
    if (!pool) {
      const made = this.redis
        .sadd(this.poolsKey, name)
        .then(() => new RedisPool(this.redis, `${this.prefix}:dd:{${hash(name)}}`, name));
      this.known.set(name, (pool = made));
      made.catch(() => {
        if (this.known.get(name) === made) this.known.delete(name);
      });
    }
    return pool;
  }

  async existing(name: string): Promise<SharedPool | undefined> {
    checkPoolName(name);
    return (await this.redis.sismember(this.poolsKey, name)) ? this.pool(name) : undefined;
  }

  async names(): Promise<string[]> {
    return (await this.redis.smembers(this.poolsKey)).sort();
  }

  /** The connection belongs to whoever made it. */
  async close(): Promise<void> {}
}

class RedisPool implements SharedPool {
  private readonly entitiesKey: string;

  constructor(
    private readonly redis: Scripted,
    private readonly base: string,
    readonly name: string,
  ) {
    this.entitiesKey = `${base}:entities`;
  }

  private setOf(entity: string): string {
    return `${this.base}:e:${hash(entity)}`;
  }

  async checkAndSet(
    entity: string,
    keys: Array<string | undefined>,
    mode: DedupeMode,
    ttlSec: number,
  ): Promise<{ passed: boolean[]; tracked: number }> {
    const passed = new Array<boolean>(keys.length).fill(false);
    const present: number[] = [];
    const list: string[] = [];
    keys.forEach((k, i) => {
      if (k !== undefined) {
        present.push(i);
        list.push(k);
      }
    });
    let tracked = 0;
    // In slices: a script holds Redis while it runs. Each key's check-and-set stays atomic, and a
    // key twice in one payload is seen by the later slice as tracked by the earlier one.
    for (let from = 0; from < list.length; from += SLICE) {
      const out = await this.redis.pwDedupe(
        this.setOf(entity),
        this.entitiesKey,
        mode,
        ttlSec * 1000,
        entity,
        ...list.slice(from, from + SLICE),
      );
      const n = Math.min(SLICE, list.length - from);
      for (let j = 0; j < n; j++) passed[present[from + j]] = Number(out[j + 1]) === 1;
      tracked += Number(out[0]);
    }
    return { passed, tracked };
  }

  async info(): Promise<PoolInfo> {
    const names = await this.redis.hkeys(this.entitiesKey);
    const now = Date.now();
    const entities: Record<string, number> = {};
    let keys = 0;
    let bytes = 0;
    for (const entity of names) {
      const set = this.setOf(entity);
      const live = await this.redis.zcount(set, `(${now}`, "+inf");
      if (live) entities[entity] = live;
      keys += live;
      bytes += Number((await this.redis.call("MEMORY", "USAGE", set)) ?? 0);
    }
    return { name: this.name, keys, entities, bytes };
  }

  async *entries(entity?: string): AsyncIterable<PoolEntry> {
    const names = entity === undefined ? await this.redis.hkeys(this.entitiesKey) : [entity];
    const now = Date.now();
    for (const name of names) {
      let cursor = "0";
      do {
        const [next, flat] = await this.redis.zscan(this.setOf(name), cursor, "COUNT", 1000);
        cursor = next;
        for (let i = 0; i < flat.length; i += 2) {
          const expiresAt = Number(flat[i + 1]);
          if (expiresAt > now) yield { entity: name, key: flat[i], expiresAt };
        }
      } while (cursor !== "0");
    }
  }

  async add(entity: string, keys: string[], ttlSec: number): Promise<number> {
    return (await this.checkAndSet(entity, keys, "filter-and-track", ttlSec)).tracked;
  }

  async clear(): Promise<void> {
    const names = await this.redis.hkeys(this.entitiesKey);
    if (names.length) await this.redis.del(...names.map((n) => this.setOf(n)), this.entitiesKey);
  }
}
