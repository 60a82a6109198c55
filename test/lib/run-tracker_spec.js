// The tracker fed synthetic hook events, in the order Node-RED raises them.
const assert = require("node:assert/strict");
const { lib } = require("../support/dist");
const { fakeClock } = require("../support/fake-clock");
const { RunTracker } = lib("runs/tracker");
const { startRun } = lib("message");

const node = (id, takesDone = true, type = "function") => ({ id, type, takesDone });

function setup(opts = {}) {
  const clock = fakeClock(1_000_000);
  const saved = [];
  const tracker = new RunTracker(
    { save: (r) => saved.push(r.status) },
    { clock, settleMs: 100, inactivityMs: 60_000, ...opts },
  );
  const pw = startRun({ flow: "f", trigger: "t", via: "manual" });
  const rec = tracker.begin(pw, { orders: [1, 2] });
  const msg = (extra = {}) => ({ payload: [1, 2, 3], pw, ...extra });
  return { clock, tracker, pw, msg, saved, record: () => rec };
}

/**
 * A node receiving a routed message and finishing it with done; done(err) then reports the
 * error with the message, as Node-RED's Node.prototype.error does.
 */
function pass(tracker, n, m, error) {
  tracker.preDeliver(n, m);
  tracker.onReceive(n, m);
  tracker.postReceive(n, m);
  if (n.takesDone) tracker.onComplete(n, m);
  if (error) tracker.messageError(n, m, error);
}

