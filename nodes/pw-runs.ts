import path from "node:path";
import type { NodeAPI } from "node-red";
import type { Request, Response } from "express";
import { RunTracker, type HookNode } from "./lib/runs/tracker";
import { FileRunStore, type RunFilter } from "./lib/runs/store";
import { promises as fs } from "node:fs";
import { RunQueue, type QueuedRun } from "./lib/runs/queue";
import { RunService } from "./lib/runs/service";
import { IntakeJournal } from "./lib/runs/journal";
import { SnapshotStore } from "./lib/runs/snapshots";
import { FINAL_STATUSES, RUN_STATUSES, type RunRecord, type RunStatus } from "./lib/runs/record";
import { installAdminErrors } from "./admin-errors";
import {
  addLogHandler,
  LOG_ERROR,
  publishToEditor,
  reportNodeErrors,
  routeTarget,
  takesDone,
  type RuntimeNode as Internal,
} from "./node-red-internals";
import { findNode, provideRuns } from "./contracts";
import type { PwMessage } from "./lib/message";
import os from "node:os";
import { readScaleOut, type ScaleOutSettings } from "./lib/scale/settings";
import { defaultWorkerId } from "./lib/scale/naming";
// Types only: bullmq and ioredis are loaded (below, with require) only when scale-out is on.
import type { RedisRunLog } from "./lib/scale/run-log";
import type { RedisRunService } from "./lib/scale/run-queue";

/** `patchworks.runs` in settings.js; every limit has a stated default. */
interface RunSettings {
  /** false turns run tracking off (no hooks, no run store). */
  enabled?: boolean;
  retentionDays?: number;
  maxRuns?: number;
  settleMs?: number;
  inactivityTimeoutSec?: number;
  /** How long after its end a late message may still reopen a run (default 600). */
  lateWindowSec?: number;
  /** At most this many ended runs are kept for late messages (default 10,000). */
  lateRunsKept?: number;
  inputCapBytes?: number;
  /** Runs going at once across all flows; more wait in the queue. */
  maxConcurrent?: number;
  /** Runs that may wait; what happens beyond is each trigger's choice. */
  maxQueued?: number;
  /** Largest payload kept whole in one snapshot (default 64 KB). */
  snapshotCapBytes?: number;
  /** All snapshots together (default 100 MB); the oldest runs' go first. */
  snapshotTotalBytes?: number;
}

/** Where the runs plugin keeps its description of a runtime node (see nodeOf). */
const DESCRIBED = Symbol("pw-runs-node");
/** A node as the hooks see it, with where its wires lead (see destinationOf). */
type Described = HookNode & { routes: Map<string, Described | null>; routesOf: number };

type RuntimeNode = Internal & { [DESCRIBED]?: Described };

const STATUSES: readonly RunStatus[] = RUN_STATUSES;

