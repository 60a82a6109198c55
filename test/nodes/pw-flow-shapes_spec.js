// Filter, route, flow control and split through Node-RED: arrays, single records, empty
// arrays, missing paths and bad configuration.
const assert = require("node:assert/strict");
const { helper, load, nextMessage, collect } = require("../support/node-helper");
const { waitUntil } = require("../support/wait");

const tab = { id: "tab1", type: "tab" };
const helpers = (...ids) => ids.map((id) => ({ id, type: "helper", z: "tab1" }));
const catcher = [
  { id: "c1", type: "catch", z: "tab1", scope: null, uncaught: false, wires: [["caught"]] },
  ...helpers("caught"),
];
const pw = () => ({
  run: { id: "R1", flow: "tab1", trigger: "t1", startedAt: "2026-11-27T10:00:00.000Z" },
  meta: { shop: "acme" },
});
const settle = () => new Promise((r) => setTimeout(r, 30));

const orders = [
  { id: 1, status: "paid", total: "120.50", country: "GB", line_items: [{ sku: "A" }, { sku: "GIFT" }] },
  { id: 2, status: "pending", total: 80, country: "US", line_items: [{ sku: "B" }] },
  { id: 3, status: "paid", total: 30, country: "US", line_items: [] },
  { id: 4, status: "refunded", total: "n/a", country: "DE" },
];
const ids = (msg) => msg.payload.map((r) => r.id);