describe("run tracker", function () {
  it("ends a run once nothing is in flight for the settle window", function () {
    const { clock, tracker, pw, msg } = setup();
    const m = msg();
    tracker.onSend(node("t"), m);
    tracker.preDeliver(node("a"), m);
    clock.advance(500);
    assert.equal(tracker.get(pw.run.id).status, "running", "still in flight");
    tracker.onReceive(node("a"), m);
    tracker.postReceive(node("a"), m);
    tracker.onComplete(node("a"), m);
    clock.advance(99);
    assert.ok(tracker.isActive(pw.run.id));
    clock.advance(1);
    assert.ok(!tracker.isActive(pw.run.id));
  });

  it("keeps the run open while a node sends again within the settle window", function () {
    const { clock, tracker, pw, msg, saved } = setup();
    const first = msg();
    pass(tracker, node("a"), first);
    clock.advance(50);
    const later = msg();
    tracker.onSend(node("a"), later);
    pass(tracker, node("b"), later);
    clock.advance(99);
    assert.ok(tracker.isActive(pw.run.id));
    clock.advance(1);
    assert.deepEqual(saved, ["running", "succeeded"]);
  });

  it("counts messages and records in and out per node, and time spent", function () {
    const { clock, tracker, msg, record } = setup();
    const m = msg();
    tracker.preDeliver(node("a"), m);
    tracker.onReceive(node("a"), m);
    clock.advance(30);
    const out = { ...m, payload: [1] };
    tracker.onSend(node("a"), out);
    tracker.postReceive(node("a"), m);
    tracker.onComplete(node("a"), m);
    const step = record().steps.a;
    assert.equal(step.messagesIn, 1);
    assert.equal(step.recordsIn, 3);
    assert.equal(step.messagesOut, 1);
    assert.equal(step.recordsOut, 1);
    assert.equal(step.timeMs, 30);
  });

  it("counts a message that reached a node without the router (Catch, link in) once", function () {
    const { clock, tracker, pw, msg } = setup();
    const m = msg();
    tracker.onReceive(node("linkin", false, "link in"), m);
    assert.ok(tracker.isActive(pw.run.id));
    tracker.postReceive(node("linkin", false, "link in"), m);
    clock.advance(100);
    assert.ok(!tracker.isActive(pw.run.id));
  });

  it("ends messages at postReceive for nodes whose handler takes no done", function () {
    const { clock, tracker, pw, msg } = setup();
    const m = msg();
    const sw = node("switch", false, "switch");
    tracker.preDeliver(sw, m);
    tracker.onReceive(sw, m);
    tracker.postReceive(sw, m);
    clock.advance(100);
    assert.equal(tracker.isActive(pw.run.id), false);
  });

  it("restores the run context a node dropped when that node has one run in flight", function () {
    const { tracker, pw, msg, record } = setup();
    const m = msg();
    tracker.preDeliver(node("fn"), m);
    tracker.onReceive(node("fn"), m);
    const fresh = { payload: "new object" };
    tracker.onSend(node("fn"), fresh);
    assert.equal(fresh.pw, pw);
    assert.equal(record().steps.fn.messagesOut, 1);
  });

  it("marks sends it cannot attribute as untracked", function () {
    const { tracker, msg, record } = setup();
    const other = startRun({ flow: "f", trigger: "t" });
    tracker.begin(other, {});
    const a = msg();
    const b = { payload: 1, pw: other };
    tracker.preDeliver(node("fn"), a);
    tracker.onReceive(node("fn"), a);
    tracker.preDeliver(node("fn"), b);
    tracker.onReceive(node("fn"), b);
    const orphan = { payload: "no context" };
    tracker.onSend(node("fn"), orphan);
    assert.equal(orphan.pw, undefined);
    assert.equal(record().steps.fn.untracked, 1);
  });

  it("fails a run with an error no Catch node handled, naming the node", function () {
    const { clock, tracker, msg, record, saved } = setup();
    pass(tracker, node("http", true, "http request"), msg(), new Error("connect ECONNREFUSED"));
    clock.advance(100);
    assert.equal(record().status, "failed");
    assert.deepEqual(
      record().errors.map((e) => [e.node, e.message, e.handled]),
      [["http", "connect ECONNREFUSED", false]],
    );
    assert.equal(record().steps.http.errors, 1);
    assert.deepEqual(saved, ["running", "failed"]);
  });

  it("counts an error reported for a message once, though a Catch node tells of it too", function () {
    const { clock, tracker, msg, record } = setup();
    const m = msg();
    pass(tracker, node("x"), m, new Error("bad record 3"));
    const caught = { ...m, error: { message: "bad record 3", source: { id: "x" } } };
    pass(tracker, node("c", false, "catch"), caught);
    clock.advance(100);
    assert.deepEqual(
      record().errors.map((e) => [e.node, e.message, e.handled]),
      [["x", "bad record 3", true]],
    );
    assert.equal(record().status, "succeeded");
  });

  it("treats an error a Catch node received as handled, in either order", function () {
    const { clock, tracker, msg, record } = setup();
    const m = msg();
    tracker.preDeliver(node("x"), m);
    tracker.onReceive(node("x"), m);
    const caught = { ...msg(), error: { message: "boom", source: { id: "x" } } };
    tracker.onReceive(node("c", false, "catch"), caught);
    tracker.postReceive(node("c", false, "catch"), caught);
    tracker.onComplete(node("x"), m);
    tracker.messageError(node("x"), m, new Error("boom"));
    clock.advance(100);
    assert.equal(record().status, "succeeded");
    assert.equal(record().errors[0].handled, true);
  });

  it("attributes a logged error to the runs at that node only", function () {
    const { tracker, msg, record } = setup();
    const m = msg();
    tracker.preDeliver(node("slow"), m);
    tracker.onReceive(node("slow"), m);
    tracker.nodeError({ id: "elsewhere" }, "not ours");
    tracker.nodeError({ id: "slow", name: "Slow API" }, "timeout");
    assert.deepEqual(
      record().errors.map((e) => [e.node, e.name, e.message]),
      [["slow", "Slow API", "timeout"]],
    );
  });

  it("ends a run with unfinished messages as timed out after the inactivity timeout", function () {
    const { clock, tracker, msg, record } = setup();
    const m = msg();
    tracker.preDeliver(node("never"), m);
    tracker.onReceive(node("never"), m);
    clock.advance(59_000);
    assert.equal(record().status, "running");
    clock.advance(20_000);
    assert.equal(record().status, "timed out");
    assert.match(record().reason, /no activity for 60 s with 1 message\(s\) unfinished/);
  });

  it("stops a run: it ends as stopped and its messages are held back", function () {
    const { tracker, pw, msg, record } = setup();
    const m = msg();
    tracker.preDeliver(node("a"), m);
    assert.equal(tracker.stop(pw.run.id), true);
    assert.equal(record().status, "stopped");
    assert.equal(tracker.isActive(pw.run.id), false, "no longer live");
    assert.equal(tracker.preDeliver(node("b"), msg()), false);
    assert.equal(tracker.onReceive(node("a"), m), false);
    assert.equal(tracker.stop(pw.run.id), false, "already ended");
  });

  it("ends with failures when a shape reported failed records", function () {
    const { clock, tracker, pw, msg } = setup();
    const seen = [];
    pass(tracker, node("a"), msg());
    tracker.failedRecords(pw.run.id, 2);
    const saved = tracker.get(pw.run.id);
    clock.advance(100);
    seen.push(saved.status, saved.reason);
    assert.deepEqual(seen, ["completed with failures", "2 record(s) went to a failure output"]);
  });

  it("keeps the trigger payload and meta for retry, within a cap", function () {
    const clock = fakeClock(0);
    const tracker = new RunTracker({ save() {} }, { clock, inputCapBytes: 20 });
    const small = startRun({ flow: "f", trigger: "t" });
    small.meta.k = "v";
    const payload = { a: [1] };
    const rec = tracker.begin(small, payload);
    payload.a.push(2);
    assert.equal(rec.input.payloadJson, '{"a":[1]}');
    assert.deepEqual(rec.input.meta, { k: "v" });
    const big = tracker.begin(startRun({ flow: "f", trigger: "t" }), { text: "x".repeat(100) });
    assert.equal(big.input.truncated, true);
    assert.equal(big.input.payloadJson, undefined);
    assert.ok(big.input.bytes > 20, "over the cap");
  });

  it("redacts secret-looking keys in the kept trigger payload, as in snapshots", function () {
    const tracker = new RunTracker({ save() {} }, { clock: fakeClock(0) });
    const rec = tracker.begin(startRun({ flow: "f", trigger: "t" }), {
      order: 7,
      auth: { api_key: "sk-live-123", user: "ada" },
      items: [{ token: "t0k" }],
    });
    assert.deepEqual(JSON.parse(rec.input.payloadJson), { order: 7, auth: "***", items: [{ token: "***" }] });
    assert.ok(!rec.input.payloadJson.includes("sk-live-123"));
  });

  it("never serialises a trigger payload it can tell is over the cap", function () {
    const tracker = new RunTracker({ save() {} }, { clock: fakeClock(0), inputCapBytes: 1024 });
    let serialised = 0;
    const rows = Array.from({ length: 5000 }, (_, i) => ({
      i,
      toJSON() {
        serialised++;
        return { i };
      },
    }));
    const rec = tracker.begin(startRun({ flow: "f", trigger: "t" }), rows);
    assert.equal(rec.input.truncated, true);
    assert.equal(rec.input.payloadJson, undefined);
    assert.equal(serialised, 0);
    const cyclic = { name: "loop" };
    cyclic.self = cyclic;
    assert.equal(tracker.begin(startRun({ flow: "f", trigger: "t" }), cyclic).input.truncated, true);
    const dated = tracker.begin(startRun({ flow: "f", trigger: "t" }), { at: new Date(0), skip: undefined });
    assert.equal(dated.input.payloadJson, '{"at":"1970-01-01T00:00:00.000Z"}');
  });

  it("ends a run whose trigger has nothing wired", function () {
    const clock = fakeClock(0);
    const tracker = new RunTracker({ save() {} }, { clock, settleMs: 100 });
    const pw = startRun({ flow: "f", trigger: "t" });
    const rec = tracker.begin(pw, {});
    clock.advance(100);
    assert.equal(rec.status, "succeeded");
    assert.equal(rec.durationMs, 100);
  });
});

