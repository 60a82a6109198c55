/**
 * Tracked values: what a track-data shape records into a run (an order number, a customer's
 * email) so runs can be found by them. The caps keep one run's share of the index small;
 * the index maps each value to the runs that tracked it, so "which run sent order #1001?"
 * is a lookup, not a scan of every run's line.
 */

/** Distinct values one run keeps, all names together; more are counted in `trackedDropped`. */
export const TRACKED_VALUES_PER_RUN = 100;
/** Characters a value keeps; a longer one is cut (and found by what is kept). */
export const TRACKED_VALUE_CHARS = 200;
/** Characters a name may have. */
export const TRACKED_NAME_CHARS = 50;

/** By name, the distinct values tracked, in the order first seen. */
export type Tracked = Record<string, string[]>;

export interface TrackedRecord {
  tracked?: Tracked;
  trackedDropped?: number;
}

/** Adds values to the run's record within the caps; answers how many were new and how many did not fit. */
export function addTracked(
  record: TrackedRecord,
  entries: Iterable<readonly [string, string]>,
): { added: number; dropped: number } {
  let added = 0;
  let dropped = 0;
  let count = record.tracked ? countValues(record.tracked) : 0;
  for (const [name, raw] of entries) {
    const value = raw.length > TRACKED_VALUE_CHARS ? raw.slice(0, TRACKED_VALUE_CHARS) : raw;
    const tracked = (record.tracked ??= Object.create(null) as Tracked);
    const list = tracked[name];
    if (list?.includes(value)) continue;
    if (count >= TRACKED_VALUES_PER_RUN) {
      dropped++;
      continue;
    }
    if (list) list.push(value);
    else tracked[name] = [value];
    count++;
    added++;
  }
  if (dropped > 0) record.trackedDropped = (record.trackedDropped ?? 0) + dropped;
  return { added, dropped };
}

function countValues(tracked: Tracked): number {
  let n = 0;
  for (const name in tracked) n += tracked[name].length;
  return n;
}

/** How values are compared in searches: trimmed, case ignored. */
export function trackedKey(value: string): string {
  return value.trim().toLowerCase();
}

/**
 * Value → runs that tracked it (under any name). A value most often belongs to one run, so
 * an entry is a run id until a second run tracks the same value.
 */
export class TrackedIndex {
  private readonly byValue = new Map<string, string | Set<string>>();
  private readonly byRun = new Map<string, string[]>();

  /** Indexes the run's values (again: a run saved twice replaces its entry). */
  set(runId: string, tracked: Tracked | undefined): void {
    if (this.byRun.has(runId)) this.delete(runId);
    if (!tracked) return;
    const keys = new Set<string>();
    for (const name in tracked) for (const value of tracked[name]) keys.add(trackedKey(value));
    if (keys.size === 0) return;
    for (const key of keys) {
      const entry = this.byValue.get(key);
      if (entry === undefined) this.byValue.set(key, runId);
      else if (typeof entry === "string") {
        if (entry !== runId) this.byValue.set(key, new Set([entry, runId]));
      } else entry.add(runId);
    }
    this.byRun.set(runId, [...keys]);
  }

  delete(runId: string): void {
    const keys = this.byRun.get(runId);
    if (!keys) return;
    this.byRun.delete(runId);
    for (const key of keys) {
      const entry = this.byValue.get(key);
      if (entry === runId) this.byValue.delete(key);
      else if (entry instanceof Set) {
        entry.delete(runId);
        if (entry.size === 1) this.byValue.set(key, first(entry));
      }
    }
  }

  /** Ids of the runs that tracked the value (trimmed, case ignored). */
  find(value: string): string[] {
    const entry = this.byValue.get(trackedKey(value));
    return entry === undefined ? [] : typeof entry === "string" ? [entry] : [...entry];
  }

  get size(): number {
    return this.byRun.size;
  }
}

function first(set: Set<string>): string {
  for (const v of set) return v;
  return "";
}
