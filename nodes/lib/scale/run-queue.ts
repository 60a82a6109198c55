// The run side of the scale-out mode: one BullMQ queue of runs for every worker.
//
// A trigger on any worker (webhook, manual run, run-flow child, retry, schedule tick) writes the
// run's record to the shared run log and adds a job to the queue, with the run's priority; the
// webhook is acknowledged once Redis has both. Any worker with a free slot claims the next job
// and starts the run at the same trigger of its own copy of the flow. Limits:
// - overall: BullMQ's global concurrency (jobs active across all workers) = patchworks.runs.maxConcurrent;
// - per trigger: a lease-based semaphore in Redis (slots.ts); a job over its trigger's limit goes
//   back to the queue for a moment.
// A job stays active, its lock renewed by BullMQ, while its run goes on here. A worker that dies
// stops renewing: after leaseMs another worker's stalled-job check puts the job back, a worker
// claims it, finds the run "running" in the run log under the dead worker's name, and starts it
// again from the checkpoints that worker left (a paginated pull resumes at its page), saying so in
// the run's log. A worker that shuts down hands its runs back at once (its triggers close).
import { DelayedError, Queue, WaitingError, Worker, type Job } from "bullmq";
import type { PwContext } from "../message";
import { FINAL_STATUSES, type RunRecord } from "../runs/record";
import {
  keepBuffers,
  parse,
  type Submitted,
  type SubmitOptions,
  type TriggerLauncher,
} from "../runs/service";
import type { RunTracker } from "../runs/tracker";
import type { IntakeEntry } from "../runs/journal";
import type { ScopeResult } from "../runs/tracker";
import { connectRedis, type Redis } from "./redis";
import type { ScaleOutSettings } from "./settings";
import type { RedisRunLog } from "./run-log";
import { TriggerSlots } from "./slots";
import { jobPriority, takeoverNote } from "./naming";
import { deliverCallback, setCallbackRelay } from "../runs/callbacks";
import type { CallbackReply } from "../records";

/** What a job carries: the queued run as the embedded journal would write it. */
type RunJob = Omit<IntakeEntry, "started">;

interface Running {
  trigger: string;
  limit: number;
  job?: Job<RunJob>;
  token?: string;
  finish(record?: RunRecord): void;
  handBack(err: Error): void;
}

export interface ScaleRunsOptions {
  scale: ScaleOutSettings;
  tracker: RunTracker;
  log: RedisRunLog;
  /** Runs going at once across all workers. */
  maxConcurrent: number;
  /** Runs that may wait in the shared queue. */
  maxQueued: number;
  warn(message: string): void;
}

type ControlMessage =
  | { op: "stop"; id: string; reason: string }
  | { op: "ended"; id: string }
  | { op: "answer"; id: string; reply: CallbackReply };

export class RedisRunService {
  private readonly launchers = new Map<string, TriggerLauncher>();
  private readonly running = new Map<string, Running>();
  /** Runs handed back to the queue: what this worker's tracker still says of them is not written. */
  private readonly handedBack = new Set<string>();
  private readonly remoteListeners = new Map<string, Array<(record: RunRecord) => void>>();
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly queueConnection: Redis;
  private readonly workerConnection: Redis;
  readonly bull: Queue<RunJob>;
  private worker: Worker<RunJob> | undefined;
  private readonly slots: TriggerSlots;
  private readonly channel: string;
  private flowsRunning = false;
  private waiting = 0;
  private timers: NodeJS.Timeout[] = [];
  readonly me: string;
  /** What triggers read: how many runs wait (refreshed every second). */
  readonly queue = { queuedCount: 0 };
  /** What shapes reach through contracts.ts: the tracker, with whenFinished told of runs on other workers. */
  readonly tracker: RunTracker;

  constructor(private readonly opts: ScaleRunsOptions) {
    const { scale } = opts;
    this.me = scale.workerId;
    this.redis = connectRedis(scale.redis, `${scale.prefix}:${this.me}:runs`);
    this.subscriber = connectRedis(scale.redis, `${scale.prefix}:${this.me}:control`);
    this.queueConnection = connectRedis(scale.redis, `${scale.prefix}:${this.me}:queue`);
    this.workerConnection = connectRedis(scale.redis, `${scale.prefix}:${this.me}:worker`);
    for (const c of [this.redis, this.subscriber, this.queueConnection, this.workerConnection])
      c.on("error", () => undefined); // ioredis reconnects; a restart is logged once below
    this.slots = new TriggerSlots(this.redis, scale.prefix, scale.leaseMs);
    this.channel = `${scale.prefix}:control`;
    this.bull = new Queue<RunJob>("runs", { connection: this.queueConnection, prefix: scale.prefix });
    this.bull.on("error", () => undefined);
    this.tracker = this.trackerView(opts.tracker);
  }