describe("run tracker: each run's errors are its own", function () {
  function two(opts) {
    const clock = fakeClock(1_000_000);
    const ended = [];
    const tracker = new RunTracker(
      { save: () => {} },
      { clock, settleMs: 100, inactivityMs: 60_000, onEnd: (r) => ended.push(r), ...opts },
    );
    const a = startRun({ flow: "f", trigger: "t" });
    const b = startRun({ flow: "f", trigger: "t" });
    tracker.begin(a, {});
    tracker.begin(b, {});
    return { clock, tracker, a, b, ended, status: (pw) => tracker.get(pw.run.id)?.status };
  }

  it("gives an error raised for run A's message to A only, though B has a message at the same node", function () {
    const { clock, tracker, a, b, ended } = two();
    const x = node("x");
    const ma = { payload: 1, pw: a };
    const mb = { payload: 2, pw: b };
    tracker.preDeliver(x, ma);
    tracker.onReceive(x, ma);
    tracker.preDeliver(x, mb);
    tracker.onReceive(x, mb);
    tracker.onComplete(x, ma);
    tracker.messageError(x, ma, new Error("record 3 is bad"));
    tracker.onComplete(x, mb);
    clock.advance(100);
    const byId = Object.fromEntries(ended.map((r) => [r.id, r]));
    assert.equal(byId[a.run.id].status, "failed");
    assert.equal(byId[b.run.id].status, "succeeded");
    assert.deepEqual(byId[b.run.id].errors, []);
  });

  it("gives an error logged without a message to the run the node is handling, else to the runs at the node", function () {
    const { tracker, a, b } = two();
    const sw = node("sw", false, "switch");
    const slow = node("slow");
    const mb = { payload: 2, pw: b };
    tracker.preDeliver(slow, mb);
    tracker.onReceive(slow, mb);
    const ma = { payload: 1, pw: a };
    tracker.preDeliver(sw, ma);
    tracker.onReceive(sw, ma);
    tracker.postReceive(sw, ma);
    tracker.nodeError({ id: "sw" }, "invalid rule");
    tracker.nodeError({ id: "slow" }, "socket hang up");
    assert.deepEqual(
      tracker.get(a.run.id).errors.map((e) => e.message),
      ["invalid rule"],
    );
    assert.deepEqual(
      tracker.get(b.run.id).errors.map((e) => e.message),
      ["socket hang up"],
    );
  });

  it("ignores an error raised for a message of no run it follows, and says so", function () {
    const { tracker } = two();
    assert.equal(tracker.messageError(node("x"), { payload: 1 }, new Error("boom")), false);
    assert.equal(tracker.messageError(node("x"), { payload: 1, pw: { run: { id: 7 } } }, "boom"), false);
  });
});

