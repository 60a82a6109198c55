import type { NodeAPI, NodeDef, NodeMessage } from "node-red";
import {
  WEBHOOK_FORMATS,
  checkWebhookUrl,
  compileNotify,
  footer,
  forRunLog,
  postWebhook,
  webhookBody,
  type CompiledNotify,
  type Notification,
  type NotificationRecord,
  type NotifyContext,
  type NotifySettings,
  type WebhookFormat,
} from "./lib/notify";
import type { Mailer } from "./lib/mailer";
import { pwOf, runIdOf, type PwMessage } from "./lib/message";
import type { RunRecord } from "./lib/runs/record";
import { findNode, shapeRuns, type NotifyNode } from "./contracts";
import { refuseMessages, shapeLabel, startClean } from "./shape";
import { templateView } from "./template-view";

interface NotifyDef extends NodeDef, NotifySettings {
  /** Also write the notification to Node-RED's log. */
  log?: boolean;
  email?: boolean;
  /** The pw-smtp config node. */
  smtp?: string;
  /** Names of the pw-smtp node's recipient groups. */
  groups?: string[];
  webhook?: boolean;
  webhookFormat?: WebhookFormat;
}
type NotifyCredentials = { webhookUrl?: string };

interface Channels {
  mailer?: { mailer: Mailer; to: string[]; server: string };
  webhook?: { url: string; format: WebhookFormat };
}