  /** Connects, sets the overall limit, starts listening for stops and claiming runs. */
  async start(): Promise<void> {
    await this.bull.setGlobalConcurrency(this.opts.maxConcurrent);
    await this.subscriber.subscribe(this.channel);
    this.subscriber.on("message", (_channel: string, text: string) => this.onControl(text));
    // A child run's callback answer reaches the run-flow shape waiting for it on any worker.
    setCallbackRelay({
      relay: (id, reply) => {
        void this.redis
          .publish(this.channel, JSON.stringify({ op: "answer", id, reply }))
          .catch(() => undefined);
        return true;
      },
    });
    const { leaseMs } = this.opts.scale;
    this.worker = new Worker<RunJob>("runs", (job, token) => this.process(job, token), {
      connection: this.workerConnection,
      prefix: this.opts.scale.prefix,
      concurrency: this.opts.maxConcurrent,
      lockDuration: leaseMs,
      stalledInterval: Math.max(Math.floor(leaseMs / 2), 100),
      // A run taken over again and again is still one run; it ends when it ends.
      maxStalledCount: 1000,
      removeOnComplete: { count: 1000 },
      removeOnFail: { count: 1000 },
      autorun: false,
    });
    let down = false;
    this.worker.on("error", (err) => {
      if (!down) this.opts.warn(`the run queue lost Redis (${err.message}); waiting for it to come back`);
      down = true;
    });
    this.workerConnection.on("ready", () => (down = false));
    this.worker.run().catch((err: Error) => this.opts.warn(`the run queue stopped: ${err.message}`));
    // Slot leases of runs going here, renewed well within their lease; the waiting count for triggers.
    this.timers.push(
      setInterval(
        () => {
          const held: Array<[string, string]> = [];
          for (const [id, r] of this.running) if (r.limit > 0) held.push([id, r.trigger]);
          this.slots.renew(held).catch(() => undefined);
        },
        Math.max(Math.floor(leaseMs / 3), 50),
      ),
      setInterval(() => {
        this.bull
          .getJobCounts("wait", "prioritized", "delayed")
          .then(
            (c) =>
              (this.queue.queuedCount = this.waiting =
                (c.wait ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0)),
          )
          .catch(() => undefined);
      }, 1000),
    );
    for (const t of this.timers) t.unref();
  }

  registerTrigger(id: string, launcher: TriggerLauncher): void {
    this.launchers.set(id, launcher);
  }

  /** Its runs still going here go back to the queue (a redeploy or a shutdown closes the trigger). */
  unregisterTrigger(id: string, launcher: TriggerLauncher): Promise<void> | void {
    if (this.launchers.get(id) !== launcher) return;
    this.launchers.delete(id);
    const mine = [...this.running.entries()].filter(([, r]) => r.trigger === id && r.job);
    if (mine.length === 0) return;
    const deadline = new Promise<void>((r) => setTimeout(r, this.opts.scale.drainMs).unref());
    const back = Promise.all(mine.map(([runId, r]) => this.handBack(runId, r))).then(() => undefined);
    return Promise.race([back, deadline]);
  }

  setFlowsRunning(running: boolean): void {
    this.flowsRunning = running;
    // Stopping: claim nothing more until the flows are back (a shutdown never comes back).
    if (!running) void this.worker?.pause(true).catch(() => undefined);
    else void Promise.resolve(this.worker?.resume()).catch(() => undefined);
  }

