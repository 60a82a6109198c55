import { promises as fs } from "node:fs";
import path from "node:path";
import { systemClock, type Clock } from "../schedule";
import { FINAL_STATUSES, type RunRecord, type RunSink, type RunStatus, type StepStats } from "./record";

/**
 * The embedded run store: an append-only log of run records under Node-RED's user
 * directory, one file per UTC day (`runs-YYYY-MM-DD.jsonl`), with an in-memory index.
 * A record is appended when it starts and when it changes; on load the last line of a run
 * wins. Writes are batched on a timer so message flow never waits for the disk, and pruning
 * (by age and by count) rewrites files in the background with a temp file and a rename.
 */
export interface RunFilter {
  flow?: string;
  trigger?: string;
  status?: RunStatus | RunStatus[];
  /** Runs started at or after / before these times (ms). */
  from?: number;
  to?: number;
  /** Text to find in the run's input, meta, errors or ids (case-insensitive). */
  q?: string;
  /** Only runs older than this run id (paging: pass the last id of the previous page). */
  before?: string;
  limit?: number;
}

export interface RunQuery {
  list(filter?: RunFilter): RunSummary[];
  get(id: string): RunRecord | undefined;
}

export type RunSummary = Omit<RunRecord, "steps" | "input"> & { steps: number; errorCount: number };

export interface StoreOptions {
  dir: string;
  /** Runs older than this are pruned. */
  maxAgeMs?: number;
  /** At most this many runs are kept; the oldest go first. */
  maxRuns?: number;
  /** How long writes are gathered before they go to disk. */
  flushMs?: number;
  /** How long after runs leave the index their files are rewritten. */
  compactMs?: number;
  clock?: Clock;
}

export const DEFAULT_MAX_AGE_MS = 14 * 24 * 60 * 60 * 1000;
export const DEFAULT_MAX_RUNS = 10000;
const DAY_MS = 24 * 60 * 60 * 1000;
const FILE = /^runs-(\d{4}-\d{2}-\d{2})\.jsonl$/;

const dayOf = (time: number) => new Date(time).toISOString().slice(0, 10);

export class FileRunStore implements RunSink, RunQuery {
  private readonly index = new Map<string, RunRecord>();
  private readonly dirty = new Map<string, RunRecord>();
  private flushTimer: unknown;
  private compactTimer: unknown;
  /** Days whose files still hold runs evicted from the index, rewritten by the next compaction. */
  private readonly staleDays = new Set<string>();
  private evictAt: number;
  private writing: Promise<void> = Promise.resolve();
  private readonly maxAgeMs: number;
  private readonly maxRuns: number;
  private readonly flushMs: number;
  private readonly compactMs: number;
  private readonly clock: Clock;

  constructor(private readonly opts: StoreOptions) {
    this.maxAgeMs = opts.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
    this.maxRuns = opts.maxRuns ?? DEFAULT_MAX_RUNS;
    this.flushMs = opts.flushMs ?? 250;
    this.compactMs = opts.compactMs ?? 60_000;
    this.evictAt = this.maxRuns + Math.ceil(this.maxRuns / 10);
    this.clock = opts.clock ?? systemClock;
  }

  /** Loads the log. Runs that were still going when the process ended are marked failed. */
  async open(): Promise<void> {
    await fs.mkdir(this.opts.dir, { recursive: true });
    const loaded = new Map<string, RunRecord>();
    for (const file of await this.files()) {
      const text = await fs.readFile(path.join(this.opts.dir, file), "utf8");
      for (const line of text.split("\n")) {
        if (!line) continue;
        try {
          const record = fromLine(line);
          loaded.set(record.id, record);
        } catch {
          // A line cut short by a crash mid-append: the earlier lines of that run still stand.
        }
      }
    }
    // Runs saved while the files were loading are newer than anything in them.
    for (const [id, record] of loaded) if (!this.index.has(id)) this.index.set(id, record);
    const now = this.clock.now();
    for (const record of loaded.values()) {
      if (this.index.get(record.id) === record && !FINAL_STATUSES.has(record.status) && record.status !== "queued") {
        record.status = "failed";
        record.reason = "Node-RED stopped while the run was in progress";
        record.endedAt = record.endedAt ?? now;
        record.durationMs = record.endedAt - record.startedAt;
        this.save(record);
      }
    }
    await this.prune();
  }

