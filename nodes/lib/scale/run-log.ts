// One run log for every worker: each worker writes the records of its runs to Redis (a hash of
// lines, the same lines as the embedded store writes, and a sorted set of run ids, which sort by
// start time), so listing, filtering, stop and retry work from any worker. Writes are gathered
// for a short while (checkpoints of a running run included: another worker resumes from them).
import { FINAL_STATUSES, type RunRecord, type RunSink } from "../runs/record";
import {
  fromLine,
  searchable,
  summarise,
  toLine,
  trackedUnder,
  type RunFilter,
  type RunSummary,
} from "../runs/store";
import { trackedKey } from "../runs/tracked";
import type { Redis } from "./redis";

export interface RunLogOptions {
  prefix: string;
  /** At most this many runs are kept; the oldest go first. */
  maxRuns: number;
  /** Runs older than this are dropped. */
  maxAgeMs: number;
  /** How long writes are gathered (default 50 ms). */
  flushMs?: number;
  warn?: (message: string) => void;
}

/** Does the run pass the filter (tracked and text searches included)? Pure: the unit tests' subject. */
export function matches(r: RunRecord, filter: RunFilter): boolean {
  if (filter.before && r.id >= filter.before) return false;
  if (filter.flow && r.flow !== filter.flow) return false;
  if (filter.trigger && r.trigger !== filter.trigger) return false;
  if (filter.status !== undefined) {
    const list = Array.isArray(filter.status) ? filter.status : [filter.status];
    if (!list.includes(r.status)) return false;
  }
  if (filter.from !== undefined && r.startedAt < filter.from) return false;
  if (filter.to !== undefined && r.startedAt >= filter.to) return false;
  const tracked = filter.tracked?.trim();
  if (tracked) {
    const name = filter.trackedName?.trim();
    if (name) {
      if (!trackedUnder(r, name, tracked)) return false;
    } else {
      const key = trackedKey(tracked);
      const all = Object.values(r.tracked ?? {}).flat();
      if (!all.some((v) => trackedKey(v) === key)) return false;
    }
  }
  const q = filter.q?.trim().toLowerCase();
  if (q && !searchable(r).toLowerCase().includes(q)) return false;
  return true;
}

/** A pipeline's replies: the first command Redis refused is thrown (exec itself resolves with them). */
function written(replies: Array<[Error | null, unknown]> | null): void {
  if (!replies) throw new Error("Redis did not run the writes");
  for (const [err] of replies) if (err) throw err;
}

export class RedisRunLog implements RunSink {
  private readonly dirty = new Map<string, RunRecord>();
  /** Records read or written lately, for the tracker's synchronous look-ups (a retry's checkpoints). */
  private readonly cache = new Map<string, RunRecord>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly lines: string;
  private readonly ids: string;

  constructor(
    private readonly redis: Redis,
    private readonly opts: RunLogOptions,
  ) {
    this.lines = `${opts.prefix}:log:lines`;
    this.ids = `${opts.prefix}:log:ids`;
  }

  /** Runs handed back to the queue: this worker's tracker may still end them, but that is not their end. */
  private readonly forgotten = new Set<string>();

  save(record: RunRecord): void {
    if (this.forgotten.has(record.id)) return;
    this.dirty.set(record.id, record);
    this.keep(record);
    this.later(this.opts.flushMs ?? 50);
  }

