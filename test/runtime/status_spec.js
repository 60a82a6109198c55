// The status dots of our shapes reflect the current deployment: a deploy starts them clean,
// and a run that was stopped leaves "stopped" on a shape, never "failed".
const assert = require("node:assert/strict");
const { startRuntime } = require("../support/runtime");
const { waitUntil } = require("../support/wait");

describe("shape statuses (runtime)", function () {
  this.timeout(20000);
  let rt;
  /** The last status each node reported, as the editor receives it. */
  const last = {};
  const onStatus = ({ id, status }) => (last[id] = status ?? {});
  before(async () => {
    rt = await startRuntime({ patchworks: { runs: { settleMs: 40 } } });
    rt.RED.events.on("node-status", onStatus);
  });
  after(async () => {
    rt.RED.events.removeListener("node-status", onStatus);
    await rt.stop();
  });
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
  const fire = async (trigger, payload) =>
    (await rt.api("POST", `/pw/trigger/${trigger}`, payload)).json.run.id;

  it("starts every shape of a new deploy without the last deployment's status", async function () {
    const flow = [
      { id: "t", type: "tab", label: "Status" },
      { id: "trig", type: "pw-trigger", z: "t", name: "start", schedules: [], wires: [["map"]] },
      { id: "map", type: "pw-map", z: "t", rules: [{ source: "a", target: "b" }], wires: [["fc"]] },
      { id: "fc", type: "pw-flow-control", z: "t", size: 1, wires: [[]] },
    ];
    await rt.deploy(flow);
    assert.equal((await ended(await fire("trig", [{ a: 1 }, { a: 2 }]))).status, "succeeded");
    assert.equal(last.map.text, "2 records mapped");
    assert.equal(last.fc.text, "2 records in 2 batches");
    // A full deploy restarts them: what the editor shows is this deployment's, not the last one's.
    await rt.deploy(flow);
    assert.deepEqual(last.map, {});
    assert.deepEqual(last.fc, {});
  });

  it("shows 'stopped', not 'failed', on a run-flow shape whose child or own run was stopped", async function () {
    await rt.deploy([
      { id: "p", type: "tab", label: "Parent" },
      { id: "c", type: "tab", label: "Child" },
      { id: "ptrig", type: "pw-trigger", z: "p", name: "parent", schedules: [], wires: [["rf"]] },
      { id: "rf", type: "pw-run-flow", z: "p", trigger: "ctrig", mode: "wait", timeoutSec: 30, wires: [[]] },
      {
        id: "ctrig",
        type: "pw-trigger",
        z: "c",
        name: "child",
        schedules: [],
        concurrency: 0,
        wires: [["slow"]],
      },
      // The child never answers: it waits until stopped.
      {
        id: "slow",
        type: "delay",
        z: "c",
        pauseType: "delay",
        timeout: "20",
        timeoutUnits: "seconds",
        wires: [[]],
      },
    ]);
    const children = async () =>
      (await rt.api("GET", "/pw/runs?status=running")).json.runs.filter((r) => r.trigger === "ctrig");

    // The child is stopped.
    const parent = await fire("ptrig", {});
    const [child] = await waitUntil(
      async () => ((await children()).length ? children() : undefined),
      "the child",
    );
    await waitUntil(() => /waiting/.test(last.rf?.text ?? ""), "run-flow to wait");
    await rt.api("POST", `/pw/runs/${child.id}/stop`);
    await waitUntil(() => last.rf?.text === "stopped", `a stopped status, not ${JSON.stringify(last.rf)}`);
    assert.equal(last.rf.fill, "grey");
    await ended(parent);

    // The parent is stopped (and its child with it, or not: either way the shape did not fail).
    const second = await fire("ptrig", {});
    await waitUntil(async () => ((await children()).length ? true : undefined), "the second child");
    await waitUntil(() => /waiting/.test(last.rf?.text ?? ""), "run-flow to wait again");
    await rt.api("POST", `/pw/runs/${second}/stop`);
    await ended(second);
    for (const run of await children()) await rt.api("POST", `/pw/runs/${run.id}/stop`);
    await new Promise((r) => setTimeout(r, 200));
    assert.notEqual(last.rf.fill, "red", JSON.stringify(last.rf));
  });

  it("shows 'stopped' on paced flow control when its run is stopped", async function () {
    await rt.deploy([
      { id: "t", type: "tab", label: "Paced" },
      { id: "trig", type: "pw-trigger", z: "t", name: "start", schedules: [], wires: [["fc"]] },
      { id: "fc", type: "pw-flow-control", z: "t", size: 1, delayMs: 150, wires: [[]] },
    ]);
    const id = await fire("trig", [1, 2, 3, 4, 5, 6]);
    await waitUntil(() => /^batch 2/.test(last.fc?.text ?? ""), "two batches");
    await rt.api("POST", `/pw/runs/${id}/stop`);
    assert.equal((await ended(id)).status, "stopped");
    await waitUntil(
      () => /^stopped after/.test(last.fc?.text ?? ""),
      `stopped, not ${JSON.stringify(last.fc)}`,
    );
    assert.equal(last.fc.fill, "grey");
  });
});
