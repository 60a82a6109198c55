const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { lib } = require("../support/dist");
const { takeSnapshot, SnapshotStore } = lib("runs/snapshots");
const { redact } = lib("redact");
const { RunTracker } = lib("runs/tracker");
const { startRun } = lib("message");
const { fakeClock } = require("../support/fake-clock");

const node = (id, takesDone = true, type = "function") => ({ id, type, takesDone });

describe("payload snapshots", function () {
  it("redacts values under secret-looking keys at any depth", function () {
    const out = redact({
      email: "a@example.com",
      password: "hunter2",
      nested: [{ api_key: "k", Authorization: "Bearer x", keep: 1 }],
      raw: Buffer.from("abc"),
    });
    assert.deepEqual(out, {
      email: "a@example.com",
      password: "***",
      nested: [{ api_key: "***", Authorization: "***", keep: 1 }],
      raw: "<3 bytes>",
    });
  });

  it("keeps a payload whole under the cap and a preview over it", function () {
    assert.deepEqual(takeSnapshot({ a: 1 }, 100, 5), { at: 5, bytes: 7, json: '{"a":1}' });
    const big = takeSnapshot({ text: "x".repeat(5000) }, 100, 5, true);
    assert.equal(big.truncated, true);
    assert.equal(big.error, true);
    assert.equal(big.json, undefined);
    assert.equal(big.preview.length, 2000);
  });

  function run(mode) {
    const clock = fakeClock(0);
    const saved = {};
    const tracker = new RunTracker(
      { save() {} },
      { clock, settleMs: 10, snapshotSink: { save: (id, steps) => (saved[id] = steps) } },
    );
    const pw = startRun({ flow: "f", trigger: "t" });
    const rec = tracker.begin(pw, { token: "abc", order: 1 }, undefined, mode);
    return { clock, tracker, pw, rec, saved };
  }

  it("keeps the first three payloads of every step when set to all", function () {
    const { clock, tracker, pw, rec, saved } = run("all");
    for (let i = 0; i < 5; i++) {
      const m = { payload: { i, password: "p" }, pw };
      tracker.preDeliver(node("a"), m);
      tracker.onReceive(node("a"), m);
      tracker.onComplete(node("a"), m);
    }
    clock.advance(10);
    assert.deepEqual(
      saved[pw.run.id].a.map((s) => JSON.parse(s.json)),
      [
        { i: 0, password: "***" },
        { i: 1, password: "***" },
        { i: 2, password: "***" },
      ],
    );
    assert.equal(rec.steps.a.snapshots, 3);
  });

  it("keeps what a step sent out beside what it received, labelled, when set to all", function () {
    const { clock, tracker, pw, rec, saved } = run("all");
    const received = { payload: { order: 1 }, pw };
    tracker.preDeliver(node("a"), received);
    tracker.onReceive(node("a"), received);
    for (let i = 0; i < 5; i++) tracker.onSend(node("a"), { payload: { line: i, token: "t" }, pw });
    tracker.onComplete(node("a"), received);
    clock.advance(10);
    const kept = saved[pw.run.id].a;
    assert.deepEqual(
      kept.map((s) => [s.sent === true, JSON.parse(s.json)]),
      [
        [false, { order: 1 }],
        [true, { line: 0, token: "***" }],
        [true, { line: 1, token: "***" }],
        [true, { line: 2, token: "***" }],
      ],
      "the received payload, then the first three sent",
    );
    assert.equal(rec.steps.a.snapshots, 4);
  });

  it("keeps no sent payloads for runs that keep snapshots only at errors", function () {
    const { clock, tracker, pw, saved } = run("errors");
    const m = { payload: { order: 1 }, pw };
    tracker.preDeliver(node("a"), m);
    tracker.onReceive(node("a"), m);
    tracker.onSend(node("a"), { payload: { out: 1 }, pw });
    tracker.onComplete(node("a"), m);
    clock.advance(10);
    assert.equal(saved[pw.run.id], undefined);
  });

  it("keeps the payload where an error happened when set to errors", function () {
    const { clock, tracker, pw, saved } = run("errors");
    const ok = { payload: { fine: true }, pw };
    tracker.preDeliver(node("a"), ok);
    tracker.onReceive(node("a"), ok);
    tracker.onComplete(node("a"), ok);
    const bad = { payload: { sku: "BROKEN" }, pw };
    tracker.preDeliver(node("b"), bad);
    tracker.onReceive(node("b"), bad);
    tracker.onComplete(node("b"), bad);
    tracker.messageError(node("b"), bad, new Error("no price"));
    clock.advance(10);
    assert.deepEqual(Object.keys(saved[pw.run.id]), ["b"]);
    assert.equal(saved[pw.run.id].b[0].error, true);
    assert.match(saved[pw.run.id].b[0].json, /BROKEN/);
  });

  it("keeps nothing at all, not even the trigger payload, when set to never", function () {
    const { clock, tracker, pw, rec, saved } = run("never");
    assert.equal(rec.input.payloadJson, undefined);
    assert.equal(rec.input.truncated, true);
    const m = { payload: { secret: 1 }, pw };
    tracker.preDeliver(node("a"), m);
    tracker.onReceive(node("a"), m);
    tracker.onComplete(node("a"), m);
    tracker.messageError(node("a"), m, new Error("x"));
    clock.advance(10);
    assert.equal(saved[pw.run.id], undefined);
  });

  it("stores snapshots per run and drops the oldest past the total cap", async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-snap-"));
    const store = new SnapshotStore(dir, 300);
    await store.open();
    const ids = ["01M8E5AAAAAAAAAAAAAAAAAAAA", "01M8E5BBBBBBBBBBBBBBBBBBBB", "01M8E5CCCCCCCCCCCCCCCCCCCC"];
    for (const id of ids)
      store.save(id, { n: [{ at: 1, bytes: 100, json: JSON.stringify("x".repeat(100)) }] });
    await store.flush();
    assert.equal(await store.get(ids[0]), undefined, "the oldest went");
    assert.ok(await store.get(ids[2]));
    assert.equal(await store.get("../../etc/passwd"), undefined, "ids only");
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("payload snapshots and secrets the runtime holds", function () {
  const { takeSnapshot, keepPayload, PREVIEW_CHARS } = lib("runs/snapshots");
  const { holdSecrets, releaseSecrets } = lib("redact");

  it("masks an instance's secret value an API echoed back under an ordinary key", function () {
    holdSecrets("inst-1", ["shpat_0123456789abcdef", "abc"]);
    try {
      const payload = { note: "token shpat_0123456789abcdef was used", id: 7 };
      const snap = takeSnapshot(payload, 64 * 1024, 0);
      assert.ok(!snap.json.includes("shpat_0123456789abcdef"));
      assert.deepEqual(JSON.parse(snap.json), { note: "token *** was used", id: 7 });
      const kept = keepPayload(payload, 1024 * 1024);
      assert.ok(!kept.json.includes("shpat_0123456789abcdef"), "the trigger payload kept for retry too");
    } finally {
      releaseSecrets("inst-1");
    }
    assert.match(takeSnapshot({ note: "shpat_0123456789abcdef" }, 64 * 1024, 0).json, /shpat_/, "released");
  });

  it("previews a payload far over the cap without serialising all of it", function () {
    let reads = 0;
    const record = (i) =>
      new Proxy(
        { id: i, text: "x".repeat(100), password: "hunter22" },
        {
          get(target, key) {
            reads++;
            return target[key];
          },
        },
      );
    const payload = Array.from({ length: 100000 }, (_, i) => record(i));
    reads = 0;
    const snap = takeSnapshot(payload, 64 * 1024, 0);
    assert.equal(snap.truncated, true);
    assert.equal(snap.json, undefined);
    assert.ok(snap.preview.length <= PREVIEW_CHARS);
    assert.match(snap.preview, /^\[\{"id":0,"text":"x+","password":"\*\*\*"\}/);
    assert.ok(reads < 20000, `read ${reads} properties of 300,000`);
  });
});
