import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { delay } from "../delay";
import { checkLimits, periodMs, RateLimitAborted, type Limit, type Limiter } from "../http/rate-limit";

/**
 * The scale-out mode's rate limiter: an instance's token buckets live in Redis, so every
 * worker (and every shape on each) draws from the same ones and together they stay within the
 * API's limit. One Lua script refills and takes from all of an instance's buckets at once, on
 * Redis's clock (workers' clocks may differ), so no two workers can take the same token. A
 * 429's Retry-After pauses the instance for everyone: a pause key with that time to live.
 *
 * Within a worker, requests go in arrival order (a local queue), so only the head of the
 * queue asks Redis and the others wait their turn without polling.
 */

/** KEYS: the buckets, then the pause key. ARGV per bucket: capacity, tokens per ms, time to live. Returns the wait in ms (0: taken). */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = #KEYS - 1
local wait = redis.call('PTTL', KEYS[n + 1])
if wait < 0 then wait = 0 end
local levels = {}
for i = 1, n do
  local cap = tonumber(ARGV[(i - 1) * 3 + 1])
  local per = tonumber(ARGV[(i - 1) * 3 + 2])
  local v = redis.call('HMGET', KEYS[i], 'tokens', 'at')
  local tokens = tonumber(v[1])
  local at = tonumber(v[2])
  if tokens == nil or at == nil then tokens = cap; at = now end
  if now > at then tokens = math.min(cap, tokens + (now - at) * per) end
  levels[i] = tokens
  if tokens < 1 then
    local w = math.ceil((1 - tokens) / per)
    if w > wait then wait = w end
  end
end
if wait > 0 then return wait end
for i = 1, n do
  redis.call('HSET', KEYS[i], 'tokens', tostring(levels[i] - 1), 'at', tostring(now))
  redis.call('PEXPIRE', KEYS[i], ARGV[(i - 1) * 3 + 3])
end
return 0
`;

/** KEYS[1]: the pause key; ARGV[1]: ms. A pause only ever grows. */
const PAUSE = `
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 1
`;

type Scripted = Redis & {
  pwRateTake(numKeys: number, ...args: Array<string | number>): Promise<number>;
  pwRatePause(key: string, ms: number): Promise<number>;
};

function scripted(redis: Redis): Scripted {
  const r = redis as Scripted;
  if (typeof r.pwRateTake !== "function") {
    // defineCommand sends the script by hash and again in full after a restart (NOSCRIPT).
    redis.defineCommand("pwRateTake", { lua: TAKE });
    redis.defineCommand("pwRatePause", { numberOfKeys: 1, lua: PAUSE });
  }
  return r;
}

export class RedisRateLimiter implements Limiter {
  private readonly redis: Scripted;
  private readonly keys: string[];
  private readonly args: Array<string | number>;
  private readonly pauseKey: string;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    redis: Redis,
    prefix: string,
    instanceId: string,
    limits: Limit[],
    private readonly onError: (err: Error) => void = () => {},
  ) {
    checkLimits(limits);
    this.redis = scripted(redis);
    // Buckets by their limits: a redeploy with new limits starts fresh ones, as the embedded limiter does.
    const shape = createHash("sha256").update(JSON.stringify(limits)).digest("hex").slice(0, 12);
    const base = `${prefix}:rl:{${instanceId}}`;
    this.keys = limits.map((_l, i) => `${base}:${shape}:${i}`);
    this.pauseKey = `${base}:pause`;
    this.args = limits.flatMap((l) => {
      const capacity = Math.max(1, l.burst ?? l.requests);
      const perMs = l.requests / periodMs(l.period);
      // A full bucket needs no key: it expires once it would have refilled.
      const ttl = Math.ceil(capacity / perMs) + 1000;
      return [capacity, perMs.toPrecision(17), ttl];
    });
  }

  get limited(): boolean {
    return this.keys.length > 0;
  }

  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted)
      return Promise.reject(new RateLimitAborted("stopped while waiting for the rate limit"));
    const turn = this.queue.then(() => this.take(signal));
    // One waiter stopping must not stop the ones behind it.
    this.queue = turn.catch(() => undefined);
    if (!signal) return turn;
    // A stopped waiter leaves at once, not when its turn comes.
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(new RateLimitAborted("stopped while waiting for the rate limit"));
      signal.addEventListener("abort", onAbort, { once: true });
      turn.then(
        () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        },
        (err: Error) => {
          signal.removeEventListener("abort", onAbort);
          reject(err);
        },
      );
    });
  }

  pause(ms: number): void {
    if (!(ms > 0)) return;
    this.redis.pwRatePause(this.pauseKey, Math.ceil(ms)).catch((err: Error) => this.onError(err));
  }

  private async take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw new RateLimitAborted("stopped while waiting for the rate limit");
      const wait = Number(
        await this.redis.pwRateTake(this.keys.length + 1, ...this.keys, this.pauseKey, ...this.args),
      );
      if (wait <= 0) return;
      // Redis's wait is when a token is due; another worker may take it first: then ask again.
      if (!(await delay(wait, signal)))
        throw new RateLimitAborted("stopped while waiting for the rate limit");
    }
  }
}
