const assert = require("node:assert/strict");
const { helper, load, nextMessage } = require("../support/node-helper");

const tab = { id: "tab1", type: "tab" };
const catcher = { id: "c1", type: "catch", z: "tab1", scope: null, uncaught: false, wires: [["caught"]] };
const caught = { id: "caught", type: "helper", z: "tab1" };
const out = { id: "out", type: "helper", z: "tab1" };
const errorsOf = (id) =>
  helper
    .log()
    .args.map((a) => a[0])
    .filter((e) => e.level === 20 && e.id === id)
    .map((e) => e.msg);

describe("pw-run-flow (node)", function () {
  afterEach(() => helper.unload());

  it("starts the chosen flow's trigger with the payload and continues with the child's run id", async function () {
    await load([
      tab,
      { id: "rf", type: "pw-run-flow", z: "tab1", trigger: "child", mode: "continue", wires: [["out"]] },
      {
        id: "child",
        type: "pw-trigger",
        z: "tab1",
        name: "Child flow",
        schedules: [],
        wires: [["childOut"]],
      },
      { id: "childOut", type: "helper", z: "tab1" },
      out,
    ]);
    const childMsg = nextMessage("childOut");
    const cont = nextMessage("out");
    helper.getNode("rf").receive({
      payload: { sku: "A1" },
      pw: {
        run: { id: "P1", flow: "tab1", trigger: "parentTrigger", startedAt: "x" },
        meta: { order: "7" },
      },
    });
    const [child, parent] = await Promise.all([childMsg, cont]);
    assert.deepEqual(child.payload, { sku: "A1" });
    assert.equal(child.pw.run.parent, "P1");
    assert.equal(child.pw.run.via, "flow");
    assert.deepEqual(child.pw.run.chain, ["parentTrigger"]);
    assert.deepEqual(child.pw.meta, { order: "7" });
    assert.equal(parent.runFlow.run, child.pw.run.id);
  });

  it("reports a missing choice or bad manual JSON at deploy, and fails messages clearly", async function () {
    await load([
      tab,
      { id: "rf", type: "pw-run-flow", z: "tab1", trigger: "", wires: [["out"]] },
      catcher,
      caught,
      out,
    ]);
    assert.match(errorsOf("rf")[0], /no process flow is chosen/);
    await helper.unload();
    await load([
      tab,
      {
        id: "rf",
        type: "pw-run-flow",
        z: "tab1",
        trigger: "x",
        payloadMode: "manual",
        payload: "{nope",
        wires: [["out"]],
      },
      catcher,
      caught,
      out,
    ]);
    assert.match(errorsOf("rf")[0], /manual payload is not valid JSON/);
    const got = nextMessage("caught");
    helper.getNode("rf").receive({ payload: 1 });
    assert.match((await got).error.message, /manual payload is not valid JSON/);
  });

  it("fails a message when the chosen flow is not deployed", async function () {
    await load([
      tab,
      { id: "rf", type: "pw-run-flow", z: "tab1", trigger: "gone", wires: [["out"]] },
      catcher,
      caught,
      out,
    ]);
    const got = nextMessage("caught");
    helper.getNode("rf").receive({ payload: 1 });
    assert.match((await got).error.message, /the process flow to run \(trigger gone\) is not deployed/);
  });
});
