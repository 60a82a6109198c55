// Exactly once where the API allows it, in a real runtime against a flaky loopback upstream
// (test/fakes/flaky.js): a pull that fails at a page is resumed there by Retry (and a retry
// that fails again by its own Retry), a send reports each failed record as refused or
// unknown, and with seeded failures every record reaches the next shape once and is
// accepted once.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { startRuntime } = require("../support/runtime");
const { waitUntil } = require("../support/wait");
const { startFlaky, flakyConnector } = require("../fakes/flaky");

describe("exactly once where the API allows it (runtime)", function () {
  let rt;
  let up;
  let down;
  const seen = [];
  const items = Array.from({ length: 200 }, (_, i) => ({ id: i + 1 }));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-connectors-"));
  before(async () => {
    fs.writeFileSync(
      path.join(dir, "flaky.json"),
      JSON.stringify(flakyConnector({ pageSize: 20, batch: 25 })),
    );
    // GETs of the page at offset `down` fail while it is set; the rest as the test says.
    up = await startFlaky({
      records: items,
      failWhen: (req) => {
        if (req.method !== "GET" || down === undefined) return undefined;
        const at = req.query.cursor ? Number(Buffer.from(req.query.cursor, "base64url").toString()) : 0;
        return at === down ? "500" : undefined;
      },
    });
    rt = await startRuntime({
      functionGlobalContext: { seen },
      patchworks: { connectorsDir: dir, runs: { settleMs: 40 } },
    });
  });
  after(async () => {
    await rt.stop();
    await up.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    seen.length = 0;
    up.log.length = 0;
    up.accepted.length = 0;
    down = undefined;
  });

  const sink = (id) => ({
    id,
    type: "function",
    z: "t",
    func: `global.get('seen').push({ at: '${id}', run: msg.pw.run.id, payload: msg.payload, page: msg.pw.page }); return null;`,
    outputs: 0,
    wires: [],
  });
  const ended = (id) =>
    waitUntil(
      async () => {
        const r = (await rt.api("GET", `/pw/runs/${id}`)).json?.run;
        return r && r.status !== "running" ? r : undefined;
      },
      `run ${id}`,
      30000,
      20,
    );
  const retry = async (id) => (await rt.api("POST", `/pw/runs/${id}/retry`)).json.run.id;
  const deploy = (nodes) =>
    rt.deploy([
      { id: "t", type: "tab", label: "Sync" },
      { id: "up", type: "pw-instance", name: "Upstream", connector: "flaky", vars: { base: up.base } },
      { id: "trig", type: "pw-trigger", z: "t", name: "start", schedules: [], wires: [[nodes[0].id]] },
      ...nodes.map((n) => ({ z: "t", wires: [], ...n })),
    ]);
  const ids = (at) =>
    seen.filter((s) => s.at === at).flatMap((s) => s.payload.map((r) => r.id ?? r.record.id));

  it("resumes a failed pull at the page that failed on Retry, and a retry that fails again from its own point", async function () {
    await deploy([
      {
        id: "pull",
        type: "pw-connection",
        name: "Items",
        instance: "up",
        endpoint: "list-items",
        attempts: 2,
        wires: [["next"]],
      },
      sink("next"),
    ]);
    down = 60; // page 4
    const first = await ended((await rt.api("POST", "/pw/trigger/trig", {})).json.run.id);
    assert.equal(first.status, "failed");
    assert.match(
      first.errors[0].message,
      /connection "Items": List items, page 4: .*answered 500.* 3 page\(s\) were sent on; Retry the run to go on from page 4/,
    );
    assert.deepEqual(
      seen.map((s) => s.page.number),
      [1, 2, 3],
    );
    const [checkpoint] = Object.values(first.checkpoints);
    assert.equal(checkpoint.pages, 3);
    assert.equal(checkpoint.records, 60);
    assert.equal(checkpoint.next.pages, 3);

    down = 120; // page 7: the retry gets further and fails again
    up.log.length = 0;
    const second = await ended(await retry(first.id));
    assert.equal(second.status, "failed");
    assert.equal(second.retryOf, first.id);
    assert.equal(
      Buffer.from(up.log[0].query.cursor, "base64url").toString(),
      "60",
      "the retry's first request is for page 4, not page 1",
    );
    assert.match(second.errors[0].message, /page 7: .*Retry the run to go on from page 7/);

    down = undefined;
    const third = await ended(await retry(second.id));
    assert.equal(third.status, "succeeded");
    // Across the three runs every page and every record reached the next shape once.
    assert.deepEqual(
      seen.map((s) => s.page.number),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
    assert.deepEqual(
      ids("next"),
      items.map((i) => i.id),
    );
    assert.equal(seen.at(-1).page.last, true);
    // A run that succeeded has nothing to resume: its retry is a fresh start.
    seen.length = 0;
    const fourth = await ended(await retry(third.id));
    assert.equal(fourth.status, "succeeded");
    assert.equal(seen.length, 10, "a succeeded run's retry starts over");
  });

  it("sends each failed record to the failure output as refused or unknown, and counts them as failed", async function () {
    await deploy([
      {
        id: "mp",
        type: "pw-manual-payload",
        format: "json",
        payload: JSON.stringify([{ id: 1 }, { id: 2, bad: true }, { id: 3 }]),
        wires: [["push"]],
      },
      {
        id: "push",
        type: "pw-connection",
        instance: "up",
        endpoint: "create-items",
        failureOutput: true,
        outputs: 2,
        wires: [["ok"], ["bad"]],
      },
      sink("ok"),
      sink("bad"),
    ]);
    const run = await ended((await rt.api("POST", "/pw/trigger/trig", {})).json.run.id);
    assert.equal(run.status, "completed with failures");
    assert.equal(run.failedRecords, 1);
    const bad = seen.find((s) => s.at === "bad").payload;
    assert.deepEqual(
      bad.map((f) => [f.record.id, f.outcome, f.status]),
      [[2, "refused", 200]],
    );
    assert.match(bad[0].error, /with an error for record 2 of 3: item 2 is not valid/);
    assert.deepEqual(
      up.accepted.map((i) => i.id),
      [1, 3],
    );
  });

  it("pulls and sends a few hundred records through 30% seeded failures: each reaches the next shape once and is accepted once", async function () {
    const records = Array.from({ length: 400 }, (_, i) => ({ id: i + 1, bad: i % 97 === 5 }));
    const flaky = await startFlaky({ records, rate: 0.3, seed: 12 });
    await rt.deploy([
      { id: "t", type: "tab", label: "Sync" },
      { id: "up2", type: "pw-instance", connector: "flaky", vars: { base: flaky.base } },
      { id: "trig", type: "pw-trigger", z: "t", name: "start", schedules: [], wires: [["pull"]] },
      {
        id: "pull",
        type: "pw-connection",
        z: "t",
        instance: "up2",
        endpoint: "list-items",
        wires: [["tap", "push"]],
      },
      sink("tap"),
      {
        id: "push",
        type: "pw-connection",
        z: "t",
        instance: "up2",
        endpoint: "create-items",
        failureOutput: true,
        outputs: 2,
        wires: [["ok"], ["bad"]],
      },
      sink("ok"),
      sink("bad"),
    ]);
    let run = await ended((await rt.api("POST", "/pw/trigger/trig", {})).json.run.id);
    for (let i = 0; i < 3 && run.status === "failed"; i++) run = await ended(await retry(run.id));
    assert.notEqual(run.status, "failed", JSON.stringify(run.errors));
    const pulled = ids("tap");
    assert.equal(pulled.length, 400, "no record pulled twice or missed");
    assert.equal(new Set(pulled).size, 400);
    const failed = seen.filter((s) => s.at === "bad").flatMap((s) => s.payload);
    for (const f of failed) assert.ok(f.outcome === "refused" || f.outcome === "unknown", JSON.stringify(f));
    const accepted = flaky.accepted.map((i) => i.id);
    assert.equal(new Set(accepted).size, accepted.length, "nothing accepted twice");
    const refused = new Set(failed.filter((f) => f.outcome === "refused").map((f) => f.record.id));
    assert.ok(
      accepted.every((id) => !refused.has(id)),
      "a record said to be refused was not accepted",
    );
    // Every record is accounted for: accepted, or on the failure output.
    const accounted = new Set([...accepted, ...failed.map((f) => f.record.id)]);
    assert.equal(accounted.size, 400);
    // The invalid ones were refused on their own, the rest of their batches accepted.
    for (const r of records.filter((r) => r.bad)) assert.ok(refused.has(r.id), `record ${r.id} refused`);
    assert.ok(
      flaky.stats.failures["429"] > 0 && flaky.stats.failures["500-after"] > 0,
      JSON.stringify(flaky.stats),
    );
    await flaky.close();
  });
});