  private later(ms: number): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush().catch((err: Error) =>
        this.opts.warn?.(`the run log could not be written: ${err.message}`),
      );
    }, ms);
  }

  /** Writes one record now; resolves once Redis has it (acknowledge the run then). */
  async saveNow(record: RunRecord): Promise<void> {
    this.forgotten.delete(record.id);
    this.dirty.delete(record.id);
    this.keep(record);
    // After the writes before it (a batch that failed does not stop this one).
    await this.writing.catch(() => undefined);
    written(
      await this.redis
        .pipeline()
        .hset(this.lines, record.id, toLine(record))
        .zadd(this.ids, 0, record.id)
        .exec(),
    );
  }

  /** This worker runs it (again): its records are written. */
  remember(id: string): void {
    this.forgotten.delete(id);
  }

  /** What this worker's tracker says of the run from now on is not written (see RedisRunService.handBack). */
  forget(id: string): void {
    this.forgotten.add(id);
    this.dirty.delete(id);
    if (this.forgotten.size > 10_000) this.forgotten.delete(this.forgotten.values().next().value as string);
  }

  /** Writes what changed; resolves once Redis has it. */
  flush(): Promise<void> {
    if (this.dirty.size === 0) return this.writing;
    const batch = [...this.dirty.values()];
    this.dirty.clear();
    const write = this.writing
      .catch(() => undefined)
      .then(async () => {
        const pipeline = this.redis.pipeline();
        for (const record of batch) {
          pipeline.hset(this.lines, record.id, toLine(record));
          pipeline.zadd(this.ids, 0, record.id);
        }
        written(await pipeline.exec());
      })
      .catch((err: Error) => {
        // Not lost: written with the next flush, unless a newer record or a hand-back came meanwhile.
        let again = 0;
        for (const record of batch)
          if (!this.dirty.has(record.id) && !this.forgotten.has(record.id)) {
            this.dirty.set(record.id, record);
            again++;
          }
        if (this.dirty.size > 0) this.later(1000);
        // Nothing of it left to write: not an error for those who wait (this.writing must not stay rejected).
        if (again > 0) throw err;
      });
    this.writing = write;
    return write;
  }

  /** The cached record (synchronous; see fetch). */
  cached(id: string): RunRecord | undefined {
    return this.cache.get(id);
  }

  /** The record as the run log holds it now (a record this worker has not written yet first). */
  async get(id: string): Promise<RunRecord | undefined> {
    const pending = this.dirty.get(id);
    if (pending) return pending;
    const line = await this.redis.hget(this.lines, id);
    if (!line) return undefined;
    const record = fromLine(line);
    this.keep(record);
    return record;
  }

  /** Newest first, every worker's runs; reads ids in pages from the newest until `limit` match. */
  async list(filter: RunFilter = {}): Promise<RunSummary[]> {
    await this.flush();
    const limit = Math.min(Math.max(filter.limit ?? 100, 1), 1000);
    const out: RunSummary[] = [];
    let max = filter.before ? `(${filter.before}` : "+";
    for (;;) {
      const ids = await this.redis.zrevrangebylex(this.ids, max, "-", "LIMIT", 0, 200);
      if (ids.length === 0) break;
      const lines = await this.redis.hmget(this.lines, ...ids);
      for (const line of lines) {
        if (!line) continue;
        let record: RunRecord;
        try {
          record = fromLine(line);
        } catch {
          continue;
        }
        if (!matches(record, filter)) continue;
        out.push(summarise(record));
        if (out.length >= limit) return out;
      }
      max = `(${ids[ids.length - 1]}`;
      if (filter.from !== undefined && ids.length > 0) {
        const oldest = this.cache.get(ids[ids.length - 1]);
        if (oldest && oldest.startedAt < filter.from) break;
      }
    }
    return out;
  }

  /** Drops runs beyond the count cap and past the age limit (any worker may do it; idempotent). */
  async prune(now = Date.now()): Promise<number> {
    let removed = 0;
    const count = await this.redis.zcard(this.ids);
    if (count > this.opts.maxRuns) {
      const old = await this.redis.zrangebylex(this.ids, "-", "+", "LIMIT", 0, count - this.opts.maxRuns);
      removed += await this.drop(old, true);
    }
    // Ids start with the start time in base 36 (see message.ts): the oldest first.
    const oldest = await this.redis.zrangebylex(this.ids, "-", "+", "LIMIT", 0, 500);
    const lines = oldest.length ? await this.redis.hmget(this.lines, ...oldest) : [];
    const expired = oldest.filter((_, i) => {
      const line = lines[i];
      if (!line) return true;
      try {
        const r = fromLine(line);
        return FINAL_STATUSES.has(r.status) && now - r.startedAt > this.opts.maxAgeMs;
      } catch {
        return false;
      }
    });
    removed += await this.drop(expired, false);
    return removed;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async drop(ids: string[], keepUnfinished: boolean): Promise<number> {
    if (ids.length === 0) return 0;
    let gone = ids;
    if (keepUnfinished) {
      const lines = await this.redis.hmget(this.lines, ...ids);
      gone = ids.filter((_, i) => {
        const line = lines[i];
        if (!line) return true;
        try {
          return FINAL_STATUSES.has(fromLine(line).status);
        } catch {
          return true;
        }
      });
    }
    if (gone.length === 0) return 0;
    await this.redis
      .pipeline()
      .hdel(this.lines, ...gone)
      .zrem(this.ids, ...gone)
      .exec();
    return gone.length;
  }

  private keep(record: RunRecord): void {
    this.cache.delete(record.id);
    this.cache.set(record.id, record);
    if (this.cache.size > 2000) this.cache.delete(this.cache.keys().next().value as string);
  }
}
