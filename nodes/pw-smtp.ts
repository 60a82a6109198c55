import type { NodeAPI, NodeDef } from "node-red";
import { compileMailer, type SmtpSettings } from "./lib/mailer";
import type { SmtpNode } from "./contracts";

interface SmtpDef extends NodeDef, SmtpSettings {}

/**
 * `pw-smtp`: an SMTP server for notify shapes, with named recipient groups. The user name
 * and password are Node-RED credentials (encrypted, never in the flow JSON or the log).
 */
export = function (RED: NodeAPI) {
  function PwSmtp(this: SmtpNode, def: SmtpDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    try {
      node.mailer = compileMailer(def, node.credentials ?? {});
    } catch (err) {
      node.problem = (err as Error).message;
      node.error(`pw-smtp "${def.name || def.host || def.id}": ${node.problem}`);
    }
    node.on("close", () => node.mailer?.close());
  }

  RED.nodes.registerType<SmtpNode, SmtpDef, object, { user?: string; password?: string }>("pw-smtp", PwSmtp, {
    credentials: { user: { type: "text" }, password: { type: "password" } },
  });
};
