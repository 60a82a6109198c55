// The map shape through Node-RED: arrays, nested arrays, wrap options, lookup tables and
// their misses, error policies, bad input and bad configuration.
const assert = require("node:assert/strict");
const { helper, load, nextMessage, collect } = require("../support/node-helper");

const tab = { id: "tab1", type: "tab" };
const out = { id: "out", type: "helper", z: "tab1" };
const catcher = [
  { id: "c1", type: "catch", z: "tab1", scope: null, uncaught: false, wires: [["caught"]] },
  { id: "caught", type: "helper", z: "tab1" },
];
const table = {
  id: "lt1",
  type: "pw-lookup-table",
  name: "countries",
  columns: ["code", "name"],
  rows: [
    ["GB", "United Kingdom"],
    ["US", "United States"],
  ],
  miss: "default",
  defaultValue: "Elsewhere",
};
const mapNode = (rules, extra = {}) => ({
  id: "m",
  type: "pw-map",
  z: "tab1",
  name: "to HubSpot",
  rules,
  wires: [["out"]],
  ...extra,
});
const pw = () => ({
  run: { id: "R1", flow: "tab1", trigger: "t1", startedAt: "2026-11-27T10:00:00.000Z" },
  meta: { shop: "acme" },
});

const orders = [
  {
    id: 1,
    created_at: "2026-11-27T10:05:00Z",
    total_price: "120.50",
    country: "gb",
    customer: { email: "ADA@X.COM", first_name: "Ada" },
    line_items: [
      { sku: "A", qty: "2" },
      { sku: "B", qty: "1" },
    ],
  },
  {
    id: 2,
    created_at: "2026-11-26T09:00:00Z",
    total_price: "8",
    country: "FR",
    customer: { email: "bo@x.com", first_name: "Bo" },
    line_items: [],
  },
];

