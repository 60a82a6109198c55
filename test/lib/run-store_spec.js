const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { lib } = require("../support/dist");
const { FileRunStore } = lib("runs/store");
const { newId } = lib("ids");

const DAY = 24 * 60 * 60 * 1000;
const T0 = Date.parse("2026-11-20T10:00:00Z");

function record(startedAt, extra = {}) {
  return {
    id: newId(startedAt),
    flow: "f1",
    trigger: "t1",
    via: "manual",
    status: "succeeded",
    startedAt,
    endedAt: startedAt + 5,
    durationMs: 5,
    input: { payloadJson: '{"order":1001}', meta: { customer: "ada@example.com" }, bytes: 14 },
    steps: { a: { node: "a" } },
    errors: [],
    failedRecords: 0,
    ...extra,
  };
}

describe("file run store", function () {
  let dir;
  let now;
  const clock = {
    now: () => now,
    setTimer: (fn, ms) => setTimeout(fn, ms),
    clearTimer: (t) => clearTimeout(t),
  };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-store-"));
    now = T0;
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("persists runs in daily append-only files and reloads the latest state of each", async function () {
    const store = new FileRunStore({ dir, clock });
    await store.open();
    const run = record(T0, { status: "running" });
    store.save(run);
    await store.flush();
    run.status = "failed";
    run.errors.push({ node: "a", message: "boom", at: T0, handled: false });
    store.save(run);
    await store.close();
    const lines = fs.readFileSync(path.join(dir, "runs-2026-11-20.jsonl"), "utf8").trim().split("\n");
    assert.equal(lines.length, 2, "appended, not rewritten");
    const reopened = new FileRunStore({ dir, clock });
    await reopened.open();
    assert.equal(reopened.get(run.id).status, "failed");
    assert.equal(reopened.get(run.id).errors[0].message, "boom");
  });

  it("reads finished runs back from the lines it wrote, characters of several bytes included", async function () {
    const store = new FileRunStore({ dir, clock });
    await store.open();
    const runs = ["café ☕", "plain", "日本語の注文 🚚", "last"].map((customer, i) =>
      record(T0 + i, {
        input: { payloadJson: JSON.stringify({ customer }), meta: { customer }, bytes: 10 },
        errors: [{ node: "a", message: `no stock for ${customer}`, at: T0, handled: false }],
      }),
    );
    runs.forEach((r) => store.save(r));
    store.save(record(T0 + 10, { status: "running" }));
    await store.flush();
    for (const r of runs) {
      const back = store.get(r.id);
      assert.equal(back.id, r.id);
      assert.deepEqual(back.input.meta, r.input.meta);
      assert.equal(back.errors[0].message, r.errors[0].message);
    }
    assert.deepEqual(
      store.list({ q: "日本語" }).map((r) => r.id),
      [runs[2].id],
    );
    const reopened = new FileRunStore({ dir, clock });
    await reopened.open();
    assert.deepEqual(reopened.get(runs[3].id).input.meta, { customer: "last" });
    assert.equal(reopened.get(runs[2].id).errors[0].message, "no stock for 日本語の注文 🚚");
    await store.close();
    await reopened.close();
  });

  it("marks runs that were in progress when the process ended as failed", async function () {
    fs.writeFileSync(
      path.join(dir, "runs-2026-11-20.jsonl"),
      JSON.stringify(record(T0, { status: "running", endedAt: undefined })) + "\n",
    );
    const store = new FileRunStore({ dir, clock });
    await store.open();
    const [run] = store.list();
    assert.equal(run.status, "failed");
    assert.match(run.reason, /Node-RED stopped while the run was in progress/);
    await store.close();
  });

  it("writes every change synchronously for shutdown, and a finished line wins over a later running one", async function () {
    const store = new FileRunStore({ dir, clock });
    await store.open();
    const run = record(T0, { status: "running" });
    store.save(run);
    store.flushSync();
    const file = path.join(dir, "runs-2026-11-20.jsonl");
    assert.equal(
      fs.readFileSync(file, "utf8").trim().split("\n").length,
      1,
      "on disk before flushSync returns",
    );
    // An older running line landing after the finished one (an asynchronous write overtaken).
    const finished = { ...run, status: "succeeded", endedAt: T0 + 5 };
    fs.appendFileSync(file, JSON.stringify(finished) + "\n" + JSON.stringify(run) + "\n");
    const reopened = new FileRunStore({ dir, clock });
    await reopened.open();
    assert.equal(reopened.get(run.id).status, "succeeded");
    await store.close();
    await reopened.close();
  });

  it("skips a line cut short by a crash", async function () {
    const good = record(T0);
    fs.writeFileSync(path.join(dir, "runs-2026-11-20.jsonl"), JSON.stringify(good) + "\n" + '{"id":"01KX');
    const store = new FileRunStore({ dir, clock });
    await store.open();
    assert.equal(store.size, 1);
    await store.close();
  });

  it("lists newest first with filters and paging", async function () {
    const store = new FileRunStore({ dir, clock });
    await store.open();
    const a = record(T0, {
      flow: "orders",
      status: "failed",
      errors: [{ node: "x", message: "HTTP 422 variant_id is invalid", at: T0, handled: false }],
    });
    const b = record(T0 + 1000, { flow: "orders" });
    const c = record(T0 + 2000, {
      flow: "stock",
      trigger: "t2",
      input: { payloadJson: '{"sku":"ZX-9"}', meta: {}, bytes: 12 },
    });
    [a, b, c].forEach((r) => store.save(r));
    assert.deepEqual(
      store.list().map((r) => r.id),
      [c.id, b.id, a.id],
    );
    assert.deepEqual(
      store.list({ flow: "orders" }).map((r) => r.id),
      [b.id, a.id],
    );
    assert.deepEqual(
      store.list({ status: ["failed"] }).map((r) => r.id),
      [a.id],
    );
    assert.deepEqual(
      store.list({ trigger: "t2" }).map((r) => r.id),
      [c.id],
    );
    assert.deepEqual(
      store.list({ from: T0 + 500, to: T0 + 1500 }).map((r) => r.id),
      [b.id],
    );
    assert.deepEqual(
      store.list({ q: "zx-9" }).map((r) => r.id),
      [c.id],
    );
    assert.deepEqual(
      store.list({ q: "VARIANT_ID" }).map((r) => r.id),
      [a.id],
    );
    assert.deepEqual(
      store.list({ q: "ada@example" }).map((r) => r.id),
      [b.id, a.id],
    );
    assert.deepEqual(
      store.list({ limit: 1 }).map((r) => r.id),
      [c.id],
    );
    assert.deepEqual(
      store.list({ before: c.id, limit: 1 }).map((r) => r.id),
      [b.id],
    );
    const summary = store.list()[0];
    assert.equal(summary.steps, 1);
    assert.equal(summary.input, undefined, "summaries leave the input out");
    await store.close();
  });

  it("prunes by age and by count and rewrites the files that held pruned runs", async function () {
    const writer = new FileRunStore({ dir, clock });
    await writer.open();
    const old = record(T0 - 5 * DAY);
    const kept = [1, 2, 3].map((i) => record(T0 + i * 1000));
    const oldest = record(T0);
    [old, oldest, ...kept].forEach((r) => writer.save(r));
    await writer.close();
    assert.ok(fs.existsSync(path.join(dir, "runs-2026-11-15.jsonl")));
    const store = new FileRunStore({ dir, clock, maxAgeMs: 3 * DAY, maxRuns: 3 });
    await store.open();
    assert.deepEqual(
      store
        .list()
        .map((r) => r.id)
        .sort(),
      kept.map((r) => r.id).sort(),
    );
    assert.ok(!fs.existsSync(path.join(dir, "runs-2026-11-15.jsonl")), "the expired day's file is gone");
    const lines = fs.readFileSync(path.join(dir, "runs-2026-11-20.jsonl"), "utf8").trim().split("\n");
    assert.equal(lines.length, 3);
    await store.close();
    const reopened = new FileRunStore({ dir, clock, maxAgeMs: 3 * DAY, maxRuns: 3 });
    await reopened.open();
    assert.equal(reopened.size, 3);
  });

  it("evicts the oldest finished runs once the count passes the cap by a tenth", async function () {
    const store = new FileRunStore({ dir, clock, maxRuns: 10, compactMs: 10 });
    await store.open();
    const running = record(T0 - 1, { status: "running" });
    store.save(running);
    for (let i = 0; i < 10; i++) store.save(record(T0 + i));
    assert.equal(store.size, 11, "within the slack of a tenth");
    store.save(record(T0 + 10));
    assert.equal(store.size, 10);
    assert.ok(store.get(running.id), "a running run stays");
    await store.flush();
    await new Promise((r) => setTimeout(r, 50));
    await store.close();
    const reopened = new FileRunStore({ dir, clock, maxRuns: 10 });
    await reopened.open();
    assert.equal(reopened.size, 10, "the files were compacted");
    await reopened.close();
  });

  it("never prunes a run that is still going", async function () {
    const store = new FileRunStore({ dir, clock, maxRuns: 1 });
    await store.open();
    const running = record(T0, { status: "running" });
    store.save(running);
    store.save(record(T0 + 1));
    await store.prune();
    assert.ok(store.get(running.id));
    await store.close();
  });
});

describe("run log lines", function () {
  const { toLine, fromLine } = lib("runs/store");
  it("write steps compactly and read them back unchanged", function () {
    const run = record(T0, {
      steps: {
        a: {
          node: "a",
          type: "function",
          name: "Check",
          messagesIn: 1,
          messagesOut: 2,
          recordsIn: 3,
          recordsOut: 4,
          errors: 0,
          timeMs: 5,
          firstAt: 6,
          lastAt: 7,
        },
        b: {
          node: "b",
          messagesIn: 1,
          messagesOut: 0,
          recordsIn: 0,
          recordsOut: 0,
          errors: 1,
          timeMs: 2,
          firstAt: 3,
          lastAt: 4,
          requests: [
            { method: "GET", url: "https://x.example/a", status: 200, attempts: 1, durationMs: 9, at: 1 },
          ],
        },
      },
    });
    const line = toLine(run);
    assert.ok(!line.includes("messagesIn"), "no field names per step");
    assert.ok(
      line.includes('"input":{"payload":{"order":1001}'),
      "the trigger payload is written as JSON, not as an escaped string",
    );
    assert.deepEqual(fromLine(line), run);
  });
});
