import { compileGetter, parsePath, step, type Getter, type Segment } from "./paths";
import { checkWritableKey } from "./keys";
import { describe } from "./batching";

/**
 * The splitter: pulls the element at a path out into its own payload(s). Each part can be
 * wrapped under a key and given fields of the object that held it (its parent), e.g. a
 * customer's id copied into each of its addresses. Parts are new objects only when fields
 * are copied; otherwise they are the very elements of the payload.
 */
export interface ParentField {
  /** Path into the parent. */
  from: string;
  /** Key in the part; the last key of `from` when empty. */
  to?: string;
}

export interface SplitOptions {
  path: string;
  /** each: one message per array element; whole: one message with the element as it is. */
  mode: "each" | "whole";
  wrapper?: string;
  parentFields?: ParentField[];
}

export interface Splitter {
  /** The parts, each becoming the payload of its own message (one part in whole mode). */
  parts(payload: unknown): unknown[];
}

interface Found {
  value: unknown;
  parent: unknown;
}

/** The parent fields copied into each part; rows without a `from` are left out. */
export function compileParentFields(fields: ParentField[] | undefined): Array<{ to: string; get: Getter }> {
  return (fields ?? [])
    .filter((f) => f && typeof f.from === "string" && f.from.trim() !== "")
    .map((f) => {
      const from = f.from.trim();
      const fromSegments = parsePath(from);
      const last = fromSegments[fromSegments.length - 1];
      const to = (f.to ?? "").trim() || (last && last.kind === "key" ? last.key : "");
      if (!to) throw new Error(`parent field "${from}" needs a name to be copied as`);
      checkWritableKey(to, `parent field "${from}" (copied as "${to}")`);
      return { to, get: compileGetter(fromSegments) };
    });
}

export function compileSplitter(opts: SplitOptions): Splitter {
  const text = (opts.path ?? "").trim();
  if (text === "")
    throw new Error("the path to split out is empty: name the element, e.g. customer.addresses");
  const segments = parsePath(text);
  const copies = compileParentFields(opts.parentFields);
  const wrapper = (opts.wrapper ?? "").trim();
  checkWritableKey(wrapper, `the wrapper key "${wrapper}"`);
  const each = opts.mode !== "whole";

  const withParent = (part: unknown, parent: unknown): unknown => {
    if (copies.length === 0 || part === null || typeof part !== "object" || Array.isArray(part)) return part;
    const out: Record<string, unknown> = { ...(part as Record<string, unknown>) };
    for (const c of copies) {
      const value = c.get(parent);
      if (value !== undefined) out[c.to] = value;
    }
    return out;
  };
  const wrap = (part: unknown): unknown => (wrapper ? { [wrapper]: part } : part);

  return {
    parts(payload) {
      const found: Found[] = [];
      walk(payload, segments, 0, undefined, found);
      if (found.length === 0)
        throw new Error(`msg.payload has nothing at "${text}"${pathHint(payload, segments)}`);
      if (each) {
        const parts: unknown[] = [];
        for (const { value, parent } of found) {
          if (Array.isArray(value))
            for (const element of value) parts.push(wrap(withParent(element, parent)));
          else parts.push(wrap(withParent(value, parent)));
        }
        return parts;
      }
      // Whole: one part. Through [*] it is the list of what was found.
      const single = found.length === 1 && !segments.some((s) => s.kind === "all");
      const shaped = found.map(({ value, parent }) =>
        Array.isArray(value) ? value.map((v) => withParent(v, parent)) : withParent(value, parent),
      );
      return [wrap(single ? shaped[0] : shaped)];
    },
  };
}

/** Walks the path, remembering for each value found the object that holds it. */
function walk(value: unknown, segments: Segment[], from: number, parent: unknown, out: Found[]): void {
  let current = value;
  let holder = parent;
  for (let i = from; i < segments.length; i++) {
    if (current === null || current === undefined) return;
    const seg = segments[i];
    if (seg.kind === "all") {
      if (!Array.isArray(current)) return;
      for (const element of current) walk(element, segments, i + 1, holder, out);
      return;
    }
    holder = current;
    current = step(current, seg);
  }
  if (current !== undefined) out.push({ value: current, parent: holder });
}

function pathHint(payload: unknown, segments: Segment[]): string {
  const first = segments[0];
  if (Array.isArray(payload) && first && first.kind === "key")
    return `: the payload is ${describe(payload)}; start the path with [*]. to reach into each record`;
  return "";
}