export = function (RED: NodeAPI) {
  function PwNotify(this: NotifyNode, def: NotifyDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    startClean(node);
    const label = shapeLabel("notify", def);
    let compiled: CompiledNotify;
    const channels: Channels = {};
    try {
      compiled = compileNotify(def);
      if (def.email) {
        const smtp = findNode(RED, def.smtp ?? "", "pw-smtp");
        if (!smtp) throw new Error("email is on but no SMTP server is chosen: pick or add one");
        if (!smtp.mailer)
          throw new Error(`the SMTP server "${smtp.name || smtp.id}" cannot be used: ${smtp.problem}`);
        const groups = Array.isArray(def.groups) ? def.groups : [];
        if (groups.length === 0) throw new Error("email is on but no recipient group is ticked");
        channels.mailer = {
          mailer: smtp.mailer,
          to: smtp.mailer.recipients(groups),
          server: smtp.name || smtp.id,
        };
      }
      if (def.webhook) {
        const format = def.webhookFormat || "slack";
        if (!WEBHOOK_FORMATS.includes(format))
          throw new Error(`the webhook format must be one of ${WEBHOOK_FORMATS.join(", ")}, not "${format}"`);
        const creds = node.credentials as NotifyCredentials | undefined;
        channels.webhook = { url: checkWebhookUrl(creds?.webhookUrl), format };
      }
    } catch (err) {
      node.problem = (err as Error).message;
      refuseMessages(node, label, "pw-notify.status.bad-config", err);
      node.alertRunEnded = () => node.error(`${label} could not send a failure alert: ${node.problem}`);
      return;
    }

    let sent = 0;
    let failed = 0;

    /** Every channel at once; what each did, and the errors of those that failed. */
    async function deliver(n: Notification, ctx: NotifyContext, signal?: AbortSignal) {
      const record: NotificationRecord["channels"] = {};
      const errors: string[] = [];
      const work: Array<Promise<void>> = [];
      if (def.log) {
        const line = `[${label}] ${n.level}: ${n.subject === `[${n.level}] ${n.text}` ? n.text : `${n.subject}: ${n.text}`}`;
        // RED.log, not node.error: an error-level notification is not an error of the run.
        if (n.level === "error") RED.log.error(line);
        else if (n.level === "warning") RED.log.warn(line);
        else RED.log.info(line);
        record.log = { ok: true, detail: "written to the Node-RED log" };
      }
      const mail = channels.mailer;
      if (mail)
        work.push(
          mail.mailer
            .send({
              to: mail.to,
              subject: n.subject,
              text: `${n.text}\n\n-- \n${footer(ctx)}`,
              urgent: n.level === "error" || n.level === "warning",
            })
            .then(
              (accepted) => {
                record.email = {
                  ok: true,
                  detail: `sent to ${accepted.length} recipient(s) through ${mail.server}`,
                };
              },
              (err: Error) => {
                record.email = { ok: false, detail: err.message };
                errors.push(err.message);
              },
            ),
        );
      const hook = channels.webhook;
      if (hook)
        work.push(
          postWebhook(hook.url, webhookBody(hook.format, n, ctx), signal).then(
            (status) => {
              record.webhook = { ok: true, detail: `${hook.format} webhook answered ${status}` };
            },
            (err: Error) => {
              record.webhook = { ok: false, detail: err.message };
              errors.push(err.message);
            },
          ),
        );
      await Promise.all(work);
      return { record, errors };
    }

    function show(n: Notification, errors: string[]) {
      if (errors.length > 0) failed++;
      else sent++;
      const time = new Date().toISOString().slice(11, 19);
      node.status(
        errors.length > 0
          ? { fill: "red", shape: "ring", text: `${failed} failed (${errors[0].slice(0, 40)}) at ${time}` }
          : {
              fill: n.level === "error" ? "red" : n.level === "warning" ? "yellow" : "green",
              shape: "dot",
              text: `${sent} sent, last ${n.level} at ${time}`,
            },
      );
    }

    node.on("input", (msg, send, done) => {
      let n: Notification;
      try {
        n = compiled.render(templateView(RED, node, msg));
      } catch (err) {
        done(new Error(`${label}: the message could not be made: ${(err as Error).message}`));
        return;
      }
      const pw = pwOf(msg as PwMessage);
      const runId = runIdOf(msg as PwMessage);
      const ctx: NotifyContext = {
        shape: def.name || "pw-notify",
        run: pw.run ? { id: pw.run.id, flow: pw.run.flow, trigger: pw.run.trigger } : undefined,
      };
      const runs = shapeRuns();
      deliver(n, ctx, runId ? runs?.signal(runId) : undefined).then(
        ({ record, errors }) => {
          if (runId)
            runs?.recordNotification(
              runId,
              forRunLog(n, { id: node.id, name: def.name }, record, Date.now()),
            );
          show(n, errors);
          if (errors.length > 0) {
            done(new Error(`${label}: the notification was not delivered: ${errors.join("; ")}`));
            return;
          }
          send(msg);
          done();
        },
        (err: Error) => done(new Error(`${label}: ${err.message}`)),
      );
    });

    node.alertRunEnded = (run: RunRecord) => {
      let payload: unknown;
      try {
        payload = run.input.payloadJson === undefined ? undefined : JSON.parse(run.input.payloadJson);
      } catch {
        payload = undefined;
      }
      const errors = run.errors.map((e) => `${e.name || e.type || e.node}: ${e.message}`).join("\n");
      const info = {
        id: run.id,
        flow: run.flow,
        trigger: run.trigger,
        startedAt: new Date(run.startedAt).toISOString(),
        status: run.status,
        reason: run.reason ?? "",
        errors,
      };
      const msg = { payload, pw: { run: info, meta: run.input.meta ?? {} } } as unknown as NodeMessage;
      let n: Notification;
      try {
        n = compiled.render(templateView(RED, node, msg), "error");
      } catch (err) {
        node.error(
          `${label}: the failure alert for run ${run.id} could not be made: ${(err as Error).message}`,
        );
        return;
      }
      const ctx: NotifyContext = {
        shape: def.name || "pw-notify",
        run: { id: run.id, flow: run.flow, trigger: run.trigger, status: run.status },
      };
      void deliver(n, ctx).then(({ record, errors: failures }) => {
        const entry = forRunLog(n, { id: node.id, name: def.name }, record, Date.now());
        entry.alert = true;
        shapeRuns()?.recordNotification(run.id, entry);
        show(n, failures);
        // The notify shape's error, never the runtime's (and not the finished run's).
        if (failures.length > 0)
          node.error(
            `${label}: the failure alert for run ${run.id} was not delivered: ${failures.join("; ")}`,
          );
      });
    };
  }

  RED.nodes.registerType<NotifyNode, NotifyDef, object, NotifyCredentials>("pw-notify", PwNotify, {
    credentials: { webhookUrl: { type: "password" } },
  });
};
