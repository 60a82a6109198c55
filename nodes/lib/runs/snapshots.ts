import { promises as fs } from "node:fs";
import path from "node:path";
import { holdsSecret, isSecretKey, redact, SECRET_KEY_IN_JSON } from "../redact";

/**
 * Payload snapshots: what a step received, kept for the run log when the flow asks for it.
 * off: none; errors: the payload at a node that reported an error (a trigger's default); all: the
 * first messages each node received and the first it sent; never: not even the trigger payload
 * (sensitive flows).
 */
export type SnapshotMode = "off" | "errors" | "all" | "never";

export const SNAPSHOTS_PER_STEP = 3;
export const DEFAULT_SNAPSHOT_CAP_BYTES = 64 * 1024;
export const DEFAULT_SNAPSHOT_TOTAL_BYTES = 100 * 1024 * 1024;

export interface Snapshot {
  at: number;
  bytes: number;
  /** The payload as JSON, secrets redacted; absent when over the cap (see preview). */
  json?: string;
  preview?: string;
  truncated?: boolean;
  error?: boolean;
  /** What the step sent out; without it, what the step received. */
  sent?: boolean;
}

/**
 * A lower bound of the payload's JSON size, given up as soon as it passes `cap`: a huge
 * payload is never serialised just to learn that it is too big to keep.
 */
export function exceedsJsonBytes(value: unknown, cap: number): boolean {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") size += v.length + 2;
    else if (v === null || typeof v !== "object") size += 1;
    else if (Buffer.isBuffer(v)) size += 2 * v.length;
    else if (typeof (v as { toJSON?: unknown }).toJSON === "function")
      size += 2; // a Date, say: its own text
    else if (Array.isArray(v)) {
      size += 1 + v.length;
      for (let i = 0; i < v.length && size <= cap; i++) stack.push(v[i]);
    } else {
      // What JSON.stringify writes: own enumerable keys, without undefined or function values.
      const keys = Object.keys(v);
      for (let i = 0; i < keys.length && size <= cap; i++) {
        const item = (v as Record<string, unknown>)[keys[i]];
        if (item === undefined || typeof item === "function") continue;
        size += keys[i].length + 4;
        stack.push(item);
      }
    }
    if (size > cap) return true;
  }
  return false;
}

/**
 * The trigger payload as kept with a run for retry: JSON, secrets redacted as in snapshots
 * (a retry sends "***" for them), absent over the cap. The JSON text is the copy that
 * protects it from nodes that later change the payload in place.
 */
export function keepPayload(
  payload: unknown,
  capBytes: number,
): { json?: string; bytes: number; truncated?: boolean } {
  if (payload === undefined) return { bytes: 0 };
  if (exceedsJsonBytes(payload, capBytes)) return { bytes: capBytes + 1, truncated: true };
  let json: string | undefined;
  try {
    json = JSON.stringify(payload);
    if (json !== undefined && (SECRET_KEY_IN_JSON.test(json) || holdsSecret(json)))
      json = JSON.stringify(redact(payload));
  } catch {
    return { bytes: 0, truncated: true };
  }
  if (json === undefined) return { bytes: 0 };
  const bytes = Buffer.byteLength(json, "utf8");
  return bytes > capBytes ? { bytes, truncated: true } : { json, bytes };
}

/** Characters of a payload kept when it is over the snapshot cap. */
export const PREVIEW_CHARS = 2000;

export function takeSnapshot(payload: unknown, capBytes: number, at: number, error?: boolean): Snapshot {
  // Plainly over the cap: a preview of its start, never the whole payload serialised for it.
  if (exceedsJsonBytes(payload, capBytes)) {
    const snap: Snapshot = {
      at,
      bytes: capBytes + 1,
      truncated: true,
      preview: previewJson(payload, PREVIEW_CHARS),
    };
    if (error) snap.error = true;
    return snap;
  }
  let json: string;
  try {
    json = JSON.stringify(redact(payload)) ?? "null";
  } catch (err) {
    json = JSON.stringify(`<not serialisable: ${(err as Error).message}>`);
  }
  const bytes = Buffer.byteLength(json, "utf8");
  const snap: Snapshot =
    bytes > capBytes
      ? { at, bytes, truncated: true, preview: json.slice(0, PREVIEW_CHARS) }
      : { at, bytes, json };
  if (error) snap.error = true;
  return snap;
}

/**
 * The start of a value's JSON (redacted as snapshots are), at most `limit` characters, made
 * by walking only as much of the value as that takes.
 */
export function previewJson(value: unknown, limit: number): string {
  let out = "";
  const full = () => out.length >= limit;
  const walk = (v: unknown, depth: number): void => {
    if (full()) return;
    if (typeof v === "string") out += JSON.stringify(redact(v));
    else if (v === null || typeof v === "number" || typeof v === "boolean") out += JSON.stringify(v);
    else if (typeof v !== "object" || depth > 50) out += "null";
    else if (Buffer.isBuffer(v)) out += JSON.stringify(`<${v.length} bytes>`);
    else if (typeof (v as { toJSON?: unknown }).toJSON === "function") out += JSON.stringify(v) ?? "null";
    else if (Array.isArray(v)) {
      out += "[";
      for (let i = 0; i < v.length && !full(); i++) {
        if (i > 0) out += ",";
        walk(v[i], depth + 1);
      }
      out += "]";
    } else {
      out += "{";
      let first = true;
      for (const key of Object.keys(v)) {
        if (full()) break;
        const item = (v as Record<string, unknown>)[key];
        if (item === undefined || typeof item === "function") continue;
        out += (first ? "" : ",") + JSON.stringify(key) + ":";
        first = false;
        if (isSecretKey(key)) out += '"***"';
        else walk(item, depth + 1);
      }
      out += "}";
    }
  };
  walk(value, 0);
  return out.slice(0, limit);
}

/** Snapshots on disk, one file per run, the oldest removed past a total size. */
export class SnapshotStore {
  private total = 0;
  private readonly files: Array<{ name: string; bytes: number }> = [];
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly dir: string,
    private readonly totalCapBytes = DEFAULT_SNAPSHOT_TOTAL_BYTES,
  ) {}

  async open(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    for (const name of (await fs.readdir(this.dir)).filter((n) => n.endsWith(".json")).sort()) {
      const { size } = await fs.stat(path.join(this.dir, name));
      this.files.push({ name, bytes: size });
      this.total += size;
    }
  }

  save(runId: string, steps: Record<string, Snapshot[]>): void {
    const text = JSON.stringify(steps);
    const name = `${runId}.json`;
    const bytes = Buffer.byteLength(text, "utf8");
    this.writing = this.writing
      .then(async () => {
        await fs.writeFile(path.join(this.dir, name), text, "utf8");
        this.files.push({ name, bytes });
        this.total += bytes;
        while (this.total > this.totalCapBytes && this.files.length > 1) {
          const oldest = this.files.shift() as { name: string; bytes: number };
          this.total -= oldest.bytes;
          await fs.rm(path.join(this.dir, oldest.name), { force: true });
        }
      })
      .catch(() => undefined);
  }

  async get(runId: string): Promise<Record<string, Snapshot[]> | undefined> {
    await this.writing;
    if (!/^[0-9A-Z]{26}$/.test(runId)) return undefined;
    try {
      return JSON.parse(await fs.readFile(path.join(this.dir, `${runId}.json`), "utf8"));
    } catch {
      return undefined;
    }
  }

  flush(): Promise<void> {
    return this.writing;
  }
}
