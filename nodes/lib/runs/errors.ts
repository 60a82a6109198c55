import type { RunError, RunRecord } from "./record";

/** The node an error came from, as the run log names it. */
export interface ErrorSource {
  id: string;
  type?: string;
  name?: string;
}

/** An error's text: an Error's message, anything else as a string. */
export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (
    typeof error === "object" &&
    error !== null &&
    typeof (error as { message?: unknown }).message === "string"
  )
    return (error as { message: string }).message;
  return String(error);
}

/**
 * Adds an error to a run's record; false when the same error from the same node is there
 * already (a Catch node and the error itself may both tell of it). It is handled when a
 * Catch node already received an error from that node for this run.
 */
export function addError(
  record: RunRecord,
  caughtFrom: ReadonlySet<string> | undefined,
  node: ErrorSource,
  message: string,
  now: number,
): RunError | undefined {
  const same = record.errors.find((e) => e.node === node.id && e.message === message && now - e.at < 1000);
  if (same) return undefined;
  const error: RunError = { node: node.id, message, at: now, handled: caughtFrom?.has(node.id) === true };
  if (node.type) error.type = node.type;
  if (node.name) error.name = node.name;
  record.errors.push(error);
  return error;
}

/** A Catch node received an error from `source`: the run's errors from it are handled. False when it had none yet. */
export function markCaught(record: RunRecord, source: string): boolean {
  let known = false;
  for (const e of record.errors) {
    if (e.node === source) {
      e.handled = true;
      known = true;
    }
  }
  return known;
}

/**
 * Which message a node without `done` is handling: its handler runs synchronously after the
 * message arrives, so an error it logs without naming a message meanwhile is that message's.
 */
export class Handling<R, S> {
  private node?: string;
  private run?: R;
  private scopes?: S;

  set(node: string, run: R | undefined, scopes: S | undefined): void {
    this.node = node;
    this.run = run;
    this.scopes = scopes;
  }

  clear(): void {
    this.node = this.run = this.scopes = undefined;
  }

  /** The run and scopes `node` is handling a message of right now, if it is. */
  of(node: string): { run?: R; scopes?: S } | undefined {
    return this.node === node ? { run: this.run, scopes: this.scopes } : undefined;
  }
}
