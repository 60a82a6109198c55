import { delay } from "../delay";
import { compileGetter, type Getter } from "../paths";

/**
 * Cost-based throttling, as GraphQL APIs that price each query do (Shopify's GraphQL Admin
 * API: a bucket of points per app and store, refilled at a restore rate; every answer reports
 * `extensions.cost.throttleStatus`). The bucket's state comes from the API's own answers; a
 * request waits until the bucket holds what it is expected to cost (what the same endpoint
 * asked for last time), so the bucket never runs dry, and an answer that says THROTTLED is
 * tried again after the time the bucket needs to refill that much.
 */
export interface CostLimit {
  /** Paths in an answer to the points left, the bucket's size, and points restored per second. */
  available: string;
  maximum: string;
  restoreRate: string;
  /** Path to what the query asked for (its calculated cost). */
  requested: string;
  /** The code in a GraphQL error's `extensions.code` that means "throttled, not run" (default THROTTLED). */
  throttledCode?: string;
}

export interface CostReading {
  available: number;
  maximum: number;
  restoreRate: number;
  requested?: number;
  throttled: boolean;
}

export type CostReader = (data: unknown) => CostReading | undefined;

export function compileCostLimit(spec: CostLimit): CostReader {
  const get = (p: string): Getter => compileGetter(p);
  const available = get(spec.available);
  const maximum = get(spec.maximum);
  const rate = get(spec.restoreRate);
  const requested = get(spec.requested);
  const code = spec.throttledCode ?? "THROTTLED";
  return (data) => {
    const a = Number(available(data));
    const m = Number(maximum(data));
    const r = Number(rate(data));
    if (!Number.isFinite(a) || !Number.isFinite(m) || !(r > 0)) return undefined;
    const q = Number(requested(data));
    const errors = (data as { errors?: unknown })?.errors;
    const throttled =
      Array.isArray(errors) &&
      errors.some((e) => (e as { extensions?: { code?: unknown } })?.extensions?.code === code);
    return {
      available: a,
      maximum: m,
      restoreRate: r,
      requested: Number.isFinite(q) ? q : undefined,
      throttled,
    };
  };
}

/** What a request on a cost-limited API waits on: the embedded CostBucket, or the scale-out mode's in Redis. */
export interface CostLimiter {
  /** Waits until `cost` points are free, then reserves them; returns the release. */
  acquire(cost: number, signal?: AbortSignal): Promise<() => void>;
  /** The API's word on the bucket, from an answer. */
  update(reading: CostReading): void;
  /** After a THROTTLED answer: how long until the query's cost is back in the bucket. */
  throttledWait(reading: CostReading): number;
}

/** After a THROTTLED answer: how long until the query's cost is back in the bucket. */
export function throttledWaitOf(reading: CostReading): number {
  const cost = Math.min(reading.requested ?? reading.maximum, reading.maximum);
  return Math.max(100, Math.ceil(((cost - reading.available) / reading.restoreRate) * 1000));
}

/**
 * One bucket per instance (an app on a store), shared by every shape using it. Requests are
 * let through in arrival order; each reserves its expected cost until its answer tells what
 * is really left.
 */
export class CostBucket implements CostLimiter {
  private available?: number;
  private maximum?: number;
  private rate?: number;
  private at = 0;
  private reserved = 0;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly now: () => number = Date.now) {}

  /** Points in the bucket now, by the last reading and the restore rate since (undefined: no reading yet). */
  level(): number | undefined {
    if (this.available === undefined || this.rate === undefined || this.maximum === undefined)
      return undefined;
    return Math.min(this.maximum, this.available + ((this.now() - this.at) / 1000) * this.rate);
  }

  /** How long until `cost` points are free, counting what requests in flight reserved. */
  waitFor(cost: number): number {
    const level = this.level();
    if (level === undefined || this.rate === undefined) return 0;
    const need = Math.min(cost, this.maximum ?? cost) + this.reserved - level;
    return need <= 0 ? 0 : Math.ceil((need / this.rate) * 1000);
  }

  /** Waits (in arrival order) until `cost` points are free, then reserves them; returns the release. */
  async acquire(cost: number, signal?: AbortSignal): Promise<() => void> {
    const turn = this.queue.then(async () => {
      for (let wait = this.waitFor(cost); wait > 0; wait = this.waitFor(cost))
        if (!(await delay(wait, signal))) throw new Error("stopped while waiting for the API's cost limit");
    });
    // One waiter failing (a stop) must not stop the ones behind it.
    this.queue = turn.catch(() => undefined);
    await turn;
    this.reserved += cost;
    let released = false;
    return () => {
      if (!released) this.reserved = Math.max(0, this.reserved - cost);
      released = true;
    };
  }

  /** The API's word on the bucket, from an answer. */
  update(reading: CostReading): void {
    this.available = reading.available;
    this.maximum = reading.maximum;
    this.rate = reading.restoreRate;
    this.at = this.now();
  }

  /** After a THROTTLED answer: how long until the query's cost is back in the bucket. */
  throttledWait(reading: CostReading): number {
    return throttledWaitOf(reading);
  }
}

const buckets = new Map<string, CostLimiter>();
let factory: ((instanceId: string) => CostLimiter) | undefined;

/** Chooses where cost buckets are kept from now on (settings.js decides once, at start-up). */
export function useCostFactory(make: ((instanceId: string) => CostLimiter) | undefined): void {
  factory = make;
  buckets.clear();
}

export function costBucketFor(instanceId: string): CostLimiter {
  let b = buckets.get(instanceId);
  if (!b) buckets.set(instanceId, (b = factory ? factory(instanceId) : new CostBucket()));
  return b;
}

export function releaseCostBucket(instanceId: string): void {
  buckets.delete(instanceId);
}