describe("run tracker: late messages and timeouts", function () {
  it("reopens a run when a node sends one of its messages after it ended, and tells its end once", function () {
    const ended = [];
    const { clock, tracker, pw, msg, saved } = setup({ onEnd: (r) => ended.push(r.status) });
    const held = msg();
    pass(tracker, node("trigger", true, "trigger"), held);
    clock.advance(100);
    assert.equal(tracker.get(pw.run.id), undefined, "ended");
    assert.deepEqual(ended, ["succeeded"]);
    // The core trigger node's second message, 300 ms later, from its own timer.
    clock.advance(200);
    const late = msg();
    tracker.onSend(node("trigger", true, "trigger"), late);
    tracker.preDeliver(node("out"), late);
    const live = tracker.get(pw.run.id);
    assert.equal(live.status, "running");
    assert.equal(live.late, 1);
    tracker.onReceive(node("out"), late);
    tracker.onComplete(node("out"), late);
    clock.advance(100);
    assert.equal(tracker.get(pw.run.id), undefined);
    assert.deepEqual(saved.slice(-2), ["running", "succeeded"]);
    assert.deepEqual(ended, ["succeeded"], "whoever waited was told once");
    assert.equal(live.steps.out.messagesIn, 1, "the late step is part of the run");
  });

  it("does not reopen a run after the late window", function () {
    const { clock, tracker, pw, msg } = setup({ lateWindowMs: 1000 });
    pass(tracker, node("a"), msg());
    clock.advance(100);
    clock.advance(1001);
    const late = msg();
    tracker.onSend(node("a"), late);
    assert.equal(tracker.preDeliver(node("b"), late), true);
    assert.equal(tracker.get(pw.run.id), undefined);
  });

  it("remembers ended runs for late messages only within the window and up to the count", function () {
    const clock = fakeClock(1_000_000);
    const tracker = new RunTracker(
      { save: () => {} },
      { clock, settleMs: 100, inactivityMs: 60_000, lateWindowMs: 1000, lateRunsKept: 2 },
    );
    const end = () => {
      const pw = startRun({ flow: "f", trigger: "t" });
      tracker.begin(pw, {});
      clock.advance(100);
      return pw;
    };
    const late = (pw) => {
      const m = { payload: 1, pw };
      tracker.onSend(node("hold"), m);
      return tracker.preDeliver(node("out"), m) && tracker.get(pw.run.id) !== undefined;
    };
    const [a, b, c] = [end(), end(), end()];
    assert.equal(late(a), false, "beyond the count: the oldest went first");
    assert.equal(late(c), true, "kept");
    clock.advance(2000);
    end();
    assert.equal(late(b), false, "past the window: let go as a newer run ended");
  });

  it("holds back the messages of a run that timed out, as of a stopped run", function () {
    const { clock, tracker, pw, msg, record } = setup();
    const m = msg();
    tracker.preDeliver(node("never"), m);
    tracker.onReceive(node("never"), m);
    clock.advance(80_000);
    assert.equal(record().status, "timed out");
    assert.equal(tracker.preDeliver(node("next"), msg()), false, "not delivered");
    assert.equal(tracker.onReceive(node("next"), msg()), false);
    assert.equal(tracker.get(pw.run.id), undefined, "not reopened");
  });
});

