import type { LookupTable } from "./transforms";

/** A cross-reference table as configured: the first column is the key, the rest are values. */
export interface LookupTableConfig {
  name: string;
  columns: string[];
  rows: unknown[][];
  caseSensitive?: boolean;
  miss?: LookupTable["miss"];
  defaultValue?: string;
}

/** Builds the table once: a Map from key (lower-cased unless case-sensitive) to its row. */
export function buildLookupTable(config: LookupTableConfig): LookupTable {
  const name = (config.name ?? "").trim() || "lookup table";
  const columns = (config.columns ?? []).map((c) => String(c ?? "").trim());
  if (columns.length < 2)
    throw new Error(`lookup table "${name}" needs a key column and at least one value column`);
  const blank = columns.findIndex((c) => c === "");
  if (blank >= 0) throw new Error(`lookup table "${name}": column ${blank + 1} has no name`);
  if (new Set(columns).size !== columns.length)
    throw new Error(`lookup table "${name}": two columns have the same name`);
  const sensitive = config.caseSensitive === true;
  const norm = (key: unknown) => (sensitive ? String(key) : String(key).toLowerCase());
  const byKey = new Map<string, unknown[]>();
  (config.rows ?? []).forEach((row, i) => {
    if (!Array.isArray(row)) throw new Error(`lookup table "${name}": row ${i + 1} is not a list of values`);
    const key = row[0];
    if (key === undefined || key === null || String(key) === "") return;
    const k = norm(key);
    if (byKey.has(k))
      throw new Error(
        `lookup table "${name}": the key "${String(key)}" appears twice (rows ${[...byKey.keys()].indexOf(k) + 1} and ${i + 1})`,
      );
    byKey.set(k, row);
  });
  const miss = config.miss ?? "default";
  if (!["default", "passthrough", "error"].includes(miss))
    throw new Error(`lookup table "${name}": unknown choice for misses "${miss}"`);
  const valueColumns = columns.slice(1);
  return {
    name,
    columns: valueColumns,
    miss,
    defaultValue: config.defaultValue ?? "",
    get(key, column) {
      if (key === undefined || key === null) return undefined;
      const row = byKey.get(norm(key));
      if (!row) return undefined;
      const at = column ? columns.indexOf(column) : 1;
      return at < 1 ? undefined : (row[at] ?? "");
    },
  };
}
