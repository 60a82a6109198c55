const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { lib } = require("../support/dist");
const { RunQueue, FileQueuePersistence, priorityRank } = lib("runs/queue");
const { RunService } = lib("runs/service");
const { RunTracker } = lib("runs/tracker");
const { startRun } = lib("message");
const { fakeClock } = require("../support/fake-clock");

const memory = () => ({
  saved: [],
  load: async () => [],
  save(items) {
    this.saved = items;
  },
});
const item = (runId, trigger, rank = 2, limit = 0) => ({
  runId,
  trigger,
  rank,
  limit,
  enqueuedAt: 0,
  message: "{}",
});

describe("run queue", function () {
  it("gives slots within the global and per-trigger limits", function () {
    const q = new RunQueue(memory(), { maxConcurrent: 2, maxQueued: 10 });
    assert.equal(q.tryAcquire("a", 1), true);
    assert.equal(q.tryAcquire("a", 1), false, "trigger a is at its limit");
    assert.equal(q.tryAcquire("b", 0), true);
    assert.equal(q.tryAcquire("c", 0), false, "the global limit");
    q.acquire("c");
    assert.equal(q.runningCount, 3, "manual runs take a slot regardless");
    q.release("a");
    q.release("c");
    assert.equal(q.tryAcquire("a", 1), true);
  });

  it("releases waiting runs by priority, then in arrival order, for deployed triggers only", function () {
    const q = new RunQueue(memory(), { maxConcurrent: 10, maxQueued: 10 });
    q.enqueue(item("r1", "a", priorityRank("low"), 1));
    q.enqueue(item("r2", "b", priorityRank("regular")));
    q.enqueue(item("r3", "a", priorityRank("highest"), 1));
    q.enqueue(item("r4", "b", priorityRank("regular")));
    q.enqueue(item("r5", "gone", priorityRank("highest")));
    const started = q.takeStartable((t) => t !== "gone");
    assert.deepEqual(
      started.map((i) => i.runId),
      ["r3", "r2", "r4"],
    );
    assert.deepEqual(
      q.list().map((i) => i.runId),
      ["r5", "r1"],
      "r1 waits for a's slot, r5 for its trigger",
    );
  });

  it("refuses runs beyond the cap and cancels waiting ones", function () {
    const store = memory();
    const q = new RunQueue(store, { maxConcurrent: 1, maxQueued: 2 });
    assert.equal(q.enqueue(item("r1", "a")), true);
    assert.equal(q.enqueue(item("r2", "a")), true);
    assert.equal(q.enqueue(item("r3", "a")), false);
    assert.equal(q.cancel("r1").runId, "r1");
    assert.equal(q.cancel("r1"), undefined);
    assert.deepEqual(
      store.saved.map((i) => i.runId),
      ["r2"],
    );
  });

  it("persists the queue to a file and loads it again", async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-queue-"));
    const file = path.join(dir, "queue.json");
    const persistence = new FileQueuePersistence(file, 1);
    const q = new RunQueue(persistence, { maxConcurrent: 1, maxQueued: 10 });
    q.enqueue({ ...item("r1", "a"), message: '{"payload":{"order":1}}' });
    await persistence.close();
    const again = new RunQueue(new FileQueuePersistence(file), { maxConcurrent: 1, maxQueued: 10 });
    await again.open();
    assert.deepEqual(
      again.list().map((i) => [i.runId, i.message]),
      [["r1", '{"payload":{"order":1}}']],
    );
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("run service", function () {
  function setup(maxConcurrent = 1) {
    const clock = fakeClock(0);
    const records = new Map();
    let service;
    const tracker = new RunTracker(
      { save: (r) => records.set(r.id, r) },
      { clock, settleMs: 10, onEnd: (r) => service.ended(r) },
    );
    const queue = new RunQueue(memory(), { maxConcurrent, maxQueued: 5 });
    service = new RunService(tracker, queue, { get: (id) => records.get(id) }, clock);
    service.setFlowsRunning(true);
    const launched = [];
    service.registerTrigger("t", { limit: 1, launch: (m) => launched.push(m) });
    const submit = (payload, opts = {}) => {
      const pw = startRun({ flow: "f", trigger: "t", via: "webhook" });
      const sent = [];
      const admission = service.submit(
        pw,
        payload,
        { payload, pw, webhook: { rawBody: Buffer.from("raw") } },
        { rank: 2, limit: 1, ...opts },
        (m) => sent.push(m),
      );
      return { pw, admission, sent };
    };
    return { clock, records, service, launched, submit };
  }

  it("starts a run at once when a slot is free, else queues it and starts it when the slot frees", function () {
    const { clock, records, launched, submit } = setup();
    const first = submit({ n: 1 });
    assert.equal(first.admission, "started");
    assert.equal(first.sent.length, 1);
    const second = submit({ n: 2 });
    assert.equal(second.admission, "queued");
    assert.equal(records.get(second.pw.run.id).status, "queued");
    clock.advance(10);
    assert.equal(records.get(first.pw.run.id).status, "succeeded");
    assert.equal(launched.length, 1, "the queued run started");
    assert.deepEqual(launched[0].payload, { n: 2 });
    assert.ok(Buffer.isBuffer(launched[0].webhook.rawBody), "buffers survive the queue");
    assert.equal(launched[0].webhook.rawBody.toString(), "raw");
    assert.equal(records.get(second.pw.run.id).status, "running");
    assert.equal(records.get(second.pw.run.id).queuedAt, 0);
  });

  it("starts queued runs only while flows are running", function () {
    const { clock, service, launched, submit } = setup();
    submit({});
    submit({ n: 2 });
    service.setFlowsRunning(false);
    clock.advance(10);
    assert.equal(launched.length, 0, "held while flows are stopped");
    service.setFlowsRunning(true);
    assert.equal(launched.length, 1);
  });

  it("lets manual runs skip the queue while counting them", function () {
    const { submit, service } = setup();
    submit({});
    assert.equal(submit({}, { skipQueue: true }).admission, "started");
    assert.equal(service.queue.runningCount, 2);
  });

  it("says full when the queue is, and cancels a queued run as stopped", function () {
    const { submit, service, records } = setup();
    submit({});
    const waiting = [1, 2, 3, 4, 5].map((n) => submit({ n }));
    assert.equal(submit({ n: 6 }).admission, "full");
    assert.equal(service.cancel(waiting[0].pw.run.id), true);
    assert.equal(records.get(waiting[0].pw.run.id).status, "stopped");
    assert.equal(service.cancel(waiting[0].pw.run.id), false);
  });
});
