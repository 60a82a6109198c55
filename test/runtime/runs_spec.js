// Runs traced through a real runtime's messaging hooks, core nodes included.
const assert = require("node:assert/strict");
const http = require("node:http");
const { startRuntime } = require("../support/runtime");
const { waitUntil } = require("../support/wait");

const sinkFn = "global.get('seen').push(msg); return null;";

describe("runs (runtime)", function () {
  let rt;
  const seen = [];
  before(async () => {
    rt = await startRuntime({ functionGlobalContext: { seen }, patchworks: { runs: { settleMs: 60, inactivityTimeoutSec: 1 } } });
  });
  after(() => rt.stop());
  beforeEach(() => (seen.length = 0));

  /** Deploys the nodes on a tab with a trigger "t" wired to `first`, starts a run, waits for its end. */
  async function runFlow(nodes, first, payload = { go: true }) {
    const tab = { id: "tab", type: "tab", label: "Runs" };
    await rt.deploy([tab, { id: "t", type: "pw-trigger", z: "tab", name: "start", schedules: [], wires: [first] }, ...nodes.map((n) => ({ z: "tab", wires: [], ...n }))]);
    const started = await rt.api("POST", "/pw/trigger/t", payload);
    const id = started.json.run.id;
    const run = await waitUntil(async () => {
      const r = (await rt.api("GET", `/pw/runs/${id}`)).json?.run;
      return r && r.status !== "running" ? r : undefined;
    }, `run ${id} to end`, 8000, 20);
    return run;
  }

  it("follows fan-out to several wires and ends when every branch is done", async function () {
    const run = await runFlow(
      [
        { id: "a", type: "function", func: "return msg;", outputs: 1, wires: [["s"]] },
        { id: "b", type: "function", func: "return new Promise(r => setTimeout(() => r(msg), 80));", outputs: 1, wires: [["s"]] },
        { id: "s", type: "function", func: sinkFn, outputs: 0 },
      ],
      ["a", "b"],
    );
    assert.equal(run.status, "succeeded");
    assert.equal(run.steps.s.messagesIn, 2);
    assert.equal(run.steps.t.messagesOut, 1);
    assert.ok(run.durationMs >= 80, `took ${run.durationMs} ms`);
    assert.equal(seen.length, 2);
  });

  it("follows a core switch, which never calls done", async function () {
    const run = await runFlow(
      [
        { id: "sw", type: "switch", property: "payload.go", propertyType: "msg", rules: [{ t: "true" }], checkall: "true", repair: false, outputs: 1, wires: [["s"]] },
        { id: "s", type: "function", func: sinkFn, outputs: 0 },
      ],
      ["sw"],
    );
    assert.equal(run.status, "succeeded");
    assert.equal(run.steps.sw.messagesIn, 1);
    assert.equal(run.steps.s.messagesIn, 1);
  });

  it("keeps tracking after a function returns a new message object", async function () {
    const run = await runFlow(
      [
        { id: "fresh", type: "function", func: "return { payload: [1, 2, 3] };", outputs: 1, wires: [["s"]] },
        { id: "s", type: "function", func: sinkFn, outputs: 0 },
      ],
      ["fresh"],
    );
    assert.equal(run.status, "succeeded");
    assert.equal(run.steps.s.recordsIn, 3);
    assert.equal(seen[0].pw.run.id, run.id, "msg.pw restored");
  });

  it("waits for a send that comes shortly after done", async function () {
    const run = await runFlow(
      [
        { id: "late", type: "function", func: "setTimeout(() => node.send(msg), 30); return null;", outputs: 1, wires: [["s"]] },
        { id: "s", type: "function", func: sinkFn, outputs: 0 },
      ],
      ["late"],
    );
    assert.equal(run.status, "succeeded");
    assert.equal(run.steps.s?.messagesIn, 1);
  });

  it("follows split and join", async function () {
    const run = await runFlow(
      [
        { id: "sp", type: "split", splt: "\\n", spltType: "str", arraySplt: 1, arraySpltType: "len", stream: false, addname: "", wires: [["jn"]] },
        { id: "jn", type: "join", mode: "auto", build: "object", property: "payload", propertyType: "msg", key: "topic", joiner: "\\n", joinerType: "str", accumulate: false, timeout: "", count: "", reduceRight: false, wires: [["s"]] },
        { id: "s", type: "function", func: sinkFn, outputs: 0 },
      ],
      ["sp"],
      [10, 20, 30],
    );
    assert.equal(run.status, "succeeded");
    assert.equal(run.steps.jn.messagesIn, 3);
    assert.deepEqual(seen[0].payload, [10, 20, 30]);
  });

  it("follows a link call and its return", async function () {
    const run = await runFlow(
      [
        { id: "call", type: "link call", links: ["lin"], linkType: "static", timeout: "5", wires: [["s"]] },
        { id: "lin", type: "link in", links: [], wires: [["work"]] },
        { id: "work", type: "function", func: "msg.payload = 'worked'; return msg;", outputs: 1, wires: [["ret"]] },
        { id: "ret", type: "link out", mode: "return", links: [] },
        { id: "s", type: "function", func: sinkFn, outputs: 0 },
      ],
      ["call"],
    );
    assert.equal(run.status, "succeeded");
    assert.equal(run.steps.work.messagesIn, 1);
    assert.equal(seen[0].payload, "worked");
  });

  describe("HTTP errors", function () {
    let port;
    before(async () => {
      // Drops the connection mid-request, which the http request node reports as an error.
      const server = http.createServer((req) => req.socket.destroy());
      await new Promise((r) => server.listen(0, "127.0.0.1", r));
      port = server.address().port;
      after(() => server.close());
    });
    const request = (wires) => ({ id: "req", type: "http request", method: "GET", ret: "txt", url: `http://127.0.0.1:${port}/x`, senderr: true, wires });

    it("fails the run for an error no Catch node handles, naming the node", async function () {
      const run = await runFlow([request([["s"]]), { id: "s", type: "function", func: sinkFn, outputs: 0 }], ["req"]);
      assert.equal(run.status, "failed");
      assert.equal(run.errors[0].node, "req");
      assert.equal(run.errors[0].type, "http request");
      assert.match(run.errors[0].message, /socket hang up|ECONNRESET/i);
    });

    it("succeeds when a Catch node handles the error", async function () {
      const run = await runFlow(
        [request([["s"]]), { id: "c", type: "catch", scope: null, uncaught: false, wires: [["s"]] }, { id: "s", type: "function", func: sinkFn, outputs: 0 }],
        ["req"],
      );
      assert.equal(run.status, "succeeded");
      assert.equal(run.errors[0].handled, true);
      assert.equal(run.steps.c.messagesIn, 1);
    });
  });

  it("times out a run whose node never finishes", async function () {
    this.timeout(10000);
    const run = await runFlow([{ id: "stuck", type: "function", func: "if (false) { node.done(); } return null;", outputs: 0 }], ["stuck"]);
    assert.equal(run.status, "timed out");
    assert.match(run.reason, /no activity for 1 s/);
  });

  describe("admin routes", function () {
    it("stops a running run: no further delivery, status stopped", async function () {
      const tab = { id: "tab", type: "tab", label: "Stop" };
      await rt.deploy([
        tab,
        { id: "t", type: "pw-trigger", z: "tab", name: "start", schedules: [], wires: [["wait"]] },
        { id: "wait", type: "delay", z: "tab", pauseType: "delay", timeout: "400", timeoutUnits: "milliseconds", rate: "1", nbRateUnits: "1", rateUnits: "second", randomFirst: "1", randomLast: "5", randomUnits: "seconds", drop: false, wires: [["s"]] },
        { id: "s", type: "function", z: "tab", func: sinkFn, outputs: 0, wires: [] },
      ]);
      const id = (await rt.api("POST", "/pw/trigger/t", {})).json.run.id;
      await new Promise((r) => setTimeout(r, 50));
      const stopped = await rt.api("POST", `/pw/runs/${id}/stop`);
      assert.equal(stopped.status, 200);
      assert.equal(stopped.json.run.status, "stopped");
      await new Promise((r) => setTimeout(r, 600));
      assert.equal(seen.length, 0, "the delayed message was not delivered");
      const again = await rt.api("POST", `/pw/runs/${id}/stop`);
      assert.equal(again.status, 409);
    });

    it("retries a run with its original payload and links the two", async function () {
      const first = await runFlow([{ id: "s", type: "function", func: sinkFn, outputs: 0 }], ["s"], { order: 1001 });
      const retried = await rt.api("POST", `/pw/runs/${first.id}/retry`);
      assert.equal(retried.status, 202);
      await waitUntil(() => seen.length === 2, "the retried run");
      assert.deepEqual(seen[1].payload, { order: 1001 });
      assert.equal(seen[1].pw.run.retryOf, first.id);
      assert.equal(seen[1].pw.run.via, "retry");
    });

    it("lists runs with filters and answers bad input with JSON errors", async function () {
      const run = await runFlow([{ id: "s", type: "function", func: sinkFn, outputs: 0 }], ["s"], { sku: "FIND-ME-42" });
      const found = await rt.api("GET", "/pw/runs?q=find-me-42&status=succeeded&flow=tab");
      assert.deepEqual(found.json.runs.map((r) => r.id), [run.id]);
      assert.equal((await rt.api("GET", "/pw/runs?status=great")).status, 400);
      assert.match((await rt.api("GET", "/pw/runs?from=yesterday")).json.message, /ISO 8601/);
      assert.equal((await rt.api("GET", "/pw/runs?limit=0")).status, 400);
      assert.equal((await rt.api("GET", "/pw/runs/NOPE")).status, 404);
      assert.equal((await rt.api("POST", "/pw/runs/NOPE/retry")).status, 404);
    });
  });
});
