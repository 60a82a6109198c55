import fsSync, { promises as fs } from "node:fs";
import path from "node:path";
import { systemClock, type Clock } from "../schedule";
import {
  FINAL_STATUSES,
  INTERRUPTED,
  STEP_TABLE,
  type RunRecord,
  type RunSink,
  type RunStatus,
} from "./record";
import { STEP_COLUMNS, rowsOf, stepsFromRows, type StepColumn, type StepTable } from "./steps";
import { TrackedIndex, trackedKey } from "./tracked";

/**
 * The embedded run store: an append-only log of run records under Node-RED's user
 * directory, one file per UTC day (`runs-YYYY-MM-DD.jsonl`), with an in-memory index.
 * A record is appended when it starts and when it changes; on load the last line of a run
 * wins. Writes are batched on a timer so message flow never waits for the disk, and pruning
 * (by age and by count) rewrites files in the background with a temp file and a rename.
 *
 * A finished run stays in memory as its line of the log and a summary for lists and
 * filters: one string and one small object instead of a tree of step objects for the
 * garbage collector to walk, ten thousand times over. Reading one run parses its line.
 * A run that is still going is written once it has been going for a second (or at a
 * shutdown flush): most runs finish sooner and are written once, finished.
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
  /** Runs that tracked this value (a track-data shape's; whole value, case ignored), looked up in an index. */
  tracked?: string;
  /** With `tracked`: only under this name (order, email). */
  trackedName?: string;
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
  /** Told of lines it cannot read because a newer version wrote them (see fromLine). */
  warn?: (message: string) => void;
}

export const DEFAULT_MAX_AGE_MS = 14 * 24 * 60 * 60 * 1000;
/** Runs still going are written once they have been going this long. */
export const WRITE_RUNNING_AFTER_MS = 1000;
export const DEFAULT_MAX_RUNS = 10000;
const DAY_MS = 24 * 60 * 60 * 1000;
const FILE = /^runs-(\d{4}-\d{2}-\d{2})\.jsonl$/;

const dayOf = (time: number) => new Date(time).toISOString().slice(0, 10);

/**
 * A finished run in the index: what lists and filters read, and where its line is. Lines
 * live in the Buffer that was written to disk, outside the JavaScript heap: ten thousand
 * strings kept for days would be copied and traced by every garbage collection.
 */
class StoredRun {
  constructor(
    readonly summary: RunSummary,
    private readonly chunk: Buffer,
    private readonly start: number,
    private readonly end: number,
  ) {}
  get line(): string {
    return this.chunk.toString("utf8", this.start, this.end);
  }
  get status(): RunStatus {
    return this.summary.status;
  }
  get startedAt(): number {
    return this.summary.startedAt;
  }
}

type Entry = RunRecord | StoredRun;

