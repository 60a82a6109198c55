// Run process flow and callback shapes in a real runtime, with run tracking on.
const assert = require("node:assert/strict");
const { startRuntime } = require("../support/runtime");
const { waitUntil } = require("../support/wait");

const sinkFn = "global.get('seen').push(msg); return null;";

describe("run process flow and callback (runtime)", function () {
  let rt;
  const seen = [];
  before(
    async () =>
      (rt = await startRuntime({ functionGlobalContext: { seen }, patchworks: { runs: { settleMs: 50 } } })),
  );
  after(() => rt.stop());
  beforeEach(() => (seen.length = 0));
  // A child left running holds its trigger's slot (concurrency 1) and would queue the next test's.
  afterEach(async () => {
    for (const run of (await rt.api("GET", "/pw/runs?status=running,queued")).json.runs)
      await rt.api("POST", `/pw/runs/${run.id}/stop`);
  });

  const runOf = async (id) => (await rt.api("GET", `/pw/runs/${id}`)).json.run;
  const ended = (id) =>
    waitUntil(
      async () => {
        const r = await runOf(id);
        return r && r.status !== "running" ? r : undefined;
      },
      `run ${id} to end`,
      8000,
      20,
    );

  /** Parent tab: trigger → set meta order=1001 → run-flow(settings) → sink + catch → sink. Child tab: trigger → child nodes. */
  async function deploy(runFlow, child) {
    await rt.deploy([
      { id: "p", type: "tab", label: "Parent" },
      { id: "c", type: "tab", label: "Child" },
      { id: "ptrig", type: "pw-trigger", z: "p", name: "parent", schedules: [], wires: [["pset"]] },
      {
        id: "pset",
        type: "pw-set-variables",
        z: "p",
        rules: [{ target: "meta", key: "order", valueType: "str", value: "1001" }],
        wires: [["rf"]],
      },
      {
        id: "rf",
        type: "pw-run-flow",
        z: "p",
        name: "call child",
        trigger: "ctrig",
        mode: "wait",
        timeoutSec: 2,
        ...runFlow,
        wires: [["psink"]],
      },
      { id: "pcatch", type: "catch", z: "p", scope: null, uncaught: false, wires: [["psink"]] },
      { id: "psink", type: "function", z: "p", func: sinkFn, outputs: 0, wires: [] },
      { id: "ctrig", type: "pw-trigger", z: "c", name: "child", schedules: [], wires: [[child[0].id]] },
      ...child.map((n) => ({ z: "c", wires: [], ...n })),
    ]);
  }

  it("waits for the child's callback and continues with its answer; the child gets meta and its parent", async function () {
    await deploy({}, [
      {
        id: "work",
        type: "function",
        func: "msg.payload = { doubled: msg.payload.n * 2, order: msg.pw.meta.order }; return msg;",
        outputs: 1,
        wires: [["cb"]],
      },
      { id: "cb", type: "pw-callback", statusCode: 200, format: "json", headers: [] },
    ]);
    const parent = (await rt.api("POST", "/pw/trigger/ptrig", { n: 21 })).json.run;
    await waitUntil(() => seen.length === 1, "the parent to continue");
    assert.deepEqual({ ...seen[0].payload }, { doubled: 42, order: "1001" });
    const childId = seen[0].runFlow.run;
    const child = await ended(childId);
    assert.equal(child.parent, parent.id);
    assert.equal(child.via, "flow");
    assert.equal((await ended(parent.id)).status, "succeeded");
  });

  it("fires and continues at once in continue mode", async function () {
    await deploy({ mode: "continue" }, [
      {
        id: "slow",
        type: "delay",
        pauseType: "delay",
        timeout: "300",
        timeoutUnits: "milliseconds",
        rate: "1",
        nbRateUnits: "1",
        rateUnits: "second",
        randomFirst: "1",
        randomLast: "5",
        randomUnits: "seconds",
        drop: false,
      },
    ]);
    const started = Date.now();
    await rt.api("POST", "/pw/trigger/ptrig", { n: 1 });
    await waitUntil(() => seen.length === 1, "the parent to continue");
    assert.ok(Date.now() - started < 300, "did not wait for the child");
    assert.deepEqual(seen[0].payload, { n: 1 });
    assert.match(seen[0].runFlow.run, /^[0-9A-Z]{26}$/);
  });

  it("sends a fixed JSON payload when set to", async function () {
    await deploy({ payloadMode: "manual", payload: '{"fixed":true}' }, [
      { id: "cb", type: "pw-callback", statusCode: 200, format: "json", headers: [] },
    ]);
    await rt.api("POST", "/pw/trigger/ptrig", { n: 1 });
    await waitUntil(() => seen.length === 1, "the answer");
    assert.deepEqual(seen[0].payload, { fixed: true });
  });

  it("continues with an empty payload when the child ends without a callback", async function () {
    await deploy({}, [{ id: "noop", type: "function", func: "return msg;", outputs: 1 }]);
    await rt.api("POST", "/pw/trigger/ptrig", { n: 1 });
    await waitUntil(() => seen.length === 1, "the parent to continue");
    assert.deepEqual(seen[0].payload, {});
    await waitUntil(
      () => rt.logs.some((l) => l.id === "rf" && /ended without reaching a callback shape/.test(l.msg)),
      "the warning",
    );
  });

  it("fails the step when the child fails", async function () {
    await deploy({}, [
      { id: "boom", type: "function", func: "throw new Error('customer service down');", outputs: 1 },
    ]);
    const parent = (await rt.api("POST", "/pw/trigger/ptrig", { n: 1 })).json.run;
    await waitUntil(() => seen.length === 1, "the error at the Catch node");
    assert.match(seen[0].error.message, /run [0-9A-Z]{26} failed: .*customer service down/);
    assert.equal((await ended(parent.id)).status, "succeeded", "the parent caught it");
  });

  it("fails the step when the child does not answer in time", async function () {
    await deploy({ timeoutSec: 0.3 }, [
      { id: "stuck", type: "function", func: "if (false) node.done(); return null;", outputs: 0 },
    ]);
    await rt.api("POST", "/pw/trigger/ptrig", { n: 1 });
    await waitUntil(() => seen.length === 1, "the timeout error");
    assert.match(seen[0].error.message, /did not answer through a callback shape within 0.3 s/);
  });

  it("refuses a loop: a flow that starts the flow that started it", async function () {
    await deploy({}, [
      {
        id: "back",
        type: "pw-run-flow",
        name: "call parent",
        trigger: "ptrig",
        mode: "continue",
        wires: [[]],
      },
      { id: "ccatch", type: "catch", scope: null, uncaught: false, wires: [["csink"]] },
      { id: "csink", type: "function", func: sinkFn, outputs: 0 },
    ]);
    await rt.api("POST", "/pw/trigger/ptrig", { n: 1 });
    await waitUntil(() => seen.some((m) => m.error), "the loop error");
    const error = seen.find((m) => m.error).error.message;
    assert.match(error, /would loop \(parent → child → parent\)/);
  });

  it("answers a webhook held for the flow's answer through the callback shape", async function () {
    await rt.deploy([
      { id: "w", type: "tab", label: "Sync" },
      {
        id: "wt",
        type: "pw-trigger",
        z: "w",
        name: "sync",
        schedules: [],
        webhook: true,
        path: "/stock-check",
        methods: "POST",
        replyMode: "wait",
        replyTimeoutSec: 2,
        wires: [["lookup"]],
      },
      {
        id: "lookup",
        type: "function",
        z: "w",
        func: "msg.payload = { sku: msg.payload.sku, available: 7 }; return msg;",
        outputs: 1,
        wires: [["wcb"]],
      },
      {
        id: "wcb",
        type: "pw-callback",
        z: "w",
        statusCode: 201,
        format: "xml",
        headers: [{ name: "X-Stock-Source", value: "warehouse-1" }],
        wires: [[]],
      },
    ]);
    const res = await fetch(`${rt.hooks}/stock-check`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"sku":"A1"}',
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get("x-stock-source"), "warehouse-1");
    assert.match(res.headers.get("content-type"), /^application\/xml/);
    assert.equal(await res.text(), "<sku>A1</sku><available>7</available>");
  });
});
