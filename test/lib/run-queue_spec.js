const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { lib } = require("../support/dist");
const { RunQueue, MANUAL_RANK, priorityRank } = lib("runs/queue");
const { IntakeJournal } = lib("runs/journal");
const { RunService, INTERRUPTED } = lib("runs/service");
const { RunTracker } = lib("runs/tracker");
const { startRun } = lib("message");
const { fakeClock } = require("../support/fake-clock");

const item = (runId, trigger, rank = 2, limit = 0) => ({
  runId,
  trigger,
  rank,
  limit,
  seq: 0,
  enqueuedAt: 0,
  message: "{}",
});
const tick = () => new Promise((r) => setImmediate(r));
const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "pw-queue-"));

describe("run queue", function () {
  it("gives slots within the global and per-trigger limits", function () {
    const q = new RunQueue({ maxConcurrent: 2, maxQueued: 10 });
    assert.equal(q.tryAcquire("a", 1), true);
    assert.equal(q.tryAcquire("a", 1), false, "trigger a is at its limit");
    assert.equal(q.tryAcquire("b", 0), true);
    assert.equal(q.tryAcquire("c", 0), false, "the global limit");
    q.release("a");
    assert.equal(q.tryAcquire("a", 1), true);
    assert.equal(q.runningCount, 2);
  });

  it("releases waiting runs by priority (manual runs first), then in arrival order, for deployed triggers only", function () {
    const q = new RunQueue({ maxConcurrent: 10, maxQueued: 10 });
    q.enqueue(item("r1", "a", priorityRank("low"), 1));
    q.enqueue(item("r2", "b", priorityRank("regular")));
    q.enqueue(item("r3", "a", priorityRank("highest"), 1));
    q.enqueue(item("r4", "b", priorityRank("regular")));
    q.enqueue(item("r5", "gone", priorityRank("highest")));
    q.enqueue(item("m1", "b", MANUAL_RANK));
    const started = q.takeStartable((t) => t !== "gone");
    assert.deepEqual(
      started.map((i) => i.runId),
      ["m1", "r3", "r2", "r4"],
    );
    assert.deepEqual(
      q.list().map((i) => i.runId),
      ["r5", "r1"],
      "r1 waits for a's slot, r5 for its trigger",
    );
  });

  it("refuses runs beyond the cap and cancels waiting ones", function () {
    const q = new RunQueue({ maxConcurrent: 0, maxQueued: 2 });
    assert.equal(q.enqueue(item("r1", "a")), true);
    assert.equal(q.enqueue(item("r2", "a")), true);
    assert.equal(q.enqueue(item("r3", "a")), false);
    assert.equal(q.cancel("r1").runId, "r1");
    assert.equal(q.cancel("r1"), undefined);
    assert.deepEqual(
      q.list().map((i) => i.runId),
      ["r2"],
    );
    assert.equal(q.queuedCount, 1);
  });

  it("keeps arrival order across 50,000 waiting runs of several triggers, with cancels on the way", function () {
    const q = new RunQueue({ maxConcurrent: 100, maxQueued: 100000 });
    for (let n = 0; n < 50000; n++) q.enqueue(item(`r${n}`, `t${n % 7}`));
    for (let n = 0; n < 50000; n += 10) q.cancel(`r${n}`);
    const order = [];
    for (;;) {
      const taken = q.takeStartable(() => true);
      if (taken.length === 0) break;
      for (const t of taken) {
        order.push(Number(t.runId.slice(1)));
        q.release(t.trigger);
      }
    }
    assert.equal(order.length, 45000);
    assert.ok(
      order.every((n, i) => n % 10 !== 0 && (i === 0 || n > order[i - 1])),
      "in arrival order, cancelled runs skipped",
    );
  });
});

