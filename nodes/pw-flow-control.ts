import type { Node, NodeAPI, NodeDef } from "node-red";
import { batchAt, batchCount, checkBatchSize, compileBatchLevel, type BatchLevel } from "./lib/batching";
import { delay } from "./lib/delay";
import { derive, runIdOf } from "./lib/message";
import { shapeRuns } from "./contracts";
import { attempt, noPayload, refuseMessages, shapeLabel, startClean, showStopped } from "./shape";

interface FlowControlDef extends NodeDef {
  /** Path to the array to batch (root when empty or "*"); through [*] the arrays of every element. */
  level?: string;
  size: number | string;
  /** Pause between batches, in milliseconds (rate pacing). */
  delayMs?: number | string;
}

export = function (RED: NodeAPI) {
  function PwFlowControl(this: Node, def: FlowControlDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    startClean(node);
    const label = shapeLabel(
      "flow control",
      def,
      `batches of ${String(def.size)}${def.level ? ` at ${def.level}` : ""}${Number(def.delayMs) > 0 ? `, ${String(def.delayMs)} ms apart` : ""}`,
    );
    let level: BatchLevel;
    let size: number;
    let pause: number;
    try {
      level = compileBatchLevel(def.level ?? "");
      size = checkBatchSize(def.size);
      pause = Number(def.delayMs ?? 0);
      if (!Number.isFinite(pause) || pause < 0)
        throw new Error(
          `the delay between batches must be 0 or more milliseconds, not "${String(def.delayMs)}"`,
        );
    } catch (err) {
      refuseMessages(node, label, "pw-flow-control.status.bad-config", err);
      return;
    }
    const closing = new AbortController();
    // With a pause, messages take turns, so the pacing holds across them as well.
    let turn: Promise<void> = Promise.resolve();
    let waiting = 0;

    node.on("input", (msg, send, done) => {
      if (msg.payload === undefined) {
        done(noPayload(label));
        return;
      }
      const records = attempt(node, label, "pw-flow-control.status.failed", done, () =>
        level.records(msg.payload),
      );
      if (!records) return;
      const count = batchCount(records.length, size);
      const batchOf = (index: number) =>
        derive(msg, batchAt(records, size, index), { batch: { index, count } });
      if (pause === 0 || count <= 1) {
        for (let i = 0; i < count; i++) send(batchOf(i));
        node.status({ fill: "green", shape: "dot", text: `${records.length} records in ${count} batches` });
        done();
        return;
      }
      const runId = runIdOf(msg);
      const signal = runId ? shapeRuns()?.signal(runId) : undefined;
      waiting++;
      turn = turn.then(async () => {
        let sent = 0;
        for (let i = 0; i < count; i++) {
          if (i > 0 && !(await delay(pause, signal, closing.signal))) break;
          node.status({
            fill: "blue",
            shape: "dot",
            text: `batch ${i + 1} of ${count}${waiting > 1 ? `, ${waiting - 1} waiting` : ""}`,
          });
          send(batchOf(i));
          sent++;
        }
        waiting--;
        if (sent === count)
          node.status({ fill: "green", shape: "dot", text: `${records.length} records in ${count} batches` });
        else showStopped(node, `stopped after ${sent} of ${count} batches`);
        done();
      });
    });

    node.on("close", (_removed: boolean, done: () => void) => {
      closing.abort();
      void turn.then(() => done());
    });
  }

  RED.nodes.registerType("pw-flow-control", PwFlowControl);
};
