// The map dialog's helpers and the lookup table's CSV routes, in a real runtime.
const assert = require("node:assert/strict");
const { startRuntime } = require("../support/runtime");
const { waitUntil } = require("../support/wait");

describe("map and lookup table admin routes (runtime)", function () {
  let rt;
  before(async () => {
    rt = await startRuntime({ patchworks: { runs: { settleMs: 40 } } });
    await rt.deploy([
      { id: "t", type: "tab", label: "Map" },
      {
        id: "lt",
        type: "pw-lookup-table",
        name: "countries",
        columns: ["code", "name"],
        rows: [["GB", "United Kingdom"]],
        miss: "passthrough",
      },
      { id: "trig", type: "pw-trigger", z: "t", name: "start", schedules: [], wires: [["m"]] },
      { id: "m", type: "pw-map", z: "t", rules: [{ source: "id", target: "id" }], wires: [[]] },
    ]);
  });
  after(() => rt.stop());

  it("tests a mapping on a sample with the engine, lookups included", async function () {
    const res = await rt.api("POST", "/pw/map/test", {
      rules: [
        { source: "country", target: "country", transforms: [{ type: "lookup", table: "lt" }] },
        { source: "total", target: "amount", transforms: [{ type: "to_number" }] },
      ],
      sample: [
        { country: "gb", total: "12.50" },
        { country: "FR", total: "1" },
      ],
    });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.result, [
      { country: "United Kingdom", amount: 12.5 },
      { country: "FR", amount: 1 },
    ]);
  });

  it("answers a mapping that fails with the reason, and refuses a test without a sample", async function () {
    const res = await rt.api("POST", "/pw/map/test", {
      rules: [{ name: "Total", source: "total", target: "t", transforms: [{ type: "to_number" }] }],
      sample: { total: "lots" },
    });
    assert.equal(res.status, 200, "the test ran");
    assert.equal(res.json.failed, true);
    assert.match(res.json.message, /rule "Total": record 0: to_number: cannot read "lots" as a number/);
    assert.equal((await rt.api("POST", "/pw/map/test", { rules: [] })).status, 400);
    assert.match(
      (await rt.api("POST", "/pw/map/test", { rules: [{ source: "a" }], sample: {} })).json.message,
      /rule 1: needs a target field/,
    );
    const draft = await rt.api("POST", "/pw/map/test", {
      rules: [{ source: "c", target: "c", transforms: [{ type: "lookup", table: "draft1" }] }],
      sample: { c: "x" },
      tables: { draft1: { name: "draft", columns: ["k", "v"], rows: [["x", "found"]] } },
    });
    assert.deepEqual(draft.json.result, { c: "found" }, "a table not yet deployed, as the editor sends it");
  });

  it("lists a sample's fields and proposes rules", async function () {
    assert.deepEqual(
      (await rt.api("POST", "/pw/map/fields", { sample: { a: { b: 1 }, c: [{ d: 1 }] } })).json.paths,
      ["a", "a.b", "c", "c[*]", "c[*].d"],
    );
    const proposed = await rt.api("POST", "/pw/map/automap", {
      source: { email_address: "x", first_name: "y" },
      target: { email: "", firstname: "" },
    });
    assert.deepEqual(
      proposed.json.rules.map((r) => [r.source, r.target]),
      [
        ["email_address", "email"],
        ["first_name", "firstname"],
      ],
    );
    assert.equal((await rt.api("POST", "/pw/map/automap", {})).status, 400);
  });

  it("hands the editor the last record a map received, secrets masked", async function () {
    assert.equal((await rt.api("GET", "/pw/map/m/last-payload")).status, 404);
    await rt.api("POST", "/pw/trigger/trig", [
      { id: 7, email: "a@x.com", api_key: "sk_live_123" },
      { id: 8 },
    ]);
    const res = await waitUntil(async () => {
      const r = await rt.api("GET", "/pw/map/m/last-payload");
      return r.status === 200 && r;
    }, "the last payload");
    assert.deepEqual(res.json.sample, { id: 7, email: "a@x.com", api_key: "***" });
  });

  it("imports and exports lookup tables as CSV", async function () {
    const parsed = await rt.api("POST", "/pw/lookup-tables/from-csv", {
      text: 'code,name\nGB,"United Kingdom"\n',
    });
    assert.deepEqual(parsed.json.rows, [
      ["code", "name"],
      ["GB", "United Kingdom"],
    ]);
    const bad = await rt.api("POST", "/pw/lookup-tables/from-csv", { text: 'a,"b' });
    assert.equal(bad.status, 400);
    assert.match(bad.json.message, /ends inside a quoted field/);
    assert.equal((await rt.api("POST", "/pw/lookup-tables/from-csv", {})).status, 400);
    const csv = await rt.api("POST", "/pw/lookup-tables/to-csv", {
      rows: [
        ["code", "name"],
        ["X,Y", "a"],
      ],
    });
    assert.equal(csv.text, 'code,name\r\n"X,Y",a\r\n');
    assert.equal((await rt.api("POST", "/pw/lookup-tables/to-csv", { rows: "no" })).status, 400);
  });
});
