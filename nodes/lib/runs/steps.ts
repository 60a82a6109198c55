import type { RequestRecord, StepStats } from "./record";

/**
 * A live run's steps, kept flat: one row of numbers per node the run reached, in one
 * array. The hooks update it for every message of every run, so it must not allocate
 * per message, and a burst of thousands of live runs must not mean thousands of small
 * objects per node for the garbage collector to trace. Step objects are made only when
 * someone reads the run.
 */
export interface StepNode {
  id: string;
  type?: string;
  name?: string;
  /** The start of the node's row in the log, made once per node (see row). */
  rowHead?: string;
  /** The table that last looked this node up, and the row it found (see StepTable.row). */
  lastTable?: StepTable;
  lastOffset?: number;
}

/**
 * The layout of a step's row in the run log, in order: the one description of it. The
 * table's column indexes (IN, OUT, …), STEP_FIELDS, the writers (rows, rowsOf) and the
 * reader (stepsFromRows) all follow from it; test/lib/run-log-format_spec.js checks the
 * hand-unrolled parts against it and reads a log written before. Kinds, in this order:
 * - head: the node's id, type and name (JSON strings, null when absent);
 * - count, time: the numbers the step table keeps per node, its columns 0, 1, … in this
 *   order; times are ms after the run's start, -1 in the table for "not yet", written as 0;
 * - extra: rarely used (StepExtras), written only when a step has one, then all of them.
 * Field names would make up most of a line, and most of the time to write it.
 *
 * Changing this changes the line format: bump LINE_VERSION in store.ts and keep this list,
 * as it was, as the reader of the old version (see RUN_LINE_LAYOUTS there).
 */
export const STEP_COLUMNS = [
  { field: "node", kind: "head" },
  { field: "type", kind: "head" },
  { field: "name", kind: "head" },
  { field: "messagesIn", kind: "count" },
  { field: "messagesOut", kind: "count" },
  { field: "recordsIn", kind: "count" },
  { field: "recordsOut", kind: "count" },
  { field: "errors", kind: "count" },
  { field: "timeMs", kind: "count" },
  { field: "firstAt", kind: "time" },
  { field: "lastAt", kind: "time" },
  { field: "untracked", kind: "extra" },
  { field: "requests", kind: "extra" },
  { field: "requestsDropped", kind: "extra" },
  { field: "snapshots", kind: "extra" },
] as const satisfies readonly StepColumn[];

export interface StepColumn {
  readonly field: keyof StepStats;
  readonly kind: "head" | "count" | "time" | "extra";
}

/** The order of a step's fields in a row of the log file. */
export const STEP_FIELDS = STEP_COLUMNS.map((c) => c.field);

type HeadField = Extract<(typeof STEP_COLUMNS)[number], { kind: "head" }>["field"];
type TableField = Extract<(typeof STEP_COLUMNS)[number], { kind: "count" | "time" }>["field"];
type ExtraField = Extract<(typeof STEP_COLUMNS)[number], { kind: "extra" }>["field"];

const HEAD_FIELDS = STEP_COLUMNS.filter((c) => c.kind === "head").map((c) => c.field) as HeadField[];
/** The numbers of a row, which are the step table's columns 0, 1, … in this order. */
const TABLE_COLUMNS = STEP_COLUMNS.filter((c) => c.kind === "count" || c.kind === "time");
const TABLE_FIELDS = TABLE_COLUMNS.map((c) => c.field) as TableField[];
/** Per table column: a time (ms after the start, -1 until seen), not a count. */
const IS_TIME = TABLE_COLUMNS.map((c) => c.kind === "time");
const EXTRA_FIELDS = STEP_COLUMNS.filter((c) => c.kind === "extra").map((c) => c.field) as ExtraField[];
checkLayout(STEP_COLUMNS);

/** The table column of a shown field: its place among the numbers of a row. */
const column = (field: TableField) => TABLE_FIELDS.indexOf(field);