export = function (RED: NodeAPI) {
  const settings = ((RED.settings as { patchworks?: { runs?: RunSettings } }).patchworks?.runs ??
    {}) as RunSettings;
  const userDir = (RED.settings as { userDir?: string }).userDir ?? process.cwd();
  if (settings.enabled === false) {
    RED.log.info("pw-runs: run tracking is off (patchworks.runs.enabled is false in settings.js)");
    // The sidebar and API callers learn why there are no runs, rather than meeting a 404.
    RED.httpAdmin.all(
      /^\/pw\/runs(\/.*)?$/,
      RED.auth.needsPermission("pw-runs.read"),
      (_req: Request, res: Response) => {
        res.status(503).json({
          error: "tracking_off",
          message:
            "Run tracking is off: set patchworks.runs.enabled to true in settings.js and restart Node-RED.",
        });
      },
    );
    return;
  }
  // Scale-out mode (patchworks.scaleOut): the run queue and run log live in Redis, shared by workers.
  let scale: ScaleOutSettings | null = null;
  try {
    scale = readScaleOut(
      (RED.settings as { patchworks?: { scaleOut?: unknown } }).patchworks?.scaleOut,
      defaultWorkerId(os.hostname(), process.pid),
    );
  } catch (err) {
    RED.log.error(`pw-runs: ${(err as Error).message}; running embedded (one process) instead`);
  }
  let runLog: RedisRunLog | undefined;
  if (scale) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { RedisRunLog: Log } = require("./lib/scale/run-log") as typeof import("./lib/scale/run-log");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { connectRedis } = require("./lib/scale/redis") as typeof import("./lib/scale/redis");
    const connection = connectRedis(scale.redis, `${scale.prefix}:${scale.workerId}:log`);
    connection.on("error", () => undefined);
    runLog = new Log(connection, {
      prefix: scale.prefix,
      maxRuns: settings.maxRuns ?? 10000,
      maxAgeMs: (settings.retentionDays ?? 14) * 24 * 60 * 60 * 1000,
      warn: (message) => RED.log.warn(`pw-runs: ${message}`),
    });
  }
  const store = new FileRunStore({
    dir: path.join(userDir, "patchworks", "runs"),
    maxAgeMs: (settings.retentionDays ?? 14) * 24 * 60 * 60 * 1000,
    maxRuns: settings.maxRuns ?? 10000,
    warn: (message) => RED.log.warn(`pw-runs: ${message}`),
  });
  // The sidebar is told that runs changed (it reloads what it shows), a few times a second at most.
  let changes = 0;
  let publishTimer: NodeJS.Timeout | undefined;
  const sink = {
    save(record: RunRecord) {
      if (runLog) runLog.save(record);
      else store.save(record);
      changes++;
      publishTimer ??= setTimeout(() => {
        publishTimer = undefined;
        publishToEditor(RED, "pw-runs/changed", { changes });
        changes = 0;
      }, 250);
    },
  };
  const snapshots = new SnapshotStore(
    path.join(userDir, "patchworks", "payloads"),
    settings.snapshotTotalBytes,
  );
  const tracker = new RunTracker(sink, {
    snapshotSink: snapshots,
    snapshotCapBytes: settings.snapshotCapBytes,
    settleMs: settings.settleMs,
    inactivityMs:
      settings.inactivityTimeoutSec === undefined ? undefined : settings.inactivityTimeoutSec * 1000,
    lateWindowMs: settings.lateWindowSec === undefined ? undefined : settings.lateWindowSec * 1000,
    lateRunsKept: settings.lateRunsKept,
    inputCapBytes: settings.inputCapBytes,
    onEnd: (record) => (scaled ?? service).ended(record),
    onIdle: (runId) => (scaled ?? service).idle(runId),
    previous: (id) => (runLog ? runLog.cached(id) : store.get(id)),
  });
  // Every accepted run is written here before it is acknowledged or launched (journal.ts).
  const journal = new IntakeJournal(path.join(userDir, "patchworks", "intake.jsonl"));
  const queue = new RunQueue({
    maxConcurrent: settings.maxConcurrent ?? 20,
    maxQueued: settings.maxQueued ?? 1000,
  });
  const service = new RunService(tracker, queue, store, journal, undefined, (message) =>
    RED.log.warn(`pw-runs: ${message}`),
  );
  let scaled: RedisRunService | undefined;
  if (scale && runLog) {
    const { RedisRunService: Service } =
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require("./lib/scale/run-queue") as typeof import("./lib/scale/run-queue");
    scaled = new Service({
      scale,
      tracker,
      log: runLog,
      maxConcurrent: settings.maxConcurrent ?? 20,
      maxQueued: settings.maxQueued ?? 1000,
      warn: (message) => RED.log.warn(`pw-runs: ${message}`),
    });
    RED.log.info(
      `pw-runs: scale-out mode: worker ${scale.workerId}, Redis ${scale.redis.host}:${scale.redis.port}, prefix ${scale.prefix}`,
    );
  }
  const opened = (
    scaled
      ? Promise.all([snapshots.open(), scaled.start()])
      : Promise.all([store.open(), snapshots.open()]).then(async () => {
          service.recover(await journal.load(), store.interrupted);
          await adoptQueueFile(path.join(userDir, "patchworks", "queue.json"));
        })
  )
    .then(() => undefined)
    .catch((err: Error) => RED.log.error(`pw-runs: the run store could not be opened: ${err.message}`));

  /** The queue file of earlier versions: its runs join the journal, then it goes. */
  async function adoptQueueFile(file: string) {
    let items: QueuedRun[];
    try {
      items = JSON.parse(await fs.readFile(file, "utf8")) as QueuedRun[];
    } catch {
      return;
    }
    if (Array.isArray(items)) service.adopt(items.sort((a, b) => a.rank - b.rank || a.seq - b.seq));
    await fs.rm(file, { force: true });
  }
  // Age-based pruning; the count cap is kept as runs arrive.
  setInterval(
    () =>
      void (runLog ?? store)
        .prune()
        .catch((err: Error) => RED.log.warn(`pw-runs: pruning failed: ${err.message}`)),
    60 * 60 * 1000,
  ).unref();
  provideRuns(scaled ?? service);
  RED.events.on("flows:started", () => (scaled ?? service).setFlowsRunning(true));
  // Flows stop on every redeploy and when Node-RED shuts down: write what is pending then.
  // Scale-out: a stopping worker claims no more runs; its triggers hand theirs back as they close.
  RED.events.on("flows:stopping", () => scaled?.setFlowsRunning(false));
  RED.events.on("flows:stopped", () => {
    (scaled ?? service).setFlowsRunning(false);
    if (scaled) return;
    // Synchronously: Node-RED may exit right after, without waiting for us. The journal's
    // final lines are what keeps a finished run from running again after the restart.
    try {
      journal.flushSync();
      store.flushSync();
    } catch (err) {
      RED.log.warn(`pw-runs: could not write runs: ${(err as Error).message}`);
    }
    void Promise.all([snapshots.flush()]).catch((err: Error) =>
      RED.log.warn(`pw-runs: could not write runs: ${err.message}`),
    );
  });

  // Hooks are process-global and must stay synchronous (one parameter): an asynchronous hook
  // would make every message delivery in the runtime asynchronous. Three hooks, not five:
  // each hook costs every message in the runtime a call through Node-RED's hook chain.
  // One description per node object, made once and kept on it under a symbol (a property read;
  // a WeakMap lookup costs several times that, three times per message and node).
  const nodeOf = (n: RuntimeNode): Described => {
    let d = n[DESCRIBED];
    if (d === undefined) {
      n[DESCRIBED] = d = {
        id: n.id,
        type: n.type,
        name: n.name,
        takesDone: takesDone(n),
        routes: new Map(),
        routesOf: deploys,
      };
      // A node raises errors only for messages it received: by then it has been described.
      if (!errorsReported) {
        errorsReported = reportNodeErrors(n, reportError);
        if (!errorsReported)
          RED.log.warn(
            "pw-runs: this Node-RED reports node errors differently; errors may be given to the wrong runs",
          );
      }
    }
    return d;
  };
  // Where a node's wires lead, found as the router finds them (in the sender's flow) and kept
  // until the next deploy: looking a node up costs more than the rest of counting a send.
  let deploys = 0;
  RED.events.on("flows:started", () => deploys++);
  const destinationOf = (source: Described, node: RuntimeNode, id: string): Described | undefined => {
    if (source.routesOf !== deploys) {
      source.routes.clear();
      source.routesOf = deploys;
    }
    let d = source.routes.get(id);
    if (d === undefined) {
      const destination = routeTarget(node, id);
      // A wire to a disabled or deleted node delivers nothing: null, so it counts nothing.
      source.routes.set(id, (d = destination ? nodeOf(destination) : null));
    }
    return d ?? undefined;
  };
  type SendEvent = {
    msg: PwMessage;
    source: { id: string; node: RuntimeNode };
    destination: { id: string };
  };
  type ReceiveEvent = { msg: PwMessage; destination: { id: string; node: RuntimeNode } };
  type CompleteEvent = { msg: PwMessage; error?: unknown; node: { id: string; node: RuntimeNode } };

  RED.hooks.add("onSend.pw-runs", (events: SendEvent[]) => {
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
      // The same message object on several wires is one message sent.
      let repeat = false;
      for (let j = 0; j < i && !repeat; j++) repeat = events[j].msg === e.msg;
      const source = nodeOf(e.source.node);
      if (!repeat) tracker.onSend(source, e.msg);
      // In flight from now, until the destination finishes it.
      const destination = destinationOf(source, e.source.node, e.destination.id);
      if (destination && !tracker.preDeliver(destination, e.msg)) events.splice(i--, 1);
    }
  });
  RED.hooks.add("onReceive.pw-runs", (e: ReceiveEvent) => {
    const node = nodeOf(e.destination.node);
    if (!tracker.onReceive(node, e.msg)) return false;
    // A handler without `done` is over when it returns: the message ends as it starts, and
    // what the handler sends is already in flight by then (see RunTracker.postReceive).
    if (!node.takesDone) tracker.postReceive(node, e.msg);
    return undefined;
  });
  RED.hooks.add("onComplete.pw-runs", (e: CompleteEvent) => tracker.onComplete(nodeOf(e.node.node), e.msg));

  // An error raised for a message (a thrown handler, done(err), node.error(text, msg)) reaches
  // Node.prototype.error with that message: it is given to the message's run there, and the
  // log line the same call writes is not counted again. Errors logged without a message come
  // through the log handler below.
  let reporting: string | undefined;
  let errorsReported = false;
  function reportError(node: RuntimeNode, logMessage: unknown, msg: unknown) {
    if (!msg || typeof msg !== "object" || !tracker.messageError(nodeOf(node), msg as PwMessage, logMessage))
      return undefined;
    const outer = reporting;
    reporting = node.id;
    return () => (reporting = outer);
  }
  // Node-RED hands every log entry to every handler, a metric for each send, receive and done
  // included: this one returns at once for anything but a node's error.
  addLogHandler(RED, {
    emit(_event, entry) {
      if (entry.level !== LOG_ERROR || !entry.id || entry.id === reporting) return;
      const text = entry.msg instanceof Error ? entry.msg.message : String(entry.msg);
      tracker.nodeError({ id: entry.id, type: entry.type, name: entry.name }, text);
    },
  });

  RED.plugins.registerPlugin("pw-runs", { type: "pw-runs" } as never);

  const read = RED.auth.needsPermission("pw-runs.read");
  const write = RED.auth.needsPermission("pw-runs.write");

  RED.httpAdmin.get("/pw/runs", read, async (req: Request, res: Response) => {
    await opened;
    const filter = parseFilter(req.query as Record<string, unknown>);
    if (typeof filter === "string") {
      res.status(400).json({ error: "bad_request", message: filter });
      return;
    }
    // The statuses too: the sidebar's filter offers them, and the runtime knows them.
    const runs = runLog ? await runLog.list(filter) : store.list(filter);
    res.json({ runs, statuses: STATUSES });
  });

  /** A run of any worker in scale-out mode; of this runtime's store otherwise. */
  const findRun = async (id: string) => (runLog ? await runLog.get(id) : store.get(id));

  RED.httpAdmin.get("/pw/runs/:id", read, async (req: Request, res: Response) => {
    await opened;
    const run = await findRun(req.params.id);
    if (!run) {
      res
        .status(404)
        .json({ error: "not_found", message: `No run has id ${req.params.id}; it may have been pruned.` });
      return;
    }
    res.json({ run });
  });

  RED.httpAdmin.get("/pw/runs/:id/payloads", read, async (req: Request, res: Response) => {
    await opened;
    const run = await findRun(req.params.id);
    if (!run) {
      res.status(404).json({ error: "not_found", message: `No run has id ${req.params.id}.` });
      return;
    }
    const steps = (await snapshots.get(run.id)) ?? {};
    res.json({ run: run.id, mode: run.snapshots ?? "off", steps });
  });

  RED.httpAdmin.post("/pw/runs/:id/stop", write, async (req: Request, res: Response) => {
    await opened;
    if (scaled && runLog) {
      // It may run on another worker: that worker is told through Redis and stops it.
      const outcome = await scaled.stop(req.params.id, "stopped by a user");
      if (outcome === "not_found") {
        res.status(404).json({ error: "not_found", message: `No run has id ${req.params.id}.` });
        return;
      }
      let after = await runLog.get(req.params.id);
      // The worker running it writes its end within moments: answer with that when it comes.
      for (let i = 0; i < 100 && outcome === "stopped" && after && !FINAL_STATUSES.has(after.status); i++) {
        await new Promise((r) => setTimeout(r, 50));
        after = await runLog.get(req.params.id);
      }
      if (outcome === "not_running") {
        res
          .status(409)
          .json({ error: "not_running", message: `Run ${req.params.id} already ended (${after?.status}).` });
        return;
      }
      res.json({ run: after });
      return;
    }
    const run = store.get(req.params.id);
    if (!run) {
      res.status(404).json({ error: "not_found", message: `No run has id ${req.params.id}.` });
      return;
    }
    if (run.status === "queued" && service.cancel(run.id, "cancelled by a user while queued")) {
      res.json({ run: store.get(run.id) });
      return;
    }
    if (run.status === "queued" && !tracker.isActive(run.id)) {
      // Recorded as queued but in no queue (it cannot start): it ends here rather than wait forever.
      tracker.endUnfollowed(run, "stopped", "cancelled by a user while queued");
      res.json({ run: store.get(run.id) });
      return;
    }
    if (!tracker.stop(run.id)) {
      res.status(409).json({ error: "not_running", message: `Run ${run.id} already ended (${run.status}).` });
      return;
    }
    res.json({ run: store.get(run.id) });
  });

  RED.httpAdmin.post("/pw/runs/:id/retry", write, async (req: Request, res: Response) => {
    const run = await findRun(req.params.id);
    if (!run) {
      res.status(404).json({ error: "not_found", message: `No run has id ${req.params.id}.` });
      return;
    }
    if (run.input.truncated) {
      res.status(409).json({
        error: "no_input",
        message: `Run ${run.id} started with a payload of ${run.input.bytes} bytes, over the cap kept for retries.`,
      });
      return;
    }
    const trigger = findNode(RED, run.trigger, "pw-trigger") ?? findNode(RED, run.trigger, "pw-service");
    if (!trigger) {
      res
        .status(409)
        .json({ error: "trigger_gone", message: `The trigger of run ${run.id} is no longer deployed.` });
      return;
    }
    const payload = run.input.payloadJson === undefined ? undefined : JSON.parse(run.input.payloadJson);
    try {
      res.status(202).json({ run: await trigger.retryRun(payload, run.input.meta, run.id) });
    } catch (err) {
      const status = (err as { status?: number }).status ?? 500;
      if (status === 429) res.set("Retry-After", "30");
      res
        .status(status)
        .json({ error: status === 429 ? "queue_full" : "retry_failed", message: (err as Error).message });
    }
  });

  installAdminErrors(RED);

  function parseFilter(q: Record<string, unknown>): RunFilter | string {
    const filter: RunFilter = {};
    const text = (name: string) =>
      typeof q[name] === "string" && q[name] !== "" ? (q[name] as string) : undefined;
    filter.flow = text("flow");
    filter.trigger = text("trigger");
    filter.q = text("q");
    filter.before = text("before");
    filter.tracked = text("tracked");
    filter.trackedName = text("trackedName");
    if (filter.trackedName && !filter.tracked) return `"trackedName" needs "tracked": the value to find`;
    const status = text("status");
    if (status) {
      const list = status.split(",").map((s) => s.trim()) as RunStatus[];
      const bad = list.find((s) => !STATUSES.includes(s));
      if (bad) return `unknown status "${bad}": use ${STATUSES.join(", ")}`;
      filter.status = list;
    }
    for (const name of ["from", "to"] as const) {
      const value = text(name);
      if (value === undefined) continue;
      const time = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
      if (Number.isNaN(time))
        return `"${name}" must be an ISO 8601 time or milliseconds since 1970, not "${value}"`;
      filter[name] = time;
    }
    const limit = text("limit");
    if (limit !== undefined) {
      const n = Number(limit);
      if (!Number.isInteger(n) || n < 1 || n > 1000)
        return `"limit" must be a whole number from 1 to 1000, not "${limit}"`;
      filter.limit = n;
    }
    return filter;
  }
};