describe("pw-filter (node)", function () {
  afterEach(() => helper.unload());
  const filter = (conditions, extra = {}) => ({
    id: "f",
    type: "pw-filter",
    z: "tab1",
    name: "paid only",
    conditions,
    wires: [["kept"], ["removed"]],
    ...extra,
  });

  it("keeps the matching records of an array in one message, msg.pw and other properties intact", async function () {
    await load([
      tab,
      filter({ logic: "and", rules: [{ field: "status", op: "equals", value: "paid" }] }),
      ...helpers("kept", "removed"),
    ]);
    const got = nextMessage("kept");
    const incoming = { payload: orders, pw: pw(), topic: "orders" };
    helper.getNode("f").receive(incoming);
    const msg = await got;
    assert.deepEqual(ids(msg), [1, 3]);
    assert.equal(msg.pw.run.id, "R1");
    assert.equal(msg.topic, "orders");
    assert.equal(msg.payload[0], orders[0], "records are passed on, not copied");
    assert.equal(incoming.payload.length, 4, "the incoming payload is untouched");
  });

  it("sends removed records to a second output, and reports counts in its status", async function () {
    await load([
      tab,
      filter(
        {
          logic: "or",
          rules: [
            { field: "total", op: "gt", type: "number", value: "100" },
            { field: "line_items[*].sku", op: "equals", value: "B" },
          ],
        },
        { removedOutput: true, outputs: 2 },
      ),
      ...helpers("kept", "removed"),
    ]);
    const kept = nextMessage("kept");
    const removed = nextMessage("removed");
    const status = [];
    helper.getNode("f").on("call:status", (call) => status.push(call.args[0].text));
    helper.getNode("f").receive({ payload: orders, pw: pw() });
    assert.deepEqual(ids(await kept), [1, 2]);
    assert.deepEqual(ids(await removed), [3, 4]);
    assert.equal(status.pop(), "2 kept, 2 removed");
  });

  it("removes matching records when set to remove", async function () {
    await load([
      tab,
      filter([{ field: "country", op: "in", value: "US, DE" }], { keep: "rest" }),
      ...helpers("kept", "removed"),
    ]);
    const kept = nextMessage("kept");
    helper.getNode("f").receive({ payload: orders });
    assert.deepEqual(ids(await kept), [1]);
  });

  it("passes or drops a single record", async function () {
    await load([
      tab,
      filter([{ field: "status", op: "equals", value: "paid" }]),
      ...helpers("kept", "removed"),
    ]);
    const seen = collect("kept");
    helper.getNode("f").receive({ payload: orders[1], pw: pw() });
    helper.getNode("f").receive({ payload: orders[0], pw: pw() });
    await settle();
    assert.equal(seen.length, 1);
    assert.equal(seen[0].payload.id, 1, "the record itself, not wrapped in a list");
  });

  it("sends nothing for no records left, or an empty list when asked", async function () {
    await load([
      tab,
      filter([{ field: "status", op: "equals", value: "shipped" }]),
      {
        ...filter([{ field: "status", op: "equals", value: "shipped" }], { sendEmpty: true }),
        id: "f2",
        wires: [["kept2"]],
      },
      ...helpers("kept", "removed", "kept2"),
    ]);
    const seen = collect("kept");
    const got2 = nextMessage("kept2");
    helper.getNode("f").receive({ payload: orders });
    helper.getNode("f").receive({ payload: [] });
    helper.getNode("f2").receive({ payload: [] });
    assert.deepEqual((await got2).payload, []);
    await settle();
    assert.equal(seen.length, 0);
  });

  it("treats a path missing from a record as no match", async function () {
    await load([
      tab,
      filter([{ field: "customer.address.city", op: "equals", value: "Leeds" }], {
        removedOutput: true,
        outputs: 2,
      }),
      ...helpers("kept", "removed"),
    ]);
    const removed = nextMessage("removed");
    const seen = collect("kept");
    helper.getNode("f").receive({ payload: orders });
    assert.equal((await removed).payload.length, 4);
    assert.equal(seen.length, 0);
  });

  it("renders template values per message", async function () {
    await load([
      tab,
      filter([{ field: "country", op: "equals", value: "{{meta.country}}", valueType: "template" }]),
      ...helpers("kept", "removed"),
    ]);
    const kept = nextMessage("kept");
    helper.getNode("f").receive({ payload: orders, pw: { ...pw(), meta: { country: "US" } } });
    assert.deepEqual(ids(await kept), [2, 3]);
  });

  it("fails the message with field, record and value when a value cannot be compared and the policy says so", async function () {
    await load([
      tab,
      filter({
        logic: "and",
        onBadValue: "error",
        rules: [{ field: "total", op: "gt", type: "number", value: "50" }],
      }),
      ...helpers("kept", "removed"),
      ...catcher,
    ]);
    const caught = nextMessage("caught");
    const seen = collect("kept");
    helper.getNode("f").receive({ payload: orders, pw: pw() });
    const msg = await caught;
    assert.match(
      msg.error.message,
      /filter "paid only": record 3: field "total" is not a number \(value "n\/a"\)/,
    );
    await settle();
    assert.equal(seen.length, 0, "nothing is sent");
  });

  it("fails a message without a payload, and keeps running", async function () {
    await load([tab, filter([{ field: "status", op: "exists" }]), ...helpers("kept", "removed"), ...catcher]);
    const caught = nextMessage("caught");
    helper.getNode("f").receive({ pw: pw() });
    assert.match((await caught).error.message, /msg.payload is missing/);
    const kept = nextMessage("kept");
    helper.getNode("f").receive({ payload: [{ status: "x" }] });
    assert.equal((await kept).payload.length, 1);
  });

  it("refuses a bad configuration with a red status and fails every message", async function () {
    await load([
      tab,
      filter([{ field: "email", op: "regex", value: "([a-z" }]),
      ...helpers("kept", "removed"),
      ...catcher,
    ]);
    const caught = nextMessage("caught");
    helper.getNode("f").receive({ payload: orders });
    assert.match(
      (await caught).error.message,
      /filter "paid only" is not configured correctly: rule 1 \(email regex\).*not a valid regular expression/,
    );
  });
});

