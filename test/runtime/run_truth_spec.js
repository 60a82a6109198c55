// Runs tell the truth under overlap: each run's errors are its own, a late message of a node's
// own timer is part of its run, and a timed-out run's messages go no further.
const assert = require("node:assert/strict");
const { startRuntime } = require("../support/runtime");
const { waitUntil } = require("../support/wait");

describe("runs tell the truth (runtime)", function () {
  this.timeout(30000);
  let rt;
  const seen = [];
  before(async () => {
    rt = await startRuntime({
      functionGlobalContext: { seen },
      patchworks: { runs: { settleMs: 60, inactivityTimeoutSec: 1, maxConcurrent: 200 } },
    });
  });
  after(() => rt.stop());
  beforeEach(() => (seen.length = 0));

  const tab = { id: "tab", type: "tab", label: "Truth" };
  const trigger = (wires) => ({
    id: "trig1",
    type: "pw-trigger",
    z: "tab",
    name: "start",
    schedules: [],
    wires,
  });
  const sink = {
    id: "sink",
    type: "function",
    z: "tab",
    func: "global.get('seen').push(msg.payload); return null;",
    outputs: 0,
    wires: [],
  };
  const runOf = async (id) => (await rt.api("GET", `/pw/runs/${id}`)).json?.run;
  const ended = (id) =>
    waitUntil(
      async () => {
        const r = await runOf(id);
        return r && r.status !== "running" && r.status !== "queued" ? r : undefined;
      },
      `run ${id} to end`,
      15000,
      25,
    );

  it("gives each of 80 overlapping runs only its own errors: thrown, node.error(text, msg), done(err)", async function () {
    // Every run holds a message at the same node for a while; every 10th fails, four ways.
    const func = `
      const i = msg.payload.i;
      const wait = 20 + (i % 7) * 15;
      if (i % 10 !== 0) { setTimeout(() => { node.send(msg); node.done(); }, wait); return; }
      const way = (i / 10) % 4;
      if (way === 0) throw new Error("thrown for " + i);
      if (way === 1) { setTimeout(() => { node.error("logged for " + i, msg); node.done(); }, wait); return; }
      if (way === 2) { setTimeout(() => node.done(new Error("done(err) for " + i)), wait); return; }
      setTimeout(() => { node.error(new Error("error object for " + i), msg); node.done(); }, wait);
    `;
    await rt.deploy([
      tab,
      trigger([["work"]]),
      { id: "work", type: "function", z: "tab", func, outputs: 1, wires: [["sink"]] },
      sink,
    ]);
    const ids = [];
    for (let i = 0; i < 80; i++) ids.push((await rt.api("POST", "/pw/trigger/trig1", { i })).json.run.id);
    const runs = await Promise.all(ids.map(ended));
    const wrong = [];
    runs.forEach((run, i) => {
      const bad = i % 10 === 0;
      if (bad !== (run.status === "failed")) wrong.push(`${i}: ${run.status}`);
      if (bad && (run.errors.length !== 1 || !run.errors[0].message.endsWith(` for ${i}`)))
        wrong.push(`${i}: errors ${JSON.stringify(run.errors.map((e) => e.message))}`);
      if (!bad && run.errors.length) wrong.push(`${i}: has ${run.errors.map((e) => e.message)}`);
    });
    assert.deepEqual(wrong, [], "misattributed runs");
    assert.equal(seen.length, 72);
  });

  it("gives an error logged without a message to the one run at the node", async function () {
    const func = `setTimeout(() => { node.error("the device went away"); node.done(); }, 30); return;`;
    await rt.deploy([
      tab,
      trigger([["work"]]),
      { id: "work", type: "function", z: "tab", func, outputs: 1, wires: [] },
    ]);
    const id = (await rt.api("POST", "/pw/trigger/trig1", {})).json.run.id;
    const run = await ended(id);
    assert.equal(run.status, "failed");
    assert.deepEqual(
      run.errors.map((e) => [e.node, e.message]),
      [["work", "the device went away"]],
    );
  });

  it("keeps a message the core trigger node sends later from its own timer in the run", async function () {
    await rt.deploy([
      tab,
      trigger([["hold"]]),
      {
        id: "hold",
        type: "trigger",
        z: "tab",
        op1: "first",
        op2: "second",
        op1type: "str",
        op2type: "str",
        duration: "300",
        extend: false,
        units: "ms",
        reset: "",
        bytopic: "all",
        outputs: 1,
        wires: [["sink"]],
      },
      sink,
    ]);
    const id = (await rt.api("POST", "/pw/trigger/trig1", {})).json.run.id;
    const run = await waitUntil(
      async () => {
        const r = await runOf(id);
        return r && r.status === "succeeded" && r.steps.sink?.messagesIn === 2 ? r : undefined;
      },
      "the run with both messages",
      5000,
      25,
    );
    assert.deepEqual(seen, ["first", "second"]);
    assert.equal(run.late, 1, "reopened once by the late message");
    assert.ok(run.durationMs >= 300, `ended after the late message (${run.durationMs} ms)`);
  });

  it("delivers no message of a run that timed out", async function () {
    // Never calls done; sends 1.5 s later, after the 1 s inactivity timeout.
    const func = `if (false) node.done(); setTimeout(() => node.send(msg), 1500); return;`;
    await rt.deploy([
      tab,
      trigger([["stuck"]]),
      { id: "stuck", type: "function", z: "tab", func, outputs: 1, wires: [["sink"]] },
      sink,
    ]);
    const id = (await rt.api("POST", "/pw/trigger/trig1", { x: 1 })).json.run.id;
    const run = await ended(id);
    assert.equal(run.status, "timed out");
    await new Promise((r) => setTimeout(r, 1200));
    assert.deepEqual(seen, [], "the late send was held back");
    assert.equal((await runOf(id)).status, "timed out");
  });
});
