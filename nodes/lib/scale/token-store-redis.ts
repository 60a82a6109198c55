import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { delay } from "../delay";
import {
  openTokens,
  sealTokens,
  tokenKey,
  type InstanceTokens,
  type StoredTokens,
} from "../connectors/token-store";

/**
 * OAuth tokens in Redis, for the scale-out mode: every worker reads the same tokens, and when
 * they expire exactly one worker refreshes them. Many providers rotate the refresh token on
 * each use and revoke it when it is used twice, so a refresh per worker would sign everyone
 * out. The refresh lock is a key set with SET NX PX (it expires by itself if its holder dies);
 * the others poll for the new token and take over the lock if it goes without one.
 *
 * Tokens are encrypted as the embedded store encrypts its file (AES-256-GCM under a key from
 * the credential secret, which workers share), one key per instance: `<prefix>:tok:{<id>}`.
 */

/** Deletes the lock only if it is still ours (it may have expired and been taken). */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

type Scripted = Redis & { pwTokenRelease(lock: string, owner: string): Promise<number> };

export interface RedisTokenOptions {
  /** How long a worker may hold the refresh lock (default 30 s): longer than a token call takes. */
  lockMs?: number;
  /** How often a waiting worker looks for the new token (default 100 ms). */
  pollMs?: number;
  warn?: (message: string) => void;
}

export class RedisTokenStore {
  private readonly redis: Scripted;
  private readonly key: Buffer;
  private readonly lockMs: number;
  private readonly pollMs: number;
  /** What each instance's tokens were when last read or written here. */
  private readonly known = new Map<string, StoredTokens | undefined>();

  constructor(
    redis: Redis,
    private readonly prefix: string,
    secret: string,
    private readonly opts: RedisTokenOptions = {},
  ) {
    if (!secret) throw new Error("the token store needs Node-RED's credential secret");
    const r = redis as Scripted;
    if (typeof r.pwTokenRelease !== "function")
      redis.defineCommand("pwTokenRelease", { numberOfKeys: 1, lua: RELEASE });
    this.redis = r;
    this.key = tokenKey(secret);
    this.lockMs = opts.lockMs ?? 30_000;
    this.pollMs = opts.pollMs ?? 100;
  }

  private keyOf(instanceId: string): string {
    return `${this.prefix}:tok:{${instanceId}}`;
  }

  get(instanceId: string): StoredTokens | undefined {
    return this.known.get(instanceId);
  }

  async load(instanceId: string): Promise<StoredTokens | undefined> {
    const text = await this.redis.get(this.keyOf(instanceId));
    let tokens: StoredTokens | undefined;
    if (text) {
      try {
        tokens = openTokens(this.key, text) as StoredTokens;
      } catch (err) {
        this.opts.warn?.(
          `the OAuth tokens of instance ${instanceId} in Redis cannot be read (${(err as Error).message}): workers with different credentialSecrets, or a damaged key. Authorize the instance again`,
        );
      }
    }
    this.known.set(instanceId, tokens);
    return tokens;
  }

  async set(instanceId: string, tokens: StoredTokens): Promise<void> {
    this.known.set(instanceId, tokens);
    await this.redis.set(this.keyOf(instanceId), sealTokens(this.key, tokens));
  }

  async delete(instanceId: string): Promise<void> {
    this.known.delete(instanceId);
    await this.redis.del(this.keyOf(instanceId));
  }

  /** One refresh across all workers: the lock holder refreshes, the others wait for its token. */
  async refreshOnce(
    instanceId: string,
    stale: (saved: StoredTokens) => boolean,
    refresh: (saved: StoredTokens | undefined) => Promise<StoredTokens>,
  ): Promise<StoredTokens> {
    const lock = `${this.keyOf(instanceId)}:refresh`;
    // Rounds: a holder that failed (or died) leaves the lock free and the token stale; the
    // next worker tries. Three rounds, then the last failure is the answer.
    for (let round = 1; ; round++) {
      const owner = randomUUID();
      if ((await this.redis.set(lock, owner, "PX", this.lockMs, "NX")) === "OK") {
        try {
          // Another worker may have refreshed between our read and the lock.
          const saved = await this.load(instanceId);
          if (saved && !stale(saved)) return saved;
          const tokens = await refresh(saved);
          await this.set(instanceId, tokens);
          return tokens;
        } finally {
          await this.redis.pwTokenRelease(lock, owner);
        }
      }
      const until = Date.now() + this.lockMs + this.pollMs;
      while (Date.now() < until) {
        await delay(this.pollMs);
        const saved = await this.load(instanceId);
        if (saved && !stale(saved)) return saved;
        if (!(await this.redis.exists(lock))) break;
      }
      if (round >= 3) {
        const saved = this.known.get(instanceId);
        throw new Error(
          saved
            ? "another worker was refreshing the OAuth token and no new token came: check the instance's authorization"
            : "not authorized yet: press Authorize in the instance's settings",
        );
      }
    }
  }

  /** The view of one instance the OAuth 2 sign-in uses. */
  forInstance(instanceId: string): InstanceTokens {
    return {
      get: () => this.get(instanceId),
      set: (tokens) => this.set(instanceId, tokens),
      load: () => this.load(instanceId),
      refreshOnce: (stale, refresh) => this.refreshOnce(instanceId, stale, refresh),
    };
  }
}
