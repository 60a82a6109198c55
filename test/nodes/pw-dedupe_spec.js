// The de-dupe shape through Node-RED: modes, keys, the duplicates output, parallel messages,
// records without a key and bad configuration.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { helper, load, nextMessage, collect } = require("../support/node-helper");
const { waitUntil } = require("../support/wait");

const tab = { id: "tab1", type: "tab" };
const helpers = (...ids) => ids.map((id) => ({ id, type: "helper", z: "tab1" }));
const catcher = [
  { id: "c1", type: "catch", z: "tab1", scope: null, uncaught: false, wires: [["caught"]] },
  ...helpers("caught"),
];
const pw = (id = "R1") => ({
  run: { id, flow: "tab1", trigger: "t1", startedAt: "2026-11-27T10:00:00.000Z" },
  meta: { shop: "acme" },
});
const dedupe = (extra = {}) => ({
  id: "d",
  type: "pw-dedupe",
  z: "tab1",
  name: "new orders",
  mode: "filter-and-track",
  keyType: "path",
  key: "id",
  pool: "orders",
  entity: "orders",
  ttl: 90,
  ttlUnit: "days",
  wires: [["new"], ["dup"]],
  ...extra,
});
const ids = (msg) => msg.payload.map((r) => r.id);

describe("pw-dedupe (node)", function () {
  let userDir;
  beforeEach(() => {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-dedupe-node-"));
    helper.settings({ userDir });
  });
  afterEach(async () => {
    await helper.unload();
    helper.settings({});
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  it("drops records whose key was seen in an earlier message, msg.pw and other properties intact", async function () {
    await load([tab, dedupe(), ...helpers("new", "dup")]);
    const first = nextMessage("new");
    helper.getNode("d").receive({ payload: [{ id: 1 }, { id: 2 }], pw: pw(), topic: "orders" });
    assert.deepEqual(ids(await first), [1, 2]);
    const second = nextMessage("new");
    helper
      .getNode("d")
      .receive({ payload: [{ id: 2 }, { id: 3 }, { id: 3 }], pw: pw("R2"), topic: "orders" });
    const msg = await second;
    assert.deepEqual(ids(msg), [3]);
    assert.equal(msg.pw.run.id, "R2");
    assert.equal(msg.topic, "orders");
    const log = fs.readdirSync(path.join(userDir, "patchworks", "dedupe"));
    assert.equal(log.length, 1, "the pool is on disk under the user directory");
  });

  it("sends duplicates to a second output when asked, and counts both in its status", async function () {
    await load([tab, dedupe({ duplicatesOutput: true, outputs: 2 }), ...helpers("new", "dup")]);
    const status = [];
    helper.getNode("d").on("call:status", (c) => status.push(c.args[0].text));
    const first = nextMessage("new");
    helper.getNode("d").receive({ payload: [{ id: 1 }], pw: pw() });
    await first;
    const dup = nextMessage("dup");
    const fresh = nextMessage("new");
    helper.getNode("d").receive({ payload: [{ id: 1 }, { id: 5 }], pw: pw() });
    assert.deepEqual(ids(await dup), [1]);
    assert.deepEqual(ids(await fresh), [5]);
    assert.equal(status.pop(), "2 passed, 1 duplicates");
  });

  it("keys on a template of several fields, and passes a single record as the same message", async function () {
    await load([
      tab,
      dedupe({ keyType: "template", key: "{{record.order}}/{{record.sku}}" }),
      ...helpers("new"),
    ]);
    const got = collect("new");
    const node = helper.getNode("d");
    node.receive({ payload: { order: 1, sku: "A" }, pw: pw() });
    node.receive({ payload: { order: 1, sku: "B" }, pw: pw() });
    node.receive({ payload: { order: 1, sku: "A" }, pw: pw() });
    await waitUntil(() => got.length === 2, "two records to pass");
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(
      got.map((m) => m.payload.sku),
      ["A", "B"],
    );
  });

  it("track mode passes everything and a filter shape on the same pool then drops it (track after success)", async function () {
    await load([
      tab,
      dedupe({ id: "f", mode: "filter", wires: [["new"]] }),
      dedupe({ id: "t", mode: "track", wires: [["tracked"]] }),
      ...helpers("new", "tracked"),
    ]);
    const beforeSend = nextMessage("new");
    helper.getNode("f").receive({ payload: [{ id: 1 }, { id: 2 }], pw: pw() });
    assert.deepEqual(ids(await beforeSend), [1, 2], "filter remembers nothing");
    // Only record 1 was sent: only it is tracked.
    const tracked = nextMessage("tracked");
    helper.getNode("t").receive({ payload: [{ id: 1 }], pw: pw() });
    assert.deepEqual(ids(await tracked), [1]);
    const next = nextMessage("new");
    helper.getNode("f").receive({ payload: [{ id: 1 }, { id: 2 }], pw: pw("R2") });
    assert.deepEqual(ids(await next), [2], "the record whose send failed is tried again");
  });

  it("never passes one key twice when 50 messages with the same keys arrive at once", async function () {
    await load([tab, dedupe(), ...helpers("new")]);
    const got = collect("new");
    const node = helper.getNode("d");
    const keys = Array.from({ length: 20 }, (_, i) => ({ id: i }));
    for (let r = 0; r < 50; r++) node.receive({ payload: [...keys].reverse(), pw: pw(`R${r}`) });
    await waitUntil(() => got.reduce((n, m) => n + m.payload.length, 0) >= 20, "the keys to pass");
    await new Promise((r) => setTimeout(r, 100));
    const passed = got.flatMap(ids).sort((a, b) => a - b);
    assert.deepEqual(
      passed,
      keys.map((k) => k.id),
    );
  });

  it("fails a message with a record without a key, naming the record and the path, and sends nothing", async function () {
    await load([tab, dedupe({ key: "order.id" }), ...helpers("new"), ...catcher]);
    const got = collect("new");
    const caught = nextMessage("caught");
    helper.getNode("d").receive({ payload: [{ order: { id: 1 } }, { order: {} }], pw: pw() });
    const msg = await caught;
    assert.match(
      msg.error.message,
      /de-dupe "new orders": record 2 of 2 has no key at the key path "order\.id"\. Fix the key in the shape, or choose what to do with "records without a key"/,
    );
    assert.equal(got.length, 0);
  });

  it("passes or drops records without a key when told to", async function () {
    await load([tab, dedupe({ missing: "pass" }), ...helpers("new")]);
    const got = nextMessage("new");
    helper.getNode("d").receive({ payload: [{ id: 1 }, { name: "no id" }, { id: { nested: 1 } }], pw: pw() });
    assert.equal((await got).payload.length, 3);
  });

  it("fails a message without a payload", async function () {
    await load([tab, dedupe(), ...helpers("new"), ...catcher]);
    const caught = nextMessage("caught");
    helper.getNode("d").receive({ pw: pw() });
    assert.match((await caught).error.message, /msg\.payload is missing/);
  });

  for (const [what, extra, reason] of [
    ["an empty key", { key: "" }, /the key is empty/],
    ["an empty pool name", { pool: " " }, /the data pool name is empty/],
    ["an unknown mode", { mode: "forget" }, /unknown mode "forget"/],
    ["a bad time to live", { ttl: "soon" }, /the time to live "soon" is not a positive number/],
  ])
    it(`refuses ${what} at deploy and fails every message with the reason`, async function () {
      await load([tab, dedupe(extra), ...helpers("new"), ...catcher]);
      const caught = nextMessage("caught");
      helper.getNode("d").receive({ payload: [{ id: 1 }], pw: pw() });
      const message = (await caught).error.message;
      assert.match(message, /de-dupe "new orders" is not configured correctly/);
      assert.match(message, reason);
    });
});
