import { checkWritableKey, isUnsafeKey, ownValue } from "./keys";

/**
 * The one path syntax of every shape: dot paths with `[n]`, quoted keys `['a.b']`, and
 * `[*]` or `*` for "every element". Paths are parsed once at deploy into getters.
 *
 * `__proto__`, `constructor` and `prototype` are read as the record's own fields only (never a
 * prototype), and a path that writes refuses them (`parseTargetPath`).
 */

/** `own`: a key that names a prototype member (`__proto__`, `constructor`, `prototype`), read as own data only. */
export type Segment =
  { kind: "key"; key: string; own?: true } | { kind: "index"; index: number } | { kind: "all" };

export class PathSyntaxError extends Error {
  constructor(path: string, at: number, what: string) {
    super(`path "${path}" has ${what} at character ${at + 1}`);
    this.name = "PathSyntaxError";
  }
}

const IDENT_STOP = new Set([".", "["]);

export function parsePath(path: string): Segment[] {
  const segments: Segment[] = [];
  const text = path.trim();
  let i = 0;
  let expectKey = true;
  while (i < text.length) {
    const ch = text[i];
    if (ch === ".") {
      if (expectKey) throw new PathSyntaxError(path, i, "an empty key");
      i++;
      expectKey = true;
      if (i >= text.length) throw new PathSyntaxError(path, i - 1, "a trailing dot");
      continue;
    }
    if (ch === "[") {
      const close = findClose(text, i, path);
      const inner = text.slice(i + 1, close).trim();
      if (inner === "*") segments.push({ kind: "all" });
      else if (/^\d+$/.test(inner)) segments.push({ kind: "index", index: Number(inner) });
      else if (/^(['"]).*\1$/s.test(inner)) segments.push(keySegment(inner.slice(1, -1)));
      else throw new PathSyntaxError(path, i, `"[${inner}]" (use [n], [*] or ['key'])`);
      i = close + 1;
      expectKey = false;
      continue;
    }
    if (!expectKey) throw new PathSyntaxError(path, i, `"${ch}" where "." or "[" was expected`);
    let j = i;
    while (j < text.length && !IDENT_STOP.has(text[j])) j++;
    const key = text.slice(i, j);
    segments.push(key === "*" ? { kind: "all" } : keySegment(key));
    i = j;
    expectKey = false;
  }
  return segments;
}

function keySegment(key: string): Segment {
  return isUnsafeKey(key) ? { kind: "key", key, own: true } : { kind: "key", key };
}

/**
 * A path that is written to (a map target, a split's wrapper): parsed like any path, but
 * `__proto__`, `constructor` and `prototype` are refused, naming the path and `what` it is.
 */
export function parseTargetPath(path: string, what = "the target"): Segment[] {
  const segments = parsePath(path);
  for (const seg of segments) if (seg.kind === "key") checkWritableKey(seg.key, `${what} "${path.trim()}"`);
  return segments;
}

/** One step along a path: an own property for the keys that name prototype members, else plain access. */
export function step(value: unknown, seg: Segment): unknown {
  if (seg.kind === "key")
    return seg.own ? ownValue(value, seg.key) : (value as Record<string, unknown>)[seg.key];
  return (value as Record<number, unknown>)[(seg as { index: number }).index];
}

function findClose(text: string, open: number, path: string): number {
  const quote = text[open + 1] === "'" || text[open + 1] === '"' ? text[open + 1] : "";
  if (quote) {
    const end = text.indexOf(quote, open + 2);
    if (end < 0 || text[end + 1] !== "]") throw new PathSyntaxError(path, open, "an unclosed quoted key");
    return end + 1;
  }
  const end = text.indexOf("]", open);
  if (end < 0) throw new PathSyntaxError(path, open, 'a "[" without "]"');
  return end;
}

export function hasWildcard(segments: Segment[]): boolean {
  return segments.some((s) => s.kind === "all");
}

export type Getter = (root: unknown) => unknown;

/**
 * A getter for the path. Without a wildcard it returns the value (or undefined); with one it
 * returns the array of values found under every element (undefined ones left out).
 */
export function compileGetter(path: string | Segment[]): Getter {
  const segments = typeof path === "string" ? parsePath(path) : path;
  if (!hasWildcard(segments)) return compileSimple(segments);
  const star = segments.findIndex((seg) => seg.kind === "all");
  if (segments.filter((seg) => seg.kind === "all").length === 1) {
    // One [*] (line_items[*].sku), the common case: a plain loop, no recursion.
    const before = compileSimple(segments.slice(0, star));
    const after = compileSimple(segments.slice(star + 1));
    return (root) => {
      const list = before(root);
      const out: unknown[] = [];
      if (!Array.isArray(list)) return out;
      for (let i = 0; i < list.length; i++) {
        const value = after(list[i]);
        if (value !== undefined) out.push(value);
      }
      return out;
    };
  }
  return (root) => {
    const out: unknown[] = [];
    collect(root, segments, 0, out);
    return out;
  };
}

function compileSimple(segments: Segment[]): Getter {
  if (segments.some((s) => s.kind === "key" && s.own))
    return (root) => {
      let value = root;
      for (let i = 0; i < segments.length; i++) {
        if (value == null) return undefined;
        value = step(value, segments[i]);
      }
      return value;
    };
  const steps = segments.map((s) => (s.kind === "key" ? s.key : (s as { index: number }).index));
  if (steps.length === 0) return (root) => root;
  if (steps.length === 1) {
    const a = steps[0];
    return (root) => (root != null ? (root as Record<string | number, unknown>)[a] : undefined);
  }
  return (root) => {
    let value = root;
    for (let i = 0; i < steps.length; i++) {
      if (value == null) return undefined;
      value = (value as Record<string | number, unknown>)[steps[i]];
    }
    return value;
  };
}

function collect(value: unknown, segments: Segment[], from: number, out: unknown[]): void {
  let current = value;
  for (let i = from; i < segments.length; i++) {
    if (current == null) return;
    const seg = segments[i];
    if (seg.kind === "all") {
      if (!Array.isArray(current)) return;
      for (const element of current) collect(element, segments, i + 1, out);
      return;
    }
    current = step(current, seg);
  }
  if (current !== undefined) out.push(current);
}
