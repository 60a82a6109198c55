// Branch (sequential outputs counted with scope tokens) and flow control's pacing, with run
// tracking on in a real runtime.
const assert = require("node:assert/strict");
const { startRuntime } = require("../support/runtime");
const { waitUntil } = require("../support/wait");

describe("branch and flow control (runtime)", function () {
  let rt;
  const log = [];
  before(
    async () =>
      (rt = await startRuntime({ functionGlobalContext: { log }, patchworks: { runs: { settleMs: 40 } } })),
  );
  after(() => rt.stop());
  beforeEach(() => (log.length = 0));

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
  const note = (text, delay = 0) =>
    `return new Promise(r => setTimeout(() => { global.get('log').push(${text}); r(msg); }, ${delay}));`;

  async function start(nodes, payload = { n: 1 }) {
    await rt.deploy([
      { id: "t", type: "tab", label: "Branch" },
      { id: "trig", type: "pw-trigger", z: "t", name: "start", schedules: [], wires: [[nodes[0].id]] },
      ...nodes.map((n) => ({ z: "t", wires: [], ...n })),
    ]);
    return (await rt.api("POST", "/pw/trigger/trig", payload)).json.run.id;
  }

  it("runs output 2 only when everything output 1 started has finished, each with its own payload", async function () {
    const id = await start(
      [
        {
          id: "br",
          type: "pw-branch",
          name: "order sync",
          branches: [{ label: "customer" }, { label: "order" }],
          outputs: 2,
          wires: [["slow"], ["second"]],
        },
        // Branch 1 fans out: a slow path and a split whose parts finish at different times.
        {
          id: "slow",
          type: "function",
          func: "msg.payload.n = 99; " + note("'1:slow'", 120),
          outputs: 1,
          wires: [["sp"]],
        },
        { id: "sp", type: "pw-split", path: "parts", mode: "each", wires: [["part"]] },
        {
          id: "part",
          type: "function",
          func: note("'1:part ' + msg.payload", 0).replace("}, 0)", "}, 30 * msg.payload)"),
          outputs: 1,
          wires: [[]],
        },
        { id: "second", type: "function", func: note("'2:n=' + msg.payload.n"), outputs: 1, wires: [[]] },
      ],
      { n: 1, parts: [1, 2, 3] },
    );
    const run = await ended(id);
    assert.equal(run.status, "succeeded");
    assert.deepEqual(
      log,
      ["1:slow", "1:part 1", "1:part 2", "1:part 3", "2:n=1"],
      "branch 2 saw its own copy, after every part of branch 1",
    );
    assert.equal(run.steps.br.messagesOut, 2);
  });

  it("stops at a failed branch by default, naming it, and the run fails", async function () {
    const id = await start([
      {
        id: "br",
        type: "pw-branch",
        name: "sync",
        branches: [{ label: "customer" }, { label: "order" }],
        outputs: 2,
        wires: [["boom"], ["second"]],
      },
      {
        id: "boom",
        type: "function",
        name: "create customer",
        func: "node.error('HTTP 422 email is invalid', msg); return null;",
        outputs: 1,
      },
      { id: "second", type: "function", func: note("'2'"), outputs: 1 },
    ]);
    const run = await ended(id);
    assert.equal(run.status, "failed");
    assert.deepEqual(log, []);
    const message = run.errors.find((e) => e.node === "br").message;
    assert.match(
      message,
      /branch "sync": branch 1 \("customer"\) failed: create customer: HTTP 422 email is invalid; the 1 branch\(es\) after it did not run/,
    );
  });

  it("runs the following branches after a failure when told to, and counts caught errors as handled", async function () {
    const id = await start([
      {
        id: "br",
        type: "pw-branch",
        branches: [{}, {}, {}],
        onFailure: "continue",
        outputs: 3,
        wires: [["boom"], ["caughtboom"], ["third"]],
      },
      { id: "boom", type: "function", func: "node.error('first broke', msg); return null;", outputs: 1 },
      { id: "caughtboom", type: "function", func: "node.error('handled', msg); return null;", outputs: 1 },
      { id: "catch", type: "catch", scope: ["caughtboom"], uncaught: false, wires: [["catchlog"]] },
      { id: "catchlog", type: "function", func: note("'caught'"), outputs: 1 },
      { id: "third", type: "function", func: note("'3'"), outputs: 1 },
    ]);
    const run = await ended(id);
    assert.deepEqual(log, ["caught", "3"]);
    assert.equal(run.status, "failed", "branch 1's error was not handled");
  });

  it("ends a branch with nothing wired after the settle window", async function () {
    const id = await start([
      { id: "br", type: "pw-branch", branches: [{}, {}], outputs: 2, wires: [[], ["second"]] },
      { id: "second", type: "function", func: note("'2'"), outputs: 1 },
    ]);
    assert.equal((await ended(id)).status, "succeeded");
    assert.deepEqual(log, ["2"]);
  });

  it("stops paced batches when the run is stopped", async function () {
    const id = await start(
      [
        { id: "fc", type: "pw-flow-control", size: 1, delayMs: 150, wires: [["batch"]] },
        { id: "batch", type: "function", func: note("'batch ' + msg.pw.batch.index"), outputs: 1 },
      ],
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    await waitUntil(() => log.length >= 2, "two batches");
    const stoppedAt = Date.now();
    await rt.api("POST", `/pw/runs/${id}/stop`);
    const run = await ended(id);
    assert.equal(run.status, "stopped");
    await new Promise((r) => setTimeout(r, 400));
    assert.ok(log.length <= 3, `batches after the stop: ${log.join(", ")}`);
    assert.ok(Date.now() - stoppedAt < 2000);
  });
});
