/**
 * Webhook requests waiting for the flow's answer ("wait for the flow's answer" reply mode),
 * keyed by run id. The callback shape, or Node-RED's http response node through msg.res,
 * answers; otherwise the request times out with 504 so the sender is never left hanging.
 */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body: string | Buffer;
}

interface Pending {
  send(reply: Reply): void;
  timer: NodeJS.Timeout;
}

const pending = new Map<string, Pending>();

export function awaitReply(runId: string, timeoutMs: number, send: (reply: Reply) => void): void {
  const timer = setTimeout(() => {
    pending.delete(runId);
    send({
      status: 504,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ message: `The flow did not answer within ${Math.round(timeoutMs / 1000)} s.`, run: runId }),
    });
  }, timeoutMs);
  pending.set(runId, { send, timer });
}

/** Answers the request a run is holding. False when there is none (already answered or timed out). */
export function answer(runId: string, reply: Reply): boolean {
  const entry = pending.get(runId);
  if (!entry) return false;
  forget(runId);
  entry.send(reply);
  return true;
}

/** Drops a waiting request without answering it, e.g. because something else answered it. */
export function forget(runId: string): void {
  const entry = pending.get(runId);
  if (!entry) return;
  clearTimeout(entry.timer);
  pending.delete(runId);
}

export function isWaiting(runId: string): boolean {
  return pending.has(runId);
}