  save(record: RunRecord): void {
    this.index.set(record.id, record);
    this.dirty.set(record.id, record);
    // Evicting walks the index from its oldest end, so it runs once per tenth of the cap
    // (even when many running runs, which are never evicted, fill the index).
    if (this.index.size > this.evictAt) {
      this.evictOldest();
      this.evictAt = Math.max(this.index.size, this.maxRuns) + Math.ceil(this.maxRuns / 10);
    }
    if (this.flushTimer === undefined) {
      this.flushTimer = this.clock.setTimer(() => {
        this.flushTimer = undefined;
        void this.flush();
      }, this.flushMs);
    }
  }

  /** Writes what changed since the last flush. Safe to call at any time. */
  flush(): Promise<void> {
    if (this.dirty.size === 0) return this.writing;
    const batch = [...this.dirty.values()];
    this.dirty.clear();
    // Serialise now: the tracker keeps changing live records after this returns.
    const byFile = new Map<string, string>();
    for (const record of batch) {
      const file = `runs-${dayOf(record.startedAt)}.jsonl`;
      byFile.set(file, (byFile.get(file) ?? "") + toLine(record) + "\n");
    }
    this.writing = this.writing.then(async () => {
      for (const [file, text] of byFile) await fs.appendFile(path.join(this.opts.dir, file), text, "utf8");
    });
    return this.writing;
  }

  list(filter: RunFilter = {}): RunSummary[] {
    const statuses = filter.status === undefined ? undefined : new Set(Array.isArray(filter.status) ? filter.status : [filter.status]);
    const q = filter.q?.trim().toLowerCase();
    const limit = Math.min(Math.max(filter.limit ?? 100, 1), 1000);
    const out: RunSummary[] = [];
    // Run ids sort by start time, so newest first is a reverse sort of the ids.
    const ids = [...this.index.keys()].sort().reverse();
    for (const id of ids) {
      if (filter.before && id >= filter.before) continue;
      const r = this.index.get(id) as RunRecord;
      if (filter.flow && r.flow !== filter.flow) continue;
      if (filter.trigger && r.trigger !== filter.trigger) continue;
      if (statuses && !statuses.has(r.status)) continue;
      if (filter.from !== undefined && r.startedAt < filter.from) continue;
      if (filter.to !== undefined && r.startedAt >= filter.to) continue;
      if (q && !searchable(r).includes(q)) continue;
      out.push(summarise(r));
      if (out.length >= limit) break;
    }
    return out;
  }

  get(id: string): RunRecord | undefined {
    return this.index.get(id);
  }

  /**
   * Keeps the index within the cap as runs arrive: the oldest finished runs leave memory at
   * once (the index keeps insertion order, which is start order); their files are rewritten
   * later, in one go, so a busy flow never waits for a rewrite.
   */
  private evictOldest(): void {
    for (const [id, record] of this.index) {
      if (this.index.size <= this.maxRuns) break;
      if (!FINAL_STATUSES.has(record.status)) continue;
      this.index.delete(id);
      this.dirty.delete(id);
      this.staleDays.add(dayOf(record.startedAt));
    }
    if (this.compactTimer === undefined && this.staleDays.size > 0) {
      this.compactTimer = this.clock.setTimer(() => {
        this.compactTimer = undefined;
        void this.prune().catch(() => undefined);
      }, this.compactMs);
    }
  }

  get size(): number {
    return this.index.size;
  }

  /** Drops runs past the age or count limits and rewrites the files that held them. */
  async prune(): Promise<number> {
    const now = this.clock.now();
    const cutoff = now - this.maxAgeMs;
    const finished = [...this.index.values()].filter((r) => FINAL_STATUSES.has(r.status)).sort((a, b) => (a.id < b.id ? -1 : 1));
    const excess = Math.max(0, this.index.size - this.maxRuns);
    const drop = new Set<string>();
    for (const r of finished) if (r.startedAt < cutoff) drop.add(r.id);
    for (let i = 0; drop.size < excess && i < finished.length; i++) drop.add(finished[i].id);
    if (drop.size === 0 && this.staleDays.size === 0) return 0;
    const touchedDays = new Set<string>(this.staleDays);
    this.staleDays.clear();
    for (const id of drop) {
      const record = this.index.get(id) as RunRecord;
      touchedDays.add(dayOf(record.startedAt));
      this.index.delete(id);
      this.dirty.delete(id);
    }
    await this.flush();
    this.writing = this.writing.then(() => this.rewrite(touchedDays, dayOf(cutoff - DAY_MS)));
    await this.writing;
    return drop.size;
  }

