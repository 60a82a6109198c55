import type { Meta } from "./message";
import { checkWritableKey } from "./keys";

/** The product's cap on a run's meta variables (10,240 bytes), kept so flows port unchanged. */
export const META_MAX_BYTES = 10 * 1024;

/** Meta values are strings; other values become their JSON text (objects) or their text form. */
export function toMetaString(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === undefined || value === null) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export function metaSize(meta: Meta): number {
  return Buffer.byteLength(JSON.stringify(meta), "utf8");
}

/**
 * A new meta object with the updates applied. The old object is left untouched because
 * messages already sent may still be holding it.
 */
export function withMeta(meta: Meta | undefined, updates: Record<string, unknown>): Meta {
  const next: Meta = { ...(meta ?? {}) };
  for (const key of Object.keys(updates)) {
    checkWritableKey(key, `the meta variable "${key}"`);
    next[key] = toMetaString(updates[key]);
  }
  const size = metaSize(next);
  if (size > META_MAX_BYTES) {
    const largest = Object.keys(next).sort((a, b) => next[b].length - next[a].length)[0];
    throw new RangeError(
      `meta variables would take ${size} bytes, over the ${META_MAX_BYTES}-byte limit ` +
        `(largest: "${largest}", ${Buffer.byteLength(next[largest], "utf8")} bytes). ` +
        `Keep large data in the payload or in flow variables, and only keys or ids in meta.`,
    );
  }
  return next;
}