describe("intake journal", function () {
  const entry = (id, extra = {}) => ({
    ...item(id, "t"),
    run: { id, flow: "f", trigger: "t", startedAt: 0 },
    started: false,
    message: JSON.stringify({ payload: { id }, pw: { run: { id, flow: "f", trigger: "t" }, meta: {} } }),
    ...extra,
  });

  it("resolves an accept only once its line is on disk, and tells apart queued, interrupted and finished runs on load", async function () {
    const dir = tmpDir();
    const file = path.join(dir, "intake.jsonl");
    const j = new IntakeJournal(file);
    await j.load();
    await j.accept(entry("q1"));
    assert.match(fs.readFileSync(file, "utf8"), /"id":"q1"/, "on disk when the promise resolves");
    await Promise.all([
      j.accept(entry("s1", { started: true })),
      j.accept(entry("q2")),
      j.accept(entry("d1")),
    ]);
    const s2 = entry("s2");
    await j.accept(s2);
    await j.started([s2]);
    j.finished("d1", "succeeded");
    j.flushSync(); // as at shutdown: no await
    // A crash mid-append leaves half a line: its acknowledgement never went out.
    fs.appendFileSync(file, '{"op":"accept","id":"half","trig');

    const again = new IntakeJournal(file);
    const replay = await again.load();
    assert.deepEqual(
      replay.queued.map((e) => e.runId),
      ["q1", "q2"],
    );
    assert.deepEqual(JSON.parse(replay.queued[0].message).payload, { id: "q1" });
    assert.deepEqual(replay.interrupted.map((e) => e.runId).sort(), ["s1", "s2"]);
    assert.deepEqual([...replay.finals.keys()], ["d1"]);
    assert.equal(replay.finals.get("d1").status, "succeeded");
    await again.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("compacts itself down to the open runs once it passes its size limit", async function () {
    const dir = tmpDir();
    const file = path.join(dir, "intake.jsonl");
    const j = new IntakeJournal(file, { compactBytes: 4096 });
    await j.load();
    for (let n = 0; n < 200; n++) {
      await j.accept(entry(`r${n}`));
      if (n !== 150) j.finished(`r${n}`, "succeeded");
    }
    await j.accept(entry("last"));
    await j.close();
    assert.ok(fs.statSync(file).size < 8192, `the file stayed small (${fs.statSync(file).size} bytes)`);
    const replay = await new IntakeJournal(file).load();
    assert.deepEqual(
      replay.queued.map((e) => e.runId),
      ["r150", "last"],
    );
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("run service", function () {
  // Every launched run has its message in flight at the next node until `finish` completes it.
  const next = { id: "next", type: "change", takesDone: true };
  async function setup({ maxConcurrent = 1, maxQueued = 5, dir = tmpDir(), records = new Map() } = {}) {
    const clock = fakeClock(0);
    let service;
    const store = {
      get: (id) => records.get(id),
      save: (r) => records.set(r.id, r),
      unfinished: () => [...records.values()].filter((r) => r.status === "queued" || r.status === "running"),
    };
    const tracker = new RunTracker(store, {
      clock,
      settleMs: 10,
      onEnd: (r) => service.ended(r),
      onIdle: (id) => service.idle(id),
    });
    const queue = new RunQueue({ maxConcurrent, maxQueued });
    const journal = new IntakeJournal(path.join(dir, "intake.jsonl"));
    service = new RunService(tracker, queue, store, journal, clock);
    service.recover(await journal.load(), new Set());
    service.setFlowsRunning(true);
    const launched = [];
    const deliver = (list) => (m) => {
      list.push(m);
      tracker.preDeliver(next, m);
    };
    service.registerTrigger("t", { launch: deliver(launched) });
    const submit = (payload, opts = {}, webhook = {}) => {
      const pw = startRun({ flow: "f", trigger: "t", via: "webhook" });
      const sent = [];
      const submitted = service.submit(
        pw,
        payload,
        { payload, pw, webhook: { rawBody: Buffer.from("raw"), ...webhook } },
        { rank: 2, limit: 1, ...opts },
        deliver(sent),
      );
      return { pw, ...submitted, sent };
    };
    const finish = (m) => tracker.onComplete(next, m);
    return { clock, records, service, tracker, journal, launched, submit, finish, dir };
  }
  /** Launches from the queue wait for the journal's write (one write and fdatasync). */
  const settled = async (journal) => {
    await journal.flushed();
    await tick();
  };

  it("starts a run once it is on disk when a slot is free, else queues it and starts it when the slot frees", async function () {
    const { clock, records, launched, submit, finish, journal } = await setup();
    const first = submit({ n: 1 });
    assert.equal(first.admission, "started");
    assert.equal(first.sent.length, 0, "not before it is written");
    await first.written;
    assert.equal(first.sent.length, 1);
    const second = submit({ n: 2 });
    assert.equal(second.admission, "queued");
    await second.written;
    assert.equal(records.get(second.pw.run.id).status, "queued");
    finish(first.sent[0]);
    clock.advance(10);
    assert.equal(records.get(first.pw.run.id).status, "succeeded");
    await settled(journal);
    assert.equal(launched.length, 1, "the queued run started");
    assert.deepEqual(launched[0].payload, { n: 2 });
    assert.ok(Buffer.isBuffer(launched[0].webhook.rawBody), "buffers survive the queue");
    assert.equal(launched[0].webhook.rawBody.toString(), "raw");
    assert.equal(records.get(second.pw.run.id).status, "running");
    assert.equal(records.get(second.pw.run.id).queuedAt, 0);
  });

  it("writes a waiting webhook without its Authorization and Cookie headers, to a file only its owner reads", async function () {
    const { clock, submit, finish, journal, launched, dir } = await setup();
    const first = submit({ n: 1 });
    await first.written;
    const headers = {
      authorization: "Bearer caller-secret",
      cookie: "sid=abc",
      "x-shopify-topic": "orders/create",
    };
    const second = submit({ n: 2 }, {}, { headers });
    assert.equal(second.admission, "queued");
    await second.written;
    const text = fs.readFileSync(path.join(dir, "intake.jsonl"), "utf8");
    assert.ok(!text.includes("caller-secret") && !text.includes("sid=abc"), "no credentials on disk");
    assert.ok(text.includes("orders/create"), "the other headers are kept");
    assert.equal(fs.statSync(path.join(dir, "intake.jsonl")).mode & 0o777, 0o600);
    finish(first.sent[0]);
    clock.advance(10);
    await settled(journal);
    assert.deepEqual(launched[0].webhook.headers, { "x-shopify-topic": "orders/create" });
  });

  it("frees a run's slot as soon as nothing of it is in flight, not after the settle window, and only once", async function () {
    const { service, launched, submit, finish, tracker, records, journal } = await setup();
    const first = submit({ n: 1 });
    await first.written;
    const second = submit({ n: 2 });
    assert.equal(second.admission, "queued", "the first run holds the slot while busy");
    await second.written;
    finish(first.sent[0]);
    assert.equal(records.get(first.pw.run.id).status, "running", "still settling");
    await settled(journal);
    assert.equal(launched.length, 1, "the waiting run has the slot");
    assert.equal(service.queue.runningCount, 1);
    // Busy again after its slot went: it goes on without one, and its end frees nothing more.
    tracker.preDeliver(next, first.sent[0]);
    finish(first.sent[0]);
    assert.equal(service.queue.runningCount, 1);
  });

  it("starts a run of a trigger with nothing wired and frees its slot at once", async function () {
    const { service, submit } = await setup();
    const pw = startRun({ flow: "f", trigger: "t", via: "event" });
    const { written } = service.submit(pw, {}, { payload: {}, pw }, { rank: 2, limit: 0 }, () => undefined);
    await written;
    assert.equal(service.queue.runningCount, 0);
    assert.equal(submit({}).admission, "started");
  });

  it("queues manual runs ahead of every trigger priority, within the limits", async function () {
    const { launched, submit, finish, journal } = await setup({ maxConcurrent: 1 });
    const busy = submit({ n: 1 });
    await busy.written;
    const hook = submit({ n: 2 }, { rank: 0 });
    const manual = submit({ n: 3 }, { rank: MANUAL_RANK });
    assert.equal(hook.admission, "queued");
    assert.equal(manual.admission, "queued", "a manual run waits for a slot like any other");
    await Promise.all([hook.written, manual.written]);
    finish(busy.sent[0]);
    await settled(journal);
    assert.deepEqual(
      launched.map((m) => m.payload.n),
      [3],
      "the manual run goes first",
    );
  });

  it("says full when the queue is, and cancels a queued run as stopped", async function () {
    const { submit, service, records } = await setup();
    await submit({}).written;
    const waiting = [1, 2, 3, 4, 5].map((n) => submit({ n }));
    assert.equal(submit({ n: 6 }).admission, "full");
    await Promise.all(waiting.map((w) => w.written));
    assert.equal(service.cancel(waiting[0].pw.run.id), true);
    assert.equal(records.get(waiting[0].pw.run.id).status, "stopped");
    assert.equal(service.cancel(waiting[0].pw.run.id), false);
  });

  it("after a crash resumes queued runs, fails interrupted ones as retryable and never reruns a finished one", async function () {
    const a = await setup({ maxConcurrent: 2 });
    const done = a.submit({ n: 1 });
    await done.written;
    a.finish(done.sent[0]);
    a.clock.advance(10); // succeeded
    const running = a.submit({ n: 2 }); // still going at the crash
    await running.written;
    const queued = a.submit({ n: 3 }, { limit: 1 });
    await queued.written;
    assert.equal(queued.admission, "queued");
    a.journal.flushSync();
    // The crash: the store never wrote the running run (it was under a second old).
    const records = new Map([[done.pw.run.id, a.records.get(done.pw.run.id)]]);

    const b = await setup({ maxConcurrent: 2, dir: a.dir, records });
    await settled(b.journal);
    assert.deepEqual(
      b.launched.map((m) => m.payload.n),
      [3],
      "only the queued run starts",
    );
    const interrupted = records.get(running.pw.run.id);
    assert.equal(interrupted.status, "failed");
    assert.equal(interrupted.reason, INTERRUPTED);
    assert.deepEqual(JSON.parse(interrupted.input.payloadJson), { n: 2 }, "it can be retried");
    assert.equal(records.get(done.pw.run.id).status, "succeeded");
  });
});
