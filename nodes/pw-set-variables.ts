import type { Node, NodeAPI, NodeDef } from "node-red";
import { applyRules, compileRules, type CompiledRule, type VariableRule } from "./lib/variables";
import { pwOf, withPw, type Meta } from "./lib/message";
import { envValue, templateView } from "./template-view";
import { refuseMessages, shapeLabel, startClean } from "./shape";

interface SetVariablesDef extends NodeDef {
  rules: VariableRule[];
  /** Flow context store; empty means the runtime's default store. */
  store?: string;
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
    let rules: CompiledRule[];
    try {
      rules = compileRules(def.rules);
    } catch (err) {
      refuseMessages(node, label, "pw-set-variables.status.bad-config", err);
      return;
    }
    const flowContext = node.context().flow;

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
        for (const [key, value] of writes) flowContext.set(key, value, store as string);
        node.status({ fill: "green", shape: "dot", text: `${rules.length} set` });
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
