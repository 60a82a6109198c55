import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { delay } from "../delay";
import { throttledWaitOf, type CostLimiter, type CostReading } from "../http/cost-limit";

/**
 * A cost-limited API's bucket (Shopify's GraphQL points) in Redis, for the scale-out mode: the
 * last reading any worker got from the API, and what requests in flight on every worker have
 * reserved. A request reserves its expected cost only when the bucket, as last read and restored
 * since, holds it besides every reservation; one Lua script decides, on Redis's clock. A
 * reservation expires by itself (a worker that died holding one does not hold the points for ever).
 *
 * Keys: `<prefix>:cost:{<instance>}` (the reading), `…:res` (reservation → cost), `…:exp`
 * (reservation → expiry).
 */

/** KEYS: reading, reservations, expiries. ARGV: cost, reservation id, lease ms. Returns the wait in ms (0: reserved). */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cost = tonumber(ARGV[1])
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for _, id in ipairs(expired) do redis.call('HDEL', KEYS[2], id) end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local s = redis.call('HMGET', KEYS[1], 'available', 'maximum', 'rate', 'at')
local available, maximum, rate, at = tonumber(s[1]), tonumber(s[2]), tonumber(s[3]), tonumber(s[4])
if available and maximum and rate and at and rate > 0 then
  local level = math.min(maximum, available + (now - at) / 1000 * rate)
  local reserved = 0
  for _, v in ipairs(redis.call('HVALS', KEYS[2])) do reserved = reserved + tonumber(v) end
  local need = math.min(cost, maximum) + reserved - level
  if need > 0 then return math.ceil(need / rate * 1000) end
end
redis.call('HSET', KEYS[2], ARGV[2], cost)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
return 0
`;

/** KEYS[1]: the reading. ARGV: available, maximum, restore rate. */
const UPDATE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], 'available', ARGV[1], 'maximum', ARGV[2], 'rate', ARGV[3], 'at', now)
redis.call('PEXPIRE', KEYS[1], 3600000)
return 1
`;

type Scripted = Redis & {
  pwCostAcquire(
    reading: string,
    res: string,
    exp: string,
    cost: number,
    id: string,
    leaseMs: number,
  ): Promise<number>;
  pwCostUpdate(reading: string, available: number, maximum: number, rate: number): Promise<number>;
};

/** How long a reservation lasts: longer than a request with its retries takes. */
const LEASE_MS = 120_000;

export class RedisCostBucket implements CostLimiter {
  private readonly redis: Scripted;
  private readonly reading: string;
  private readonly res: string;
  private readonly exp: string;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    redis: Redis,
    prefix: string,
    instanceId: string,
    private readonly onError: (err: Error) => void = () => {},
  ) {
    const r = redis as Scripted;
    if (typeof r.pwCostAcquire !== "function") {
      redis.defineCommand("pwCostAcquire", { numberOfKeys: 3, lua: ACQUIRE });
      redis.defineCommand("pwCostUpdate", { numberOfKeys: 1, lua: UPDATE });
    }
    this.redis = r;
    this.reading = `${prefix}:cost:{${instanceId}}`;
    this.res = `${this.reading}:res`;
    this.exp = `${this.reading}:exp`;
  }

  async acquire(cost: number, signal?: AbortSignal): Promise<() => void> {
    const id = randomUUID();
    // In arrival order within this worker; one waiter stopping does not stop the ones behind it.
    const turn = this.queue.then(async () => {
      for (;;) {
        if (signal?.aborted) throw new Error("stopped while waiting for the API's cost limit");
        const wait = Number(
          await this.redis.pwCostAcquire(this.reading, this.res, this.exp, cost, id, LEASE_MS),
        );
        if (wait <= 0) return;
        if (!(await delay(wait, signal))) throw new Error("stopped while waiting for the API's cost limit");
      }
    });
    this.queue = turn.catch(() => undefined);
    await turn;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.redis
        .multi()
        .hdel(this.res, id)
        .zrem(this.exp, id)
        .exec()
        .catch((err: Error) => this.onError(err));
    };
  }

  update(reading: CostReading): void {
    this.redis
      .pwCostUpdate(this.reading, reading.available, reading.maximum, reading.restoreRate)
      .catch((err: Error) => this.onError(err));
  }

  throttledWait(reading: CostReading): number {
    return throttledWaitOf(reading);
  }
}
