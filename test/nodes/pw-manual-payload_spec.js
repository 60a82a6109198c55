const assert = require("node:assert/strict");
const { helper, load, nextMessage } = require("../support/node-helper");

const tab = { id: "tab1", type: "tab" };
const out = { id: "out", type: "helper", z: "tab1" };
const catcher = { id: "c1", type: "catch", z: "tab1", scope: null, uncaught: false, wires: [["caught"]] };
const caught = { id: "caught", type: "helper", z: "tab1" };
const pw = {
  run: { id: "R1", flow: "tab1", trigger: "t1", startedAt: "2026-11-27T10:00:00.000Z" },
  meta: { a: "1" },
};

describe("pw-manual-payload (node)", function () {
  afterEach(() => helper.unload());

  it("replaces the payload with the JSON, keeping msg.pw and other properties", async function () {
    await load([
      tab,
      {
        id: "m",
        type: "pw-manual-payload",
        z: "tab1",
        format: "json",
        payload: '[{"id":1}]',
        wires: [["out"]],
      },
      out,
    ]);
    const received = nextMessage("out");
    helper.getNode("m").receive({ payload: "old", topic: "t", pw });
    const msg = await received;
    assert.deepEqual(msg.payload, [{ id: 1 }]);
    assert.equal(msg.topic, "t");
    assert.deepEqual(msg.pw, pw);
  });

  it("gives every message its own copy, so changes downstream never leak into the next run", async function () {
    await load([
      tab,
      {
        id: "m",
        type: "pw-manual-payload",
        z: "tab1",
        format: "json",
        payload: '{"items":[1]}',
        wires: [["out"]],
      },
      out,
    ]);
    let received = nextMessage("out");
    helper.getNode("m").receive({});
    (await received).payload.items.push(2);
    received = nextMessage("out");
    helper.getNode("m").receive({});
    assert.deepEqual((await received).payload, { items: [1] });
  });

  it("sends text as it is", async function () {
    await load([
      tab,
      {
        id: "m",
        type: "pw-manual-payload",
        z: "tab1",
        format: "text",
        payload: "id,sku\n1,A",
        wires: [["out"]],
      },
      out,
    ]);
    const received = nextMessage("out");
    helper.getNode("m").receive({});
    assert.equal((await received).payload, "id,sku\n1,A");
  });

  it("reports invalid JSON with a red status and an error that Catch nodes get", async function () {
    await load([
      tab,
      {
        id: "m",
        type: "pw-manual-payload",
        z: "tab1",
        name: "Orders",
        format: "json",
        payload: "{oops",
        wires: [["out"]],
      },
      catcher,
      caught,
      out,
    ]);
    const logged = helper
      .log()
      .args.map((a) => a[0])
      .filter((e) => e.level === 20 && e.id === "m");
    assert.match(logged[0].msg, /manual payload "Orders": the payload is not valid JSON/);
    const received = nextMessage("caught");
    helper.getNode("m").receive({ payload: 1 });
    const msg = await received;
    assert.match(
      msg.error.message,
      /is not configured correctly: the payload is not valid JSON .*; correct it/,
    );
    assert.equal(msg.error.source.id, "m");
  });
});
