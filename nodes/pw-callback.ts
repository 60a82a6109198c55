import type { Node, NodeAPI, NodeDef } from "node-red";
import { answerCallback } from "./lib/runs/callbacks";
import { runIdOf } from "./lib/message";
import { refuseMessages, shapeLabel, startClean } from "./shape";
import { setKey } from "./lib/keys";

interface CallbackDef extends NodeDef {
  /** The HTTP status of the answer. */
  statusCode?: number | string;
  /**
   * The same setting as saved before it was renamed: Node-RED writes a node's runtime status
   * into `status` in the editor, so a full deploy replaced the number with {fill, shape, text}.
   * Read only when it still holds a status code.
   */
  status?: unknown;
  format?: "json" | "xml" | "text";
  headers?: Array<{ name: string; value: string }>;
}

/** The status code setting, from `statusCode` or, in flows saved before the rename, `status`. */
function statusSetting(def: CallbackDef): number | string | undefined {
  if (def.statusCode !== undefined && def.statusCode !== "") return def.statusCode;
  const legacy = def.status;
  return typeof legacy === "number" || (typeof legacy === "string" && legacy !== "") ? legacy : undefined;
}

export = function (RED: NodeAPI) {
  function PwCallback(this: Node, def: CallbackDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    startClean(node);
    const label = shapeLabel("callback", def, `callback ${String(statusSetting(def) ?? 200)}`);
    const configured = statusSetting(def);
    const status = configured === undefined || configured === "" ? 200 : Number(configured);
    const format = def.format === "xml" || def.format === "text" ? def.format : "json";
    const headers: Record<string, string> = {};
    for (const h of def.headers ?? [])
      if (h.name) setKey(headers, h.name.trim().toLowerCase(), String(h.value ?? ""));
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      const reason = `status ${String(configured)} is not an HTTP status (100-599)`;
      refuseMessages(node, label, "pw-callback.status.bad-config", new Error(reason));
      return;
    }

    node.on("input", (msg, send, done) => {
      const runId = runIdOf(msg);
      if (!runId) {
        return done(
          new Error(
            `${label}: the message belongs to no run (no msg.pw.run): place the callback in a process flow that starts at a trigger`,
          ),
        );
      }
      const answered = answerCallback(runId, { status, headers, payload: msg.payload, format });
      if (answered) {
        node.status({ fill: "green", shape: "dot", text: `answered ${status}` });
      } else {
        node.status({ fill: "yellow", shape: "ring", text: "nobody waiting" });
        node.warn(
          `${label}: nothing is waiting for an answer from run ${runId}: its trigger does not wait for the flow's answer, or the answer was already given or timed out`,
        );
      }
      send(msg);
      done();
    });
  }

  RED.nodes.registerType("pw-callback", PwCallback);
};
