// Tracked values: the track-data shape's engine, the per-run caps, and the run store's index
// ("which run sent order #1001?" as a lookup over 10,000 stored runs, after a restart too).
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { lib } = require("../support/dist");
const { FileRunStore } = lib("runs/store");
const { addTracked, TrackedIndex, TRACKED_VALUES_PER_RUN, TRACKED_VALUE_CHARS } = lib("runs/tracked");
const { compileTracking } = lib("tracking");
const { newId } = lib("ids");

const T0 = Date.parse("2026-11-20T10:00:00Z");

function record(startedAt, tracked, extra = {}) {
  return {
    id: newId(startedAt),
    flow: "f1",
    trigger: "t1",
    status: "succeeded",
    startedAt,
    endedAt: startedAt + 5,
    durationMs: 5,
    input: { payloadJson: "{}", meta: {}, bytes: 2 },
    steps: {},
    errors: [],
    failedRecords: 0,
    ...(tracked ? { tracked } : {}),
    ...extra,
  };
}

describe("track data: reading values from records", function () {
  it("reads each record's values by name, every element through [*], numbers as text, skipping empty ones", function () {
    const extract = compileTracking([
      { name: "order", path: "order_number" },
      { name: "email", path: "customer.email" },
      { name: "sku", path: "line_items[*].sku" },
    ]);
    const got = extract([
      {
        order_number: 1001,
        customer: { email: "ada@example.com" },
        line_items: [{ sku: "A" }, { sku: "B" }],
      },
      { order_number: "1002", customer: { email: null }, line_items: [] },
    ]);
    assert.deepEqual(got, [
      ["order", "1001"],
      ["email", "ada@example.com"],
      ["sku", "A"],
      ["sku", "B"],
      ["order", "1002"],
    ]);
    assert.deepEqual(compileTracking([{ name: "order", path: "id" }])({ id: true }), [["order", "true"]]);
  });

  it("fails a record whose path reaches an object, and a payload that is not records, saying where", function () {
    const extract = compileTracking([{ name: "customer", path: "customer" }]);
    assert.throws(
      () => extract([{ customer: "x" }, { customer: { id: 1 } }]),
      /record 1: "customer" \(customer\) is an object, not a value/,
    );
    assert.throws(() => extract("[{}]"), /msg\.payload is text .* looks like JSON text/);
    assert.throws(() => extract([{}, 42]), /record 1: msg\.payload\[1\] is a number \(42\)/);
  });

  it("refuses rows without a name or path, twice the same name, and a bad path", function () {
    assert.throws(() => compileTracking([]), /no values to track/);
    assert.throws(() => compileTracking([{ name: "", path: "id" }]), /row 1 has no name/);
    assert.throws(() => compileTracking([{ name: "order", path: "" }]), /"order" has no path/);
    assert.throws(
      () =>
        compileTracking([
          { name: "a", path: "x" },
          { name: "a", path: "y" },
        ]),
      /two rows are called "a"/,
    );
    assert.throws(
      () => compileTracking([{ name: "a", path: "x..y" }]),
      /"a": path "x\.\.y" has an empty key/,
    );
  });
});

describe("track data: caps per run", function () {
  it("keeps each value once, cuts long ones, and counts what is over the cap", function () {
    const run = {};
    assert.deepEqual(
      addTracked(run, [
        ["order", "1001"],
        ["order", "1001"],
        ["email", "a@x.io"],
      ]),
      {
        added: 2,
        dropped: 0,
      },
    );
    const long = "x".repeat(TRACKED_VALUE_CHARS + 50);
    addTracked(run, [["note", long]]);
    assert.equal(run.tracked.note[0].length, TRACKED_VALUE_CHARS);
    const many = Array.from({ length: TRACKED_VALUES_PER_RUN }, (_, i) => ["sku", `S${i}`]);
    const result = addTracked(run, many);
    assert.equal(result.added, TRACKED_VALUES_PER_RUN - 3);
    assert.equal(result.dropped, 3);
    assert.equal(run.trackedDropped, 3);
    assert.deepEqual(run.tracked.order, ["1001"]);
  });
});

