// With run tracking turned off, flows run as plain Node-RED and the runs API says why it is empty.
const assert = require("node:assert/strict");
const { startRuntime } = require("../support/runtime");
const { waitUntil } = require("../support/wait");

describe("runs turned off (runtime)", function () {
  let rt;
  const seen = [];
  before(
    async () =>
      (rt = await startRuntime({
        functionGlobalContext: { seen },
        patchworks: { runs: { enabled: false } },
      })),
  );
  after(() => rt.stop());

  it("still starts runs, untracked, and answers the runs API with 503 and the setting to change", async function () {
    await rt.deploy([
      { id: "t1", type: "tab", label: "Off" },
      { id: "trig", type: "pw-trigger", z: "t1", name: "start", schedules: [], wires: [["sink"]] },
      {
        id: "sink",
        type: "function",
        z: "t1",
        func: "global.get('seen').push(msg); return null;",
        outputs: 0,
        wires: [],
      },
    ]);
    const started = await rt.api("POST", "/pw/trigger/trig", { a: 1 });
    assert.equal(started.status, 200);
    await waitUntil(() => seen.length === 1, "the run's message");
    assert.equal(seen[0].pw.run.id, started.json.run.id);
    const list = await rt.api("GET", "/pw/runs");
    assert.equal(list.status, 503);
    assert.match(list.json.message, /patchworks\.runs\.enabled/);
    assert.equal((await rt.api("GET", `/pw/runs/${started.json.run.id}`)).status, 503);
  });
});