describe("pw-map (node)", function () {
  afterEach(() => helper.unload());

  it("maps every record of an array, keeping msg.pw and other properties", async function () {
    await load([
      tab,
      table,
      out,
      mapNode([
        { source: "customer.email", target: "properties.email", transforms: [{ type: "lower" }] },
        { source: "total_price", target: "properties.amount", transforms: [{ type: "to_number" }] },
        {
          source: "created_at",
          target: "properties.closedate",
          transforms: [{ type: "date_format", format: "epoch_ms" }],
        },
        {
          source: "line_items[*].sku",
          target: "properties.skus",
          transforms: [{ type: "join", separator: ";" }],
        },
        { source: "country", target: "properties.country", transforms: [{ type: "lookup", table: "lt1" }] },
        { target: "properties.source", valueType: "template", value: "{{meta.shop}}" },
      ]),
    ]);
    const got = nextMessage("out");
    const incoming = { payload: orders, pw: pw(), topic: "orders" };
    helper.getNode("m").receive(incoming);
    const msg = await got;
    assert.deepEqual(msg.payload, [
      {
        properties: {
          email: "ada@x.com",
          amount: 120.5,
          closedate: 1795773900000,
          skus: "A;B",
          country: "United Kingdom",
          source: "acme",
        },
      },
      {
        properties: {
          email: "bo@x.com",
          amount: 8,
          closedate: 1795683600000,
          skus: "",
          country: "Elsewhere",
          source: "acme",
        },
      },
    ]);
    assert.equal(msg.pw.run.id, "R1");
    assert.equal(msg.topic, "orders");
    assert.equal(incoming.payload[0].customer.email, "ADA@X.COM", "the input is not changed");
  });

  it("pairs nested arrays by position", async function () {
    await load([
      tab,
      out,
      mapNode([
        { source: "line_items[*].sku", target: "items[*].code" },
        { source: "line_items[*].qty", target: "items[*].quantity", transforms: [{ type: "to_number" }] },
      ]),
    ]);
    const got = nextMessage("out");
    helper.getNode("m").receive({ payload: orders[0] });
    assert.deepEqual((await got).payload, {
      items: [
        { code: "A", quantity: 2 },
        { code: "B", quantity: 1 },
      ],
    });
  });

  it("wraps a single record in a list when asked", async function () {
    await load([tab, out, mapNode([{ source: "id", target: "id" }], { wrapInput: true })]);
    const got = nextMessage("out");
    helper.getNode("m").receive({ payload: orders[1] });
    assert.deepEqual((await got).payload, [{ id: 2 }]);
  });

  it("follows a rule's lookup miss policy over the table's", async function () {
    await load([
      tab,
      table,
      out,
      ...catcher,
      mapNode([
        {
          name: "Country",
          source: "country",
          target: "country",
          transforms: [{ type: "lookup", table: "lt1", miss: "error" }],
        },
      ]),
    ]);
    const caught = nextMessage("caught");
    helper.getNode("m").receive({ payload: orders });
    assert.match(
      (await caught).error.message,
      /map "to HubSpot": rule "Country": record 1: lookup: "FR" is not in the lookup table "countries" \(value "FR"\)/,
    );
  });

  it("skips a field or writes a default when a rule says so, and fails by default", async function () {
    const bad = [{ amount: "12" }, { amount: "n/a" }];
    await load([
      tab,
      out,
      ...catcher,
      mapNode([
        { source: "amount", target: "skip", transforms: [{ type: "to_number" }], onError: "skip" },
        {
          source: "amount",
          target: "dflt",
          transforms: [{ type: "to_number" }],
          onError: "default",
          default: "0",
          defaultType: "num",
        },
      ]),
      {
        ...mapNode([{ name: "Amount", source: "amount", target: "a", transforms: [{ type: "to_number" }] }]),
        id: "m2",
      },
    ]);
    const got = nextMessage("out");
    helper.getNode("m").receive({ payload: bad });
    assert.deepEqual((await got).payload, [{ skip: 12, dflt: 12 }, { dflt: 0 }]);
    const caught = nextMessage("caught");
    const seen = collect("out");
    helper.getNode("m2").receive({ payload: bad });
    assert.match(
      (await caught).error.message,
      /rule "Amount": record 1: to_number: cannot read "n\/a" as a number/,
    );
    assert.equal(seen.length, 0, "nothing is sent for a failed message");
  });

  it("fails a message without a payload and keeps running", async function () {
    await load([tab, out, ...catcher, mapNode([{ source: "id", target: "id" }])]);
    const caught = nextMessage("caught");
    helper.getNode("m").receive({ topic: "x" });
    assert.match((await caught).error.message, /msg.payload is missing/);
    const got = nextMessage("out");
    helper.getNode("m").receive({ payload: { id: 5 } });
    assert.deepEqual((await got).payload, { id: 5 });
  });

  it("refuses a bad configuration, and a lookup table that cannot be used", async function () {
    await load([
      tab,
      out,
      ...catcher,
      mapNode([{ source: "a", target: "b", transforms: [{ type: "date_zone", zone: "Nowhere/Land" }] }]),
    ]);
    const caught = nextMessage("caught");
    helper.getNode("m").receive({ payload: {} });
    assert.match(
      (await caught).error.message,
      /not configured correctly: rule 1: transform 1 \(date_zone\): "Nowhere\/Land" is not a time zone/,
    );
    await helper.unload();
    await load([
      tab,
      out,
      ...catcher,
      {
        ...table,
        rows: [
          ["GB", "a"],
          ["gb", "b"],
        ],
      },
      mapNode([{ source: "a", target: "b", transforms: [{ type: "lookup", table: "lt1" }] }]),
    ]);
    const again = nextMessage("caught");
    helper.getNode("m").receive({ payload: {} });
    assert.match(
      (await again).error.message,
      /the lookup table "countries" cannot be used: lookup table "countries": the key "gb" appears twice/,
    );
  });
});
