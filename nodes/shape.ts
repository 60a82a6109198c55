import type { Node, NodeAPI, NodeMessage } from "node-red";
import type { Matcher, Predicate } from "./lib/conditions";
import { templateView } from "./template-view";

/**
 * How a shape is named in its errors and log lines: as the editor labels it on the canvas,
 * after the kind of shape, e.g. `map "Orders to Shopify"` or `trigger "every 15 min"`. `palette`
 * is the shape's palette name; `defaultLabel` what the editor shows when the shape has no name
 * (its label function's answer), when that says more than the palette name.
 */
export function shapeLabel(palette: string, def: { name?: string }, defaultLabel?: string): string {
  const shown = (def.name ?? "").trim() || (defaultLabel ?? "").trim();
  return shown && shown !== palette ? `${palette} "${shown}"` : palette;
}

/**
 * A shape's status as a deploy starts it: none. Node-RED clears the status of removed nodes
 * only, so a restarted shape would go on showing the last deployment's "failed" or counts.
 */
export function startClean(node: Node): void {
  node.status({});
}

/** The status of a shape whose work ended because its run was stopped: not a failure. */
export function showStopped(node: Node, text = "stopped"): void {
  node.status({ fill: "grey", shape: "ring", text });
}

/**
 * What every shape does when its configuration cannot be used: a red status, the reason in
 * the log, and every message that arrives failed with that reason (so Catch nodes and the
 * run log see it) instead of passing through as if nothing were wrong.
 */
export function refuseMessages(node: Node, label: string, statusKey: string, err: unknown): void {
  const reason = (err as Error).message;
  node.status({ fill: "red", shape: "ring", text: statusKey });
  node.error(`${label}: ${reason}`);
  node.on("input", (_msg, _send, done) =>
    done(new Error(`${label} is not configured correctly: ${reason}. Open the shape and fix it.`)),
  );
}

/** The matcher bound for this message: templates read the message, relative dates its time of arrival. */
export function predicateFor(
  RED: NodeAPI,
  node: Node,
  matcher: Matcher,
  constant: Predicate | undefined,
  msg: NodeMessage,
): Predicate {
  return constant ?? matcher.bind(() => templateView(RED, node, msg), Date.now());
}

/** Sends one message on one output of several, with a call of its own (Node-RED deep-copies all but the first message of a call). */
export function sendOn(
  send: (msgs: Array<NodeMessage | null>) => void,
  outputs: number,
  index: number,
  msg: NodeMessage,
): void {
  const slots: Array<NodeMessage | null> = new Array(outputs).fill(null);
  slots[index] = msg;
  send(slots);
}

/**
 * Runs the shape's work on a message; when it throws, the message fails (red status, the
 * error named after the shape, to Catch nodes) and undefined comes back.
 */
export function attempt<T>(
  node: Node,
  label: string,
  statusKey: string,
  done: (err?: Error) => void,
  work: () => T,
): T | undefined {
  try {
    return work();
  } catch (err) {
    node.status({ fill: "red", shape: "dot", text: statusKey });
    done(new Error(`${label}: ${(err as Error).message}`));
    return undefined;
  }
}

export function noPayload(label: string): Error {
  return new Error(
    `${label}: msg.payload is missing; put a shape that produces records (a connection, a manual payload) before this one`,
  );
}
