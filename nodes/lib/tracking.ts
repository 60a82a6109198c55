import { compileGetter, type Getter } from "./paths";
import { elementNotRecord, notARecord, payloadNotRecords } from "./record-check";
import { TRACKED_NAME_CHARS } from "./runs/tracked";

/**
 * The track-data shape's engine: which values of each record to record into the run, by
 * name and path, compiled once. The run tracker keeps them within its caps (runs/tracked.ts).
 */

export interface TrackField {
  name?: string;
  path?: string;
}

/** At most this many fields per shape. */
export const MAX_TRACK_FIELDS = 20;

export type Extract = (payload: unknown) => Array<[string, string]>;

/** Checks the fields and parses their paths; throws naming the field and the fix. */
export function compileTracking(fields: unknown): Extract {
  if (!Array.isArray(fields) || fields.length === 0)
    throw new Error("no values to track: add a row with a name (order) and a path (order_number)");
  if (fields.length > MAX_TRACK_FIELDS)
    throw new Error(`${fields.length} values to track; at most ${MAX_TRACK_FIELDS} per shape`);
  const names = new Set<string>();
  const compiled: Array<{ name: string; path: string; get: Getter }> = (fields as TrackField[]).map(
    (f, i) => {
      const name = String(f?.name ?? "").trim();
      const path = String(f?.path ?? "").trim();
      if (!name) throw new Error(`row ${i + 1} has no name: give the value a name such as "order"`);
      if (name.length > TRACKED_NAME_CHARS)
        throw new Error(`the name "${name.slice(0, 20)}…" is longer than ${TRACKED_NAME_CHARS} characters`);
      if (names.has(name)) throw new Error(`two rows are called "${name}": give each value its own name`);
      names.add(name);
      if (!path)
        throw new Error(`"${name}" has no path: write where the value is in a record (order_number)`);
      try {
        return { name, path, get: compileGetter(path) };
      } catch (err) {
        throw new Error(`"${name}": ${(err as Error).message}`, { cause: err });
      }
    },
  );
  return (payload) => {
    const out: Array<[string, string]> = [];
    const one = (record: unknown, index: number | undefined) => {
      for (const f of compiled) {
        const value = f.get(record);
        if (Array.isArray(value)) for (const v of value) push(out, f, v, index);
        else push(out, f, value, index);
      }
    };
    if (Array.isArray(payload)) {
      for (let i = 0; i < payload.length; i++) {
        const what = notARecord(payload[i]);
        if (what) throw elementNotRecord(what, payload[i], i);
        one(payload[i], i);
      }
    } else {
      const what = notARecord(payload);
      if (what) throw payloadNotRecords(what, payload);
      one(payload, undefined);
    }
    return out;
  };
}

function push(
  out: Array<[string, string]>,
  f: { name: string; path: string },
  value: unknown,
  index: number | undefined,
): void {
  if (value === undefined || value === null || value === "") return;
  switch (typeof value) {
    case "string":
      out.push([f.name, value]);
      return;
    case "number":
    case "bigint":
    case "boolean":
      out.push([f.name, String(value)]);
      return;
    default:
      throw new Error(
        `${index === undefined ? "the record" : `record ${index}`}: "${f.name}" (${f.path}) is ${Array.isArray(value) ? "a list" : "an object"}, not a value: track a field inside it (${f.path}.id, say)`,
      );
  }
}
