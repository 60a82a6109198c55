import type { Node, NodeAPI, NodeMessage } from "node-red";
import { lookupObject, type TemplateView } from "./lib/templates";
import { pwOf } from "./lib/message";

/**
 * The one view every `{{ }}` template renders against. Flow, global and env are read
 * lazily, key by key, so a template never copies a whole context store.
 */
export function templateView(RED: NodeAPI, node: Node, msg: NodeMessage, store?: string): TemplateView {
  const pw = pwOf(msg);
  const context = node.context();
  return {
    payload: msg.payload,
    meta: pw.meta ?? {},
    run: pw.run ?? {},
    flow: lookupObject((key) => context.flow.get(key, store as string)),
    global: lookupObject((key) => context.global.get(key, store as string)),
    env: lookupObject((key) => envValue(RED, node, key)),
  };
}

/** An environment variable as Node-RED resolves it for this node (flow, group, then process). */
export function envValue(RED: NodeAPI, node: Node, name: string): unknown {
  const value = RED.util.evaluateNodeProperty(name, "env", node, {} as NodeMessage);
  return value === "" ? undefined : value;
}