/** Columns of the table, as in STEP_COLUMNS; then bookkeeping, not written. */
export const IN = column("messagesIn");
export const OUT = column("messagesOut");
export const RECORDS_IN = column("recordsIn");
export const RECORDS_OUT = column("recordsOut");
export const ERRORS = column("errors");
export const TIME = column("timeMs");
export const FIRST = column("firstAt");
export const LAST = column("lastAt");
/** The table columns a row of the log shows, IN … LAST. */
export const SHOWN = TABLE_FIELDS.length;
/** Messages of the run on their way to this node or at it (in flight). */
export const BUSY = SHOWN;
/** Messages of the run the node is working on (received, not yet done). */
export const ACTIVE = SHOWN + 1;
/** When ACTIVE last went from 0 to 1: time spent is the wall time the node was working for the run. */
export const SINCE = SHOWN + 2;
/** Messages the router handed over (preDeliver) that the node has not yet received. */
export const PENDING = SHOWN + 3;
export const WIDTH = SHOWN + 4;

/** Rarely used parts of a step, kept apart so the rows stay plain numbers. */
export interface StepExtras {
  untracked?: number;
  requests?: RequestRecord[];
  requestsDropped?: number;
  snapshots?: number;
}

export class StepTable {
  /** Step times are kept relative to this; a node that only sent shows the run's start. */
  constructor(readonly startedAt: number) {}
  readonly nodes: StepNode[] = [];
  /**
   * Small whole numbers only (counts, and milliseconds after the start, truncated with `| 0`):
   * the array stays one of small integers, which V8 keeps unboxed and writes as short text
   * quickly; one double would turn it into an array of doubles, slower on both counts.
   */
  readonly v: number[] = [];
  private extras?: Array<StepExtras | undefined>;
  /** Large runs (hundreds of nodes) look rows up by id instead of scanning. */
  private byId?: Map<string, number>;

  /** Offset of the node's row, or -1 when the run has not reached it. */
  find(id: string): number {
    if (this.byId) return this.byId.get(id) ?? -1;
    const nodes = this.nodes;
    for (let i = 0; i < nodes.length; i++) if (nodes[i].id === id) return i * WIDTH;
    return -1;
  }

  /** Offset of the node's row, or -1 when the run has not reached it; cached as in row. */
  findNode(node: StepNode): number {
    if (node.lastTable === this) return node.lastOffset as number;
    return this.find(node.id);
  }

  /** Offset of the node's row, made when the run first reaches it. */
  row(node: StepNode): number {
    // A node's hooks for one message come together (receive, send, done): the row it found
    // last is nearly always the one asked for.
    if (node.lastTable === this) return node.lastOffset as number;
    let at = this.find(node.id);
    if (at < 0) at = this.add(node);
    node.lastTable = this;
    node.lastOffset = at;
    return at;
  }

  private add(node: StepNode): number {
    const offset = this.nodes.length * WIDTH;
    this.nodes.push(node);
    // A blank row as STEP_COLUMNS has it: counts 0, times -1 (not yet seen: times are ms
    // after the start, so 0 is a time), bookkeeping 0. Written out, as a loop or a spread
    // costs twice as much; the layout spec checks it against STEP_COLUMNS.
    this.v.push(0, 0, 0, 0, 0, 0, -1, -1, 0, 0, 0, 0);
    if (this.byId) this.byId.set(node.id, offset);
    else if (this.nodes.length > 32) this.byId = new Map(this.nodes.map((n, i) => [n.id, i * WIDTH]));
    return offset;
  }

  extra(offset: number): StepExtras {
    const list = (this.extras ??= []);
    return (list[offset / WIDTH] ??= {});
  }

  /** The steps as the run log shows them, fields in STEP_COLUMNS order (as read back from the log). */
  toSteps(): Record<string, StepStats> {
    const steps: Record<string, StepStats> = {};
    const v = this.v;
    this.nodes.forEach((node, i) => {
      const step = { node: node.id } as StepStats;
      if (node.type) step.type = node.type;
      if (node.name) step.name = node.name;
      const o = i * WIDTH;
      for (let c = 0; c < SHOWN; c++) {
        const value = v[o + c];
        step[TABLE_FIELDS[c]] = IS_TIME[c] ? this.startedAt + Math.max(0, value) : value;
      }
      const extra = this.extras?.[i];
      if (extra) Object.assign(step, extra);
      steps[node.id] = step;
    });
    return steps;
  }