export class FileRunStore implements RunSink, RunQuery {
  /** In start order (ids sort by start time), finished runs as StoredRun, the rest as records. */
  private readonly index = new Map<string, Entry>();
  /** Tracked value → runs, for the runs in the index. */
  private readonly trackedIndex = new TrackedIndex();
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
  /** Lines in a newer format than this version reads, by day: left out of the index, kept in the files. */
  private readonly unreadable = new Map<string, string[]>();
  /** Runs that were going when the log was last written, marked failed by open(). */
  readonly interrupted = new Set<string>();

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
    const loaded = new Map<string, Entry>();
    for (const file of await this.files()) {
      const chunk = await fs.readFile(path.join(this.opts.dir, file));
      const newer: string[] = [];
      const versions = new Set<unknown>();
      for (let start = 0; start < chunk.length;) {
        let end = chunk.indexOf(10, start);
        if (end < 0) end = chunk.length;
        const line = chunk.toString("utf8", start, end);
        try {
          if (line) {
            const record = fromLine(line);
            const final = FINAL_STATUSES.has(record.status);
            if (record.tracked) this.trackedIndex.set(record.id, record.tracked);
            // A run never goes back from finished: a late running line (see flushSync) does not undo its end.
            if (final || !(loaded.get(record.id) instanceof StoredRun))
              loaded.set(record.id, final ? new StoredRun(summarise(record), chunk, start, end) : record);
          }
        } catch (err) {
          // A line cut short by a crash mid-append: the earlier lines of that run still stand.
          // A line a newer version wrote is not guessed at, but kept (see rewrite).
          if (err instanceof RunLineVersionError) {
            newer.push(line);
            versions.add(err.version);
          }
        }
        start = end + 1;
      }
      if (newer.length > 0) {
        this.unreadable.set((FILE.exec(file) as RegExpExecArray)[1], newer);
        this.opts.warn?.(
          `${newer.length} line(s) of ${file} left out: they are in run log format version ` +
            `${[...versions].map((v) => JSON.stringify(v)).join(", ")}, written by a newer version of ` +
            `node-red-contrib-patchworks (this one reads versions 1 to ${LINE_VERSION}). ` +
            `Their runs are not listed; the lines stay in the file until it expires.`,
        );
      }
    }
    // Runs saved while the files were loading are newer than anything in them.
    for (const [id, entry] of loaded) if (!this.index.has(id)) this.index.set(id, entry);
    const now = this.clock.now();
    for (const record of loaded.values()) {
      if (record instanceof StoredRun) continue;
      if (this.index.get(record.id) === record && record.status !== "queued") {
        record.status = "failed";
        record.reason = INTERRUPTED;
        this.interrupted.add(record.id);
        record.endedAt = record.endedAt ?? now;
        record.durationMs = record.endedAt - record.startedAt;
        this.save(record);
      }
    }
    await this.prune();
  }

  save(record: RunRecord): void {
    this.index.set(record.id, record);
    if (record.tracked) this.trackedIndex.set(record.id, record.tracked);
    this.dirty.set(record.id, record);
    // Evicting walks the index from its oldest end, so it runs once per tenth of the cap
    // (even when many running runs, which are never evicted, fill the index).
    if (this.index.size > this.evictAt) {
      this.evictOldest();
      this.evictAt = Math.max(this.index.size, this.maxRuns) + Math.ceil(this.maxRuns / 10);
    }
    this.armFlush();
  }

  private armFlush(): void {
    if (this.flushTimer !== undefined) return;
    this.flushTimer = this.clock.setTimer(() => {
      this.flushTimer = undefined;
      void this.flush(false);
    }, this.flushMs);
  }

  /**
   * Writes what changed since the last flush. Safe to call at any time. `all` false leaves
   * runs that started less than a second ago and are still going for a later flush.
   */
  flush(all = true): Promise<void> {
    const byFile = this.takeChunks(all);
    if (byFile.size === 0) return this.writing;
    this.writing = this.writing.then(async () => {
      for (const [file, chunk] of byFile) await fs.appendFile(path.join(this.opts.dir, file), chunk);
    });
    return this.writing;
  }

  /**
   * Writes every change at once, before returning: for shutdown, when Node-RED exits without
   * waiting for promises of ours. A line that an earlier asynchronous write still holds may
   * land after these; loading lets a finished line win over a running one, so order does not matter.
   */
  flushSync(): void {
    for (const [file, chunk] of this.takeChunks(true))
      fsSync.appendFileSync(path.join(this.opts.dir, file), chunk);
  }

  /**
   * The dirty runs as one Buffer of lines per file, taken out of the dirty set (running runs
   * under a second old stay, unless `all`); finished runs are indexed by their place in it.
   */
  private takeChunks(all: boolean): Map<string, Buffer> {
    const byFile = new Map<
      string,
      { lines: Buffer[]; bytes: number; finished: Array<{ start: number; end: number; record: RunRecord }> }
    >();
    if (this.dirty.size === 0) return new Map();
    const now = this.clock.now();
    // Serialise now: the tracker keeps changing live records after this returns.
    let day = "";
    let dayStart = 0;
    let dayEnd = -1;
    for (const [id, record] of this.dirty) {
      const final = FINAL_STATUSES.has(record.status);
      if (!final && !all && now - record.startedAt < WRITE_RUNNING_AFTER_MS) continue;
      this.dirty.delete(id);
      if (record.startedAt < dayStart || record.startedAt >= dayEnd) {
        day = dayOf(record.startedAt);
        dayStart = Date.parse(day);
        dayEnd = dayStart + DAY_MS;
      }
      const file = `runs-${day}.jsonl`;
      let batch = byFile.get(file);
      if (!batch) byFile.set(file, (batch = { lines: [], bytes: 0, finished: [] }));
      const line = Buffer.from(toLine(record) + "\n", "utf8");
      // Where the line sits in the file's chunk, in bytes: text may hold characters of several.
      if (final && this.index.get(id) === record)
        batch.finished.push({ start: batch.bytes, end: batch.bytes + line.length - 1, record });
      batch.lines.push(line);
      batch.bytes += line.length;
    }
    if (this.dirty.size > 0) this.armFlush();
    const chunks = new Map<string, Buffer>();
    for (const [file, { lines, bytes, finished }] of byFile) {
      const chunk = Buffer.concat(lines, bytes);
      chunks.set(file, chunk);
      for (const { start, end, record } of finished)
        this.index.set(record.id, new StoredRun(summarise(record), chunk, start, end));
    }
    return chunks;
  }

  list(filter: RunFilter = {}): RunSummary[] {
    const statuses =
      filter.status === undefined
        ? undefined
        : new Set(Array.isArray(filter.status) ? filter.status : [filter.status]);
    const q = filter.q?.trim().toLowerCase();
    const limit = Math.min(Math.max(filter.limit ?? 100, 1), 1000);
    const out: RunSummary[] = [];
    // Run ids sort by start time, so newest first is a reverse sort of the ids. A tracked
    // value narrows the runs to look at through the index first.
    const tracked = filter.tracked?.trim();
    const ids = (tracked ? this.trackedIndex.find(tracked) : [...this.index.keys()]).sort().reverse();
    const name = filter.trackedName?.trim();
    for (const id of ids) {
      if (filter.before && id >= filter.before) continue;
      const entry = this.index.get(id);
      if (!entry) continue;
      if (tracked && name && !trackedUnder(this.get(id), name, tracked)) continue;
      const r = entry instanceof StoredRun ? entry.summary : entry;
      if (filter.flow && r.flow !== filter.flow) continue;
      if (filter.trigger && r.trigger !== filter.trigger) continue;
      if (statuses && !statuses.has(r.status)) continue;
      if (filter.from !== undefined && r.startedAt < filter.from) continue;
      if (filter.to !== undefined && r.startedAt >= filter.to) continue;
      if (q && !(entry instanceof StoredRun ? entry.line : searchable(entry)).toLowerCase().includes(q))
        continue;
      out.push(entry instanceof StoredRun ? entry.summary : summarise(entry));
      if (out.length >= limit) break;
    }
    return out;
  }

  get(id: string): RunRecord | undefined {
    const entry = this.index.get(id);
    return entry instanceof StoredRun ? fromLine(entry.line) : entry;
  }

  /** Runs not finished: queued or running (finished ones are kept as lines, so this walks few objects). */
  unfinished(): RunRecord[] {
    const out: RunRecord[] = [];
    for (const entry of this.index.values())
      if (!(entry instanceof StoredRun) && !FINAL_STATUSES.has(entry.status)) out.push(entry);
    return out;
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
      this.trackedIndex.delete(id);
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
    const finished = [...this.index]
      .filter(([, r]) => FINAL_STATUSES.has(r.status))
      .sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const excess = Math.max(0, this.index.size - this.maxRuns);
    const drop = new Set<string>();
    for (const [id, r] of finished) if (r.startedAt < cutoff) drop.add(id);
    for (let i = 0; drop.size < excess && i < finished.length; i++) drop.add(finished[i][0]);
    if (drop.size === 0 && this.staleDays.size === 0) return 0;
    const touchedDays = new Set<string>(this.staleDays);
    this.staleDays.clear();
    for (const id of drop) {
      const record = this.index.get(id) as Entry;
      touchedDays.add(dayOf(record.startedAt));
      this.index.delete(id);
      this.dirty.delete(id);
      this.trackedIndex.delete(id);
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
      // Lines this version cannot read go when their day expires, and are kept until then.
      if (day < expiredBefore) this.unreadable.delete(day);
      const lines = [
        ...(this.unreadable.get(day) ?? []),
        ...kept.map((r) => (r instanceof StoredRun ? r.line : toLine(r))),
      ];
      if (lines.length === 0 && (days.has(day) || day < expiredBefore)) {
        await fs.rm(full, { force: true });
      } else if (days.has(day)) {
        const tmp = `${full}.${process.pid}.tmp`;
        await fs.writeFile(tmp, lines.join("\n") + "\n", "utf8");
        await fs.rename(tmp, full);
      }
    }
  }
}