describe("run tracker signals and requests", function () {
  it("aborts the run's signal when it is stopped, so waits end at once", function () {
    const { tracker, pw } = setup();
    const signal = tracker.signal(pw.run.id);
    let reason;
    signal.addEventListener("abort", () => (reason = signal.reason.message));
    tracker.stop(pw.run.id, "stopped from the sidebar");
    assert.equal(signal.aborted, true);
    assert.equal(reason, "stopped from the sidebar");
    assert.equal(tracker.signal(pw.run.id), undefined);
  });

  it("aborts the signal when a run ends normally too", function () {
    const { clock, tracker, pw } = setup();
    const signal = tracker.signal(pw.run.id);
    clock.advance(100);
    assert.equal(signal.aborted, true);
  });

  it("lists requests on the step that made them, keeping the latest 200", function () {
    const { tracker, pw, record } = setup();
    for (let i = 0; i < 205; i++) {
      tracker.recordRequest(
        pw.run.id,
        { id: "conn", type: "pw-connection" },
        {
          method: "GET",
          url: `https://shop.example.com/orders.json?page=${i}`,
          status: 200,
          attempts: 1,
          durationMs: 12,
          at: i,
        },
      );
    }
    const step = record().steps.conn;
    assert.equal(step.requests.length, 200);
    assert.equal(step.requestsDropped, 5);
    assert.match(step.requests[0].url, /page=5$/);
  });
});

