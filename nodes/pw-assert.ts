import type { Node, NodeAPI, NodeDef } from "node-red";
import { compileComparison, parseExpected, type Comparison, type ComparisonMode } from "./lib/comparison";
import { runIdOf } from "./lib/message";
import { shapeRuns } from "./contracts";
import { refuseMessages, sendOn, shapeLabel, startClean } from "./shape";

interface AssertDef extends NodeDef {
  /** The expected payload, as JSON text. */
  expected?: string;
  mode?: ComparisonMode;
  ignoreOrder?: boolean;
  ignorePaths?: string[];
  wires?: string[][];
}

/**
 * Compares the payload with an expected payload. A pass goes to output 1; a failure to output
 * 2 when it is wired (the run ends "completed with failures"), else the message fails with the
 * differences (the run fails, Catch nodes see it). Either way `msg.assert` carries the result.
 */
export = function (RED: NodeAPI) {
  function PwAssert(this: Node, def: AssertDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    startClean(node);
    const label = shapeLabel("assert", def);
    let compare: (actual: unknown) => Comparison;
    try {
      compare = compileComparison({
        expected: parseExpected(def.expected),
        mode: def.mode,
        ignoreOrder: def.ignoreOrder,
        ignorePaths: def.ignorePaths,
      });
    } catch (err) {
      refuseMessages(node, label, "pw-assert.status.bad-config", err);
      return;
    }
    const failWired = Array.isArray(def.wires?.[1]) && def.wires[1].length > 0;
    let passed = 0;
    let failed = 0;

    node.on("input", (msg, send, done) => {
      let result: Comparison;
      try {
        result = compare(msg.payload);
      } catch (err) {
        done(new Error(`${label}: ${(err as Error).message}`));
        return;
      }
      const outcome = {
        pass: result.pass,
        count: result.count,
        differences: result.differences,
        text: result.text,
      };
      if (result.pass) passed++;
      else failed++;
      node.status({
        fill: failed ? "red" : "green",
        shape: result.pass ? "dot" : "ring",
        text: `${passed} passed, ${failed} failed`,
      });
      if (result.pass) {
        sendOn(send, 2, 0, { ...msg, assert: outcome });
        done();
      } else if (failWired) {
        const runId = runIdOf(msg);
        if (runId) shapeRuns()?.failedRecords(runId, 1);
        sendOn(send, 2, 1, { ...msg, assert: outcome });
        done();
      } else {
        // Not sent on: Catch nodes get the message with the result on it.
        msg.assert = outcome;
        done(new Error(`${label}: ${result.text}`));
      }
    });
  }
  RED.nodes.registerType("pw-assert", PwAssert);
};