describe("pw-route (node)", function () {
  afterEach(() => helper.unload());
  const routeNode = (routes, extra = {}) => ({
    id: "r",
    type: "pw-route",
    z: "tab1",
    name: "by country",
    routes,
    otherwise: true,
    wires: [["o1"], ["o2"], ["o3"]],
    ...extra,
  });
  const gb = {
    label: "UK",
    conditions: { logic: "and", rules: [{ field: "country", op: "equals", value: "GB" }] },
  };
  const paid = {
    label: "paid",
    conditions: { logic: "and", rules: [{ field: "status", op: "equals", value: "paid" }] },
  };

  it("partitions an array: one message per output with its records, and otherwise gets the rest", async function () {
    await load([routeNode([gb, paid]), tab, ...helpers("o1", "o2", "o3")]);
    const [a, b, c] = ["o1", "o2", "o3"].map((id) => nextMessage(id));
    helper.getNode("r").receive({ payload: orders, pw: pw() });
    assert.deepEqual(ids(await a), [1]);
    assert.deepEqual(ids(await b), [3], "first matching route only: order 1 went to UK");
    assert.deepEqual(ids(await c), [2, 4]);
    const [ma, mb] = [await a, await b];
    assert.notEqual(ma, mb, "each output has its own message object");
    assert.equal(ma.pw.run.id, "R1");
  });

  it("sends a record down every route it matches in that mode", async function () {
    await load([routeNode([gb, paid], { mode: "all" }), tab, ...helpers("o1", "o2", "o3")]);
    const [a, b] = ["o1", "o2"].map((id) => nextMessage(id));
    helper.getNode("r").receive({ payload: orders });
    assert.deepEqual(ids(await a), [1]);
    assert.deepEqual(ids(await b), [1, 3]);
  });

  it("lets a route with no conditions take everything", async function () {
    await load([
      routeNode([gb, { label: "all", conditions: { logic: "and", rules: [] } }], {
        mode: "all",
        otherwise: false,
        wires: [["o1"], ["o2"]],
      }),
      tab,
      ...helpers("o1", "o2", "o3"),
    ]);
    const b = nextMessage("o2");
    helper.getNode("r").receive({ payload: orders });
    assert.deepEqual(ids(await b), [1, 2, 3, 4]);
  });

  it("sends nothing down a route with no records unless asked, and routes a single record", async function () {
    await load([routeNode([gb, paid]), tab, ...helpers("o1", "o2", "o3")]);
    const seen = ["o1", "o2", "o3"].map((id) => collect(id));
    helper.getNode("r").receive({ payload: orders[1] });
    helper.getNode("r").receive({ payload: [] });
    await settle();
    assert.deepEqual(
      seen.map((s) => s.length),
      [0, 0, 1],
    );
    assert.equal(seen[2][0].payload.id, 2, "the record itself");
  });

  it("sends empty lists when asked", async function () {
    await load([routeNode([gb, paid], { sendEmpty: true }), tab, ...helpers("o1", "o2", "o3")]);
    const [a, b, c] = ["o1", "o2", "o3"].map((id) => nextMessage(id));
    helper.getNode("r").receive({ payload: [] });
    assert.deepEqual([(await a).payload, (await b).payload, (await c).payload], [[], [], []]);
  });

  it("treats a missing path as no match", async function () {
    await load([
      routeNode(
        [{ label: "deep", conditions: [{ field: "customer.address.city", op: "equals", value: "Leeds" }] }],
        { wires: [["o1"], ["o2"]] },
      ),
      tab,
      ...helpers("o1", "o2", "o3"),
    ]);
    const b = nextMessage("o2");
    helper.getNode("r").receive({ payload: orders });
    assert.equal((await b).payload.length, 4);
  });

  it("refuses a route whose conditions are bad, naming the route", async function () {
    await load([
      routeNode([
        gb,
        { label: "big", conditions: [{ field: "total", op: "gt", type: "number", value: "lots" }] },
      ]),
      tab,
      ...helpers("o1", "o2", "o3"),
      ...catcher,
    ]);
    const caught = nextMessage("caught");
    helper.getNode("r").receive({ payload: orders });
    assert.match(
      (await caught).error.message,
      /route 2 "big": rule 1 \(total gt\): the value: "lots" is not a number/,
    );
  });

  it("refuses a route shape without routes", async function () {
    await load([routeNode([]), tab, ...helpers("o1", "o2", "o3"), ...catcher]);
    const caught = nextMessage("caught");
    helper.getNode("r").receive({ payload: orders });
    assert.match((await caught).error.message, /add at least one route/);
  });
});

