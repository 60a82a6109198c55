import type { Node, NodeAPI, NodeDef, NodeMessage } from "node-red";
import { compileConditions, type Matcher, type Predicate } from "./lib/conditions";
import { filterRecords } from "./lib/routing";
import { derive } from "./lib/message";
import { keepSample, forgetSample } from "./samples";
import { attempt, noPayload, predicateFor, refuseMessages, sendOn, shapeLabel, startClean } from "./shape";

interface FilterDef extends NodeDef {
  conditions: unknown;
  /** matching: keep the records that match; rest: remove them. */
  keep?: "matching" | "rest";
  /** Send removed records to a second output instead of dropping them. */
  removedOutput?: boolean;
  /** Send an empty array when no record is left, rather than nothing. */
  sendEmpty?: boolean;
}

export = function (RED: NodeAPI) {
  function PwFilter(this: Node, def: FilterDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    startClean(node);
    const label = shapeLabel("filter", def);
    let matcher: Matcher;
    try {
      matcher = compileConditions(def.conditions);
    } catch (err) {
      refuseMessages(node, label, "pw-filter.status.bad-config", err);
      return;
    }
    const constant: Predicate | undefined = matcher.constant ? matcher.bind(() => ({}), 0) : undefined;
    const keepMatching = def.keep !== "rest";
    const outputs = def.removedOutput ? 2 : 1;
    let kept = 0;
    let removed = 0;

    node.on("input", (msg, send, done) => {
      if (msg.payload === undefined) {
        done(noPayload(label));
        return;
      }
      keepSample(node.id, msg.payload);
      const result = attempt(node, label, "pw-filter.status.failed", done, () =>
        filterRecords(
          msg.payload,
          predicateFor(RED, node, matcher, constant, msg),
          keepMatching,
          matcher.readsFields,
        ),
      );
      if (!result) return;
      kept += result.kept.length;
      removed += result.removed.length;
      node.status({ fill: "green", shape: "dot", text: `${kept} kept, ${removed} removed` });
      const out = (records: unknown[]): NodeMessage | null => {
        if (result.single) return records.length ? msg : null;
        return records.length || def.sendEmpty ? derive(msg, records) : null;
      };
      const keptMsg = out(result.kept);
      if (keptMsg) sendOn(send, outputs, 0, keptMsg);
      if (outputs === 2) {
        const removedMsg = out(result.removed);
        if (removedMsg) sendOn(send, outputs, 1, removedMsg);
      }
      done();
    });
    node.on("close", (removed: boolean, done: () => void) => {
      if (removed) forgetSample(node.id);
      done();
    });
  }

  RED.nodes.registerType("pw-filter", PwFilter);
};
