const assert = require("node:assert/strict");
const { helper, load, nextMessage } = require("../support/node-helper");
const { lib } = require("../support/dist");
const { awaitCallback } = lib("runs/callbacks");

const tab = { id: "tab1", type: "tab" };
const out = { id: "out", type: "helper", z: "tab1" };
const catcher = { id: "c1", type: "catch", z: "tab1", scope: null, uncaught: false, wires: [["caught"]] };
const caught = { id: "caught", type: "helper", z: "tab1" };
const pw = (id) => ({
  run: { id, flow: "tab1", trigger: "t", startedAt: "2026-11-27T10:00:00.000Z" },
  meta: {},
});

describe("pw-callback (node)", function () {
  afterEach(() => helper.unload());

  it("answers whoever waits for the run with the payload, status, format and headers, and passes the message on", async function () {
    await load([
      tab,
      {
        id: "cb",
        type: "pw-callback",
        z: "tab1",
        statusCode: 202,
        format: "text",
        headers: [{ name: "X-Ref", value: "A1" }],
        wires: [["out"]],
      },
      out,
    ]);
    let answer;
    awaitCallback(
      "RUN1",
      5000,
      (reply) => (answer = reply),
      () => {},
    );
    const received = nextMessage("out");
    helper.getNode("cb").receive({ payload: "ok", pw: pw("RUN1") });
    await received;
    assert.deepEqual(answer, { status: 202, headers: { "x-ref": "A1" }, payload: "ok", format: "text" });
  });

  it("warns and passes the message on when nothing waits", async function () {
    await load([tab, { id: "cb", type: "pw-callback", z: "tab1", wires: [["out"]] }, out]);
    const warned = new Promise((resolve) => helper.getNode("cb").on("call:warn", (c) => resolve(c.args[0])));
    helper.getNode("cb").receive({ payload: 1, pw: pw("NOBODY") });
    assert.match(await warned, /nothing is waiting for an answer from run NOBODY/);
    await nextMessage("out");
  });

  it("fails a message with no run context, for Catch nodes", async function () {
    await load([tab, { id: "cb", type: "pw-callback", z: "tab1", wires: [["out"]] }, catcher, caught, out]);
    const got = nextMessage("caught");
    helper.getNode("cb").receive({ payload: 1 });
    assert.match((await got).error.message, /belongs to no run \(no msg\.pw\.run\)/);
  });

  it("reports a status that is not HTTP at deploy", async function () {
    await load([tab, { id: "cb", type: "pw-callback", z: "tab1", statusCode: 42, wires: [["out"]] }, out]);
    const logged = helper
      .log()
      .args.map((a) => a[0])
      .filter((e) => e.level === 20 && e.id === "cb");
    assert.match(logged[0].msg, /status 42 is not an HTTP status/);
  });

  /** Answers one message of run `id` through callback `cb` and returns the answer given. */
  async function answerOf(cb, id) {
    let answer;
    awaitCallback(
      id,
      5000,
      (reply) => (answer = reply),
      () => {},
    );
    const received = nextMessage("out");
    helper.getNode("cb").receive({ payload: "ok", pw: pw(id) });
    await received;
    return answer;
  }

  it("keeps the status of flows saved before the setting was renamed (status → statusCode)", async function () {
    await load([tab, { id: "cb", type: "pw-callback", z: "tab1", status: 201, wires: [["out"]] }, out]);
    assert.equal((await answerOf("cb", "RUN2")).status, 201);
  });

  it("ignores the runtime status the editor wrote into the old setting and answers 200", async function () {
    // What a full deploy after a run saved before the rename: the node's status dot.
    const dot = { fill: "green", shape: "dot", text: "answered 200" };
    await load([tab, { id: "cb", type: "pw-callback", z: "tab1", status: dot, wires: [["out"]] }, out]);
    assert.equal((await answerOf("cb", "RUN3")).status, 200);
  });
});
