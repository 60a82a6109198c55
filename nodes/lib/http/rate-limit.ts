import { systemClock, type Clock } from "../schedule";

/**
 * Token buckets, shared per instance: every node and flow using one Shopify store draws from
 * the same buckets, so together they stay within the store's limit. Several limits hold at
 * once (2 per second with a burst of 40, and 10,000 per day); a request waits until every
 * bucket has a token, and a wait ends early when the run's signal aborts.
 */
export interface Limit {
  /** Requests allowed per period. */
  requests: number;
  period: "second" | "minute" | "hour" | "day";
  /** Requests that may go at once after a quiet spell; the rate when absent. */
  burst?: number;
}

const PERIOD_MS = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };

export class RateLimitAborted extends Error {}

/**
 * What a request waits on before it goes. The embedded RateLimiter below counts in this process;
 * the scale-out mode's counts in Redis, so every worker draws from the same buckets.
 */
export interface Limiter {
  readonly limited: boolean;
  /** Resolves when the request may go; rejects with RateLimitAborted if the signal aborts first. */
  acquire(signal?: AbortSignal): Promise<void>;
  /** The API said "wait" (a 429 with Retry-After): nobody sharing the buckets sends for `ms`. */
  pause?(ms: number): void;
}

/** Makes the limiter of an instance (the scale-out mode's shared one); undefined: the embedded one. */
export type LimiterFactory = (instanceId: string, limits: Limit[]) => Limiter;

let factory: LimiterFactory | undefined;

/** Chooses where buckets are counted from now on (settings.js decides once, at start-up). */
export function useLimiterFactory(make: LimiterFactory | undefined): void {
  factory = make;
  shared.clear();
}

const PERIODS = Object.keys(PERIOD_MS);

/** Throws unless the limits can make buckets (the same check as the embedded limiter makes). */
export function checkLimits(limits: Limit[]): void {
  for (const limit of limits)
    if (!(limit.requests > 0) || !PERIODS.includes(limit.period))
      throw new Error(
        `a rate limit needs a positive number of requests per second, minute, hour or day (got ${JSON.stringify(limit)})`,
      );
}

export const periodMs = (period: Limit["period"]): number => PERIOD_MS[period];

class Bucket {
  private tokens: number;
  private updated: number;
  readonly capacity: number;
  private readonly perMs: number;

  constructor(limit: Limit, now: number) {
    if (!(limit.requests > 0) || !PERIOD_MS[limit.period])
      throw new Error(
        `a rate limit needs a positive number of requests per second, minute, hour or day (got ${JSON.stringify(limit)})`,
      );
    this.capacity = Math.max(1, limit.burst ?? limit.requests);
    this.perMs = limit.requests / PERIOD_MS[limit.period];
    this.tokens = this.capacity;
    this.updated = now;
  }

  private refill(now: number): void {
    if (now > this.updated) {
      this.tokens = Math.min(this.capacity, this.tokens + (now - this.updated) * this.perMs);
      this.updated = now;
    }
  }

  /** How long until a token is free (0: now). */
  wait(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) / this.perMs);
  }

  take(now: number): void {
    this.refill(now);
    this.tokens -= 1;
  }
}

export class RateLimiter implements Limiter {
  private readonly buckets: Bucket[];
  /** Requests waiting, served in arrival order so no caller starves. */
  private readonly queue: Array<{
    resolve: () => void;
    reject: (err: Error) => void;
    signal?: AbortSignal;
    onAbort?: () => void;
  }> = [];
  private timer: unknown;

  constructor(
    limits: Limit[],
    private readonly clock: Clock = systemClock,
  ) {
    const now = clock.now();
    this.buckets = limits.map((l) => new Bucket(l, now));
  }

  get limited(): boolean {
    return this.buckets.length > 0;
  }

  /** Resolves when the request may go; rejects with RateLimitAborted if the signal aborts first. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (this.buckets.length === 0) return Promise.resolve();
    if (signal?.aborted)
      return Promise.reject(new RateLimitAborted("stopped while waiting for the rate limit"));
    if (this.queue.length === 0 && this.waitFor() === 0) {
      this.takeAll();
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const entry: (typeof this.queue)[number] = { resolve, reject, signal };
      if (signal) {
        entry.onAbort = () => {
          const at = this.queue.indexOf(entry);
          if (at >= 0) this.queue.splice(at, 1);
          // Nobody left waiting: no timer should keep the process alive.
          if (this.queue.length === 0 && this.timer !== undefined) {
            this.clock.clearTimer(this.timer);
            this.timer = undefined;
          }
          reject(new RateLimitAborted("stopped while waiting for the rate limit"));
        };
        signal.addEventListener("abort", entry.onAbort, { once: true });
      }
      this.queue.push(entry);
      this.schedule();
    });
  }

  private waitFor(): number {
    const now = this.clock.now();
    let wait = 0;
    for (const b of this.buckets) wait = Math.max(wait, b.wait(now));
    return wait;
  }

  private takeAll(): void {
    const now = this.clock.now();
    for (const b of this.buckets) b.take(now);
  }

  private schedule(): void {
    if (this.timer !== undefined || this.queue.length === 0) return;
    this.timer = this.clock.setTimer(
      () => {
        this.timer = undefined;
        while (this.queue.length > 0 && this.waitFor() === 0) {
          const entry = this.queue.shift() as (typeof this.queue)[number];
          if (entry.signal && entry.onAbort) entry.signal.removeEventListener("abort", entry.onAbort);
          this.takeAll();
          entry.resolve();
        }
        this.schedule();
      },
      Math.max(1, this.waitFor()),
    );
  }
}

/**
 * One limiter per instance, shared by every shape and flow in the runtime. A redeployed
 * instance (a new node, the same id) finds its limiter here with what it has counted; a
 * removed one is forgotten (releaseLimiter).
 */
const shared = new Map<string, { key: string; limiter: Limiter }>();

export function limiterFor(instanceId: string, limits: Limit[], clock?: Clock): Limiter {
  const key = JSON.stringify(limits);
  const found = shared.get(instanceId);
  // Changed limits (a redeploy with new settings) start fresh buckets.
  if (found && found.key === key) return found.limiter;
  const limiter = factory && limits.length > 0 ? factory(instanceId, limits) : new RateLimiter(limits, clock);
  shared.set(instanceId, { key, limiter });
  return limiter;
}

/** Forgets an instance's limiter: the instance is gone. Requests already waiting on it still go. */
export function releaseLimiter(instanceId: string): void {
  shared.delete(instanceId);
}

/** How many instances have a limiter kept. */
export function limiterCount(): number {
  return shared.size;
}