  submit(
    pw: PwContext,
    payload: unknown,
    message: Record<string, unknown>,
    opts: SubmitOptions,
    send: (message: Record<string, unknown>) => void,
  ): Submitted {
    if (!opts.once && this.waiting >= this.opts.maxQueued)
      return { admission: "full", written: Promise.resolve() };
    if (opts.live) return this.startHere(pw, payload, message, opts, send);
    const job: RunJob = {
      runId: pw.run.id,
      trigger: pw.run.trigger,
      rank: opts.rank,
      limit: opts.limit,
      seq: 0,
      enqueuedAt: Date.now(),
      run: pw.run,
      message: JSON.stringify(message, keepBuffers),
    };
    const written = (async () => {
      if (opts.once) {
        const first = await this.redis.set(
          `${this.opts.scale.prefix}:once:${opts.once}`,
          this.me,
          "PX",
          86_400_000,
          "NX",
        );
        if (first !== "OK") return; // another worker's scheduler started this tick's run
      }
      // The record first: the worker that claims the job overwrites "queued" with "running", never the reverse.
      const record = this.opts.tracker.recordQueued(pw, payload, opts.snapshots);
      await this.opts.log.saveNow(record);
      await this.bull.add("run", job, {
        jobId: job.runId,
        priority: jobPriority(opts.rank),
        removeOnComplete: { count: 1000 },
        removeOnFail: { count: 1000 },
      });
      this.waiting++;
    })();
    written.catch((err: Error) => this.opts.warn(`run ${job.runId} was not queued: ${err.message}`));
    return { admission: "queued", written };
  }

  /**
   * A run holding an HTTP request (a webhook that answers with the flow's reply) starts on the
   * worker that holds the request: nobody else could answer it. It is in the shared run log, not
   * in the shared queue, so it is neither counted in the overall limit nor taken over.
   */
  private startHere(
    pw: PwContext,
    payload: unknown,
    message: Record<string, unknown>,
    opts: SubmitOptions,
    send: (message: Record<string, unknown>) => void,
  ): Submitted {
    const record = this.opts.tracker.begin(pw, payload, undefined, opts.snapshots);
    record.worker = this.me;
    const written = this.opts.log.saveNow(record);
    written
      .then(
        () => send({ ...message, ...opts.live }),
        (err: Error) =>
          this.opts.tracker.stop(pw.run.id, `the run could not be written to Redis: ${err.message}`),
      )
      .catch((err: Error) => this.opts.warn(`run ${pw.run.id} could not start: ${err.message}`));
    return { admission: "started", written };
  }

  /** The tracker tells of every run that ends here. */
  ended(record: RunRecord): void {
    const r = this.running.get(record.id);
    if (r) r.finish(record);
    if (!this.handedBack.has(record.id))
      void this.redis
        .publish(this.channel, JSON.stringify({ op: "ended", id: record.id }))
        .catch(() => undefined);
  }

  idle(_runId: string): void {
    // The slot is kept until the run ends: the job stays active (and can be taken over) until then.
  }

  /** Stops a run wherever it is: here, on the worker that runs it (told through Redis), or in the queue. */
  async stop(id: string, reason: string): Promise<"stopped" | "not_running" | "not_found"> {
    if (this.opts.tracker.isActive(id)) {
      this.opts.tracker.stop(id, reason);
      return "stopped";
    }
    const record = await this.opts.log.get(id);
    if (!record) return "not_found";
    if (FINAL_STATUSES.has(record.status)) return "not_running";
    if (record.status === "queued") {
      const job = await this.bull.getJob(id);
      const removed = job
        ? await job.remove().then(
            () => true,
            () => false,
          )
        : true;
      if (removed) {
        this.opts.tracker.endUnfollowed(record, "stopped", `${reason} while queued`);
        await this.opts.log.flush();
        return "stopped";
      }
    }
    await this.redis.publish(this.channel, JSON.stringify({ op: "stop", id, reason }));
    return "stopped";
  }

  async close(): Promise<void> {
    setCallbackRelay(undefined);
    for (const t of this.timers) clearInterval(t);
    await this.worker?.close(true).catch(() => undefined);
    await this.bull.close().catch(() => undefined);
    for (const c of [this.redis, this.subscriber, this.queueConnection, this.workerConnection])
      c.disconnect();
  }

  /** Runs going on this worker now (for tests and the admin view). */
  get localRuns(): string[] {
    return [...this.running.keys()];
  }