describe("track data: the run store's index", function () {
  let dir;
  const clock = { now: () => T0 + 1000, setTimer: (fn, ms) => setTimeout(fn, ms), clearTimer: clearTimeout };
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-tracked-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("maps a value to every run that tracked it, and forgets a run's values when it goes", function () {
    const index = new TrackedIndex();
    index.set("r1", { order: ["1001"], email: ["Ada@Example.com"] });
    index.set("r2", { order: ["1001", "1002"] });
    assert.deepEqual(index.find(" 1001 ").sort(), ["r1", "r2"]);
    assert.deepEqual(index.find("ada@example.COM"), ["r1"]);
    index.delete("r1");
    assert.deepEqual(index.find("1001"), ["r2"]);
    assert.deepEqual(index.find("ada@example.com"), []);
    index.set("r2", { order: ["1003"] });
    assert.deepEqual(index.find("1002"), [], "a run saved again replaces its values");
  });

  it("finds runs by a tracked value, newest first, under a name if asked, and again after a restart", async function () {
    const store = new FileRunStore({ dir, clock });
    await store.open();
    const a = record(T0, { order: ["1001"], email: ["ada@example.com"] });
    const b = record(T0 + 10, { order: ["1002"], email: ["1001@example.com"] });
    const c = record(T0 + 20, { order: ["1001"] });
    const plain = record(T0 + 30);
    for (const r of [a, b, c, plain]) store.save(r);
    assert.deepEqual(
      store.list({ tracked: "1001" }).map((r) => r.id),
      [c.id, a.id],
    );
    assert.deepEqual(
      store.list({ tracked: "ADA@example.com" }).map((r) => r.id),
      [a.id],
    );
    assert.deepEqual(
      store.list({ tracked: "1001", trackedName: "email" }).map((r) => r.id),
      [],
    );
    assert.deepEqual(
      store.list({ tracked: "1001@example.com", trackedName: "email" }).map((r) => r.id),
      [b.id],
    );
    assert.deepEqual(
      store.list({ tracked: "1001", flow: "f1", limit: 1 }).map((r) => r.id),
      [c.id],
    );
    assert.deepEqual(store.list({ tracked: "nothing" }), []);
    await store.close();

    const line = fs.readFileSync(path.join(dir, "runs-2026-11-20.jsonl"), "utf8").split("\n")[0];
    assert.match(line, /^\{"v":1,.*"tracked":\{"order":\["1001"\],"email":\["ada@example\.com"\]\}/);
    const reopened = new FileRunStore({ dir, clock });
    await reopened.open();
    assert.deepEqual(
      reopened.list({ tracked: "1001" }).map((r) => r.id),
      [c.id, a.id],
    );
    assert.deepEqual(reopened.get(b.id).tracked, { order: ["1002"], email: ["1001@example.com"] });
  });

  it("drops runs' values from the index when runs are evicted by the count cap", async function () {
    const store = new FileRunStore({ dir, clock, maxRuns: 10, compactMs: 60_000 });
    await store.open();
    const first = record(T0, { order: ["1001"] });
    store.save(first);
    for (let i = 1; i <= 12; i++) store.save(record(T0 + i, { order: [String(2000 + i)] }));
    assert.deepEqual(store.list({ tracked: "1001" }), [], "the oldest run left the index with its values");
    assert.equal(store.list({ tracked: "2012" }).length, 1);
    await store.close();
  });

  it("answers a tracked-value search over 10,000 stored runs from the index, far faster than a text scan", async function () {
    this.timeout(30000);
    const store = new FileRunStore({ dir, clock, maxRuns: 10000 });
    await store.open();
    for (let i = 0; i < 10000; i++)
      store.save(record(T0 + i, { order: [String(100000 + i)], email: [`c${i}@example.com`] }));
    await store.flush(); // finished runs are kept as their lines, as in a running store
    const time = (fn, n = 20) => {
      const start = process.hrtime.bigint();
      for (let i = 0; i < n; i++) fn(i);
      return Number(process.hrtime.bigint() - start) / 1e6 / n;
    };
    const lookup = time((i) => assert.equal(store.list({ tracked: String(100000 + i * 499) }).length, 1));
    const scan = time((i) => store.list({ q: `c${i * 499}@example.com` }), 5);
    console.log(
      `      tracked lookup ${lookup.toFixed(2)} ms, text scan ${scan.toFixed(1)} ms over 10,000 runs`,
    );
    assert.ok(lookup < 10, `a lookup took ${lookup} ms`);
    assert.ok(lookup * 5 < scan, `the lookup (${lookup} ms) is not much faster than a scan (${scan} ms)`);
    await store.close();
  });
});