  async close(): Promise<void> {
    if (this.flushTimer !== undefined) this.clock.clearTimer(this.flushTimer);
    this.flushTimer = undefined;
    if (this.compactTimer !== undefined) this.clock.clearTimer(this.compactTimer);
    this.compactTimer = undefined;
    await this.flush();
  }

  private async files(): Promise<string[]> {
    const names = await fs.readdir(this.opts.dir).catch(() => [] as string[]);
    return names.filter((n) => FILE.test(n)).sort();
  }

  private async rewrite(days: Set<string>, expiredBefore: string): Promise<void> {
    for (const file of await this.files()) {
      const day = (FILE.exec(file) as RegExpExecArray)[1];
      const full = path.join(this.opts.dir, file);
      const kept = [...this.index.values()].filter((r) => dayOf(r.startedAt) === day);
      if (kept.length === 0 && (days.has(day) || day < expiredBefore)) {
        await fs.rm(full, { force: true });
      } else if (days.has(day)) {
        const tmp = `${full}.${process.pid}.tmp`;
        await fs.writeFile(tmp, kept.map(toLine).join("\n") + "\n", "utf8");
        await fs.rename(tmp, full);
      }
    }
  }
}

/**
 * A record as one line of the log. Steps are written as arrays: a run of ten nodes has ten
 * of them, and field names would make up most of the line and of the time to write it.
 */
const STEP_FIELDS = ["node", "type", "name", "messagesIn", "messagesOut", "recordsIn", "recordsOut", "errors", "timeMs", "firstAt", "lastAt", "untracked", "requests", "requestsDropped"] as const;

export function toLine(record: RunRecord): string {
  let steps = "";
  for (const id in record.steps) {
    const step = record.steps[id];
    let row = `${JSON.stringify(step.node)},${str(step.type)},${str(step.name)},${num(step.messagesIn)},${num(step.messagesOut)},` +
      `${num(step.recordsIn)},${num(step.recordsOut)},${num(step.errors)},${num(step.timeMs)},${num(step.firstAt)},${num(step.lastAt)}`;
    if (step.untracked !== undefined || step.requests !== undefined) {
      row += `,${step.untracked ?? null},${step.requests ? JSON.stringify(step.requests) : null},${step.requestsDropped ?? null}`;
    }
    steps += (steps ? ",[" : "[") + row + "]";
  }
  const rest = JSON.stringify({ ...record, steps: undefined });
  return `${rest.slice(0, -1)}${rest.length > 2 ? "," : ""}"steps":[${steps}]}`;
}

const str = (value: string | undefined) => (value === undefined ? "null" : JSON.stringify(value));
const num = (value: number | undefined) => (typeof value === "number" && Number.isFinite(value) ? value : 0);

export function fromLine(line: string): RunRecord {
  const raw = JSON.parse(line) as Omit<RunRecord, "steps"> & { steps: unknown[][] | RunRecord["steps"] };
  if (!Array.isArray(raw.steps)) return raw as RunRecord;
  const steps: RunRecord["steps"] = {};
  for (const row of raw.steps) {
    const step: Record<string, unknown> = {};
    STEP_FIELDS.forEach((f, i) => {
      if (row[i] !== null && row[i] !== undefined) step[f] = row[i];
    });
    steps[step.node as string] = step as unknown as StepStats;
  }
  return { ...raw, steps } as RunRecord;
}

function summarise(r: RunRecord): RunSummary {
  const { steps, input, ...rest } = r;
  return { ...rest, steps: Object.keys(steps).length, errorCount: r.errors.length };
}

function searchable(r: RunRecord): string {
  return `${r.id} ${r.input.payloadJson ?? ""} ${JSON.stringify(r.input.meta)} ${r.errors.map((e) => e.message).join(" ")} ${r.reason ?? ""}`.toLowerCase();
}