describe("pw-flow-control (node)", function () {
  afterEach(() => helper.unload());
  const fc = (extra = {}) => ({
    id: "fc",
    type: "pw-flow-control",
    z: "tab1",
    name: "batches",
    size: 2,
    wires: [["out"]],
    ...extra,
  });
  const records = (n) => Array.from({ length: n }, (_, i) => ({ id: i + 1 }));

  it("cuts an array into batches, one message each with msg.pw.batch", async function () {
    await load([tab, fc(), ...helpers("out")]);
    const seen = collect("out");
    helper.getNode("fc").receive({ payload: records(5), pw: pw() });
    await waitUntil(() => seen.length === 3, "three batches");
    assert.deepEqual(
      seen.map((m) => m.payload.map((r) => r.id)),
      [[1, 2], [3, 4], [5]],
    );
    assert.deepEqual(
      seen.map((m) => m.pw.batch),
      [
        { index: 0, count: 3 },
        { index: 1, count: 3 },
        { index: 2, count: 3 },
      ],
    );
    assert.equal(seen[0].pw.run.id, "R1");
    assert.equal(seen[0].pw.meta.shop, "acme");
    assert.notEqual(seen[0].pw, seen[1].pw, "each message has its own pw");
  });

  it("batches at a level, through [*] across elements", async function () {
    await load([tab, fc({ level: "orders[*].fulfillments", size: 3 }), ...helpers("out")]);
    const seen = collect("out");
    helper
      .getNode("fc")
      .receive({ payload: { orders: [{ fulfillments: [1, 2] }, { fulfillments: [3, 4] }, {}] } });
    await waitUntil(() => seen.length === 2, "two batches");
    assert.deepEqual(
      seen.map((m) => m.payload),
      [[1, 2, 3], [4]],
    );
  });

  it("paces batches with a pause, without blocking other messages' flows", async function () {
    await load([tab, fc({ size: 1, delayMs: 60 }), ...helpers("out")]);
    const seen = [];
    helper.getNode("out").on("input", (m) => seen.push([m.payload[0].id, Date.now()]));
    const start = Date.now();
    helper.getNode("fc").receive({ payload: records(3) });
    await waitUntil(() => seen.length === 3, "three batches", 3000);
    assert.ok(
      seen[1][1] - seen[0][1] >= 50 && seen[2][1] - seen[1][1] >= 50,
      JSON.stringify(seen.map((s) => s[1] - start)),
    );
  });

  it("sends nothing for an empty array", async function () {
    await load([tab, fc(), ...helpers("out")]);
    const seen = collect("out");
    helper.getNode("fc").receive({ payload: [] });
    await settle();
    assert.equal(seen.length, 0);
  });

  it("fails a payload that is not an array with what it found", async function () {
    await load([tab, fc({ level: "orders" }), ...helpers("out"), ...catcher]);
    const caught = nextMessage("caught");
    helper.getNode("fc").receive({ payload: { orders: { id: 1 } } });
    assert.match(
      (await caught).error.message,
      /msg.payload.orders is an object, not an array of records: check the batch level/,
    );
    const again = nextMessage("caught");
    helper.getNode("fc").receive({ payload: "text" });
    assert.match((await again).error.message, /msg.payload.orders is missing/);
  });

  it("refuses a batch size that is not a whole number", async function () {
    await load([tab, fc({ size: "0" }), ...helpers("out"), ...catcher]);
    const caught = nextMessage("caught");
    helper.getNode("fc").receive({ payload: records(2) });
    assert.match((await caught).error.message, /batch size must be a whole number of 1 or more, not "0"/);
  });
});