/**
 * The version of the line format toLine writes, as `"v"`, the first field of every line.
 * Lines written before lines carried it are version 1, the same format. A change to what a
 * line holds or how (a step column added, moved or read differently: see STEP_COLUMNS) makes
 * the next version: fromLine must go on reading every earlier one, and
 * test/fixtures/run-log-v1.jsonl must still read as test/lib/run-log-format_spec.js says.
 */
export const LINE_VERSION = 1;

/** The step-row layout of each line version this version reads. */
export const RUN_LINE_LAYOUTS: ReadonlyMap<number, readonly StepColumn[]> = new Map([[1, STEP_COLUMNS]]);

/** A line in a format this version does not know (a newer version wrote it): not read, rather than misread. */
export class RunLineVersionError extends Error {
  constructor(readonly version: unknown) {
    super(
      `run log line in format version ${JSON.stringify(version)}; this version of node-red-contrib-patchworks reads versions 1 to ${LINE_VERSION}`,
    );
    this.name = "RunLineVersionError";
  }
}

/**
 * A record as one line of the log, LINE_VERSION first; steps as rows (see STEP_COLUMNS). The
 * trigger payload, already JSON, goes in as it is (`input.payload`), not as a string to escape again.
 */
export function toLine(r: RunRecord): string {
  // Written field by field: JSON.stringify of a whole object of mostly absent fields costs
  // more than the rest of the line, and every run is written.
  let head = `{"v":${LINE_VERSION},"id":${JSON.stringify(r.id)},"flow":${JSON.stringify(r.flow)},"trigger":${JSON.stringify(r.trigger)}`;
  if (r.via !== undefined) head += `,"via":${JSON.stringify(r.via)}`;
  if (r.parent !== undefined) head += `,"parent":${JSON.stringify(r.parent)}`;
  if (r.retryOf !== undefined) head += `,"retryOf":${JSON.stringify(r.retryOf)}`;
  head += `,"status":${JSON.stringify(r.status)}`;
  if (r.queuedAt !== undefined) head += `,"queuedAt":${r.queuedAt}`;
  head += `,"startedAt":${r.startedAt}`;
  if (r.endedAt !== undefined)
    head += `,"endedAt":${r.endedAt},"durationMs":${r.durationMs ?? r.endedAt - r.startedAt}`;
  head += `,"errors":${r.errors.length === 0 ? "[]" : JSON.stringify(r.errors)},"failedRecords":${r.failedRecords}`;
  if (r.reason !== undefined) head += `,"reason":${JSON.stringify(r.reason)}`;
  if (r.late !== undefined) head += `,"late":${r.late}`;
  if (r.snapshots !== undefined) head += `,"snapshots":${JSON.stringify(r.snapshots)}`;
  if (r.checkpoints !== undefined) head += `,"checkpoints":${JSON.stringify(r.checkpoints)}`;
  if (r.tracked !== undefined) head += `,"tracked":${JSON.stringify(r.tracked)}`;
  if (r.trackedDropped !== undefined) head += `,"trackedDropped":${r.trackedDropped}`;
  if (r.notifications !== undefined) head += `,"notifications":${JSON.stringify(r.notifications)}`;
  if (r.worker !== undefined) head += `,"worker":${JSON.stringify(r.worker)}`;
  if (r.handovers !== undefined) head += `,"handovers":${JSON.stringify(r.handovers)}`;
  const { payloadJson, meta, truncated, bytes } = r.input;
  const input =
    payloadJson === undefined
      ? JSON.stringify(r.input)
      : `{"payload":${payloadJson},"meta":${JSON.stringify(meta)},"bytes":${bytes}${truncated ? ',"truncated":true' : ""}}`;
  const start = `${head},"input":${input}`;
  // A run still going is written for crash recovery only: its steps come with its last line.
  if (!FINAL_STATUSES.has(r.status)) return `${start},"steps":[]}`;
  // Joined: one flat string from the pieces, rather than a tree of them to walk when encoding.
  return [
    start,
    ',"steps":[',
    table(r) ? (table(r) as StepTable).rows() : rowsOf(r.steps, r.startedAt),
    "]}",
  ].join("");
}

