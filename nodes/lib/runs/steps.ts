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

/** Columns of a row. Busy/since/pending are bookkeeping, not shown. */
export const IN = 0;
export const OUT = 1;
export const RECORDS_IN = 2;
export const RECORDS_OUT = 3;
export const ERRORS = 4;
export const TIME = 5;
export const FIRST = 6;
export const LAST = 7;
/** Messages of the run on their way to this node or at it (in flight). */
export const BUSY = 8;
/** Messages of the run the node is working on (received, not yet done). */
export const ACTIVE = 9;
/** When ACTIVE last went from 0 to 1: time spent is the wall time the node was working for the run. */
export const SINCE = 10;
/** Messages the router handed over (preDeliver) that the node has not yet received. */
export const PENDING = 11;
export const WIDTH = 12;

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
    // -1: not yet seen (times are ms after the start, so 0 is a time).
    this.v.push(0, 0, 0, 0, 0, 0, -1, -1, 0, 0, 0, 0);
    if (this.byId) this.byId.set(node.id, offset);
    else if (this.nodes.length > 32) this.byId = new Map(this.nodes.map((n, i) => [n.id, i * WIDTH]));
    return offset;
  }

  extra(offset: number): StepExtras {
    const list = (this.extras ??= []);
    return (list[offset / WIDTH] ??= {});
  }

  /** The steps as the run log shows them. */
  toSteps(): Record<string, StepStats> {
    const steps: Record<string, StepStats> = {};
    const v = this.v;
    this.nodes.forEach((node, i) => {
      const o = i * WIDTH;
      const step: StepStats = {
        node: node.id,
        messagesIn: v[o + IN],
        messagesOut: v[o + OUT],
        recordsIn: v[o + RECORDS_IN],
        recordsOut: v[o + RECORDS_OUT],
        errors: v[o + ERRORS],
        timeMs: v[o + TIME],
        firstAt: this.startedAt + Math.max(0, v[o + FIRST]),
        lastAt: this.startedAt + Math.max(0, v[o + LAST]),
      };
      if (node.type) step.type = node.type;
      if (node.name) step.name = node.name;
      const extra = this.extras?.[i];
      if (extra) Object.assign(step, extra);
      steps[node.id] = step;
    });
    return steps;
  }

  /**
   * The steps as rows of the run log file (see STEP_FIELDS), comma-separated, without making
   * step objects. Built by plain concatenation (the caller flattens the line once): every
   * finished run goes through here, and per-row templates cost twice as much.
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
        (node.rowHead ??= rowHead(node.id, node.type, node.name)) +
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

/**
 * The order of a step's fields in a row of the log file. Field names would make up most of
 * a line, and most of the time to write it. firstAt and lastAt are written as milliseconds
 * after the run started: short numbers, quick to write.
 */
export const STEP_FIELDS = [
  "node",
  "type",
  "name",
  "messagesIn",
  "messagesOut",
  "recordsIn",
  "recordsOut",
  "errors",
  "timeMs",
  "firstAt",
  "lastAt",
  "untracked",
  "requests",
  "requestsDropped",
  "snapshots",
] as const;

/** Rows for steps that are already objects (runs read back from the log), as rows() writes them. */
export function rowsOf(steps: Record<string, StepStats>, startedAt: number): string {
  const out: string[] = [];
  for (const id in steps) {
    const s = steps[id];
    out.push(
      `${rowHead(s.node, s.type, s.name)}${num(s.messagesIn)},${num(s.messagesOut)},${num(s.recordsIn)},${num(s.recordsOut)},${num(s.errors)},${num(s.timeMs)},${num(s.firstAt - startedAt)},${num(s.lastAt - startedAt)}${extraColumns(s)}]`,
    );
  }
  return out.join(",");
}

export function stepsFromRows(rows: unknown[][], startedAt: number): Record<string, StepStats> {
  const steps: Record<string, StepStats> = {};
  for (const r of rows) {
    const step: Record<string, unknown> = {};
    STEP_FIELDS.forEach((f, i) => {
      if (r[i] !== null && r[i] !== undefined) step[f] = r[i];
    });
    step.firstAt = (step.firstAt as number) + startedAt;
    step.lastAt = (step.lastAt as number) + startedAt;
    steps[step.node as string] = step as unknown as StepStats;
  }
  return steps;
}

function rowHead(id: string, type: string | undefined, name: string | undefined): string {
  return `[${JSON.stringify(id)},${str(type)},${str(name)},`;
}

/** The rarely used columns, when a step has any of them. */
function extraColumns(extra: StepExtras): string {
  if (extra.untracked === undefined && extra.requests === undefined && extra.snapshots === undefined)
    return "";
  return `,${extra.untracked ?? null},${extra.requests ? JSON.stringify(extra.requests) : null},${extra.requestsDropped ?? null},${extra.snapshots ?? null}`;
}

const str = (value: string | undefined) => (value === undefined ? "null" : JSON.stringify(value));
const num = (value: number | undefined) => (typeof value === "number" && Number.isFinite(value) ? value : 0);
