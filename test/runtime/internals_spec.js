// The Node-RED internals the runs plugin relies on (nodes/node-red-internals.ts), pinned
// against the Node-RED in use: an update that changes one fails here, not in users' runs.
const assert = require("node:assert/strict");
const { startRuntime } = require("../support/runtime");
const { waitUntil } = require("../support/wait");
const { node } = require("../support/dist");

const internals = node("node-red-internals");

describe("Node-RED internals the runs plugin relies on", function () {
  let rt;
  const events = { send: [], receive: [], complete: [] };
  const logged = [];
  before(async () => {
    rt = await startRuntime({ patchworks: { runs: { settleMs: 50 } } });
    const { RED } = rt;
    RED.hooks.add("onSend.pins", (evts) => events.send.push(...evts));
    RED.hooks.add("onReceive.pins", (e) => events.receive.push(e));
    RED.hooks.add("onComplete.pins", (e) => events.complete.push(e));
    internals.addLogHandler(RED, { emit: (_event, entry) => logged.push(entry) });
    await rt.deploy([
      { id: "tab", type: "tab", label: "Pins" },
      {
        id: "inj",
        type: "inject",
        z: "tab",
        props: [{ p: "payload" }],
        payload: "7",
        payloadType: "num",
        repeat: "",
        once: false,
        wires: [["fn"]],
      },
      {
        id: "fn",
        type: "function",
        z: "tab",
        func: "node.done(new Error('pinned ' + msg.payload)); return;",
        outputs: 1,
        wires: [["sw"]],
      },
      {
        id: "sw",
        type: "switch",
        z: "tab",
        property: "payload",
        propertyType: "msg",
        rules: [{ t: "nnull" }],
        checkall: "true",
        outputs: 1,
        wires: [[]],
      },
    ]);
  });
  after(() => {
    for (const h of ["onSend.pins", "onReceive.pins", "onComplete.pins"]) rt.RED.hooks.remove(h);
    return rt.stop();
  });

  it("tells whether a node's input handler takes done (_expectedDoneCount)", function () {
    assert.equal(internals.takesDone(rt.RED.nodes.getNode("fn")), true, "a function node takes done");
    assert.equal(internals.takesDone(rt.RED.nodes.getNode("sw")), false, "a switch does not");
  });

  it("finds a wire's destination in the sender's flow (_flow.getNode)", function () {
    const fn = rt.RED.nodes.getNode("fn");
    assert.equal(internals.routeTarget(rt.RED.nodes.getNode("inj"), "fn"), fn);
    assert.equal(internals.routeTarget(rt.RED.nodes.getNode("inj"), "nowhere"), undefined);
  });

  it("hands hooks the message and the runtime nodes, and done(err) reaches Node.prototype.error with the message", async function () {
    // The runs plugin installs its own report as it first sees a node: let it, then take over.
    rt.RED.nodes.getNode("inj").receive({});
    await waitUntil(() => events.complete.some((e) => e.node.id === "fn"), "a first message through fn");
    events.complete.length = events.send.length = events.receive.length = 0;
    const reports = [];
    assert.equal(
      internals.reportNodeErrors(rt.RED.nodes.getNode("fn"), (n, text, msg) => {
        reports.push({ id: n.id, text: String(text), msg });
        return () => reports.push("after");
      }),
      true,
      "the prototype all nodes share owns error and _complete",
    );
    rt.RED.nodes.getNode("inj").receive({});
    await waitUntil(() => events.complete.some((e) => e.node.id === "fn"), "onComplete of fn");
    const send = events.send.find((e) => e.source.id === "inj");
    assert.equal(send.source.node, rt.RED.nodes.getNode("inj"), "onSend: source.node");
    assert.equal(send.destination.id, "fn", "onSend: destination.id");
    const receive = events.receive.find((e) => e.destination.id === "fn");
    assert.equal(receive.destination.node, rt.RED.nodes.getNode("fn"), "onReceive: destination.node");
    const complete = events.complete.find((e) => e.node.id === "fn");
    assert.equal(complete.node.node, rt.RED.nodes.getNode("fn"), "onComplete: node.node");
    assert.equal(complete.msg.payload, 7, "onComplete: msg");
    assert.match(String(complete.error), /pinned 7/, "onComplete: error");
    await waitUntil(() => reports.length >= 2, "the error report");
    assert.equal(reports[0].id, "fn");
    assert.match(reports[0].text, /pinned 7/);
    assert.equal(reports[0].msg.payload, 7, "the error comes with its message");
    assert.equal(reports[1], "after");
    // The error is then logged at level 20 with the node's id, as the log handler expects.
    await waitUntil(
      () => logged.some((l) => l.level === internals.LOG_ERROR && l.id === "fn"),
      "the error log entry",
    );
  });

  it("publishes to the editor through the comms of a plugin's RED", function () {
    const api = require("@node-red/registry/lib/util").createNodeApi({ id: "pins" });
    const published = [];
    const listener = (e) => published.push(e);
    api.events.on("comms", listener);
    internals.publishToEditor(api, "pw-pins/test", { ok: true });
    api.events.removeListener("comms", listener);
    assert.deepEqual(published, [{ topic: "pw-pins/test", data: { ok: true }, retain: false }]);
  });
});
