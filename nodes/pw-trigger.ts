import type { NodeAPI, NodeDef, NodeMessage } from "node-red";
import type { Request, Response } from "express";
import {
  compileTrigger,
  triggerLabel,
  type CompiledTrigger,
  type TriggerSettings,
} from "./lib/trigger-config";
import { formatFireTime, Scheduler } from "./lib/schedule";
import { readPw, startRun, type Meta, type PwContext, type RunInfo } from "./lib/message";
import { findNode, shapeRuns, triggerRuns, type TriggerNode } from "./contracts";
import { MANUAL_RANK, priorityRank } from "./lib/runs/queue";
import type { Admission, TriggerLauncher } from "./lib/runs/service";
import type { SnapshotMode } from "./lib/runs/snapshots";
import { adminConflict, claimPath, mountRoute, releasePath, type RouterApp } from "./lib/webhook/routes";
import { receive, type IncomingRequest } from "./lib/webhook/receive";
import { HttpError } from "./lib/webhook/body";
import { awaitCallback, forgetCallback } from "./lib/runs/callbacks";
import { replyBody } from "./lib/webhook/reply-body";
import { installAdminErrors } from "./admin-errors";
import { refuseMessages, shapeLabel, startClean } from "./shape";
import { captureRoute, installCapture, releaseCapture } from "./lib/webhook/capture";

interface TriggerDef extends NodeDef, TriggerSettings {
  /** Queue priority when runs wait for a slot: highest … lowest. */
  priority?: string;
  /** Runs of this trigger going at once; 0 for no limit of its own. Blank: 1 for scheduled runs, none for others. */
  concurrency?: number | string;
  /** When the queue is full: (webhooks) answer 429 (the default), or answer as usual and drop the event. */
  whenFull?: "drop" | "reject";
  /** Which payloads this flow's runs keep in the run log. */
  snapshots?: SnapshotMode;
  /** A pw-notify shape told when a run of this trigger fails or times out. */
  notifyOnFail?: string;
}
type TriggerCredentials = NonNullable<TriggerNode["credentials"]>;
type Via = NonNullable<RunInfo["via"]>;

