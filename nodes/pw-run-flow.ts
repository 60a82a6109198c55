import type { Node, NodeAPI, NodeDef } from "node-red";
import { readPw, type PwContext } from "./lib/message";
import { awaitCallback, forgetCallback, isAwaitingCallback } from "./lib/runs/callbacks";
import { findNode, shapeRuns } from "./contracts";
import { refuseMessages, shapeLabel, showStopped, startClean } from "./shape";

interface RunFlowDef extends NodeDef {
  /** The pw-trigger that starts the process flow to run. */
  trigger: string;
  payloadMode?: "current" | "manual";
  payload?: string;
  mode?: "continue" | "wait";
  timeoutSec?: number | string;
}

const DEFAULT_WAIT_SEC = 300;

export = function (RED: NodeAPI) {
  function PwRunFlow(this: Node, def: RunFlowDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    startClean(node);
    const label = shapeLabel("run process flow", def);
    const wait = def.mode === "wait";
    const timeoutSec =
      def.timeoutSec === undefined || def.timeoutSec === "" ? DEFAULT_WAIT_SEC : Number(def.timeoutSec);
    let problem: string | undefined;
    if (!def.trigger) problem = "no process flow is chosen: pick the trigger of the flow to run";
    else if (!Number.isFinite(timeoutSec) || timeoutSec <= 0)
      problem = `the wait limit "${String(def.timeoutSec)}" is not a positive number of seconds`;
    if (def.payloadMode === "manual" && !problem) {
      try {
        JSON.parse(def.payload ?? "");
      } catch (err) {
        problem = `the manual payload is not valid JSON (${(err as Error).message})`;
      }
    }
    if (problem) {
      refuseMessages(node, label, "pw-run-flow.status.bad-config", new Error(problem));
      return;
    }
    node.status({});
    let waiting = 0;

    node.on("input", (msg, send, done) => {
      const target = findNode(RED, def.trigger, "pw-trigger");
      if (!target) {
        return done(
          new Error(
            `${label}: the process flow to run (trigger ${def.trigger}) is not deployed: deploy it, or pick another flow`,
          ),
        );
      }
      // Parsed per message: the child may change its payload in place.
      const payload = def.payloadMode === "manual" ? JSON.parse(def.payload as string) : msg.payload;
      const parent = readPw(msg);
      let child: PwContext;
      try {
        child = target.startChild(payload, parent);
      } catch (err) {
        return done(new Error(`${label}: ${(err as Error).message}`));
      }
      const childId = child.run.id;
      if (!wait) {
        node.status({ fill: "green", shape: "dot", text: `started ${childId.slice(-6)}` });
        send({ ...msg, runFlow: { run: childId } });
        return done();
      }
      waiting++;
      node.status({ fill: "blue", shape: "dot", text: `waiting for ${waiting}` });
      const parentId = parent?.run.id;
      const finish = (err?: Error, answer?: unknown, stopped = false) => {
        waiting--;
        // A stopped run (this one, or the child) is no failure of this shape.
        if (!waiting && (stopped || (parentId && shapeRuns()?.signal(parentId)?.aborted))) showStopped(node);
        else
          node.status(
            waiting
              ? { fill: "blue", shape: "dot", text: `waiting for ${waiting}` }
              : { fill: err ? "red" : "green", shape: "dot", text: err ? "child failed" : "answered" },
          );
        if (err) return done(err);
        send({ ...msg, payload: answer, runFlow: { run: childId } });
        done();
      };
      awaitCallback(
        childId,
        timeoutSec * 1000,
        (reply) => finish(undefined, reply.payload),
        () =>
          finish(
            new Error(
              `${label}: run ${childId} did not answer through a callback shape within ${timeoutSec} s`,
            ),
          ),
      );
      // A child that ends without answering: failed children fail this step, others continue empty.
      shapeRuns()?.whenFinished(childId, (record) => {
        if (!isAwaitingCallback(childId)) return;
        forgetCallback(childId);
        if (record.status === "succeeded" || record.status === "completed with failures") {
          node.warn(
            `${label}: run ${childId} ended without reaching a callback shape; continuing with an empty payload`,
          );
          finish(undefined, {});
        } else {
          finish(
            new Error(
              `${label}: run ${childId} ${record.status}${record.reason ? `: ${record.reason}` : ""}${record.errors[0] ? ` (first error: ${record.errors[0].message})` : ""}`,
            ),
            undefined,
            record.status === "stopped",
          );
        }
      });
    });
  }

  RED.nodes.registerType("pw-run-flow", PwRunFlow);
};
