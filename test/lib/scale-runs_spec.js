// The run side of the scale-out mode, piece by piece: the pure rules (priorities, the
// take-over note, run log filters, settings), the tracker's take-over from checkpoints, and the
// Redis parts (trigger slots, the shared run log) against a redis-server of the test's own.
const assert = require("node:assert/strict");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const { lib, root } = require("../support/dist");
const { startRedis } = require("../support/redis");
const { jobPriority, takeoverNote, defaultWorkerId } = lib("scale/naming");
const { readScaleOut } = lib("scale/settings");
const { MANUAL_RANK } = lib("runs/queue");
const { RunTracker } = lib("runs/tracker");
const { toLine, fromLine } = lib("runs/store");
const { startRun } = lib("message");

const record = (id, over = {}) => ({
  id,
  flow: "f",
  trigger: "t",
  status: "succeeded",
  startedAt: 1000,
  endedAt: 1100,
  input: { payloadJson: '{"order":1042}', meta: {}, bytes: 12 },
  steps: {},
  errors: [],
  failedRecords: 0,
  ...over,
});

describe("scale-out runs: pure rules", function () {
  it("gives manual runs and retries BullMQ's first priority, then highest to lowest, never 0", function () {
    assert.equal(jobPriority(MANUAL_RANK), 1);
    assert.deepEqual([0, 1, 2, 3, 4].map(jobPriority), [2, 3, 4, 5, 6]);
    assert.equal(jobPriority(99), 6);
    assert.equal(jobPriority(Number.NaN), 4, "an unknown rank is regular");
  });

  it("writes a take-over note that names both workers", function () {
    const note = takeoverNote("w2", "w1", new Date("2026-01-01T00:00:00Z"));
    assert.equal(
      note,
      "2026-01-01T00:00:00.000Z taken over by worker w2 after worker w1 stopped; resumed from its checkpoints",
    );
    assert.match(takeoverNote("w2", undefined), /after worker \(unknown\) stopped/);
    assert.equal(defaultWorkerId("host", 42), "host-42");
  });

  it("reads patchworks.scaleOut: absent is the embedded mode, a URL or object is Redis, bad values are named", function () {
    assert.equal(readScaleOut(undefined, "h:1"), null);
    const s = readScaleOut({ redis: "redis://:pw@10.0.0.5:6380/2" }, "h:1");
    assert.deepEqual(
      { ...s.redis, workerId: s.workerId, prefix: s.prefix, leaseMs: s.leaseMs },
      {
        host: "10.0.0.5",
        port: 6380,
        db: 2,
        username: undefined,
        password: "pw",
        tls: false,
        workerId: "h:1",
        prefix: "pw",
        leaseMs: 30000,
      },
    );
    assert.throws(() => readScaleOut({ redis: "http://x" }, "h"), /must start with redis:\/\//);
    assert.throws(() => readScaleOut({ redis: "redis://x", leaseMs: 5 }, "h"), /leaseMs .* at least 100/);
  });

  it("keeps a run's worker and hand-overs in its log line", function () {
    const r = record("r1", { worker: "w2", handovers: ["taken over by worker w2 after worker w1 stopped"] });
    const back = fromLine(toLine(r));
    assert.equal(back.worker, "w2");
    assert.deepEqual(back.handovers, r.handovers);
  });
});

describe("scale-out runs: the tracker takes a run over from its checkpoints", function () {
  it("gives a taken-over run the checkpoints its first worker left, once each, and notes the hand-over", function () {
    const saved = [];
    const tracker = new RunTracker({ save: (r) => saved.push(r) }, { settleMs: 5 });
    const pw = startRun({ flow: "f", trigger: "t" });
    tracker.begin(pw, {});
    tracker.takeOver(
      pw.run.id,
      { "pull:list": { pages: 3, next: "c3" } },
      "taken over by worker w2 after worker w1 stopped",
    );
    assert.deepEqual(tracker.resumePoint(pw.run.id, "pull:list"), { pages: 3, next: "c3" });
    assert.equal(tracker.resumePoint(pw.run.id, "pull:list"), undefined, "given once");
    const r = tracker.get(pw.run.id);
    assert.deepEqual(r.handovers, ["taken over by worker w2 after worker w1 stopped"]);
    assert.deepEqual(r.checkpoints, { "pull:list": { pages: 3, next: "c3" } });
    tracker.close();
  });

  it("takes over a run without checkpoints from its start", function () {
    const tracker = new RunTracker({ save: () => undefined }, { settleMs: 5 });
    const pw = startRun({ flow: "f", trigger: "t" });
    tracker.begin(pw, {});
    tracker.takeOver(pw.run.id, undefined, "note");
    assert.equal(tracker.resumePoint(pw.run.id, "pull:list"), undefined);
    assert.equal(tracker.get(pw.run.id).checkpoints, undefined);
    tracker.close();
  });
});

describe("scale-out runs: callback answers cross workers", function () {
  const { awaitCallback, answerCallback, setCallbackRelay, deliverCallback } = lib("runs/callbacks");
  afterEach(() => setCallbackRelay(undefined));

  it("answers a waiter in this process directly, and relays an answer nobody here waits for", function () {
    const relayed = [];
    setCallbackRelay({ relay: (id, reply) => relayed.push([id, reply.payload]) > 0 });
    const got = [];
    awaitCallback(
      "here",
      1000,
      (reply) => got.push(reply.payload),
      () => undefined,
    );
    assert.equal(answerCallback("here", { status: 200, headers: {}, payload: 1, format: "json" }), true);
    assert.equal(answerCallback("elsewhere", { status: 200, headers: {}, payload: 2, format: "json" }), true);
    assert.deepEqual(got, [1]);
    assert.deepEqual(relayed, [["elsewhere", 2]]);
    // A relayed answer arriving at a worker where nobody waits goes no further.
    assert.equal(
      deliverCallback("elsewhere", { status: 200, headers: {}, payload: 2, format: "json" }),
      false,
    );
  });

  it("answers false without a relay (the embedded mode) when nobody waits", function () {
    assert.equal(answerCallback("nobody", { status: 200, headers: {}, payload: 0, format: "json" }), false);
  });
});

describe("scale-out runs: the embedded mode loads no Redis client", function () {
  it("requires neither bullmq nor ioredis when the runs plugin and the trigger load without scaleOut", function () {
    const code = `
      require(${JSON.stringify(path.join(root, "dist", "pw-runs.js"))});
      require(${JSON.stringify(path.join(root, "dist", "pw-trigger.js"))});
      const loaded = Object.keys(require.cache).filter((k) => /node_modules[\\\\/](bullmq|ioredis)[\\\\/]/.test(k));
      process.stdout.write(String(loaded.length));`;
    assert.equal(execFileSync(process.execPath, ["-e", code], { encoding: "utf8" }), "0");
  });
});

describe("scale-out runs: Redis parts", function () {
  this.timeout(20000);
  let redis;
  let connectRedis;
  let conns = [];
  const connect = () => {
    const c = connectRedis({ host: "127.0.0.1", port: redis.port, db: 0, tls: false }, "test");
    conns.push(c);
    return c;
  };
  before(async () => {
    redis = await startRedis();
    ({ connectRedis } = lib("scale/redis"));
  });
  after(async () => {
    for (const c of conns) c.disconnect();
    await redis.close();
  });

  it("gives a trigger's slots to at most `limit` runs across callers, and back when a lease runs out", async function () {
    const { TriggerSlots } = lib("scale/slots");
    const a = new TriggerSlots(connect(), "s1", 300);
    const b = new TriggerSlots(connect(), "s1", 300);
    assert.equal(await a.acquire("trig", "r1", 2), true);
    assert.equal(await b.acquire("trig", "r2", 2), true);
    assert.equal(await b.acquire("trig", "r3", 2), false, "the third waits");
    assert.equal(await a.acquire("trig", "r1", 2), true, "a holder asking again keeps its slot");
    await a.release("trig", "r1");
    assert.equal(await b.acquire("trig", "r3", 2), true, "a released slot is free");
    // r2's worker dies (renews nothing): its slot comes back after the lease; r3's renewed lease stays.
    await new Promise((r) => setTimeout(r, 200));
    await b.renew([["r3", "trig"]]);
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(await a.holders("trig"), ["r3"]);
    assert.equal(await a.acquire("trig", "r4", 2), true);
  });

  it("keeps one run log for all workers: each writes, any lists newest first, filters and reads", async function () {
    const { RedisRunLog, matches } = lib("scale/run-log");
    const w1 = new RedisRunLog(connect(), { prefix: "l1", maxRuns: 3, maxAgeMs: 1000 });
    const w2 = new RedisRunLog(connect(), { prefix: "l1", maxRuns: 3, maxAgeMs: 1000 });
    w1.save(record("0001", { worker: "w1", status: "failed", errors: [{ message: "HubSpot said 409" }] }));
    w2.save(record("0002", { worker: "w2", trigger: "other" }));
    await w2.saveNow(record("0003", { worker: "w2", status: "running", endedAt: undefined }));
    await w1.flush();
    const all = await w2.list();
    assert.deepEqual(
      all.map((r) => [r.id, r.worker]),
      [
        ["0003", "w2"],
        ["0002", "w2"],
        ["0001", "w1"],
      ],
    );
    assert.deepEqual(
      (await w1.list({ status: ["failed"] })).map((r) => r.id),
      ["0001"],
    );
    assert.deepEqual(
      (await w1.list({ q: "409" })).map((r) => r.id),
      ["0001"],
    );
    assert.deepEqual(
      (await w1.list({ before: "0003", limit: 1 })).map((r) => r.id),
      ["0002"],
    );
    assert.equal((await w1.get("0002")).worker, "w2");
    assert.equal(w1.cached("0002").trigger, "other", "read records are kept for the tracker");
    assert.equal(matches(record("x", { tracked: { order: ["#1042"] } }), { tracked: "#1042" }), true);
    assert.equal(
      matches(record("x", { tracked: { order: ["#1042"] } }), { tracked: "#1042", trackedName: "email" }),
      false,
    );
    // Past the cap, the oldest finished runs go; a running one stays.
    w1.save(record("0004"));
    w1.save(record("0005"));
    await w1.flush();
    await w1.prune(1500);
    assert.deepEqual(
      (await w2.list()).map((r) => r.id),
      ["0005", "0004", "0003"],
    );
    // A run handed back is not written by the worker that gave it up.
    w1.forget("0003");
    w1.save(record("0003", { status: "failed" }));
    await w1.flush();
    assert.equal((await w2.get("0003")).status, "running");
  });

  it("warns, and neither throws nor rejects unhandled, when a control message cannot be handled", async function () {
    const { RedisRunService } = lib("scale/run-queue");
    const warnings = [];
    const service = new RedisRunService({
      scale: readScaleOut({ redis: `redis://127.0.0.1:${redis.port}/0`, prefix: "q1", workerId: "w1" }, "x"),
      tracker: { whenFinished() {} },
      log: { get: () => Promise.reject(new Error("the line is damaged")) },
      maxConcurrent: 1,
      maxQueued: 10,
      warn: (m) => warnings.push(m),
    });
    const unhandled = [];
    const onUnhandled = (err) => unhandled.push(err);
    process.on("unhandledRejection", onUnhandled);
    try {
      await service.start();
      service.tracker.whenFinished("r1", () => {});
      await connect().publish("q1:control", JSON.stringify({ op: "ended", id: "r1" }));
      for (let i = 0; i < 50 && warnings.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(unhandled, []);
      assert.match(warnings.join("\n"), /the end of run r1 could not be read: the line is damaged/);
      // A handler that throws (this fake tracker has no isActive) throws inside ioredis: warned, not fatal.
      await connect().publish("q1:control", JSON.stringify({ op: "stop", id: "r2", reason: "x" }));
      for (let i = 0; i < 50 && warnings.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      assert.match(warnings[1], /a stop message for run r2 failed/);
    } finally {
      process.off("unhandledRejection", onUnhandled);
      await service.close();
    }
  });

  it("acknowledges a run only once Redis took its line, and writes a batch Redis refused later", async function () {
    const { RedisRunLog } = lib("scale/run-log");
    const conn = connect();
    const log = new RedisRunLog(conn, { prefix: "l2", maxRuns: 10, maxAgeMs: 60000, flushMs: 10 });
    // A key of the wrong type: Redis refuses the HSET (as it would an OOM or a read-only replica).
    await conn.set("l2:log:lines", "not a hash");
    await assert.rejects(log.saveNow(record("0001")), /WRONGTYPE/);
    log.save(record("0002"));
    await assert.rejects(log.flush(), /WRONGTYPE/);
    await conn.del("l2:log:lines");
    await log.saveNow(record("0003"));
    await log.flush();
    assert.deepEqual(
      (await log.list()).map((r) => r.id),
      ["0003", "0002"],
      "the refused batch is written with the next flush; the earlier failure does not block later writes",
    );
    log.close();
  });
});
