/**
 * Runs waiting for an answer from the callback shape, keyed by run id: a webhook request
 * held open ("wait for the flow's answer"), or a parent run's run-flow shape in wait mode.
 * Whoever waits says what to do with the answer and when to give up.
 */
import type { CallbackReply } from "../records";

interface Waiting {
  onAnswer(reply: CallbackReply): void;
  timer: NodeJS.Timeout;
}

const waiting = new Map<string, Waiting>();

export function awaitCallback(
  runId: string,
  timeoutMs: number,
  onAnswer: (reply: CallbackReply) => void,
  onTimeout: () => void,
): void {
  const timer = setTimeout(() => {
    waiting.delete(runId);
    onTimeout();
  }, timeoutMs);
  timer.unref?.();
  waiting.set(runId, { onAnswer, timer });
}

/**
 * Scale-out mode: the run-flow shape waiting for a child may be on another worker than the
 * child. An answer nobody waits for here goes to the relay, which hands it to every worker.
 */
export interface CallbackRelay {
  /** Passes the answer on; true when another worker may be waiting for it. */
  relay(runId: string, reply: CallbackReply): boolean;
}

let relay: CallbackRelay | undefined;

export function setCallbackRelay(r: CallbackRelay | undefined): void {
  relay = r;
}

/** Delivers the answer of a run. False when nobody waits (already answered, timed out, or never asked). */
export function answerCallback(runId: string, reply: CallbackReply): boolean {
  if (deliverCallback(runId, reply)) return true;
  return relay?.relay(runId, reply) ?? false;
}

/** Delivers an answer to whoever waits in this process only (a relayed answer). */
export function deliverCallback(runId: string, reply: CallbackReply): boolean {
  const entry = waiting.get(runId);
  if (!entry) return false;
  forgetCallback(runId);
  entry.onAnswer(reply);
  return true;
}

/** Stops waiting without an answer, e.g. because something else answered the request. */
export function forgetCallback(runId: string): void {
  const entry = waiting.get(runId);
  if (!entry) return;
  clearTimeout(entry.timer);
  waiting.delete(runId);
}

export function isAwaitingCallback(runId: string): boolean {
  return waiting.has(runId);
}
