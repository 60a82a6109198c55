// The script and assert shapes in a real runtime with run tracking: what a run records when a
// script succeeds, fails or runs over its limit, and when an assert passes or fails; the
// settings that give scripts require() and cap their time limit; the dialogs' parse check.
const assert = require("node:assert/strict");
const { startRuntime } = require("../support/runtime");
const { waitUntil } = require("../support/wait");

describe("script and assert (runtime)", function () {
  let rt;
  const seen = [];
  before(
    async () =>
      (rt = await startRuntime({
        functionGlobalContext: { seen },
        patchworks: { runs: { settleMs: 40 }, script: { allowRequire: true, maxTimeoutSeconds: 5 } },
      })),
  );
  after(() => rt.stop());
  beforeEach(() => (seen.length = 0));

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
  const sink = {
    id: "sink",
    type: "function",
    func: "global.get('seen').push(msg); return null;",
    outputs: 1,
  };

  async function start(nodes, payload) {
    await rt.deploy([
      { id: "t", type: "tab", label: "Script" },
      { id: "trig", type: "pw-trigger", z: "t", name: "start", schedules: [], wires: [[nodes[0].id]] },
      ...nodes.map((n) => ({ z: "t", wires: [], ...n })),
    ]);
    return (await rt.api("POST", "/pw/trigger/trig", payload)).json.run.id;
  }

  it("runs a script then an assert that passes: the run succeeds", async function () {
    const id = await start(
      [
        {
          id: "s",
          type: "pw-script",
          name: "totals",
          code: "meta.count = payload.length;\nreturn payload.map(o => ({ id: o.id, total: o.qty * o.price }));",
          wires: [["a"]],
        },
        {
          id: "a",
          type: "pw-assert",
          expected: JSON.stringify([{ id: 2, total: 10 }, { id: 1 }]),
          mode: "subset",
          ignoreOrder: true,
          wires: [["sink"], []],
        },
        sink,
      ],
      [
        { id: 1, qty: 1, price: 3 },
        { id: 2, qty: 2, price: 5 },
      ],
    );
    const run = await ended(id);
    assert.equal(run.status, "succeeded", JSON.stringify(run.errors));
    assert.equal(seen.length, 1);
    assert.equal(seen[0].assert.pass, true);
    assert.deepEqual(seen[0].pw.meta, { count: "2" });
    assert.equal(run.steps.s.messagesOut, 1);
  });

  it("fails the run with the assert's differences when output 2 is not wired", async function () {
    const id = await start(
      [
        {
          id: "a",
          type: "pw-assert",
          name: "orders",
          expected: '{"id": 1, "status": "paid"}',
          wires: [["sink"], []],
        },
        sink,
      ],
      { id: 1, status: "pending" },
    );
    const run = await ended(id);
    assert.equal(run.status, "failed");
    const error = run.errors.find((e) => e.node === "a");
    assert.match(
      error.message,
      /assert "orders": 1 difference from the expected payload:\nstatus: expected "paid", got "pending"/,
    );
    assert.equal(seen.length, 0);
  });

  it("ends the run 'completed with failures' when a failed assert goes to a wired output 2", async function () {
    const id = await start(
      [{ id: "a", type: "pw-assert", expected: "[1, 2]", wires: [[], ["sink"]] }, sink],
      [2, 1],
    );
    const run = await ended(id);
    assert.equal(run.status, "completed with failures");
    assert.equal(run.failedRecords, 1);
    assert.equal(seen[0].assert.count, 2);
  });

  it("fails the run when a script runs over its limit, naming the script", async function () {
    const id = await start(
      [
        {
          id: "s",
          type: "pw-script",
          name: "stuck",
          code: "await new Promise(() => {});",
          timeout: "0.3",
          wires: [["sink"]],
        },
        sink,
      ],
      {},
    );
    const run = await ended(id);
    assert.equal(run.status, "failed");
    assert.match(
      run.errors.find((e) => e.node === "s").message,
      /script "stuck": the script did not finish within its limit of 0.3 s/,
    );
  });

  it("stops a waiting script when its run is stopped", async function () {
    const id = await start(
      [
        {
          id: "s",
          type: "pw-script",
          code: "setTimeout(() => log.warn('still here'), 400);\nawait new Promise(() => {});",
          timeout: 5,
          wires: [["sink"]],
        },
        sink,
      ],
      {},
    );
    await new Promise((r) => setTimeout(r, 100));
    const stoppedAt = Date.now();
    await rt.api("POST", `/pw/runs/${id}/stop`);
    assert.equal((await ended(id)).status, "stopped");
    assert.ok(Date.now() - stoppedAt < 2000);
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(!rt.logs.some((l) => String(l.msg).includes("still here")), "the script's timer was cancelled");
  });

  it("fails the run with the line and column of a script's error", async function () {
    const id = await start(
      [
        {
          id: "s",
          type: "pw-script",
          name: "tag",
          code: "const x = 1;\nreturn payload.items.map(i => i.sku);",
          wires: [["sink"]],
        },
        sink,
      ],
      { id: 1 },
    );
    const run = await ended(id);
    assert.equal(run.status, "failed");
    assert.match(
      run.errors[0].message,
      /script "tag": line 2, column 22: TypeError: Cannot read properties of undefined \(reading 'map'\)/,
    );
  });

  it("gives scripts require() when settings.js allows it, and caps the time limit from settings", async function () {
    const id = await start(
      [
        {
          id: "s",
          type: "pw-script",
          code: "const { createHash } = require('node:crypto');\nreturn createHash('sha256').update(payload.text).digest('hex').slice(0, 8);",
          wires: [["sink"]],
        },
        sink,
      ],
      { text: "abc" },
    );
    assert.equal((await ended(id)).status, "succeeded");
    assert.equal(seen[0].payload, "ba7816bf");
    const over = await start(
      [{ id: "s", type: "pw-script", code: "return 1;", timeout: 10, wires: [["sink"]] }, sink],
      {},
    );
    const run = await ended(over);
    assert.equal(run.status, "failed");
    assert.match(
      run.errors[0].message,
      /over the cap of 5 s: lower it, or raise patchworks.script.maxTimeoutSeconds/,
    );
  });

  it("checks a script, an expected payload and ignored paths for the dialogs", async function () {
    const res = await rt.api("POST", "/pw/editor/check", {
      checks: [
        { kind: "script", value: "return payload;" },
        { kind: "script", value: "const a = 1;\nreturn a +* 2;" },
        { kind: "expected-payload", value: "{" },
        { kind: "ignore-paths", value: ["[*].id", "a..b"] },
      ],
    });
    assert.equal(res.status, 200, res.text);
    const [ok, bad, json, paths] = res.json.results.map((r) => r.problems);
    assert.deepEqual(ok, []);
    assert.equal(bad[0].line, 2);
    assert.equal(bad[0].column, 11);
    assert.match(bad[0].message, /line 2, column 11: Unexpected token '\*'/);
    assert.match(json[0].message, /not valid JSON/);
    assert.match(paths[0].message, /ignored path 2: path "a..b" has an empty key/);
  });
});
