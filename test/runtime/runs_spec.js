// Runs traced through a real runtime's messaging hooks, core nodes included.
const assert = require("node:assert/strict");
const http = require("node:http");
const { startRuntime } = require("../support/runtime");
const { waitUntil } = require("../support/wait");
const { lib } = require("../support/dist");

const sinkFn = "global.get('seen').push(msg); return null;";

describe("runs (runtime)", function () {
  let rt;
  const seen = [];
  before(async () => {
    rt = await startRuntime({
      functionGlobalContext: { seen },
      patchworks: { runs: { settleMs: 60, inactivityTimeoutSec: 1 } },
    });
  });
  after(() => rt.stop());
  beforeEach(() => (seen.length = 0));

  /** Deploys the nodes on a tab with a trigger "trig1" wired to `first`, starts a run, waits for its end. */
  async function runFlow(nodes, first, payload = { go: true }) {
    const tab = { id: "tab", type: "tab", label: "Runs" };
    const subflows = nodes.filter((n) => n.type === "subflow");
    nodes = nodes.filter((n) => n.type !== "subflow");
    await rt.deploy([
      tab,
      ...subflows,
      { id: "trig1", type: "pw-trigger", z: "tab", name: "start", schedules: [], wires: [first] },
      ...nodes.map((n) => ({ z: "tab", wires: [], ...n })),
    ]);
    const started = await rt.api("POST", "/pw/trigger/trig1", payload);
    const id = started.json.run.id;
    const run = await waitUntil(
      async () => {
        const r = (await rt.api("GET", `/pw/runs/${id}`)).json?.run;
        return r && r.status !== "running" ? r : undefined;
      },
      `run ${id} to end`,
      8000,
      20,
    );
    return run;
  }

  it("follows fan-out to several wires and ends when every branch is done", async function () {
    const run = await runFlow(
      [
        { id: "a", type: "function", func: "return msg;", outputs: 1, wires: [["sink1"]] },
        {
          id: "b",
          type: "function",
          func: "return new Promise(r => setTimeout(() => r(msg), 80));",
          outputs: 1,
          wires: [["sink1"]],
        },
        { id: "sink1", type: "function", func: sinkFn, outputs: 0 },
      ],
      ["a", "b"],
    );
    assert.equal(run.status, "succeeded");
    assert.equal(run.steps.sink1.messagesIn, 2);
    assert.equal(run.steps.trig1.messagesOut, 1);
    assert.ok(run.durationMs >= 80, `took ${run.durationMs} ms`);
    assert.equal(seen.length, 2);
  });

  it("follows a core switch, which never calls done", async function () {
    const run = await runFlow(
      [
        {
          id: "sw",
          type: "switch",
          property: "payload.go",
          propertyType: "msg",
          rules: [{ t: "true" }],
          checkall: "true",
          repair: false,
          outputs: 1,
          wires: [["sink1"]],
        },
        { id: "sink1", type: "function", func: sinkFn, outputs: 0 },
      ],
      ["sw"],
    );
    assert.equal(run.status, "succeeded");
    assert.equal(run.steps.sw.messagesIn, 1);
    assert.equal(run.steps.sink1.messagesIn, 1);
  });

  it("fails the run for an error a switch (no done) logs while it handles the message", async function () {
    const run = await runFlow(
      [
        {
          id: "sw",
          type: "switch",
          name: "bad rule",
          property: "payload.go",
          propertyType: "msg",
          rules: [{ t: "eq", v: "$error('no such rule')", vt: "jsonata" }],
          checkall: "true",
          repair: false,
          outputs: 1,
          wires: [["sink1"]],
        },
        { id: "sink1", type: "function", func: sinkFn, outputs: 0 },
      ],
      ["sw"],
    );
    assert.equal(run.status, "failed");
    assert.deepEqual(
      run.errors.map((e) => e.node),
      ["sw"],
    );
    assert.match(run.errors[0].message, /no such rule/);
    assert.equal(seen.length, 0);
  });

  it("ends a run promptly when a wire leads to a disabled node", async function () {
    const started = Date.now();
    const run = await runFlow(
      [
        { id: "a", type: "function", func: "return msg;", outputs: 1, wires: [["sink1", "off1"]] },
        { id: "off1", type: "function", func: "return msg;", outputs: 1, d: true },
        { id: "sink1", type: "function", func: sinkFn, outputs: 0 },
      ],
      ["a"],
    );
    assert.equal(run.status, "succeeded", "not timed out waiting for the disabled node");
    assert.ok(Date.now() - started < 900, "ended well before the 1 s inactivity timeout");
    assert.equal(run.steps.off1, undefined);
    assert.equal(seen.length, 1);
  });

  it("keeps tracking after a function returns a new message object", async function () {
    const run = await runFlow(
      [
        {
          id: "fresh",
          type: "function",
          func: "return { payload: [1, 2, 3] };",
          outputs: 1,
          wires: [["sink1"]],
        },
        { id: "sink1", type: "function", func: sinkFn, outputs: 0 },
      ],
      ["fresh"],
    );
    assert.equal(run.status, "succeeded");
    assert.equal(run.steps.sink1.recordsIn, 3);
    assert.equal(seen[0].pw.run.id, run.id, "msg.pw restored");
  });

  it("waits for a send that comes shortly after done", async function () {
    const run = await runFlow(
      [
        {
          id: "late",
          type: "function",
          func: "setTimeout(() => node.send(msg), 30); return null;",
          outputs: 1,
          wires: [["sink1"]],
        },
        { id: "sink1", type: "function", func: sinkFn, outputs: 0 },
      ],
      ["late"],
    );
    assert.equal(run.status, "succeeded");
    assert.equal(run.steps.sink1?.messagesIn, 1);
  });

  it("follows split and join", async function () {
    const run = await runFlow(
      [
        {
          id: "sp",
          type: "split",
          splt: "\\n",
          spltType: "str",
          arraySplt: 1,
          arraySpltType: "len",
          stream: false,
          addname: "",
          wires: [["jn"]],
        },
        {
          id: "jn",
          type: "join",
          mode: "auto",
          build: "object",
          property: "payload",
          propertyType: "msg",
          key: "topic",
          joiner: "\\n",
          joinerType: "str",
          accumulate: false,
          timeout: "",
          count: "",
          reduceRight: false,
          wires: [["sink1"]],
        },
        { id: "sink1", type: "function", func: sinkFn, outputs: 0 },
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
        {
          id: "call",
          type: "link call",
          links: ["lin"],
          linkType: "static",
          timeout: "5",
          wires: [["sink1"]],
        },
        { id: "lin", type: "link in", links: [], wires: [["work"]] },
        {
          id: "work",
          type: "function",
          func: "msg.payload = 'worked'; return msg;",
          outputs: 1,
          wires: [["ret"]],
        },
        { id: "ret", type: "link out", mode: "return", links: [] },
        { id: "sink1", type: "function", func: sinkFn, outputs: 0 },
      ],
      ["call"],
    );
    assert.equal(run.status, "succeeded");
    assert.equal(run.steps.work.messagesIn, 1);
    assert.equal(seen[0].payload, "worked");
  });

  it("follows messages through a subflow", async function () {
    const sub = {
      id: "sub1",
      type: "subflow",
      name: "double",
      info: "",
      category: "",
      env: [],
      in: [{ x: 50, y: 30, wires: [{ id: "subfn" }] }],
      out: [{ x: 250, y: 30, wires: [{ id: "subfn", port: 0 }] }],
    };
    const subfn = {
      id: "subfn",
      type: "function",
      z: "sub1",
      func: "msg.payload = 2; return msg;",
      outputs: 1,
      wires: [[]],
    };
    const run = await runFlow(
      [
        sub,
        subfn,
        { id: "inst", type: "subflow:sub1", wires: [["sink1"]] },
        { id: "sink1", type: "function", func: sinkFn, outputs: 0 },
      ],
      ["inst"],
    );
    assert.equal(run.status, "succeeded");
    assert.equal(seen.length, 1, JSON.stringify(run.steps));
    assert.equal(seen[0].payload, 2);
    assert.equal(seen[0].pw.run.id, run.id);
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
    const request = (wires) => ({
      id: "req",
      type: "http request",
      method: "GET",
      ret: "txt",
      url: `http://127.0.0.1:${port}/x`,
      senderr: true,
      wires,
    });

    it("fails the run for an error no Catch node handles, naming the node", async function () {
      const run = await runFlow(
        [request([["sink1"]]), { id: "sink1", type: "function", func: sinkFn, outputs: 0 }],
        ["req"],
      );
      assert.equal(run.status, "failed");
      assert.equal(run.errors[0].node, "req");
      assert.equal(run.errors[0].type, "http request");
      assert.match(run.errors[0].message, /socket hang up|ECONNRESET/i);
    });

    it("succeeds when a Catch node handles the error", async function () {
      const run = await runFlow(
        [
          request([["sink1"]]),
          { id: "catch1", type: "catch", scope: null, uncaught: false, wires: [["sink1"]] },
          { id: "sink1", type: "function", func: sinkFn, outputs: 0 },
        ],
        ["req"],
      );
      assert.equal(run.status, "succeeded");
      assert.equal(run.errors[0].handled, true);
      assert.equal(run.steps.catch1.messagesIn, 1);
    });
  });

  it("times out a run whose node never finishes", async function () {
    this.timeout(10000);
    const run = await runFlow(
      [{ id: "stuck", type: "function", func: "if (false) { node.done(); } return null;", outputs: 0 }],
      ["stuck"],
    );
    assert.equal(run.status, "timed out");
    assert.match(run.reason, /no activity for 1 s/);
  });

  /** A trigger (with `setting` for payloads in the log) whose run fails at "bad": the run and its payloads. */
  async function failedRunWith(setting) {
    const tab = { id: "tab", type: "tab", label: "Snapshots" };
    await rt.deploy([
      tab,
      {
        id: "trig1",
        type: "pw-trigger",
        z: "tab",
        name: "start",
        schedules: [],
        ...setting,
        wires: [["bad"]],
      },
      {
        id: "bad",
        type: "function",
        z: "tab",
        func: "throw new Error('no price for ' + msg.payload.sku);",
        outputs: 1,
        wires: [[]],
      },
    ]);
    const id = (await rt.api("POST", "/pw/trigger/trig1", { sku: "ZX-1", api_key: "sk_live_123" })).json.run
      .id;
    const run = await waitUntil(async () => {
      const r = (await rt.api("GET", `/pw/runs/${id}`)).json.run;
      return r.status !== "running" && r;
    }, "the run to end");
    const payloads = await waitUntil(async () => {
      const p = (await rt.api("GET", `/pw/runs/${id}/payloads`)).json;
      return p.steps.bad && p;
    }, "the snapshots");
    return { id, run, payloads };
  }

  it("keeps the payload where an error happened, secrets redacted, when the trigger asks for it", async function () {
    const { run, payloads } = await failedRunWith({ snapshots: "errors" });
    assert.equal(run.status, "failed");
    assert.equal(run.steps.bad.snapshots, 1);
    assert.equal(payloads.mode, "errors");
    assert.deepEqual(JSON.parse(payloads.steps.bad[0].json), { sku: "ZX-1", api_key: "***" });
    assert.equal((await rt.api("GET", "/pw/runs/NOPE/payloads")).status, 404);
  });

  it("keeps the payload of a failed step by default (a trigger saved without the setting)", async function () {
    const { run, payloads } = await failedRunWith({});
    assert.equal(run.steps.bad.snapshots, 1);
    assert.equal(payloads.mode, "errors");
    assert.deepEqual(JSON.parse(payloads.steps.bad[0].json), { sku: "ZX-1", api_key: "***" });
  });

  describe("admin routes", function () {
    it("stops a running run: no further delivery, status stopped", async function () {
      const tab = { id: "tab", type: "tab", label: "Stop" };
      await rt.deploy([
        tab,
        { id: "trig1", type: "pw-trigger", z: "tab", name: "start", schedules: [], wires: [["wait"]] },
        {
          id: "wait",
          type: "delay",
          z: "tab",
          pauseType: "delay",
          timeout: "400",
          timeoutUnits: "milliseconds",
          rate: "1",
          nbRateUnits: "1",
          rateUnits: "second",
          randomFirst: "1",
          randomLast: "5",
          randomUnits: "seconds",
          drop: false,
          wires: [["sink1"]],
        },
        { id: "sink1", type: "function", z: "tab", func: sinkFn, outputs: 0, wires: [] },
      ]);
      const id = (await rt.api("POST", "/pw/trigger/trig1", {})).json.run.id;
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
      const first = await runFlow([{ id: "sink1", type: "function", func: sinkFn, outputs: 0 }], ["sink1"], {
        order: 1001,
      });
      const retried = await rt.api("POST", `/pw/runs/${first.id}/retry`);
      assert.equal(retried.status, 202);
      await waitUntil(() => seen.length === 2, "the retried run");
      assert.deepEqual(seen[1].payload, { order: 1001 });
      assert.equal(seen[1].pw.run.retryOf, first.id);
      assert.equal(seen[1].pw.run.via, "retry");
    });

    it("lists runs with filters and answers bad input with JSON errors", async function () {
      const run = await runFlow([{ id: "sink1", type: "function", func: sinkFn, outputs: 0 }], ["sink1"], {
        sku: "FIND-ME-42",
      });
      const found = await rt.api("GET", "/pw/runs?q=find-me-42&status=succeeded&flow=tab");
      assert.deepEqual(
        found.json.runs.map((r) => r.id),
        [run.id],
      );
      assert.equal((await rt.api("GET", "/pw/runs?status=great")).status, 400);
      assert.match((await rt.api("GET", "/pw/runs?from=yesterday")).json.message, /ISO 8601/);
      assert.equal((await rt.api("GET", "/pw/runs?limit=0")).status, 400);
      assert.equal((await rt.api("GET", "/pw/runs/NOPE")).status, 404);
      assert.equal((await rt.api("POST", "/pw/runs/NOPE/retry")).status, 404);
    });

    it("lists the statuses a run can have with the runs, for the sidebar's filter", async function () {
      const { json } = await rt.api("GET", "/pw/runs?limit=1");
      assert.deepEqual(json.statuses, [...lib("runs/record").RUN_STATUSES]);
      for (const status of json.statuses)
        assert.notEqual((await rt.api("GET", `/pw/runs?status=${encodeURIComponent(status)}`)).status, 400);
    });
  });
});