export = function (RED: NodeAPI) {
  installCapture(RED.httpNode);
  const nodeRoot = (RED.settings as { httpNodeRoot?: string | false }).httpNodeRoot;

  function PwTrigger(this: TriggerNode, def: TriggerDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    startClean(node);
    const label = shapeLabel("trigger", def, triggerLabel(def));
    let scheduler: Scheduler | undefined;
    let unmount: (() => void) | undefined;
    let compiled: CompiledTrigger;

    try {
      compiled = compileTrigger(def, node.credentials?.secret);
    } catch (err) {
      refuseMessages(node, label, "pw-trigger.status.bad-config", err);
      node.problem = (err as Error).message;
      node.fireManually =
        node.retryRun =
        node.startChild =
          () => {
            throw new Error(
              `${label} is not configured correctly: ${node.problem}. Open the trigger and fix it.`,
            );
          };
      return;
    }

    // Left blank: scheduled runs never overlap each other (1); other runs only meet the global limit.
    const explicitLimit =
      def.concurrency === undefined || def.concurrency === ""
        ? undefined
        : Math.max(0, Math.floor(Number(def.concurrency) || 0));
    const limitFor = (via: Via) => explicitLimit ?? (via === "schedule" ? 1 : 0);
    const rank = priorityRank(def.priority);
    // Unset (flows and blueprints saved without the setting): the payloads of failed steps, so a
    // failure can be diagnosed without changing settings first.
    const snapshots: SnapshotMode =
      def.snapshots === "off" || def.snapshots === "all" || def.snapshots === "never"
        ? def.snapshots
        : "errors";
    const launcher: TriggerLauncher = { snapshots, launch: (message) => node.send(message as NodeMessage) };
    triggerRuns()?.registerTrigger(node.id, launcher);

    /**
     * Every run starts here. With the runs plugin on it may wait in the queue for a slot
     * (manual runs and retries first); `live` holds what cannot be stored. `written` resolves
     * once the run is on disk: acknowledge it then, never before.
     */
    const fire = (
      via: Via,
      payload: unknown,
      extras: Record<string, unknown> = {},
      from: { parent?: PwContext; retryOf?: string; meta?: Meta } = {},
      live?: Record<string, unknown>,
      once?: string,
    ): { pw: PwContext; admission: Admission; written: Promise<void> } => {
      const pw = startRun({
        flow: node.z ?? "",
        trigger: node.id,
        parent: from.parent,
        via,
        retryOf: from.retryOf,
      });
      if (from.meta) pw.meta = { ...from.meta };
      const message = { ...extras, payload, pw };
      const service = triggerRuns();
      if (!service) {
        node.send((live ? { ...message, ...live } : message) as NodeMessage);
        return { pw, admission: "started", written: Promise.resolve() };
      }
      const manual = via === "manual" || via === "retry";
      const { admission, written } = service.submit(
        pw,
        payload,
        message,
        { rank: manual ? MANUAL_RANK : rank, limit: limitFor(via), live, snapshots, once },
        (m) => node.send(m as NodeMessage),
      );
      if (admission === "queued")
        node.status({ fill: "yellow", shape: "ring", text: `queued (${service.queue.queuedCount} waiting)` });
      if (def.notifyOnFail && admission !== "full") alertOnFailure(pw.run.id);
      return { pw, admission, written };
    };

    /** "Notify when this run fails": the chosen notify shape is told of a run that failed or timed out. */
    function alertOnFailure(runId: string) {
      shapeRuns()?.whenFinished(runId, (record) => {
        if (record.status !== "failed" && record.status !== "timed out") return;
        const notify = findNode(RED, def.notifyOnFail ?? "", "pw-notify");
        if (notify) notify.alertRunEnded(record);
        else
          node.warn(
            `${label}: run ${runId} ${record.status}, but the notify shape chosen to alert is not deployed`,
          );
      });
    }

    /** A manual run or retry: resolves once it is on disk; a full queue is an error with status 429. */
    const fireAndWrite = async (...args: Parameters<typeof fire>): Promise<RunInfo> => {
      const { pw, admission, written } = fire(...args);
      if (admission === "full") throw Object.assign(full("the run was not started"), { status: 429 });
      await written;
      return pw.run;
    };

    const full = (what: string) =>
      new Error(
        `${label}: the run queue is full (${triggerRuns()?.queue.queuedCount} waiting); ${what}. Raise patchworks.runs.maxQueued or the concurrency limits`,
      );

    const idleStatus = () => {
      const next = scheduler?.upcoming();
      if (next) {
        node.status({
          fill: "blue",
          shape: "dot",
          text: `next: ${formatFireTime(next.at, next.schedule.tz)}`,
        });
      } else if (compiled.webhook) {
        node.status({
          fill: "blue",
          shape: "ring",
          text: `${[...compiled.webhook.methods].join("/")} ${compiled.webhook.path}`,
        });
      } else {
        node.status({ fill: "grey", shape: "ring", text: "pw-trigger.status.manual" });
      }
    };

    node.fireManually = async (body) => {
      const run = await fireAndWrite("manual", body === undefined ? {} : body);
      idleStatus();
      return run;
    };

    node.startChild = (payload, parent) => {
      const chain = parent ? [...(parent.run.chain ?? []), parent.run.trigger] : [];
      if (chain.includes(node.id)) {
        const names = chain
          .concat(node.id)
          .map((id) => (RED.nodes.getNode(id) as { name?: string } | null)?.name || id);
        throw new Error(
          `starting ${label} would loop (${names.join(" → ")}): a process flow may not start itself or a flow that started it`,
        );
      }
      const { pw, admission } = fire("flow", payload, {}, { parent });
      if (admission === "full") throw full("the child run was not started");
      return pw;
    };

    node.retryRun = (original, meta, retryOf) =>
      fireAndWrite("retry", original === undefined ? {} : original, {}, { retryOf, meta });

    // The input is the product's "event listener": any node's message starts a run.
    node.on("input", (msg, _send, done) => {
      const parent = readPw(msg);
      const { pw: _old, ...rest } = msg;
      const { admission, written } = fire("event", msg.payload, rest, { parent });
      if (admission === "full") return done(full("this message started no run"));
      // The message is done once its run is on disk.
      written.then(
        () => done(),
        (err: Error) => done(new Error(`${label}: the run could not be written to disk: ${err.message}`)),
      );
    });

    if (compiled.schedules.length > 0) {
      scheduler = new Scheduler(compiled.schedules, (schedule, at) => {
        const tick = new Date(at).toISOString();
        const { admission, written } = fire(
          "schedule",
          {},
          { schedule: { cron: schedule.cron, tz: schedule.tz, at: tick } },
          {},
          undefined,
          // With several workers every one's scheduler fires: the tick starts one run.
          `${node.id}:${schedule.cron}:${tick}`,
        );
        written.catch((err: Error) =>
          node.error(`${label}: the scheduled run could not be written to disk: ${err.message}`),
        );
        if (admission === "full") node.warn(full("this scheduled run was dropped").message);
        if (admission !== "queued") idleStatus();
      });
      scheduler.start();
    }

    const webhook = compiled.webhook;
    if (webhook) {
      try {
        if (nodeRoot === false)
          throw new Error(
            "webhooks need Node-RED's node HTTP server, but httpNodeRoot is false in settings.js",
          );
        const conflict = adminConflict(
          (nodeRoot || "/").replace(/\/+$/, "") + webhook.path,
          (RED.settings as { httpAdminRoot?: string | false }).httpAdminRoot,
        );
        if (conflict) throw new Error(conflict);
        claimPath(webhook.path, node.id);
        captureRoute((nodeRoot || "/").replace(/\/+$/, "") + webhook.path, webhook.limitBytes);
        const handler = (req: Request, res: Response) => {
          onWebhook(req, res).catch((err: Error) => {
            node.error(`${label}: webhook ${webhook.path} failed: ${err.message}`);
            if (!res.headersSent) res.status(500).json({ message: "The webhook could not be processed." });
          });
        };
        unmount = mountRoute(RED.httpNode as unknown as RouterApp, webhook.path, handler as never);
      } catch (err) {
        node.status({ fill: "red", shape: "ring", text: "pw-trigger.status.path-taken" });
        node.error(`${label}: ${(err as Error).message}`);
      }
    }

    async function onWebhook(req: Request, res: Response) {
      const hook = webhook!;
      let delivery;
      try {
        delivery = await receive(req as unknown as IncomingRequest, {
          methods: hook.methods,
          auth: hook.auth,
          limitBytes: hook.limitBytes,
          fullUrl: fullUrl(req),
          allowEmptySigned: hook.allowEmptySigned,
        });
      } catch (err) {
        if (!(err instanceof HttpError)) throw err;
        // Refusals are the sender's problem, not a flow error: warn, answer, start no run.
        node.warn(`${label}: refused ${req.method} ${hook.path} (${err.status}): ${err.message}`);
        res.status(err.status).json({ message: err.message });
        return;
      }
      const extras = { webhook: delivery.webhook };
      if (hook.reply.mode === "wait") {
        scrubSecrets(req, delivery.webhook);
        // msg.req/msg.res let Node-RED's own http response node answer too; they live in memory only.
        const { pw, admission, written } = fire(
          "webhook",
          delivery.payload,
          extras,
          {},
          { req, res: { _res: res } },
        );
        if (admission === "full") return refuseFull(res);
        if (!(await isWritten(written, res))) return;
        awaitCallback(
          pw.run.id,
          hook.reply.timeoutMs,
          (reply) => {
            if (res.headersSent) return;
            const { contentType, body } = replyBody(reply);
            res.status(reply.status).set(reply.headers).type(contentType).send(body);
          },
          () => {
            if (res.headersSent) return;
            res.status(504).json({
              message: `The flow did not answer within ${Math.round(hook.reply.timeoutMs / 1000)} s.`,
              run: pw.run.id,
            });
          },
        );
        res.on("finish", () => forgetCallback(pw.run.id));
      } else {
        const { pw, admission, written } = fire("webhook", delivery.payload, extras);
        if (admission === "full") return refuseFull(res);
        // Acknowledged only once the run is on disk: a crash after this answer loses nothing.
        if (!(await isWritten(written, res))) return;
        res
          .status(hook.reply.status)
          .type(hook.reply.contentType)
          .send(hook.reply.body({ run: pw.run, meta: pw.meta }));
      }
      node.status({
        fill: "green",
        shape: "dot",
        text: `${req.method} ${hook.path} at ${new Date().toISOString().slice(11, 19)}`,
      });
    }

    /** False (and the sender told 503, so it sends again) when the run could not be written. */
    async function isWritten(written: Promise<void>, res: Response): Promise<boolean> {
      try {
        await written;
        return true;
      } catch (err) {
        node.error(`${label}: a webhook's run could not be written to disk: ${(err as Error).message}`);
        if (!res.headersSent)
          res
            .status(503)
            .set("Retry-After", "30")
            .json({ message: "The event could not be recorded; send it again." });
        return false;
      }
    }

    // While the queue is full every request is refused: one warning a second says so, with a count.
    let refusals = 0;
    let warnedAt = -Infinity;
    function warnFull(text: string) {
      refusals++;
      const now = Date.now();
      if (now - warnedAt < 1000) return;
      node.warn(refusals > 1 ? `${text} (${refusals} webhooks since the last warning)` : text);
      warnedAt = now;
      refusals = 0;
    }

    function refuseFull(res: Response) {
      const error = full("this webhook started no run");
      if (def.whenFull !== "drop") {
        // Shopify, HubSpot and most senders retry what is not answered 2xx: nothing is lost.
        warnFull(error.message);
        res
          .status(429)
          .set("Retry-After", "30")
          .json({ message: "Too many runs are waiting; try again later." });
      } else {
        warnFull(
          `${error.message}. The event is lost: this trigger is set to accept and drop when the queue is full`,
        );
        // The sender is told what it is always told; the run is dropped, as chosen.
        const reply = (webhook as NonNullable<typeof webhook>).reply;
        res.status(reply.status).type(reply.contentType).send(reply.body({}));
      }
    }

    function fullUrl(req: Request): string {
      const base = (RED.settings as { patchworks?: { publicBaseUrl?: string } }).patchworks?.publicBaseUrl;
      if (base) return base.replace(/\/+$/, "") + req.originalUrl;
      return `${req.protocol}://${req.get("host")}${req.originalUrl}`;
    }

    idleStatus();

    node.on("close", (_removed: boolean, done: () => void) => {
      scheduler?.stop();
      // Scale-out mode: runs of this trigger still going here go back to the shared queue.
      const handedBack = triggerRuns()?.unregisterTrigger(node.id, launcher);
      unmount?.();
      if (webhook && unmount) {
        releasePath(webhook.path, node.id);
        releaseCapture((nodeRoot || "/").replace(/\/+$/, "") + webhook.path);
      }
      if (handedBack) handedBack.then(done, done);
      else done();
    });
  }

  /** Keeps header and query secrets out of msg.req, which debug output may show. */
  function scrubSecrets(req: Request, kept: { headers: object; query: object }) {
    for (const name of Object.keys(req.headers)) if (!(name in kept.headers)) delete req.headers[name];
    for (const name of Object.keys(req.query))
      if (!(name in kept.query)) delete (req.query as Record<string, unknown>)[name];
  }

  RED.nodes.registerType<TriggerNode, TriggerDef, object, TriggerCredentials>("pw-trigger", PwTrigger, {
    credentials: { secret: { type: "password" } },
  });

  RED.httpAdmin.post(
    "/pw/trigger/:id",
    RED.auth.needsPermission("pw-trigger.write"),
    (req: Request, res: Response) => {
      const node = findNode(RED, req.params.id, "pw-trigger");
      if (!node) {
        res.status(404).json({
          error: "not_found",
          message: `No deployed trigger has id ${req.params.id}: deploy the flow first.`,
        });
        return;
      }
      if (node.problem) {
        res.status(409).json({
          error: "not_configured",
          message: `The trigger is not configured correctly: ${node.problem}. Open it, fix it and deploy.`,
        });
        return;
      }
      node.fireManually(req.body).then(
        (run) => res.status(200).json({ run }),
        (err: Error & { status?: number }) => {
          if (err.status === 429) res.set("Retry-After", "30");
          res
            .status(err.status ?? 500)
            .json({ error: err.status === 429 ? "queue_full" : "trigger_failed", message: err.message });
        },
      );
    },
  );
  installAdminErrors(RED);
};
