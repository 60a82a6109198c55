import os from "node:os";
import type { Redis } from "ioredis";
import { readScaleOut, type ScaleOutSettings } from "./settings";
import { useLimiterFactory } from "../http/rate-limit";
import { useCostFactory } from "../http/cost-limit";
import type { PoolStore } from "../dedupe";
import type { RedisTokenStore } from "./token-store-redis";
import type { RedisLock } from "./lock";

/**
 * Where shared state lives, chosen once from `patchworks.scaleOut` in settings.js: unset (the
 * default), every store is the embedded one; set, rate-limit and cost buckets, de-dupe pools,
 * OAuth tokens and cache locks are kept in Redis for all workers. The Redis modules (and ioredis) are loaded only in
 * the scale-out mode, so the embedded mode never loads them.
 */
export interface SharedState {
  settings: ScaleOutSettings;
  /** The connection these stores share (one per worker; BullMQ's are its own). */
  redis: Redis;
  pools: PoolStore;
  tokens(secret: string, warn: (m: string) => void): RedisTokenStore;
  /** Locks across workers (the cache shape's read-change-write of an entry). */
  lock: RedisLock;
}

let chosen: { raw: unknown; state: SharedState | null } | undefined;

/** The shared state for these settings, null in the embedded mode. Throws, naming the setting, when it is wrong. */
export function sharedState(raw: unknown, log: (m: string) => void = () => {}): SharedState | null {
  if (chosen && chosen.raw === raw) return chosen.state;
  const settings = readScaleOut(raw, `${os.hostname()}-${process.pid}`);
  if (!settings) {
    useLimiterFactory(undefined);
    useCostFactory(undefined);
    chosen = { raw, state: null };
    return null;
  }
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded in the scale-out mode only */
  const { connectRedis } = require("./redis") as typeof import("./redis");
  const { RedisRateLimiter } = require("./rate-limit-redis") as typeof import("./rate-limit-redis");
  const { RedisPoolStore } = require("./dedupe-redis") as typeof import("./dedupe-redis");
  const tokenModule = require("./token-store-redis") as typeof import("./token-store-redis");
  const { RedisLock } = require("./lock") as typeof import("./lock");
  const { RedisCostBucket } = require("./cost-limit-redis") as typeof import("./cost-limit-redis");
  /* eslint-enable @typescript-eslint/no-require-imports */
  const redis = connectRedis(settings.redis, `pw-state-${settings.workerId}`);
  let down = false;
  redis.on("error", (err: Error) => {
    if (!down)
      log(
        `Redis at ${settings.redis.host}:${settings.redis.port} is unreachable (${err.message}); waiting for it`,
      );
    down = true;
  });
  redis.on("ready", () => {
    if (down) log(`Redis at ${settings.redis.host}:${settings.redis.port} is back`);
    down = false;
  });
  useLimiterFactory(
    (instanceId, limits) =>
      new RedisRateLimiter(redis, settings.prefix, instanceId, limits, (err) =>
        log(`the rate-limit pause of instance ${instanceId} could not be shared: ${err.message}`),
      ),
  );
  useCostFactory(
    (instanceId) =>
      new RedisCostBucket(redis, settings.prefix, instanceId, (err) =>
        log(`the cost bucket of instance ${instanceId} could not be updated: ${err.message}`),
      ),
  );
  let tokens: RedisTokenStore | undefined;
  const state: SharedState = {
    settings,
    redis,
    pools: new RedisPoolStore(redis, settings.prefix),
    lock: new RedisLock(redis, settings.prefix),
    tokens: (secret, warn) =>
      (tokens ??= new tokenModule.RedisTokenStore(redis, settings.prefix, secret, { warn })),
  };
  chosen = { raw, state };
  return state;
}

/** Forgets the choice and closes the connection (tests, and a runtime that stops). */
export async function closeSharedState(): Promise<void> {
  const state = chosen?.state;
  chosen = undefined;
  useLimiterFactory(undefined);
  useCostFactory(undefined);
  if (state) await state.redis.quit().catch(() => state.redis.disconnect());
}
