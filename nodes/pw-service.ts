import * as os from "node:os";
import * as path from "node:path";
import type { NodeAPI, NodeDef, NodeMessage } from "node-red";
import type { Request, Response } from "express";
import { compileService, serviceLabel, type CompiledService, type ServiceSettings } from "./lib/service";
import { ServiceState } from "./lib/service-state";
import { formatFireTime, Scheduler } from "./lib/schedule";
import { compileMapping, type MapRule, type Mapping } from "./lib/mapping/mapping";
import { withPageSize, type ConnectorClient } from "./lib/connectors/client";
import { derive, readPw, runIdOf, startRun, type PwContext, type RunInfo } from "./lib/message";
import { addCheck, type CheckProblem } from "./lib/editor-checks";
import { MANUAL_RANK, priorityRank } from "./lib/runs/queue";
import type { TriggerLauncher } from "./lib/runs/service";
import type { SnapshotMode } from "./lib/runs/snapshots";
import type { RunRecord, RunStatus } from "./lib/runs/record";
import type { RequestRecord } from "./lib/records";
import { findNode, shapeRuns, triggerRuns, type NodeRef, type TriggerNode } from "./contracts";
import { refuseMessages, sendOn, shapeLabel, showStopped, startClean } from "./shape";
import { templateView } from "./template-view";
import { mappingDeps } from "./mapping-deps";
import { setKey } from "./lib/keys";
import { installAdminErrors } from "./admin-errors";
import { compileParams, type EndpointParam } from "./endpoint-params";

/**
 * The legacy Patchworks service: one shape that, on its schedule or its button, pulls a
 * source endpoint page by page (only what changed since a time, filtered), maps each page
 * with the map shape's engine and sends it to a target endpoint. Each firing is a run of its
 * own, as a trigger's is, with steps for the pull, the map and the send; records that fail
 * go to the failure output and make the run "completed with failures", which alerts the
 * chosen notify shape. No engine of its own: schedules, conditions, mapping, the connector
 * client and the runs service are those every other shape uses.
 */

interface ServiceDef extends NodeDef, ServiceSettings {
  source: string;
  sourceEndpoint: string;
  params?: EndpointParam[];
  rules: MapRule[];
  target: string;
  targetEndpoint: string;
  failureOutput?: boolean;
  /** A pw-notify shape told when a run fails or has records that failed. */
  notifyOnFail?: string;
  priority?: string;
  snapshots?: SnapshotMode;
}

/** A record that did not reach the target, as the failure output carries it. */
interface Failure {
  record: unknown;
  error: string;
  /** Where it failed: mapping it, or sending it. */
  stage: "map" | "send";
  status?: number;
  outcome: "refused" | "unknown";
}

const ENDED_BADLY: ReadonlySet<RunStatus> = new Set<RunStatus>([
  "failed",
  "timed out",
  "completed with failures",
]);