describe("run tracker steps inside a shape", function () {
  it("adds a shape's own work (a service's pull, map, send) to steps of their own, summed", function () {
    const { tracker, pw, record } = setup();
    const pull = { id: "svc:pull", type: "pw-service", name: "svc: pull" };
    tracker.recordStep(pw.run.id, pull, { messagesOut: 1, recordsOut: 3 });
    tracker.recordStep(pw.run.id, pull, { messagesOut: 1, recordsOut: 2, errors: 1, timeMs: 7.9 });
    tracker.recordStep("no-such-run", pull, { recordsOut: 99 });
    const step = record().steps["svc:pull"];
    assert.equal(step.name, "svc: pull");
    assert.equal(step.type, "pw-service");
    assert.deepEqual(
      [step.messagesIn, step.messagesOut, step.recordsIn, step.recordsOut, step.errors, step.timeMs],
      [0, 2, 0, 5, 1, 7],
    );
  });
});

describe("run tracker scopes (branch)", function () {
  const scoped = (pw, token) => ({ payload: {}, pw: { ...pw, scope: [token] } });
  /** The branch shape holds its own message while its outputs run, keeping the run open. */
  function setupBranch() {
    const s = setup();
    const held = s.msg();
    s.tracker.preDeliver(node("br"), held);
    s.tracker.onReceive(node("br"), held);
    return s;
  }

  it("closes a scope once its messages, and what they started, are done for the settle window", function () {
    const { clock, tracker, pw } = setupBranch();
    const closed = [];
    tracker.openScope(pw.run.id, "b1", (r) => closed.push(r));
    const m = scoped(pw, "b1");
    tracker.preDeliver(node("a"), m);
    tracker.onReceive(node("a"), m);
    const child = { ...m, payload: [1] };
    tracker.onSend(node("a"), child);
    tracker.preDeliver(node("b"), child);
    tracker.onComplete(node("a"), m);
    clock.advance(150);
    assert.equal(closed.length, 0, "b still holds a message of the scope");
    tracker.onReceive(node("b"), child);
    tracker.onComplete(node("b"), child);
    clock.advance(99);
    assert.equal(closed.length, 0);
    clock.advance(1);
    assert.deepEqual(closed, [{ failed: false, errors: [], ended: undefined }]);
  });

  it("fails a scope on an error no Catch node handled, from done(err) or from the log", function () {
    const { clock, tracker, pw } = setupBranch();
    const closed = [];
    tracker.openScope(pw.run.id, "b1", (r) => closed.push(r));
    const m = scoped(pw, "b1");
    pass(tracker, node("a"), m, new Error("HTTP 500"));
    const n = scoped(pw, "b1");
    tracker.preDeliver(node("c", true, "function"), n);
    tracker.onReceive(node("c", true, "function"), n);
    tracker.nodeError({ id: "c", name: "Lookup" }, "not found");
    tracker.onComplete(node("c"), n);
    clock.advance(100);
    assert.deepEqual(closed[0].errors, ["function: HTTP 500", "Lookup: not found"]);
    assert.equal(closed[0].failed, true);
  });

  it("gives an error a node without done logs while handling a message to that message's run and scope", function () {
    const { clock, tracker, pw } = setupBranch();
    const closed = [];
    tracker.openScope(pw.run.id, "b1", (r) => closed.push(r));
    const m = scoped(pw, "b1");
    const sw = node("sw", false, "switch");
    tracker.preDeliver(sw, m);
    tracker.onReceive(sw, m);
    tracker.postReceive(sw, m);
    tracker.nodeError({ id: "sw", type: "switch" }, "invalid rule");
    clock.advance(100);
    assert.deepEqual(closed[0].errors, ["switch: invalid rule"]);
    assert.deepEqual(
      tracker.get(pw.run.id).errors.map((e) => [e.node, e.message]),
      [["sw", "invalid rule"]],
    );
  });

  it("treats an error a Catch node received as handled", function () {
    const { clock, tracker, pw } = setupBranch();
    const closed = [];
    tracker.openScope(pw.run.id, "b1", (r) => closed.push(r));
    const m = scoped(pw, "b1");
    pass(tracker, node("a"), m, new Error("boom"));
    pass(tracker, node("catch1", false, "catch"), { ...m, error: { message: "boom", source: { id: "a" } } });
    clock.advance(100);
    assert.equal(closed[0].failed, false);
  });

  it("ends open scopes when their run is stopped", function () {
    const { tracker, pw } = setupBranch();
    const closed = [];
    tracker.openScope(pw.run.id, "b1", (r) => closed.push(r));
    tracker.preDeliver(node("a"), scoped(pw, "b1"));
    tracker.stop(pw.run.id);
    assert.equal(closed[0].failed, true);
    assert.match(closed[0].ended, /the run ended \(stopped: stopped by a user\)/);
    assert.equal(
      tracker.openScope(pw.run.id, "b2", () => {}),
      false,
      "no scopes on a run that is over",
    );
  });
});

