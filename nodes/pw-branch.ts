import type { Node, NodeAPI, NodeDef } from "node-red";
import { newId } from "./lib/ids";
import { readPw, runIdOf, type PwMessage } from "./lib/message";
import type { ScopeResult } from "./lib/runs/tracker";
import { shapeRuns } from "./contracts";
import { refuseMessages, sendOn, shapeLabel, startClean, showStopped } from "./shape";

interface BranchDef extends NodeDef {
  /** One label per output, in the order they run. */
  branches: Array<{ label?: string }>;
  /** stop: a failed branch stops the ones after it; continue: they run anyway. */
  onFailure?: "stop" | "continue";
}

export = function (RED: NodeAPI) {
  function PwBranch(this: Node, def: BranchDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    startClean(node);
    const branches = Array.isArray(def.branches) ? def.branches : [];
    const label = shapeLabel(
      "branch",
      def,
      `branch: ${branches.map((b, i) => b?.label || String(i + 1)).join(" → ")}`,
    );
    if (branches.length === 0) {
      refuseMessages(node, label, "pw-branch.status.bad-config", new Error("add at least one branch"));
      return;
    }
    const outputs = branches.length;
    const stopOnFailure = def.onFailure !== "continue";
    const name = (i: number) => `branch ${i + 1}${branches[i].label ? ` ("${branches[i].label}")` : ""}`;

    /** Output i's message: its own copy of the payload, and a scope token pushed on msg.pw.scope. */
    const branchMessage = (msg: PwMessage, token?: string): PwMessage => {
      const payload = RED.util.cloneMessage({ payload: msg.payload }).payload;
      const pw = readPw(msg);
      if (!pw || !token) return { ...msg, payload };
      return { ...msg, payload, pw: { ...pw, scope: [...(pw.scope ?? []), token] } };
    };

    node.on("input", (msg, send, done) => {
      const runId = runIdOf(msg);
      const tracker = shapeRuns();
      if (!tracker || !runId || !tracker.isActive(runId)) {
        // Without run tracking nothing can tell when a branch is over: they all go at once.
        for (let i = 0; i < outputs; i++) sendOn(send, outputs, i, branchMessage(msg));
        node.status({ fill: "yellow", shape: "ring", text: "pw-branch.status.not-awaited" });
        done();
        return;
      }
      const signal = tracker.signal(runId);
      const failed: string[] = [];
      void (async () => {
        for (let i = 0; i < outputs; i++) {
          if (signal?.aborted) {
            showStopped(node, `stopped before ${name(i)}`);
            done();
            return;
          }
          node.status({ fill: "blue", shape: "dot", text: `${name(i)} of ${outputs}` });
          const token = `${node.id}:${newId()}:${i}`;
          const result = await new Promise<ScopeResult>((resolve) => {
            if (!tracker.openScope(runId, token, resolve)) {
              resolve({ failed: true, errors: [], ended: "the run is over" });
              return;
            }
            sendOn(send, outputs, i, branchMessage(msg, token));
          });
          if (result.ended) {
            node.status({ fill: "grey", shape: "ring", text: `${name(i)}: ${result.ended}` });
            done();
            return;
          }
          if (result.failed) {
            failed.push(`${name(i)} failed: ${result.errors.join("; ")}`);
            if (stopOnFailure) {
              if (signal?.aborted) showStopped(node, `stopped in ${name(i)}`);
              else node.status({ fill: "red", shape: "dot", text: `${name(i)} failed` });
              const skipped = outputs - i - 1;
              done(
                new Error(
                  `${label}: ${failed[0]}${skipped ? `; the ${skipped} branch(es) after it did not run` : ""}`,
                ),
              );
              return;
            }
          }
        }
        node.status(
          failed.length
            ? { fill: "yellow", shape: "dot", text: `${outputs} branches, ${failed.length} failed` }
            : { fill: "green", shape: "dot", text: `${outputs} branches done` },
        );
        done();
      })().catch((err: Error) => done(new Error(`${label}: ${err.message}`)));
    });
  }

  RED.nodes.registerType("pw-branch", PwBranch);
};