const table = (r: RunRecord) => (r as { [STEP_TABLE]?: StepTable })[STEP_TABLE];

/**
 * A line of any version this version knows (without `"v"`: version 1) as a record. Throws
 * RunLineVersionError for any other version, and a SyntaxError for a line cut short.
 */
export function fromLine(line: string): RunRecord {
  const { v = 1, ...raw } = JSON.parse(line) as Omit<RunRecord, "steps" | "input"> & {
    v?: unknown;
    steps: unknown[][] | RunRecord["steps"];
    input: RunRecord["input"] & { payload?: unknown };
  };
  const columns = typeof v === "number" ? RUN_LINE_LAYOUTS.get(v) : undefined;
  if (!columns) throw new RunLineVersionError(v);
  if (raw.input && "payload" in raw.input) {
    const { payload, ...rest } = raw.input;
    raw.input = { payloadJson: JSON.stringify(payload), ...rest };
  }
  if (!Array.isArray(raw.steps)) return raw as RunRecord;
  return { ...raw, steps: stepsFromRows(raw.steps, raw.startedAt, columns) } as RunRecord;
}

/** Built field by field: a live record's steps are made on reading, and a summary needs only their count. */
export function summarise(r: RunRecord): RunSummary {
  const steps = table(r);
  const s: RunSummary = {
    id: r.id,
    flow: r.flow,
    trigger: r.trigger,
    status: r.status,
    startedAt: r.startedAt,
    errors: r.errors,
    failedRecords: r.failedRecords,
    steps: steps ? steps.nodes.length : Object.keys(r.steps).length,
    errorCount: r.errors.length,
  };
  if (r.via !== undefined) s.via = r.via;
  if (r.parent !== undefined) s.parent = r.parent;
  if (r.retryOf !== undefined) s.retryOf = r.retryOf;
  if (r.queuedAt !== undefined) s.queuedAt = r.queuedAt;
  if (r.endedAt !== undefined) s.endedAt = r.endedAt;
  if (r.durationMs !== undefined) s.durationMs = r.durationMs;
  if (r.reason !== undefined) s.reason = r.reason;
  if (r.snapshots !== undefined) s.snapshots = r.snapshots;
  if (r.worker !== undefined) s.worker = r.worker;
  if (r.handovers !== undefined) s.handovers = r.handovers;
  return s;
}

/** The run tracked the value under this name (case ignored, as the index compares). */
export function trackedUnder(r: RunRecord | undefined, name: string, value: string): boolean {
  const key = trackedKey(value);
  return (r?.tracked?.[name] ?? []).some((v) => trackedKey(v) === key);
}

export function searchable(r: RunRecord): string {
  return `${r.id} ${r.input.payloadJson ?? ""} ${JSON.stringify(r.input.meta)} ${r.errors.map((e) => e.message).join(" ")} ${r.reason ?? ""}`;
}