  private async process(job: Job<RunJob>, token?: string): Promise<void> {
    const d = job.data;
    const launcher = this.launchers.get(d.trigger);
    if (!launcher || !this.flowsRunning) {
      // Its flow is not running here (a redeploy, a shutdown): it waits for a worker that has it.
      await job.moveToDelayed(Date.now() + 250, token);
      throw new DelayedError();
    }
    if (d.limit > 0 && !(await this.slots.acquire(d.trigger, d.runId, d.limit))) {
      await job.moveToDelayed(Date.now() + 50 + Math.floor(Math.random() * 100), token);
      throw new DelayedError();
    }
    this.waiting = Math.max(0, this.waiting - 1);
    const before = await this.opts.log.get(d.runId);
    if (before && FINAL_STATUSES.has(before.status)) {
      // It ended just before its worker could say so to the queue: nothing to run again.
      if (d.limit > 0) await this.slots.release(d.trigger, d.runId);
      return;
    }
    if (d.run.retryOf) await this.opts.log.get(d.run.retryOf); // cached for the tracker's checkpoints
    const { pw, payload, message } = parse({ ...d, started: true });
    let finish!: (record?: RunRecord) => void;
    let handBack!: (err: Error) => void;
    const over = new Promise<void>((resolve, reject) => {
      finish = () => resolve();
      handBack = reject;
    });
    this.running.set(d.runId, { trigger: d.trigger, limit: d.limit, job, token, finish, handBack });
    this.handedBack.delete(d.runId);
    this.opts.log.remember(d.runId);
    try {
      const record = this.opts.tracker.begin(pw, payload, d.enqueuedAt, launcher.snapshots);
      record.worker = this.me;
      if (before?.status === "running") {
        record.handovers = [...(before.handovers ?? [])];
        this.opts.tracker.takeOver(d.runId, before.checkpoints, takeoverNote(this.me, before.worker));
      } else this.opts.log.save(record);
      launcher.launch(message);
      if (this.opts.tracker.idleNow(d.runId)) this.idle(d.runId);
      await over;
      // Its end is in the run log before the queue hears of it: a worker that exits right after loses nothing.
      await this.opts.log.flush();
    } finally {
      this.running.delete(d.runId);
      if (d.limit > 0) await this.slots.release(d.trigger, d.runId).catch(() => undefined);
    }
  }

  /** Back to the queue, first in line: another worker (or this one, after a redeploy) goes on from its checkpoints. */
  private async handBack(runId: string, r: Running): Promise<void> {
    this.handedBack.add(runId);
    this.opts.log.forget(runId);
    try {
      await r.job?.moveToWait(r.token);
      r.handBack(new WaitingError());
    } catch (err) {
      // Its lock is gone already: the stalled-job check hands it on after the lease.
      r.handBack(new WaitingError((err as Error).message));
    }
  }

  private onControl(text: string): void {
    let m: ControlMessage;
    try {
      m = JSON.parse(text) as ControlMessage;
    } catch {
      return;
    }
    // What throws here throws inside ioredis's socket handler, where nothing catches it: Node-RED would exit.
    try {
      this.control(m);
    } catch (err) {
      this.opts.warn(`a ${String(m?.op)} message for run ${String(m?.id)} failed: ${(err as Error).message}`);
    }
  }

  private control(m: ControlMessage): void {
    if (m.op === "stop") {
      if (this.opts.tracker.isActive(m.id)) this.opts.tracker.stop(m.id, m.reason);
    } else if (m.op === "answer") {
      deliverCallback(m.id, m.reply);
    } else if (m.op === "ended") {
      const listeners = this.remoteListeners.get(m.id);
      if (!listeners) return;
      this.remoteListeners.delete(m.id);
      // A rejection here has no one to catch it: Node-RED would exit on it.
      this.opts.log
        .get(m.id)
        .then((record) => {
          if (record) for (const l of listeners) l(record);
        })
        .catch((err: Error) => this.opts.warn(`the end of run ${m.id} could not be read: ${err.message}`));
    }
  }

  /** The tracker as shapes see it, with whenFinished also told when the run ends on another worker. */
  private trackerView(tracker: RunTracker): RunTracker {
    const remote = this.remoteListeners;
    return new Proxy(tracker, {
      get(target, prop, receiver) {
        if (prop === "whenFinished")
          return (runId: string, listener: (record: RunRecord) => void) => {
            let told = false;
            const once = (record: RunRecord) => {
              if (told) return;
              told = true;
              listener(record);
            };
            target.whenFinished(runId, once);
            const list = remote.get(runId) ?? [];
            list.push(once);
            remote.set(runId, list);
          };
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }
}

export type { ScopeResult };