describe("pw-split (node)", function () {
  afterEach(() => helper.unload());
  const split = (extra = {}) => ({
    id: "sp",
    type: "pw-split",
    z: "tab1",
    name: "addresses",
    path: "customer.addresses",
    wires: [["out"]],
    ...extra,
  });
  const customer = {
    customer: {
      id: 7,
      email: "ada@example.com",
      addresses: [
        { id: 1, city: "Leeds" },
        { id: 2, city: "York" },
      ],
    },
  };

  it("sends one message per element with msg.pw.batch", async function () {
    await load([tab, split(), ...helpers("out")]);
    const seen = collect("out");
    helper.getNode("sp").receive({ payload: customer, pw: pw() });
    await waitUntil(() => seen.length === 2, "two parts");
    assert.deepEqual(
      seen.map((m) => m.payload.city),
      ["Leeds", "York"],
    );
    assert.deepEqual(seen[1].pw.batch, { index: 1, count: 2 });
    assert.equal(seen[0].payload, customer.customer.addresses[0], "parts are the payload's own elements");
  });

  it("sends the whole element in one message, wrapped under a key", async function () {
    await load([tab, split({ mode: "whole", wrapper: "addresses" }), ...helpers("out")]);
    const got = nextMessage("out");
    helper.getNode("sp").receive({ payload: customer });
    assert.deepEqual((await got).payload, { addresses: customer.customer.addresses });
  });

  it("copies parent fields into each part without changing the input", async function () {
    await load([
      tab,
      split({ parentFields: [{ from: "id", to: "customer_id" }, { from: "email" }] }),
      ...helpers("out"),
    ]);
    const seen = collect("out");
    helper.getNode("sp").receive({ payload: customer });
    await waitUntil(() => seen.length === 2, "two parts");
    assert.deepEqual(seen[0].payload, { id: 1, city: "Leeds", customer_id: 7, email: "ada@example.com" });
    assert.equal(customer.customer.addresses[0].customer_id, undefined);
  });

  it("reaches into each record of an array through [*]", async function () {
    await load([
      tab,
      split({ path: "[*].addresses", parentFields: [{ from: "id", to: "customer_id" }] }),
      ...helpers("out"),
    ]);
    const seen = collect("out");
    helper.getNode("sp").receive({
      payload: [
        { id: 1, addresses: [{ city: "A" }] },
        { id: 2, addresses: [{ city: "B" }, { city: "C" }] },
      ],
    });
    await waitUntil(() => seen.length === 3, "three parts");
    assert.deepEqual(
      seen.map((m) => [m.payload.city, m.payload.customer_id]),
      [
        ["A", 1],
        ["B", 2],
        ["C", 2],
      ],
    );
  });

  it("sends nothing for an empty list at the path", async function () {
    await load([tab, split(), ...helpers("out")]);
    const seen = collect("out");
    helper.getNode("sp").receive({ payload: { customer: { addresses: [] } } });
    await settle();
    assert.equal(seen.length, 0);
  });

  it("fails a path that finds nothing, with a hint for arrays", async function () {
    await load([tab, split({ path: "addresses" }), ...helpers("out"), ...catcher]);
    const caught = nextMessage("caught");
    helper.getNode("sp").receive({ payload: [{ addresses: [] }] });
    assert.match(
      (await caught).error.message,
      /nothing at "addresses": the payload is an array of 1; start the path with \[\*\]\./,
    );
  });

  it("refuses an empty or invalid path", async function () {
    await load([tab, split({ path: "a..b" }), ...helpers("out"), ...catcher]);
    const caught = nextMessage("caught");
    helper.getNode("sp").receive({ payload: {} });
    assert.match((await caught).error.message, /not configured correctly: path "a..b" has an empty key/);
  });
});

describe("pw-branch (node, without run tracking)", function () {
  afterEach(() => helper.unload());
  const branch = (extra = {}) => ({
    id: "br",
    type: "pw-branch",
    z: "tab1",
    name: "sync",
    branches: [{ label: "customer" }, { label: "order" }],
    wires: [["b1"], ["b2"]],
    ...extra,
  });

  it("sends every output its own copy of the payload, all at once, and says it cannot wait", async function () {
    await load([tab, branch(), ...helpers("b1", "b2")]);
    const [a, b] = [nextMessage("b1"), nextMessage("b2")];
    const status = [];
    helper.getNode("br").on("call:status", (call) => status.push(call.args[0].text));
    const incoming = { payload: [{ id: 1, tags: ["a"] }], pw: pw() };
    helper.getNode("br").receive(incoming);
    const [ma, mb] = [await a, await b];
    assert.deepEqual(ma.payload, incoming.payload);
    assert.notEqual(ma.payload, mb.payload);
    assert.notEqual(ma.payload[0], incoming.payload[0], "a deep copy: a branch may change its records");
    assert.equal(mb.pw.run.id, "R1");
    assert.equal(status.pop(), "pw-branch.status.not-awaited");
  });

  it("handles an empty array and a single record alike", async function () {
    await load([tab, branch(), ...helpers("b1", "b2")]);
    const [a, b] = [nextMessage("b1"), nextMessage("b2")];
    helper.getNode("br").receive({ payload: [] });
    assert.deepEqual((await a).payload, []);
    assert.deepEqual((await b).payload, []);
  });

  it("refuses a branch shape without branches", async function () {
    await load([tab, branch({ branches: [] }), ...helpers("b1", "b2"), ...catcher]);
    const caught = nextMessage("caught");
    helper.getNode("br").receive({ payload: 1 });
    assert.match(
      (await caught).error.message,
      /branch "sync" is not configured correctly: add at least one branch/,
    );
  });
});
