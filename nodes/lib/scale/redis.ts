// Redis connections for the scale-out mode. BullMQ wants connections that never give up on a
// command (maxRetriesPerRequest: null): a Redis restart pauses work instead of failing runs.
import IORedis from "ioredis";
import type { Redis, RedisOptions } from "ioredis";
import type { RedisTarget } from "./settings";

export type { Redis };

export function redisOptions(target: RedisTarget): RedisOptions {
  return {
    host: target.host,
    port: target.port,
    db: target.db,
    username: target.username,
    password: target.password,
    tls: target.tls ? {} : undefined,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    // Reconnect quickly at first, then every 2 s: a restarted Redis is back within seconds.
    retryStrategy: (times) => Math.min(times * 100, 2000),
  };
}

/** A new connection (BullMQ workers and subscribers each need their own). */
export function connectRedis(target: RedisTarget, name: string): Redis {
  return new IORedis({ ...redisOptions(target), connectionName: name });
}
