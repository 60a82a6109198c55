import type { Node, NodeAPI, NodeDef } from "node-red";
import { refuseMessages, shapeLabel, startClean } from "./shape";

interface ManualPayloadDef extends NodeDef {
  format: "json" | "text";
  payload: string;
}

export = function (RED: NodeAPI) {
  function PwManualPayload(this: Node, def: ManualPayloadDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    startClean(node);
    const label = shapeLabel("manual payload", def);
    const text = def.payload ?? "";
    let fresh: () => unknown;
    if (def.format === "text") {
      fresh = () => text;
    } else {
      try {
        JSON.parse(text);
      } catch (err) {
        const reason = `the payload is not valid JSON (${(err as Error).message}); correct it or choose the text format`;
        refuseMessages(node, label, "pw-manual-payload.status.bad-json", new Error(reason));
        return;
      }
      // Parsed per message on purpose: downstream nodes (a change node, a function) may
      // modify the payload in place, and the next run must still get the original.
      fresh = () => JSON.parse(text);
    }
    node.status({
      fill: "grey",
      shape: "dot",
      text: def.format === "text" ? `text, ${text.length} chars` : `JSON, ${text.length} chars`,
    });

    node.on("input", (msg, send, done) => {
      send({ ...msg, payload: fresh() });
      done();
    });
  }

  RED.nodes.registerType("pw-manual-payload", PwManualPayload);
};
