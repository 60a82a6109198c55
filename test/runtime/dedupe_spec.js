// De-dupe in a real runtime: 50 parallel runs with the same records, and the admin routes
// that inspect, export, import and clear a pool.
const assert = require("node:assert/strict");
const { startRuntime } = require("../support/runtime");
const { waitUntil } = require("../support/wait");

describe("de-dupe (runtime)", function () {
  this.timeout(30000);
  let rt;
  const seen = [];
  before(async () => {
    rt = await startRuntime({ functionGlobalContext: { seen }, patchworks: { runs: { settleMs: 30 } } });
    await rt.deploy([
      { id: "t", type: "tab", label: "De-dupe" },
      { id: "trig", type: "pw-trigger", z: "t", name: "orders", schedules: [], wires: [["d"]] },
      {
        id: "d",
        type: "pw-dedupe",
        z: "t",
        mode: "filter-and-track",
        keyType: "path",
        key: "id",
        pool: "shopify orders",
        entity: "orders",
        ttl: 90,
        ttlUnit: "days",
        wires: [["sink"]],
      },
      {
        id: "sink",
        type: "function",
        z: "t",
        func: "global.get('seen').push(...msg.payload.map(o => o.id)); return null;",
        outputs: 0,
        wires: [],
      },
    ]);
  });
  after(() => rt.stop());

  it("lets each key through once when 50 runs with the same records go at once", async function () {
    const records = Array.from({ length: 40 }, (_, i) => ({ id: 1000 + i }));
    const started = await Promise.all(
      Array.from({ length: 50 }, () => rt.api("POST", "/pw/trigger/trig", records)),
    );
    const ids = started.map((r) => r.json.run.id);
    await waitUntil(
      async () => {
        const runs = await Promise.all(ids.map((id) => rt.api("GET", `/pw/runs/${id}`)));
        return runs.every((r) => r.json.run.status === "succeeded");
      },
      "the 50 runs to succeed",
      20000,
      50,
    );
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      records.map((r) => r.id),
    );
  });

  it("lists, inspects, exports, imports (adding only) and clears a pool through the admin API", async function () {
    const pool = `/pw/dedupe/pools/${encodeURIComponent("shopify orders")}`;
    const list = await rt.api("GET", "/pw/dedupe/pools");
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.json.pools.map((p) => [p.name, p.keys, p.entities]),
      [["shopify orders", 40, { orders: 40 }]],
    );
    const inspected = await rt.api("GET", `${pool}?q=101&limit=5`);
    assert.deepEqual(
      inspected.json.keys.map((k) => k.value),
      ["1010", "1011", "1012", "1013", "1014"],
    );
    assert.match(inspected.json.keys[0].expiresAt, /^\d{4}-\d\d-\d\dT/);

    const csv = await rt.api("GET", `${pool}/csv`);
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get("content-type"), /text\/csv/);
    const lines = csv.text.trim().split("\r\n");
    assert.equal(lines[0], "value,entity");
    assert.equal(lines.length, 41);
    assert.ok(lines.includes("1000,orders"));

    const imported = await rt.api("POST", `${pool}/csv`, {
      csv: 'value,entity\r\n1000,orders\r\n"new, with comma",orders\r\n77,fulfillments\r\n',
    });
    assert.equal(imported.status, 200);
    assert.equal(imported.json.added, 2);
    assert.equal(imported.json.skipped, 1);
    assert.deepEqual(imported.json.pool.entities, { orders: 41, fulfillments: 1 });

    const bad = await rt.api("POST", `${pool}/csv`, { csv: 'a,"unclosed' });
    assert.equal(bad.status, 400);
    assert.match(bad.json.message, /ends inside a quoted field/);
    const noCsv = await rt.api("POST", `${pool}/csv`, { rows: [] });
    assert.equal(noCsv.status, 400);

    const cleared = await rt.api("DELETE", pool);
    assert.deepEqual([cleared.status, cleared.json.cleared, cleared.json.pool.keys], [200, 42, 0]);
    assert.equal((await rt.api("GET", "/pw/dedupe/pools/nothing-here")).status, 404);
    assert.equal((await rt.api("DELETE", "/pw/dedupe/pools/nothing-here")).status, 404);
  });
});