  /**
   * The steps as rows of the run log file (see STEP_COLUMNS), comma-separated, without making
   * step objects. Built by plain concatenation (the caller flattens the line once): every
   * finished run goes through here, and per-row templates cost twice as much. The numbers are
   * written out one by one, as a loop over STEP_COLUMNS costs an eighth more; the layout spec
   * checks this against rowsOf, which follows STEP_COLUMNS.
   */
  rows(): string {
    const v = this.v;
    const extras = this.extras;
    let out = "";
    for (let i = 0; i < this.nodes.length; i++) {
      const node = this.nodes[i];
      const o = i * WIDTH;
      const first = v[o + FIRST];
      const last = v[o + LAST];
      out +=
        (i === 0 ? "" : ",") +
        (node.rowHead ??= rowHead({ node: node.id, type: node.type, name: node.name })) +
        v[o + IN] +
        "," +
        v[o + OUT] +
        "," +
        v[o + RECORDS_IN] +
        "," +
        v[o + RECORDS_OUT] +
        "," +
        v[o + ERRORS] +
        "," +
        v[o + TIME] +
        "," +
        (first < 0 ? 0 : first) +
        "," +
        (last < 0 ? 0 : last);
      const extra = extras?.[i];
      out += extra ? extraColumns(extra) + "]" : "]";
    }
    return out;
  }
}

/** Rows for steps that are already objects (runs read back from the log), as rows() writes them. */
export function rowsOf(steps: Record<string, StepStats>, startedAt: number): string {
  const out: string[] = [];
  for (const id in steps) {
    const s = steps[id];
    let row = rowHead(s);
    for (let c = 0; c < SHOWN; c++)
      row += (c === 0 ? "" : ",") + num(IS_TIME[c] ? s[TABLE_FIELDS[c]] - startedAt : s[TABLE_FIELDS[c]]);
    out.push(row + extraColumns(s) + "]");
  }
  return out.join(",");
}

/**
 * Steps from the rows of a line, read with the layout they were written in (STEP_COLUMNS,
 * or an older version's). Absent (null) columns are left out.
 */
export function stepsFromRows(
  rows: unknown[][],
  startedAt: number,
  columns: readonly StepColumn[] = STEP_COLUMNS,
): Record<string, StepStats> {
  const steps: Record<string, StepStats> = {};
  for (const r of rows) {
    const step: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) {
      const value = r[i];
      if (value === null || value === undefined) continue;
      step[columns[i].field] = columns[i].kind === "time" ? (value as number) + startedAt : value;
    }
    steps[step.node as string] = step as unknown as StepStats;
  }
  return steps;
}

/** The start of a row: its head columns and the comma after them. */
function rowHead(step: Pick<StepStats, HeadField>): string {
  let head = "[";
  for (const field of HEAD_FIELDS) head += str(step[field]) + ",";
  return head;
}

/** The rarely used columns, when a step has any of them. */
function extraColumns(extra: StepExtras): string {
  let any = false;
  for (const field of EXTRA_FIELDS) if (extra[field] !== undefined) any = true;
  if (!any) return "";
  let out = "";
  for (const field of EXTRA_FIELDS)
    out += "," + (extra[field] === undefined ? "null" : JSON.stringify(extra[field]));
  return out;
}

/** The writers rely on the kinds coming in this order: head, then numbers, then extras. */
function checkLayout(columns: readonly StepColumn[]): void {
  const rank = { head: 0, count: 1, time: 1, extra: 2 };
  for (let i = 1; i < columns.length; i++)
    if (rank[columns[i].kind] < rank[columns[i - 1].kind])
      throw new Error(
        `step columns: "${columns[i].field}" (${columns[i].kind}) must come before "${columns[i - 1].field}"`,
      );
}

const str = (value: string | undefined) => (value === undefined ? "null" : JSON.stringify(value));
const num = (value: number | undefined) => (typeof value === "number" && Number.isFinite(value) ? value : 0);
