import type { Node, NodeAPI, NodeDef } from "node-red";
import { compileConditions, type Matcher, type Predicate } from "./lib/conditions";
import { routeRecords } from "./lib/routing";
import { derive } from "./lib/message";
import { keepSample, forgetSample } from "./samples";
import { attempt, noPayload, predicateFor, refuseMessages, sendOn, shapeLabel, startClean } from "./shape";

interface RouteDef extends NodeDef {
  routes: Array<{ label?: string; conditions?: unknown }>;
  /** An extra last output for the records no route takes. */
  otherwise?: boolean;
  /** first: a record goes down the first route it matches; all: down every route it matches. */
  mode?: "first" | "all";
  sendEmpty?: boolean;
}

export = function (RED: NodeAPI) {
  function PwRoute(this: Node, def: RouteDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    startClean(node);
    const label = shapeLabel(
      "route",
      def,
      `route (${Array.isArray(def.routes) ? def.routes.length : 0}${def.otherwise ? " + otherwise" : ""})`,
    );
    let matchers: Matcher[];
    try {
      if (!Array.isArray(def.routes) || def.routes.length === 0) throw new Error("add at least one route");
      matchers = def.routes.map((route, i) => {
        try {
          return compileConditions(route.conditions);
        } catch (err) {
          throw new Error(
            `route ${i + 1}${route.label ? ` "${route.label}"` : ""}: ${(err as Error).message}`,
            { cause: err },
          );
        }
      });
    } catch (err) {
      refuseMessages(node, label, "pw-route.status.bad-config", err);
      return;
    }
    const constants: Array<Predicate | undefined> = matchers.map((m) =>
      m.constant ? m.bind(() => ({}), 0) : undefined,
    );
    const otherwise = def.otherwise === true;
    const readsFields = matchers.some((m) => m.readsFields);
    const outputs = matchers.length + (otherwise ? 1 : 0);
    const mode = def.mode === "all" ? "all" : "first";
    const totals: number[] = new Array(outputs).fill(0);

    node.on("input", (msg, send, done) => {
      if (msg.payload === undefined) {
        done(noPayload(label));
        return;
      }
      keepSample(node.id, msg.payload);
      const routed = attempt(node, label, "pw-route.status.failed", done, () =>
        routeRecords(
          msg.payload,
          matchers.map((m, i) => predicateFor(RED, node, m, constants[i], msg)),
          mode,
          otherwise,
          readsFields,
        ),
      );
      if (!routed) return;
      let sentOriginal = false;
      routed.outputs.forEach((records, i) => {
        totals[i] += records.length;
        if (routed.single) {
          if (records.length === 0) return;
          // The first output may have the message itself; every other gets its own object.
          sendOn(send, outputs, i, sentOriginal ? derive(msg, msg.payload) : msg);
          sentOriginal = true;
          return;
        }
        if (records.length || def.sendEmpty) sendOn(send, outputs, i, derive(msg, records));
      });
      node.status({ fill: "green", shape: "dot", text: totals.join(" / ") });
      done();
    });
    node.on("close", (removed: boolean, done: () => void) => {
      if (removed) forgetSample(node.id);
      done();
    });
  }

  RED.nodes.registerType("pw-route", PwRoute);
};
