import { compileGetter, parsePath, type Getter, type Segment } from "../paths";

/**
 * Per-record results in a 2xx answer. Many APIs accept a request and still refuse some of
 * its records: HubSpot's batch endpoints answer 207 Multi-Status with `errors[]`, GraphQL
 * mutations answer 200 with `userErrors`, others 200 with a list of failures. An endpoint's
 * `results` declaration says where those errors are and how each names its record, so a
 * batch answer is split per record: the rest went through, these were refused.
 */
export interface ResultsSpec {
  /**
   * Path to the per-record errors in a 2xx answer: a list, or one error. `*` matches every
   * element of a list and every value of an object (GraphQL: `data.*.userErrors`).
   */
  errors: string;
  /**
   * How an error names its record. `index`: `path` in the error holds the record's position
   * (0-based) in the request. `trace`: the engine writes each record's position (as text)
   * into `field` of the record it sends (HubSpot's `objectWriteTraceId`), and `path` in the
   * error gives it back. `key`: `path` in the error holds the value of the record's `field`
   * (an id, an email). `position`: the error's position in the list the path's first `*`
   * walks is the record's (WooCommerce's batch answers: `update.*.error`, one item per record
   * in the order sent, an `error` only on the refused ones). Absent: an error stands for every
   * record of the request.
   */
  match?: { by: "index" | "trace" | "key" | "position"; path?: string; field?: string; base?: number };
  /** Path to the error text within one error (default `message`). */
  message?: string;
  /**
   * The API applies a request whole or not at all (Shopify's inventorySetQuantities): when
   * one record is refused, the others of the request were not applied either.
   */
  atomic?: boolean;
}

export interface RecordError {
  /** The record's position in the request. */
  index: number;
  error: string;
  /** False when the API did not say which record the error is about: this one may or may not have gone through. */
  matched: boolean;
}

export type ResultsSplitter = (data: unknown, records: unknown[]) => RecordError[];

/** The splitter for a declaration; throws naming the setting when a path cannot be read. */
export function compileResults(spec: ResultsSpec): ResultsSplitter {
  const errorsAt = parsePath(spec.errors);
  const messageOf = compileGetter(spec.message ?? "message");
  const match = spec.match;
  const refOf: Getter | undefined = match?.path ? compileGetter(match.path) : undefined;
  const fieldOf: Getter | undefined = match?.field ? compileGetter(match.field) : undefined;
  if (match && match.by !== "position" && !match.path)
    throw new Error(`match by ${match.by} needs "path", where in an error the record is named`);
  if (match && (match.by === "trace" || match.by === "key") && !match.field)
    throw new Error(`match by ${match.by} needs "field", the record field the error refers to`);

  return (data, records) => {
    const found: unknown[] = [];
    const positions: Array<number | undefined> = [];
    walk(data, errorsAt, 0, found, positions, undefined);
    if (found.length === 0) return [];
    const out: RecordError[] = [];
    const failed = new Set<number>();
    let keys: Map<string, number[]> | undefined;
    const unmatched: string[] = [];
    for (const [n, error] of found.entries()) {
      const text = describe(error, messageOf);
      if (match?.by === "position") {
        const i = positions[n];
        if (i !== undefined && i < records.length) add(i, text, true);
        else unmatched.push(text);
        continue;
      }
      if (!match || !refOf) {
        for (let i = 0; i < records.length; i++) add(i, text, true);
        continue;
      }
      const refs = toList(refOf(error));
      let hit = false;
      for (const ref of refs) {
        if (match.by === "key") {
          keys ??= keyIndex(records, fieldOf as Getter);
          for (const i of keys.get(String(ref)) ?? []) hit = add(i, text, true) || hit;
        } else {
          // An API that counts from 1 (Peoplevox's LineNo) says so with base: 1.
          const i =
            (typeof ref === "number" ? ref : /^\d+$/.test(String(ref).trim()) ? Number(ref) : NaN) -
            (match.base ?? 0);
          if (Number.isInteger(i) && i >= 0 && i < records.length) hit = add(i, text, true) || hit;
        }
      }
      if (!hit) unmatched.push(text);
    }
    // An error the API tied to no record we sent: any record not named may have failed too.
    if (unmatched.length > 0)
      for (let i = 0; i < records.length; i++)
        add(
          i,
          `the API reported an error without saying for which record (${unmatched[0]}${unmatched.length > 1 ? ` and ${unmatched.length - 1} more` : ""}); this record may or may not have been accepted`,
          false,
        );
    return out.sort((a, b) => a.index - b.index);

    function add(index: number, error: string, matched: boolean): boolean {
      if (failed.has(index)) return true;
      failed.add(index);
      out.push({ index, error, matched });
      return true;
    }
  };
}

/** The record sent in place of `record` at position `index` when matching by trace: a new object, never the caller's. */
export function traced(record: unknown, field: string, index: number): unknown {
  if (!record || typeof record !== "object" || Array.isArray(record)) return record;
  return { ...(record as Record<string, unknown>), [field]: String(index) };
}

/** Collects the errors at a path; `positions` gets, for each, its element's index under the first `*`. */
function walk(
  value: unknown,
  segments: Segment[],
  from: number,
  out: unknown[],
  positions: Array<number | undefined>,
  position: number | undefined,
): void {
  let current = value;
  for (let i = from; i < segments.length; i++) {
    if (current == null || typeof current !== "object") return;
    const seg = segments[i];
    if (seg.kind === "all") {
      const items = Array.isArray(current) ? current : Object.values(current);
      items.forEach((item, n) => walk(item, segments, i + 1, out, positions, position ?? n));
      return;
    }
    current = (current as Record<string | number, unknown>)[seg.kind === "key" ? seg.key : seg.index];
  }
  if (current === undefined || current === null) return;
  const found = Array.isArray(current) ? current.filter((e) => e !== undefined && e !== null) : [current];
  for (const e of found) {
    out.push(e);
    positions.push(position);
  }
}

function toList(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

function keyIndex(records: unknown[], field: Getter): Map<string, number[]> {
  const map = new Map<string, number[]>();
  records.forEach((r, i) => {
    const v = field(r);
    if (v === undefined || v === null) return;
    const list = map.get(String(v));
    if (list) list.push(i);
    else map.set(String(v), [i]);
  });
  return map;
}

function describe(error: unknown, messageOf: Getter): string {
  if (typeof error === "string") return error.slice(0, 300);
  const message = messageOf(error);
  if (typeof message === "string" && message !== "") return message.slice(0, 300);
  let text: string;
  try {
    text = JSON.stringify(error);
  } catch {
    text = String(error);
  }
  return text.slice(0, 300);
}
