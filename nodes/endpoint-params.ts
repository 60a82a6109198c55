import type { Node, NodeAPI, NodeMessage } from "node-red";
import { compileTemplate } from "./lib/templates";
import { setKey } from "./lib/keys";
import { templateView } from "./template-view";

/** An endpoint parameter as a connection or service shape saves it (a typed input). */
export interface EndpointParam {
  key: string;
  valueType: string;
  value: string;
}

/**
 * A shape's endpoint parameters, prepared once at deploy: templates compiled and JSON values
 * parsed (a value that is not JSON is refused then, naming the parameter); what comes from
 * the message, flow, global or env is read per message. Empty values are left out.
 */
export function compileParams(
  RED: NodeAPI,
  node: Node,
  params: EndpointParam[] | undefined,
): (msg: NodeMessage) => Record<string, unknown> {
  const readers = (params ?? []).map((p): [string, (msg: NodeMessage) => unknown] => {
    if (p.valueType === "template") {
      const template = compileTemplate(p.value ?? "");
      return [p.key, (msg) => template(templateView(RED, node, msg))];
    }
    if (p.valueType === "json") {
      if ((p.value ?? "").trim() === "") return [p.key, () => undefined];
      let parsed: unknown;
      try {
        parsed = JSON.parse(p.value);
      } catch (err) {
        throw new Error(`the parameter "${p.key}" is not JSON: ${(err as Error).message}`, { cause: err });
      }
      // A copy each message: nothing downstream can change the deployed value.
      return [p.key, () => structuredClone(parsed)];
    }
    const type = p.valueType === "str" || !p.valueType ? "str" : p.valueType;
    return [p.key, (msg) => RED.util.evaluateNodeProperty(p.value, type, node, msg)];
  });
  return (msg) => {
    const out: Record<string, unknown> = {};
    for (const [key, read] of readers) {
      const value = read(msg);
      if (value !== undefined && value !== "") setKey(out, key, value);
    }
    return out;
  };
}
