// The security items through a real runtime: the map dialog's admin routes and CSV import
// with __proto__ in what they are sent, deployed flows whose rules or payloads try to pollute
// Object.prototype or stall the runtime, and the expression cap from settings.js.
const assert = require("node:assert/strict");
const { startRuntime } = require("../support/runtime");
const { waitUntil } = require("../support/wait");

describe("security through a real runtime (security, runtime)", function () {
  let rt;
  before(async () => {
    rt = await startRuntime({ patchworks: { runs: { settleMs: 40 }, map: { maxExpressionMs: 300 } } });
  });
  after(() => rt.stop());
  afterEach(function () {
    try {
      for (const name of ["polluted", "d", "x"])
        assert.equal({}[name], undefined, `Object.prototype.${name}`);
    } finally {
      for (const name of ["polluted", "d", "x"]) delete Object.prototype[name];
    }
  });

  /** Deploys the nodes behind a trigger, starts a run with the payload and waits for its end. */
  async function run(nodes, payload) {
    await rt.deploy([
      { id: "tab", type: "tab", label: "Security" },
      { id: "trig", type: "pw-trigger", z: "tab", name: "start", schedules: [], wires: [[nodes[0].id]] },
      ...nodes.map((n) => ({ z: "tab", wires: [], ...n })),
      {
        id: "sink",
        type: "function",
        z: "tab",
        func: "global.set('out', msg.payload); return null;",
        outputs: 0,
      },
    ]);
    const started = await rt.api("POST", "/pw/trigger/trig", payload);
    const id = started.json.run.id;
    return waitUntil(
      async () => {
        const r = (await rt.api("GET", `/pw/runs/${id}`)).json?.run;
        return r && r.status !== "running" ? r : undefined;
      },
      `run ${id} to end`,
      8000,
      20,
    );
  }

  describe("POST /pw/map/test", function () {
    it("refuses a target through __proto__ with the reason, and pollutes nothing", async function () {
      const res = await rt.api("POST", "/pw/map/test", {
        rules: [{ name: "Evil", target: "__proto__.polluted", valueType: "bool", value: "true" }],
        sample: [{ a: 1 }],
      });
      assert.equal(res.status, 200);
      assert.equal(res.json.failed, true);
      assert.match(
        res.json.message,
        /rule 1 "Evil": the target "__proto__.polluted" uses "__proto__".*refused/,
      );
      const ctor = await rt.api("POST", "/pw/map/test", {
        rules: [{ source: "a", target: "constructor.prototype.polluted" }],
        sample: { a: 1 },
      });
      assert.match(ctor.json.message, /"constructor".*refused/);
    });

    it("maps a sample whose own __proto__ key holds data, and draft tables named __proto__", async function () {
      // A raw body: an object literal with "__proto__" would set the prototype here, not a key.
      const body =
        '{"rules": [{"source": "__proto__.polluted", "target": "p"}, {"source": "c", "target": "c", ' +
        '"transforms": [{"type": "lookup", "table": "__proto__"}]}], "sample": {"__proto__": {"polluted": "yes"}, ' +
        '"c": "__proto__"}, "tables": {"__proto__": {"name": "t", "columns": ["k", "v"], ' +
        '"rows": [["__proto__", "found"]]}}}';
      const res = await rt.api("POST", "/pw/map/test", body);
      assert.deepEqual(res.json, { result: { p: "yes", c: "found" } });
    });
  });

  it("auto-map proposes nothing for a sample field named __proto__ or constructor", async function () {
    const body =
      '{"source": {"__proto__": {"polluted": 1}, "constructor": {"prototype": 1}, "email": "a@x"}, ' +
      '"target": {"__proto__": {"polluted": ""}, "email": ""}}';
    const res = await rt.api("POST", "/pw/map/automap", body);
    assert.deepEqual(
      res.json.rules.map((r) => [r.source, r.target]),
      [["email", "email"]],
    );
    const fields = await rt.api("POST", "/pw/map/fields", '{"sample": {"__proto__": {"x": 1}, "a": 1}}');
    assert.deepEqual(fields.json.paths, ["a"]);
  });

  it("imports a CSV whose keys are __proto__, constructor and prototype as plain rows", async function () {
    const res = await rt.api("POST", "/pw/lookup-tables/from-csv", {
      text: "key,value\n__proto__,a\nconstructor,b\nprototype,c\n",
    });
    assert.deepEqual(res.json.rows, [
      ["key", "value"],
      ["__proto__", "a"],
      ["constructor", "b"],
      ["prototype", "c"],
    ]);
  });

  it("a deployed map with target __proto__.d fails its messages, and the next deploy runs normally", async function () {
    const failed = await run(
      [
        {
          id: "m",
          type: "pw-map",
          name: "Evil",
          rules: [{ target: "__proto__.d", valueType: "bool", value: "true" }],
          wires: [["sink"]],
        },
      ],
      [{ a: 1 }],
    );
    assert.equal(failed.status, "failed");
    assert.match(failed.errors[0].message, /map "Evil" is not configured correctly: .*"__proto__".*refused/);
    // Object.prototype.d = true once made every node "disabled" at the next deploy.
    const next = await run(
      [{ id: "m2", type: "pw-map", rules: [{ source: "a", target: "b" }], wires: [["sink"]] }],
      [{ a: 1 }],
    );
    assert.equal(next.status, "succeeded");
  });

  it("runs a catastrophic regex from the webhook payload through a template on the linear engine", async function () {
    const value = "a".repeat(10000) + "!";
    const done = await run(
      [
        {
          id: "f",
          type: "pw-filter",
          name: "evil regex",
          conditions: {
            logic: "and",
            rules: [{ field: "v", op: "regex", valueType: "template", value: "{{payload.0.pattern}}" }],
          },
          removedOutput: true,
          wires: [["sink"], ["sink"]],
        },
      ],
      [{ pattern: "(a+)+$", v: value }],
    );
    // Finishing at all is the proof: a backtracking engine would take longer than the universe has.
    assert.equal(done.status, "succeeded");
  });

  it("caps the expression limit from settings.js and stops a microtask loop inside it", async function () {
    const over = await rt.api("POST", "/pw/map/test", {
      rules: [
        { source: "a", target: "b", transforms: [{ type: "expression", code: "value", timeoutMs: 500 }] },
      ],
      sample: { a: 1 },
    });
    assert.match(
      over.json.message,
      /time limit of 500 ms is over the cap of 300 ms.*patchworks\.map\.maxExpressionMs/,
    );
    const loop = "(Promise.resolve().then(function spin() { return Promise.resolve().then(spin); }), value)";
    const stopped = await run(
      [
        {
          id: "m",
          type: "pw-map",
          name: "Spin",
          rules: [
            {
              source: "a",
              target: "b",
              onError: "skip",
              transforms: [{ type: "expression", code: loop, timeoutMs: 50 }],
            },
          ],
          wires: [["sink"]],
        },
      ],
      [{ a: 1 }],
    );
    assert.equal(stopped.status, "failed", "not succeeded: the limit covers promise callbacks");
    assert.match(stopped.errors[0].message, /did not finish within its limit of 50 ms/);
  });
});
