import type { Node, NodeAPI, NodeDef } from "node-red";
import { compileTracking, type Extract, type TrackField } from "./lib/tracking";
import { runIdOf, type PwMessage } from "./lib/message";
import { shapeRuns } from "./contracts";
import { attempt, noPayload, refuseMessages, shapeLabel, startClean } from "./shape";

interface TrackDataDef extends NodeDef {
  fields: TrackField[];
}

/**
 * `pw-track-data`: records chosen values of each record (an order number, an email) into
 * the current run, so the run can be found by them in the Runs sidebar and `GET /pw/runs?tracked=`.
 * The message passes on unchanged.
 */
export = function (RED: NodeAPI) {
  function PwTrackData(this: Node, def: TrackDataDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    startClean(node);
    const label = shapeLabel("track data", def);
    let extract: Extract;
    try {
      extract = compileTracking(def.fields);
    } catch (err) {
      refuseMessages(node, label, "pw-track-data.status.bad-config", err);
      return;
    }
    let tracked = 0;
    let dropped = 0;
    let warnedFull = false;

    node.on("input", (msg, send, done) => {
      if (msg.payload === undefined) {
        done(noPayload(label));
        return;
      }
      const entries = attempt(node, label, "pw-track-data.status.failed", done, () => extract(msg.payload));
      if (!entries) return;
      const runs = shapeRuns();
      const runId = runIdOf(msg as PwMessage);
      if (runs) {
        if (!runId) {
          node.status({ fill: "red", shape: "dot", text: "pw-track-data.status.no-run" });
          done(
            new Error(
              `${label}: the message belongs to no run, so its values have nowhere to go: start the flow at a pw-trigger, and keep msg.pw when a function node builds a new message`,
            ),
          );
          return;
        }
        const result = runs.trackValues(runId, entries);
        if (result) {
          tracked += result.added;
          dropped += result.dropped;
          if (result.dropped > 0 && !warnedFull) {
            warnedFull = true;
            node.warn(
              `${label}: run ${runId} already keeps the most tracked values a run may (see the help); ${result.dropped} value(s) were not recorded`,
            );
          }
        }
        node.status({
          fill: dropped > 0 ? "yellow" : "green",
          shape: "dot",
          text: `${tracked} tracked${dropped > 0 ? `, ${dropped} over the cap` : ""}`,
        });
      } else {
        // Run tracking is off (settings.js): nothing to record into, the flow goes on.
        node.status({ fill: "grey", shape: "ring", text: "pw-track-data.status.tracking-off" });
      }
      send(msg);
      done();
    });
  }

  RED.nodes.registerType("pw-track-data", PwTrackData);
};
