// Concurrency limits per trigger across every worker: a counting semaphore in Redis, one sorted
// set per trigger whose members are the runs holding a slot, scored by when their lease ends.
// Taking a slot drops expired leases first, so a worker that died gives its slots back once its
// leases run out (the same lease after which its runs are taken over). One Lua script per
// operation: atomic, whatever the number of workers.
import type { Redis } from "./redis";

const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
  return 1
end
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return 1
end
return 0`;

export class TriggerSlots {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly leaseMs: number,
  ) {}

  private key(trigger: string): string {
    return `${this.prefix}:slots:${trigger}`;
  }

  /** Takes one of `limit` slots of the trigger for the run (again true if it holds one already). */
  async acquire(trigger: string, runId: string, limit: number): Promise<boolean> {
    const now = Date.now();
    const got = await this.redis.eval(
      ACQUIRE,
      1,
      this.key(trigger),
      String(now),
      String(limit),
      runId,
      String(now + this.leaseMs),
      String(this.leaseMs * 4),
    );
    return got === 1;
  }

  /** Extends the leases of the runs this worker holds slots for. */
  async renew(held: Iterable<[runId: string, trigger: string]>): Promise<void> {
    const until = Date.now() + this.leaseMs;
    const pipeline = this.redis.pipeline();
    let n = 0;
    for (const [runId, trigger] of held) {
      pipeline.zadd(this.key(trigger), "XX", until, runId);
      pipeline.pexpire(this.key(trigger), this.leaseMs * 4);
      n++;
    }
    if (n > 0) await pipeline.exec();
  }

  async release(trigger: string, runId: string): Promise<void> {
    await this.redis.zrem(this.key(trigger), runId);
  }

  /** Runs holding a slot of the trigger now (for tests and the admin view). */
  async holders(trigger: string): Promise<string[]> {
    await this.redis.zremrangebyscore(this.key(trigger), "-inf", Date.now());
    return this.redis.zrange(this.key(trigger), 0, -1);
  }
}