describe("run checkpoints", function () {
  const { toLine, fromLine } = lib("runs/store");
  // The store as the tracker sees it: every run's latest line, read back as a record.
  function setupStore() {
    const lines = new Map();
    const clock = fakeClock(1_000_000);
    const tracker = new RunTracker(
      { save: (r) => lines.set(r.id, toLine(r)) },
      { clock, settleMs: 100, previous: (id) => (lines.has(id) ? fromLine(lines.get(id)) : undefined) },
    );
    return { tracker, clock, lines };
  }
  const fail = (tracker, pw) => {
    tracker.messageError(node("pull"), { pw }, new Error("page 4 failed"));
  };

  it("keeps a checkpoint with the run and writes it in the run's line", function () {
    const { tracker, lines } = setupStore();
    const pw = startRun({ flow: "f", trigger: "t" });
    tracker.begin(pw, {});
    assert.equal(
      tracker.checkpoint(pw.run.id, "pull:abc", { pages: 3, next: { pages: 3, value: "c60" } }),
      true,
    );
    assert.deepEqual(fromLine(lines.get(pw.run.id)).checkpoints, {
      "pull:abc": { pages: 3, next: { pages: 3, value: "c60" } },
    });
    assert.equal(tracker.checkpoint(pw.run.id, "big", { text: "x".repeat(5000) }), false, "too big");
    assert.equal(tracker.checkpoint("no-such-run", "k", 1), false);
    tracker.checkpoint(pw.run.id, "pull:abc", undefined);
    assert.deepEqual(fromLine(lines.get(pw.run.id)).checkpoints, {});
  });

  it("gives a retry the checkpoints of the run it retries, once per key, and chains them", function () {
    const { tracker, clock } = setupStore();
    const first = startRun({ flow: "f", trigger: "t" });
    tracker.begin(first, {});
    tracker.checkpoint(first.run.id, "k", { pages: 3 });
    fail(tracker, first);
    clock.advance(200);
    assert.equal(tracker.get(first.run.id), undefined, "the first run ended");

    const second = startRun({ flow: "f", trigger: "t", retryOf: first.run.id });
    tracker.begin(second, {});
    assert.deepEqual(tracker.resumePoint(second.run.id, "k"), { pages: 3 });
    assert.equal(tracker.resumePoint(second.run.id, "k"), undefined, "given once");
    assert.equal(tracker.resumePoint(second.run.id, "other"), undefined);
    // The second run fails before its shape writes anything: its retry still starts at page 3.
    fail(tracker, second);
    clock.advance(200);
    const third = startRun({ flow: "f", trigger: "t", retryOf: second.run.id });
    tracker.begin(third, {});
    assert.deepEqual(tracker.resumePoint(third.run.id, "k"), { pages: 3 });
    tracker.checkpoint(third.run.id, "k", { pages: 10, done: true });
    clock.advance(200);
    assert.equal(tracker.get(third.run.id), undefined);
    // The third succeeded: a retry of it starts over.
    const fourth = startRun({ flow: "f", trigger: "t", retryOf: third.run.id });
    tracker.begin(fourth, {});
    assert.equal(tracker.resumePoint(fourth.run.id, "k"), undefined);
  });
});
