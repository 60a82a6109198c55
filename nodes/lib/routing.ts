import type { Predicate } from "./conditions";
import { elementNotRecord, notARecord, payloadNotRecords } from "./record-check";

/**
 * The records of a payload: its elements, or the payload as one record. With `objects` (the
 * conditions read fields), text, numbers and true/false are refused: they are not records
 * with fields; null stays a record without fields.
 */
function recordsOf(payload: unknown, objects: boolean): unknown[] {
  if (!Array.isArray(payload)) {
    const what = objects ? notARecord(payload, true) : undefined;
    if (what) throw payloadNotRecords(what, payload);
    return [payload];
  }
  if (objects)
    for (let i = 0; i < payload.length; i++) {
      const record = payload[i];
      if (typeof record !== "object") throw elementNotRecord(notARecord(record, true) as string, record, i);
    }
  return payload;
}

/**
 * Message filter and content-based router over a payload: an array of records is handled
 * as a whole (one pass, records partitioned, never copied), anything else as one record.
 */
export interface Filtered {
  /** The payload was one record, not an array. */
  single: boolean;
  kept: unknown[];
  removed: unknown[];
}

export function filterRecords(
  payload: unknown,
  predicate: Predicate,
  keepMatching = true,
  objects = false,
): Filtered {
  const single = !Array.isArray(payload);
  const records = recordsOf(payload, objects);
  const kept: unknown[] = [];
  const removed: unknown[] = [];
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    if (predicate(record, i) === keepMatching) kept.push(record);
    else removed.push(record);
  }
  return { single, kept, removed };
}

export interface Routed {
  single: boolean;
  /** Records per route, then (when asked for) the ones no route took. */
  outputs: unknown[][];
}

/**
 * Each record goes to the first route it matches, or to every route it matches; records no
 * route takes go to the last output when `otherwise` is on, and nowhere when it is off.
 */
export function routeRecords(
  payload: unknown,
  routes: Predicate[],
  mode: "first" | "all",
  otherwise: boolean,
  objects = false,
): Routed {
  const single = !Array.isArray(payload);
  const records = recordsOf(payload, objects);
  const outputs: unknown[][] = routes.map(() => []);
  const rest: unknown[] = [];
  const first = mode === "first";
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    let taken = false;
    for (let r = 0; r < routes.length; r++) {
      if (routes[r](record, i)) {
        outputs[r].push(record);
        taken = true;
        if (first) break;
      }
    }
    if (!taken) rest.push(record);
  }
  if (otherwise) outputs.push(rest);
  return { single, outputs };
}