export = function (RED: NodeAPI) {
  const userDir =
    (RED.settings as { userDir?: string }).userDir ?? path.join(os.tmpdir(), `pw-userdir-${process.pid}`);
  const state = new ServiceState(path.join(userDir, "patchworks"));
  const deps = mappingDeps(RED, "pw-service");

  // The service's own settings (since, page size, attempts, schedules, filters), judged as a deploy would.
  addCheck("service", (value): CheckProblem[] => {
    try {
      compileService((value ?? {}) as ServiceSettings);
      return [];
    } catch (err) {
      return [{ message: (err as Error).message }];
    }
  });

  function PwService(this: TriggerNode, def: ServiceDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    startClean(node);
    const label = shapeLabel("service", def, serviceLabel(def));
    let compiled: CompiledService;
    let mapping: Mapping;
    let source: ConnectorClient | undefined;
    let target: ConnectorClient | undefined;
    /**
     * An instance that exists but cannot be used (its secrets not entered yet) is the
     * account's problem, not the service's: runs still start on the schedule and fail with
     * the reason, so the Runs sidebar and the alert show it rather than nothing happening.
     */
    const unusable: string[] = [];
    let paramsFor: (msg: NodeMessage) => Record<string, unknown>;
    try {
      compiled = compileService(def);
      source = clientOf(def.source, "source");
      target = clientOf(def.target, "target");
      if (source) {
        const from = source.endpoint(def.sourceEndpoint);
        if (from.direction !== "receive")
          throw new Error(`the source endpoint "${from.name}" sends records: choose one that lists them`);
        if (def.since && def.since !== "all") {
          const known = (from.parameters ?? []).map((p) => p.key);
          if (!known.includes(String(def.sinceParam)))
            throw new Error(
              `"${from.name}" has no parameter "${String(def.sinceParam)}" to pull only what changed${known.length ? `: choose one of ${known.join(", ")}` : "; choose all records"}`,
            );
        }
        withPageSize(from, { method: "GET", url: "", query: {} }, compiled.pageSize);
      }
      if (target) {
        const to = target.endpoint(def.targetEndpoint);
        if (to.direction !== "send")
          throw new Error(`the target endpoint "${to.name}" lists records: choose one that sends them`);
      }
      paramsFor = compileParams(RED, node, def.params);
      try {
        mapping = compileMapping(def.rules, { wrapInput: false, wrapOutput: false }, deps);
      } catch (err) {
        throw new Error(`mapping: ${(err as Error).message}`, { cause: err });
      }
    } catch (err) {
      node.problem = (err as Error).message;
      refuseMessages(node, label, "pw-service.status.bad-config", err);
      const refused = () =>
        new Error(`${label} is not configured correctly: ${node.problem}. Open the service and fix it.`);
      node.fireManually = node.retryRun = () => Promise.reject(refused());
      node.startChild = () => {
        throw refused();
      };
      return;
    }
    if (unusable.length) node.error(`${label}: ${unusable.join("; ")}; its runs fail until then`);

    /** The instance's client; undefined (and the reason kept) when the instance cannot be used yet. */
    function clientOf(id: string, what: string): ConnectorClient | undefined {
      const instance = findNode(RED, id, "pw-instance");
      if (!instance) throw new Error(`choose the ${what} instance (the account to connect with)`);
      if (!instance.client)
        unusable.push(
          `its ${what} instance "${instance.name || instance.id}" cannot be used: ${instance.problem ?? "see its settings"}`,
        );
      return instance.client;
    }

    const outputs = def.failureOutput ? 2 : 1;
    const snapshots: SnapshotMode =
      def.snapshots === "off" || def.snapshots === "all" || def.snapshots === "never"
        ? def.snapshots
        : "errors";
    const rank = priorityRank(def.priority);
    const launch = (message: Record<string, unknown>) => node.receive(message as NodeMessage);
    const launcher: TriggerLauncher = { snapshots, launch };
    triggerRuns()?.registerTrigger(node.id, launcher);
    // The steps of a run inside this one shape: how the Runs sidebar shows pull, map and send.
    const shown = (def.name ?? "").trim() || serviceLabel(def);
    const step = (part: string): NodeRef => ({
      id: `${node.id}:${part}`,
      type: "pw-service",
      name: `${shown}: ${part}`,
    });
    const steps = { pull: step("pull"), map: step("map"), send: step("send") };
    let scheduler: Scheduler | undefined;

    /** Starts a run: at once, or queued when the runs service says so (one scheduled run at a time). */
    function fire(
      via: NonNullable<RunInfo["via"]>,
      retryOf?: string,
      once?: string,
    ): { pw: PwContext; written: Promise<void> } {
      const pw = startRun({ flow: node.z ?? "", trigger: node.id, via, retryOf });
      const message = { payload: {}, pw };
      const service = triggerRuns();
      if (!service) {
        launch(message);
        return { pw, written: Promise.resolve() };
      }
      const manual = via === "manual" || via === "retry";
      const { admission, written } = service.submit(
        pw,
        {},
        message,
        { rank: manual ? MANUAL_RANK : rank, limit: 1, snapshots, once },
        launch,
      );
      if (admission === "full")
        throw Object.assign(
          new Error(
            `${label}: the run queue is full (${service.queue.queuedCount} waiting); the run was not started. Raise patchworks.runs.maxQueued`,
          ),
          { status: 429 },
        );
      if (admission === "queued")
        node.status({ fill: "yellow", shape: "ring", text: `queued (${service.queue.queuedCount} waiting)` });
      return { pw, written };
    }

    node.fireManually = async () => {
      const { pw, written } = fire("manual");
      await written;
      return pw.run;
    };
    node.retryRun = async (_payload, _meta, retryOf) => {
      const { pw, written } = fire("retry", retryOf);
      await written;
      return pw.run;
    };
    node.startChild = () => {
      throw new Error(`${label} is a service: it runs on its schedule or its button, not from run-flow`);
    };

    const idleStatus = () => {
      const next = scheduler?.upcoming();
      if (next)
        node.status({
          fill: "blue",
          shape: "dot",
          text: `next: ${formatFireTime(next.at, next.schedule.tz)}`,
        });
    };

    /** Maps a page; a record the mapping refuses fails alone, the rest go on. */
    function mapPage(records: unknown[], msg: NodeMessage, now: number) {
      const ctx = { now, view: () => templateView(RED, node, msg) };
      try {
        return { mapped: mapping.map(records, ctx) as unknown[], failed: [] as Failure[] };
      } catch {
        const mapped: unknown[] = [];
        const failed: Failure[] = [];
        for (const record of records) {
          try {
            mapped.push(...(mapping.map([record], ctx) as unknown[]));
          } catch (err) {
            failed.push({ record, error: (err as Error).message, stage: "map", outcome: "refused" });
          }
        }
        return { mapped, failed };
      }
    }

    async function run(msg: NodeMessage, send: (m: Array<NodeMessage | null>) => void): Promise<void> {
      if (!source || !target) {
        node.status({ fill: "red", shape: "ring", text: "pw-service.status.instance" });
        throw new Error(
          `${label}: ${unusable.join("; ")}. Open the instance, enter what it needs and deploy`,
        );
      }
      const pw = readPw(msg);
      const runId = runIdOf(msg);
      const tracker = shapeRuns();
      const startedAt = pw ? Date.parse(pw.run.startedAt) : Date.now();
      const since = compiled.since(startedAt, state.lastSuccess(node.id));
      const base: NodeMessage = { ...msg };
      if (pw && since !== undefined)
        (base as { pw?: PwContext }).pw = {
          ...pw,
          meta: { ...pw.meta, since: new Date(since).toISOString() },
        };
      const params = paramsFor(base);
      if (since !== undefined && def.sinceParam)
        setKey(params, def.sinceParam, new Date(since).toISOString());
      const signal = runId ? tracker?.signal(runId) : undefined;
      const recorder = (part: NodeRef) =>
        runId && tracker ? (r: RequestRecord) => tracker.recordRequest(runId, part, r) : undefined;
      const note = (part: NodeRef, work: Parameters<NonNullable<typeof tracker>["recordStep"]>[2]) => {
        if (runId) tracker?.recordStep(runId, part, work);
      };
      const predicate = compiled.filter?.bind(() => templateView(RED, node, base), startedAt);
      const attempts = compiled.attempts;
      let pulled = 0;
      let sent = 0;
      let pages = 0;
      const failures: Failure[] = [];
      try {
        for await (const page of source.receive(def.sourceEndpoint, {
          params,
          view: () => templateView(RED, node, base),
          signal,
          record: recorder(steps.pull),
          attempts,
          pageSize: compiled.pageSize,
        })) {
          pages = page.number;
          pulled += page.records.length;
          let t = Date.now();
          const kept = predicate ? page.records.filter((r, i) => predicate(r, i)) : page.records;
          note(steps.pull, { messagesOut: 1, recordsOut: kept.length });
          node.status({ fill: "blue", shape: "dot", text: `page ${pages}: ${pulled} pulled, ${sent} sent` });
          if (kept.length === 0) continue;
          const { mapped, failed: unmapped } = mapPage(kept, base, startedAt);
          failures.push(...unmapped);
          note(steps.map, {
            messagesIn: 1,
            messagesOut: mapped.length ? 1 : 0,
            recordsIn: kept.length,
            recordsOut: mapped.length,
            errors: unmapped.length,
            timeMs: Date.now() - t,
          });
          if (mapped.length === 0) continue;
          t = Date.now();
          const result = await target.send(def.targetEndpoint, mapped, {
            view: () => templateView(RED, node, base),
            signal,
            record: recorder(steps.send),
            attempts,
            concurrency: 1,
          });
          const refused: Failure[] = result.failed.flatMap((f) =>
            f.records.map((record) => ({
              record,
              error: f.error,
              stage: "send" as const,
              status: f.status,
              outcome: f.outcome,
            })),
          );
          failures.push(...refused);
          const delivered = result.ok.flatMap((o) => o.records);
          sent += delivered.length;
          note(steps.send, {
            messagesIn: 1,
            messagesOut: delivered.length ? 1 : 0,
            recordsIn: mapped.length,
            recordsOut: delivered.length,
            errors: refused.length,
            timeMs: Date.now() - t,
          });
          if (delivered.length)
            sendOn(
              send,
              outputs,
              0,
              derive(base, delivered, pw ? { page: { number: page.number, last: page.last } } : undefined),
            );
        }
      } catch (err) {
        if (signal?.aborted) {
          showStopped(node);
          throw err;
        }
        node.status({ fill: "red", shape: "dot", text: "pw-service.status.failed" });
        const done = pages > 0 ? ` (${pages} page(s) were pulled and ${sent} record(s) sent before it)` : "";
        throw new Error(`${label}: ${(err as Error).message}${done}`, { cause: err });
      }
      const time = new Date().toISOString().slice(11, 19);
      node.status({
        fill: failures.length ? "yellow" : "green",
        shape: "dot",
        text: `${pulled} pulled, ${sent} sent, ${failures.length} failed at ${time}`,
      });
      if (failures.length === 0) {
        // Without the runs plugin the shape's own success is the run's.
        if (!tracker || !runId) state.succeeded(node.id, startedAt);
        return;
      }
      if (runId) tracker?.failedRecords(runId, failures.length);
      if (outputs === 2) {
        sendOn(send, outputs, 1, derive(base, failures));
        return;
      }
      throw new Error(
        `${label}: ${failures.length} record(s) failed (${sent} sent); first: ${failures[0].error}. Turn on the failure output to handle them in the flow`,
      );
    }

    /** The run's end: a success moves the "since the last successful run" watermark; a bad end alerts. */
    function whenEnded(runId: string, startedAt: number) {
      shapeRuns()?.whenFinished(runId, (record: RunRecord) => {
        if (record.status === "succeeded") state.succeeded(node.id, startedAt);
        if (!ENDED_BADLY.has(record.status) || !def.notifyOnFail) return;
        const notify = findNode(RED, def.notifyOnFail, "pw-notify");
        if (notify) notify.alertRunEnded(record);
        else
          node.warn(
            `${label}: run ${runId} ${record.status}, but the notify shape chosen to alert is not deployed`,
          );
      });
    }

    node.on("input", (msg, send, done) => {
      const runId = runIdOf(msg);
      const pw = readPw(msg);
      if (runId && pw) whenEnded(runId, Date.parse(pw.run.startedAt));
      run(msg, send).then(
        () => {
          done();
          idleStatus();
        },
        (err: Error) => done(err),
      );
    });

    if (compiled.schedules.length > 0) {
      scheduler = new Scheduler(compiled.schedules, (schedule, at) => {
        try {
          // With several workers every one's scheduler fires: the tick starts one run.
          const tick = `${node.id}:${schedule.cron}:${new Date(at).toISOString()}`;
          fire("schedule", undefined, tick).written.catch((err: Error) =>
            node.error(`${label}: the scheduled run could not be written to disk: ${err.message}`),
          );
        } catch (err) {
          node.warn((err as Error).message);
        }
      });
      scheduler.start();
      idleStatus();
    } else node.status({ fill: "grey", shape: "ring", text: "pw-service.status.manual" });
    if (unusable.length) node.status({ fill: "red", shape: "ring", text: "pw-service.status.instance" });

    node.on("close", (removed: boolean, done: () => void) => {
      scheduler?.stop();
      // Scale-out mode: its runs still going here go back to the shared queue first.
      const handedBack = triggerRuns()?.unregisterTrigger(node.id, launcher);
      if (removed) state.forget(node.id);
      if (handedBack) handedBack.then(done, done);
      else done();
    });
  }

  RED.nodes.registerType("pw-service", PwService);

  RED.httpAdmin.post(
    "/pw/service/:id",
    RED.auth.needsPermission("pw-service.write"),
    (req: Request, res: Response) => {
      const node = findNode(RED, req.params.id, "pw-service");
      if (!node) {
        res.status(404).json({
          error: "not_found",
          message: `No deployed service has id ${req.params.id}: deploy the flow first.`,
        });
        return;
      }
      if (node.problem) {
        res.status(409).json({
          error: "not_configured",
          message: `The service is not configured correctly: ${node.problem}. Open it, fix it and deploy.`,
        });
        return;
      }
      node.fireManually(undefined).then(
        (run) => res.status(200).json({ run }),
        (err: Error & { status?: number }) => {
          if (err.status === 429) res.set("Retry-After", "30");
          res
            .status(err.status ?? 500)
            .json({ error: err.status === 429 ? "queue_full" : "service_failed", message: err.message });
        },
      );
    },
  );
  installAdminErrors(RED);
};
