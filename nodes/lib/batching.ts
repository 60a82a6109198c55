import { compileGetter, hasWildcard, parsePath, type Getter } from "./paths";

/**
 * Flow control's re-batching: the records at a batch level (a path to an array; through
 * `[*]` the arrays of every element, joined in order) cut into batches of a size. Batches
 * are slices: the records themselves are never copied.
 */
export interface BatchLevel {
  path: string;
  records(payload: unknown): unknown[];
}

export function compileBatchLevel(path: string): BatchLevel {
  const text = (path ?? "").trim();
  // The product writes the root as "*"; both mean the payload itself.
  const root = text === "" || text === "*" || text === "[*]";
  const segments = root ? [] : parsePath(text);
  const get: Getter = compileGetter(segments);
  const spread = hasWildcard(segments);
  const where = root ? "msg.payload" : `msg.payload.${text}`;
  return {
    path: root ? "" : text,
    records(payload) {
      const found = get(payload);
      if (!spread) {
        if (Array.isArray(found)) return found;
        throw new Error(
          `${where} is ${describe(found)}, not an array of records${root ? "" : ": check the batch level"}`,
        );
      }
      const out: unknown[] = [];
      for (const part of found as unknown[]) {
        if (Array.isArray(part)) for (const record of part) out.push(record);
        else out.push(part);
      }
      return out;
    },
  };
}

export function batchCount(total: number, size: number): number {
  return Math.ceil(total / size);
}

export function batchAt(records: unknown[], size: number, index: number): unknown[] {
  return records.slice(index * size, index * size + size);
}

export function checkBatchSize(value: unknown): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`the batch size must be a whole number of 1 or more, not "${String(value)}"`);
  return n;
}

export function describe(value: unknown): string {
  if (value === undefined) return "missing";
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === "object") return "an object";
  return `a ${typeof value} (${JSON.stringify(value).slice(0, 40)})`;
}
