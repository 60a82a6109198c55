import type { Node, NodeAPI, NodeDef } from "node-red";
import { applyRules, compileRules, type CompiledRule, type VariableRule } from "./lib/variables";
import { pwOf, runIdOf, withPw, type Meta } from "./lib/message";
import { envValue, templateView } from "./template-view";
import { refuseMessages, shapeLabel, startClean } from "./shape";
import { shapeRuns } from "./contracts";

interface SetVariablesDef extends NodeDef {
  rules: VariableRule[];
  /** Flow context store; empty means the runtime's default store. */
  store?: string;
  /**
   * When flow variables are written: `now` (as the message passes) or `success` (once the run
   * ends "succeeded", so a watermark advances only when everything before and after it worked).
   */
  writeWhen?: "now" | "success";
}

export = function (RED: NodeAPI) {
  function PwSetVariables(this: Node, def: SetVariablesDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    startClean(node);
    const keys = (Array.isArray(def.rules) ? def.rules : [])
      .filter((r) => r?.key)
      .map((r) => `${r.target}.${r.key}`);
    const label = shapeLabel("set variables", def, keys.length ? `set ${keys.join(", ")}` : undefined);
    const store = def.store || undefined;
    const onSuccess = def.writeWhen === "success";
    let rules: CompiledRule[];
    try {
      rules = compileRules(def.rules);
      if (def.writeWhen !== undefined && def.writeWhen !== "now" && def.writeWhen !== "success")
        throw new Error(`unknown "write flow variables" choice "${String(def.writeWhen)}"`);
    } catch (err) {
      refuseMessages(node, label, "pw-set-variables.status.bad-config", err);
      return;
    }
    const flowContext = node.context().flow;
    const write = (writes: Array<[string, unknown]>) => {
      for (const [key, value] of writes) flowContext.set(key, value, store as string);
    };

    /** Writes once the run has ended "succeeded"; a run that ends otherwise leaves them unwritten. */
    const writeOnSuccess = (runId: string, writes: Array<[string, unknown]>) => {
      const runs = shapeRuns();
      if (!runs)
        throw new Error(
          'flow variables are set "when the run ends successfully", but run tracking is off ' +
            "(patchworks.runs.enabled is false in settings.js): turn it on, or choose to set them at once",
        );
      if (!runs.isActive(runId))
        throw new Error(`run ${runId} has already ended, so its end cannot be waited for`);
      node.status({ fill: "blue", shape: "ring", text: "pw-set-variables.status.waiting" });
      runs.whenFinished(runId, (record) => {
        if (record.status !== "succeeded") {
          node.status({ fill: "yellow", shape: "ring", text: "pw-set-variables.status.not-written" });
          node.log(
            `${label}: run ${runId} ended "${record.status}", so ${writes.map(([k]) => k).join(", ")} ` +
              "kept their previous values",
          );
          return;
        }
        write(writes);
        node.status({ fill: "green", shape: "dot", text: "pw-set-variables.status.written" });
      });
    };

    node.on("input", (msg, send, done) => {
      const before: Meta = pwOf(msg).meta ?? {};
      let meta = before;
      try {
        const writes = applyRules(rules, {
          payload: msg.payload,
          meta,
          onMeta: (next) => (meta = next),
          view: () => templateView(RED, node, withPw(msg, { meta }), store),
          env: (name) => envValue(RED, node, name),
        });
        if (onSuccess && writes.length > 0) {
          const runId = runIdOf(msg);
          if (!runId)
            throw new Error(
              'flow variables are set "when the run ends successfully", but this message belongs to no run: ' +
                "start the flow with a trigger shape",
            );
          writeOnSuccess(runId, writes);
        } else {
          write(writes);
          node.status({ fill: "green", shape: "dot", text: `${rules.length} set` });
        }
        // A new pw object: messages sent earlier may still hold the old meta.
        send(meta === before ? msg : withPw(msg, { meta }));
        done();
      } catch (err) {
        node.status({ fill: "red", shape: "dot", text: "pw-set-variables.status.failed" });
        done(new Error(`${label}: ${(err as Error).message}`));
      }
    });
  }

  RED.nodes.registerType("pw-set-variables", PwSetVariables);
};
