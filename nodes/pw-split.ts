import type { Node, NodeAPI, NodeDef } from "node-red";
import { compileSplitter, type ParentField, type Splitter } from "./lib/splitting";
import { derive } from "./lib/message";
import { attempt, noPayload, refuseMessages, shapeLabel, startClean } from "./shape";

interface SplitDef extends NodeDef {
  path: string;
  mode?: "each" | "whole";
  wrapper?: string;
  parentFields?: ParentField[];
}

export = function (RED: NodeAPI) {
  function PwSplit(this: Node, def: SplitDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    startClean(node);
    const label = shapeLabel("split", def, `split ${def.path ?? ""}`);
    let splitter: Splitter;
    try {
      splitter = compileSplitter({
        path: def.path,
        mode: def.mode === "whole" ? "whole" : "each",
        wrapper: def.wrapper,
        parentFields: def.parentFields,
      });
    } catch (err) {
      refuseMessages(node, label, "pw-split.status.bad-config", err);
      return;
    }
    const each = def.mode !== "whole";
    let total = 0;

    node.on("input", (msg, send, done) => {
      if (msg.payload === undefined) {
        done(noPayload(label));
        return;
      }
      const parts = attempt(node, label, "pw-split.status.failed", done, () => splitter.parts(msg.payload));
      if (!parts) return;
      const count = parts.length;
      // One send per part: Node-RED would deep-copy every message after the first of one call.
      for (let index = 0; index < count; index++)
        send(each ? derive(msg, parts[index], { batch: { index, count } }) : derive(msg, parts[index]));
      total += count;
      node.status({ fill: "green", shape: "dot", text: `${total} parts` });
      done();
    });
  }

  RED.nodes.registerType("pw-split", PwSplit);
};
