import type { NodeAPI } from "node-red";

/**
 * The parts of Node-RED's runtime that are not its public API but that the runs plugin relies
 * on, in one place. test/runtime/internals_spec.js pins each against the Node-RED in use, so
 * an update that changes one fails CI instead of quietly breaking run tracking.
 */

/** A runtime node as the hooks hand it over. */
export interface RuntimeNode {
  id: string;
  type?: string;
  name?: string;
  /** How many `done` calls complete a message: above 0 when the input handler takes `done`. */
  _expectedDoneCount?: number;
  /** The flow the node runs in: the router finds a send's destination there. */
  _flow?: { getNode(id: string): RuntimeNode | null | undefined };
}

/** Whether the node's input handler takes `done` (onComplete will come for its messages). */
export function takesDone(node: RuntimeNode): boolean {
  return (node._expectedDoneCount ?? 0) > 0;
}

/** The node a send is routed to, found as the router finds it: in the sender's flow. */
export function routeTarget(sender: RuntimeNode, id: string): RuntimeNode | undefined {
  return sender._flow?.getNode(id) ?? undefined;
}

/** A handler for every runtime log entry (Node-RED's logging handlers, as settings.js adds them). */
export function addLogHandler(RED: NodeAPI, handler: { emit(event: string, entry: LogEntry): void }): void {
  (RED.log as unknown as { addHandler(h: object): void }).addHandler(handler);
}

export interface LogEntry {
  level: number;
  id?: string;
  type?: string;
  name?: string;
  msg?: unknown;
}

/** Node-RED's log level number for errors. */
export const LOG_ERROR = 20;

/** Publishes to the editor's comms channel (what `RED.comms.publish` does for core plugins). */
export function publishToEditor(RED: NodeAPI, topic: string, data: unknown): void {
  (
    RED as unknown as { comms: { publish(topic: string, data: unknown, retain: boolean): void } }
  ).comms.publish(topic, data, false);
}

/**
 * Called as a node reports an error with the message it was handling (`Node.prototype.error`
 * with a message: a thrown input handler, `done(err)`, `node.error(text, msg)`), before
 * Node-RED hands it to Catch nodes and the log. May return a function to call once Node-RED
 * is done with it.
 */
export type ErrorReport = (node: RuntimeNode, logMessage: unknown, msg: unknown) => (() => void) | undefined;

const REPORTING = Symbol.for("node-red-contrib-patchworks.error-report");
interface NodePrototype {
  error(this: RuntimeNode, logMessage: unknown, msg?: unknown): void;
  [REPORTING]?: { report: ErrorReport };
}

/**
 * Routes every node's error reports through `report`, by wrapping `error` on the prototype
 * all runtime nodes share (found from one node: the one that also owns `_complete`). Node-RED
 * gives no hook with the message an error was raised for. Once per process; a second call
 * replaces the report function. False when the prototype is not where it is expected.
 */
export function reportNodeErrors(node: object, report: ErrorReport): boolean {
  let proto = Object.getPrototypeOf(node) as NodePrototype | null;
  while (proto && !(Object.hasOwn(proto, "error") && Object.hasOwn(proto, "_complete")))
    proto = Object.getPrototypeOf(proto) as NodePrototype | null;
  if (!proto) return false;
  const installed = proto[REPORTING];
  if (installed) {
    installed.report = report;
    return true;
  }
  const state = { report };
  const original = proto.error;
  proto.error = function (this: RuntimeNode, logMessage: unknown, msg?: unknown) {
    const after = state.report(this, logMessage, msg);
    try {
      return original.call(this, logMessage, msg);
    } finally {
      after?.();
    }
  };
  proto[REPORTING] = state;
  return true;
}
