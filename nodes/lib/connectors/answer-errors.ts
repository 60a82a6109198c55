import { parsePath, type Segment } from "../paths";

/**
 * An API that answers 200 and says in the body that the call failed (Peoplevox: every result
 * carries `ResponseId` -1 and the reason in `Detail`, an expired session included). The
 * connector declares where to look; such an answer is then an error like a 4xx, and one that
 * says the session is no longer valid logs in again once, as a 401 would.
 */
export interface AnswerErrorSpec {
  /** Path to the status in the answer; `*` matches any key (the operation's result element). */
  path: string;
  /** The status values that mean failure (Peoplevox: -1). */
  equals: Array<string | number>;
  /** Path to the reason (default: none, the answer's excerpt is shown). */
  message?: string;
  /** A regular expression over the reason that means the session expired: log in again, once. */
  sessionExpired?: string;
}

export interface AnswerError {
  message: string;
  sessionExpired: boolean;
}

export type AnswerCheck = (data: unknown) => AnswerError | undefined;

export function compileAnswerCheck(spec: AnswerErrorSpec): AnswerCheck {
  const status = parsePath(spec.path);
  const reason = spec.message ? parsePath(spec.message) : undefined;
  const failing = new Set(spec.equals.map(String));
  const expired = spec.sessionExpired ? new RegExp(spec.sessionExpired, "i") : undefined;
  return (data) => {
    const value = firstAt(data, status, 0);
    if (value === undefined || !failing.has(String(value))) return undefined;
    const found = reason ? firstAt(data, reason, 0) : undefined;
    const message =
      found === undefined || found === null || found === ""
        ? `status ${String(value)}`
        : typeof found === "object"
          ? JSON.stringify(found).slice(0, 300)
          : String(found).slice(0, 300);
    return { message, sessionExpired: !!expired && expired.test(message) };
  };
}

/** The first value at a path, `*` walking every element or key. */
function firstAt(value: unknown, segments: Segment[], from: number): unknown {
  let current = value;
  for (let i = from; i < segments.length; i++) {
    if (current === null || current === undefined || typeof current !== "object") return undefined;
    const seg = segments[i];
    if (seg.kind === "all") {
      for (const item of Array.isArray(current) ? current : Object.values(current)) {
        const found = firstAt(item, segments, i + 1);
        if (found !== undefined) return found;
      }
      return undefined;
    }
    current = Object.prototype.hasOwnProperty.call(current, seg.kind === "key" ? seg.key : seg.index)
      ? (current as Record<string | number, unknown>)[seg.kind === "key" ? seg.key : seg.index]
      : undefined;
  }
  return current;
}
