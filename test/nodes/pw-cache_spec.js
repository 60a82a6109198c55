// The cache shape through Node-RED: add and load, append, pages, the size limit, misses,
// parallel appends and bad configuration.
const assert = require("node:assert/strict");
const { helper, load, nextMessage, collect } = require("../support/node-helper");
const { waitUntil } = require("../support/wait");

const tab = { id: "tab1", type: "tab" };
const helpers = (...ids) => ids.map((id) => ({ id, type: "helper", z: "tab1" }));
const catcher = [
  { id: "c1", type: "catch", z: "tab1", scope: null, uncaught: false, wires: [["caught"]] },
  ...helpers("caught"),
];
const pw = (id = "R1", page) => ({
  run: { id, flow: "tab1", trigger: "t1", startedAt: "2026-11-27T10:00:00.000Z" },
  meta: { shop: "acme" },
  ...(page ? { page } : {}),
});
const add = (extra = {}) => ({
  id: "cacheAdd",
  type: "pw-cache",
  z: "tab1",
  name: "keep products",
  action: "add",
  cache: "products",
  key: "{{meta.shop}}",
  scope: "flow",
  wires: [["added"]],
  ...extra,
});
const loader = (extra = {}) => ({
  id: "cacheLoad",
  type: "pw-cache",
  z: "tab1",
  name: "products",
  action: "load",
  cache: "products",
  key: "{{meta.shop}}",
  scope: "flow",
  wires: [["loaded"]],
  ...extra,
});
const flow = (...nodes) => [tab, ...nodes, ...helpers("added", "loaded"), ...catcher];
async function addAll(payloads, page) {
  const got = collect("added");
  payloads.forEach((p, i) =>
    helper.getNode("cacheAdd").receive({ payload: p, pw: pw("R1", page && page[i]) }),
  );
  await waitUntil(() => got.length === payloads.length, "the adds");
}
async function loaded(msg = { payload: "x", pw: pw("R2") }) {
  const got = nextMessage("loaded");
  helper.getNode("cacheLoad").receive(msg);
  return got;
}

