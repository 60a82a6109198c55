import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { delay } from "../delay";

/**
 * A lock across workers, for a read-change-write that must not interleave with another worker's
 * (the cache shape's append to one entry). SET NX PX: the lock expires by itself if its holder
 * dies; it is released only by its holder (a compare-and-delete script).
 */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

type Scripted = Redis & { pwLockRelease(key: string, owner: string): Promise<number> };

export class RedisLock {
  private readonly redis: Scripted;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly opts: { leaseMs?: number; pollMs?: number; waitMs?: number } = {},
  ) {
    const r = redis as Scripted;
    if (typeof r.pwLockRelease !== "function")
      redis.defineCommand("pwLockRelease", { numberOfKeys: 1, lua: RELEASE });
    this.redis = r;
  }

  /** Runs `work` holding the lock `name`; waits for it first (at most waitMs, default 60 s). */
  async run<T>(name: string, work: () => Promise<T>): Promise<T> {
    const key = `${this.prefix}:lock:{${name}}`;
    const owner = randomUUID();
    const lease = this.opts.leaseMs ?? 30_000;
    const until = Date.now() + (this.opts.waitMs ?? 60_000);
    while ((await this.redis.set(key, owner, "PX", lease, "NX")) !== "OK") {
      if (Date.now() > until) throw new Error(`another worker held the lock on ${name} for too long`);
      await delay(this.opts.pollMs ?? 10);
    }
    try {
      return await work();
    } finally {
      await this.redis.pwLockRelease(key, owner);
    }
  }
}
