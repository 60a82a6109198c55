// The run tracker's parts, each on its own: settling, scopes, error records, the request log.
const assert = require("node:assert/strict");
const { lib } = require("../support/dist");
const { fakeClock } = require("../support/fake-clock");
const { SettleQueue } = lib("runs/settle");
const { Scopes } = lib("runs/scopes");
const { addError, markCaught, errorText, Handling } = lib("runs/errors");
const { addRequest, MAX_REQUESTS_PER_STEP } = lib("runs/requests");

describe("settle queue", function () {
  it("settles an item that stays idle for the window, and not one that got busy again", function () {
    const clock = fakeClock(0);
    const settled = [];
    const q = new SettleQueue(100, clock, clock.now, (item) => settled.push(item.name));
    const a = { name: "a", inFlight: 0 };
    const b = { name: "b", inFlight: 0 };
    q.idle(a, clock.now());
    clock.advance(50);
    q.idle(b, clock.now());
    b.inFlight = 1; // busy again before its window closed
    b.idleSince = undefined;
    clock.advance(60);
    assert.deepEqual(settled, ["a"]);
    clock.advance(100);
    assert.deepEqual(settled, ["a"], "b is busy");
    b.inFlight = 0;
    q.idle(b, clock.now());
    clock.advance(100);
    assert.deepEqual(settled, ["a", "b"]);
    assert.equal(clock.pending(), 0, "one timer, gone when nothing waits");
  });

  it("keeps one timer however many items wait", function () {
    const clock = fakeClock(0);
    const q = new SettleQueue(100, clock, clock.now, () => {});
    for (let i = 0; i < 1000; i++) q.idle({ inFlight: 0 }, clock.now());
    assert.equal(clock.pending(), 1);
    assert.equal(q.size, 1000);
  });
});

describe("scopes", function () {
  const msg = (token) => ({ payload: 1, pw: { scope: [token] } });

  it("closes when its messages are done for the window, failed by an error no Catch node took", function () {
    const clock = fakeClock(0);
    const scopes = new Scopes(100, clock);
    const closed = [];
    const run = {};
    scopes.start(run, "s1", (r) => closed.push(r));
    scopes.count(msg("s1"), "a", 1);
    scopes.errorOn(scopes.of(msg("s1")), "a", "A: boom");
    scopes.count(msg("s1"), "a", -1);
    clock.advance(100);
    assert.deepEqual(closed, [{ failed: true, errors: ["A: boom"], ended: undefined }]);
  });

  it("treats an error a Catch node received as handled, and ends with its run", function () {
    const clock = fakeClock(0);
    const scopes = new Scopes(100, clock);
    const closed = [];
    const run = {};
    scopes.start(run, "s1", (r) => closed.push(r));
    scopes.count(msg("s1"), "a", 1);
    scopes.errorAt("a", "A: boom", undefined);
    scopes.caught(msg("s1"), "a");
    scopes.endRun(run, "the run ended (stopped)");
    assert.deepEqual(closed, [{ failed: true, errors: [], ended: "the run ended (stopped)" }]);
    assert.equal(
      scopes.start(run, "s1", () => {}),
      true,
      "closed scopes free their token",
    );
  });
});

describe("run error records", function () {
  const record = () => ({ errors: [] });

  it("keeps the same error from the same node once, and marks a caught one handled", function () {
    const r = record();
    assert.ok(addError(r, undefined, { id: "x", type: "function" }, "boom", 1000));
    assert.equal(addError(r, undefined, { id: "x" }, "boom", 1500), undefined);
    assert.ok(addError(r, undefined, { id: "x" }, "boom", 2500), "a second later it is a new error");
    assert.equal(markCaught(r, "x"), true);
    assert.deepEqual(
      r.errors.map((e) => e.handled),
      [true, true],
    );
    assert.equal(markCaught(r, "y"), false);
    assert.equal(addError(r, new Set(["z"]), { id: "z" }, "late", 3000).handled, true);
  });

  it("reads an error's text from an Error, a message object or anything else", function () {
    assert.equal(errorText(new Error("a")), "a");
    assert.equal(errorText({ message: "b" }), "b");
    assert.equal(errorText("c"), "c");
  });

  it("knows which message a node without done is handling, and forgets it", function () {
    const h = new Handling();
    h.set("sw", "runA", ["s"]);
    assert.deepEqual(h.of("sw"), { run: "runA", scopes: ["s"] });
    assert.equal(h.of("other"), undefined);
    h.clear();
    assert.equal(h.of("sw"), undefined);
  });
});

describe("request log", function () {
  it("keeps the latest requests per step and counts the dropped ones", function () {
    const extra = {};
    for (let i = 0; i < MAX_REQUESTS_PER_STEP + 5; i++)
      addRequest(extra, { method: "GET", url: `/p/${i}`, attempts: 1, durationMs: 1, at: i });
    assert.equal(extra.requests.length, MAX_REQUESTS_PER_STEP);
    assert.equal(extra.requests[0].url, "/p/5");
    assert.equal(extra.requestsDropped, 5);
  });
});
