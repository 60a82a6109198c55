import type { Predicate } from "./conditions";

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

export function filterRecords(payload: unknown, predicate: Predicate, keepMatching = true): Filtered {
  const single = !Array.isArray(payload);
  const records = single ? [payload] : (payload as unknown[]);
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
): Routed {
  const single = !Array.isArray(payload);
  const records = single ? [payload] : (payload as unknown[]);
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