describe("pw-cache (node)", function () {
  afterEach(() => helper.unload());

  it("adds the payload under a cache name and key and loads a copy of it back, message intact", async function () {
    await load(flow(add(), loader()));
    const added = nextMessage("added");
    const payload = [{ sku: "A" }];
    helper.getNode("cacheAdd").receive({ payload, pw: pw(), topic: "t" });
    assert.equal((await added).payload, payload, "the payload passes on unchanged");
    const msg = await loaded({ payload: "x", pw: pw("R2"), topic: "t" });
    assert.deepEqual(msg.payload, [{ sku: "A" }]);
    assert.notEqual(msg.payload, payload, "a fresh copy");
    assert.equal(msg.pw.run.id, "R2");
    assert.equal(msg.topic, "t");
  });

  it("overwrites by default and appends (arrays joined) when asked", async function () {
    await load(
      flow(
        add(),
        loader(),
        add({ id: "logAdd", cache: "log", append: true, wires: [["added"]] }),
        loader({ id: "logLoad", cache: "log", wires: [["loaded"]] }),
      ),
    );
    await addAll([[1], [2]]);
    assert.deepEqual((await loaded()).payload, [2]);
    const got = collect("added");
    for (const p of [[1, 2], { n: 3 }, [4]]) helper.getNode("logAdd").receive({ payload: p, pw: pw() });
    await waitUntil(() => got.length === 3, "the appends");
    const msg = nextMessage("loaded");
    helper.getNode("logLoad").receive({ payload: null, pw: pw("R2") });
    assert.deepEqual((await msg).payload, [1, 2, { n: 3 }, 4]);
  });

  it("saves all pages under their numbers and loads them as one payload or one message per page", async function () {
    await load(flow(add({ allPages: true }), loader({ pages: "each", wires: [["loaded"]] })));
    await addAll(
      [[{ id: 3 }], [{ id: 1 }], [{ id: 2 }]],
      [
        { number: 3, last: true },
        { number: 1, last: false },
        { number: 2, last: false },
      ],
    );
    const got = collect("loaded");
    helper.getNode("cacheLoad").receive({ payload: null, pw: pw("R2") });
    await waitUntil(() => got.length === 3, "three pages");
    assert.deepEqual(
      got.map((m) => [m.pw.page.number, m.payload[0].id, m.pw.page.last]),
      [
        [1, 1, false],
        [2, 2, false],
        [3, 3, true],
      ],
    );
  });

  it("loads all pages joined in page order into another property", async function () {
    await load(flow(add({ allPages: true }), loader({ property: "cached.products" })));
    await addAll([[{ id: 2 }], [{ id: 1 }]], [{ number: 2 }, { number: 1 }]);
    const msg = await loaded({ payload: "kept", pw: pw("R2") });
    assert.deepEqual(msg.cached.products, [{ id: 1 }, { id: 2 }]);
    assert.equal(msg.payload, "kept");
  });

  it("loses no entry when 50 parallel runs append at once", async function () {
    await load(flow(add({ append: true, key: "all" }), loader({ key: "all" })));
    const got = collect("added");
    for (let r = 0; r < 50; r++)
      helper.getNode("cacheAdd").receive({ payload: [{ run: r }], pw: pw(`R${r}`) });
    await waitUntil(() => got.length === 50, "50 appends");
    const msg = await loaded();
    assert.deepEqual(
      msg.payload.map((x) => x.run).sort((a, b) => a - b),
      Array.from({ length: 50 }, (_, i) => i),
    );
  });

  it("fails a message that would take the cache over its size limit, naming the sizes, and writes nothing", async function () {
    await load(flow(add({ append: true, maxMB: 0.001 }), loader()));
    await addAll([["x".repeat(600)]]);
    const caught = nextMessage("caught");
    helper.getNode("cacheAdd").receive({ payload: ["y".repeat(600)], pw: pw() });
    assert.match(
      (await caught).error.message,
      /cache "keep products": cache "products" \(key "acme"\) would hold 0\.0 MB, over its 0\.0 MB limit; nothing was written\. Raise the size limit/,
    );
    assert.equal((await loaded()).payload.length, 1);
  });

  it("on a miss sends an empty list, fails with the cache named, or sends nothing, as chosen", async function () {
    await load(flow(loader()));
    assert.deepEqual((await loaded()).payload, []);
    await helper.unload();
    await load(flow(loader({ miss: "error", cache: "nothing" })));
    const caught = nextMessage("caught");
    helper.getNode("cacheLoad").receive({ payload: 1, pw: pw() });
    assert.match(
      (await caught).error.message,
      /nothing is cached in "nothing" under key "acme" \(flow scope\); add to it first, or choose what a miss does/,
    );
  });

  it("fails a payload that is not JSON data, and a run-scoped cache without a run", async function () {
    await load(flow(add(), add({ id: "runadd", scope: "run", wires: [["added"]] })));
    const circular = {};
    circular.self = circular;
    let caught = nextMessage("caught");
    helper.getNode("cacheAdd").receive({ payload: circular, pw: pw() });
    assert.match((await caught).error.message, /the payload cannot be cached as JSON \(.*circular/i);
    caught = nextMessage("caught");
    helper.getNode("runadd").receive({ payload: [] });
    assert.match((await caught).error.message, /scoped to the run, but this message belongs to no run/);
  });

  for (const [what, extra, reason] of [
    ["an empty cache name", { cache: "" }, /the cache name is empty/],
    ["an unknown scope", { scope: "company" }, /unknown scope "company"/],
    ["a bad size limit", { maxMB: "lots" }, /the size limit "lots" is not a positive number of MB/],
    ["a bad key template", { key: "{{#meta}}" }, /not valid/],
    ["an unknown store", { store: "redis" }, /there is no context store "redis"/],
  ])
    it(`refuses ${what} at deploy and fails every message with the reason`, async function () {
      await load(flow(add(extra)));
      const caught = nextMessage("caught");
      helper.getNode("cacheAdd").receive({ payload: [1], pw: pw() });
      const message = (await caught).error.message;
      assert.match(message, /cache "keep products" is not configured correctly/);
      assert.match(message, reason);
    });
});
