// The JavaScript expression transform is bounded: its time limit is capped (settings.js
// patchworks.map.maxExpressionMs, 1000 ms by default) and covers promise callbacks the
// expression queues, so a microtask loop cannot stall the runtime while the run "succeeds".
const assert = require("node:assert/strict");
const { lib } = require("../support/dist");
const { helper, load, nextMessage } = require("../support/node-helper");
const { compileMapping } = lib("mapping/mapping");
const { EXPRESSION_CAP_MS } = lib("mapping/transforms");

const ctx = { now: 0, view: () => ({ payload: {}, meta: {}, flow: {}, env: {} }) };
// Spins on promise callbacks for 3 s, then stops: without the limit covering microtasks the
// mapping returns at once and the spin stalls the process afterwards (and this test fails
// rather than hangs).
const SPIN =
  "(function () { const end = Date.now() + 3000; Promise.resolve().then(function spin() { " +
  "if (Date.now() < end) return Promise.resolve().then(spin); }); return value; })()";
const expression = (code, extra = {}) => ({ type: "expression", code, ...extra });

describe("expression transforms are bounded (security)", function () {
  it("stops a microtask loop at the rule's limit and fails the message, whatever the error policy", function () {
    for (const onError of ["fail", "skip", "default"]) {
      const mapping = compileMapping([
        {
          name: "Spin",
          source: "a",
          target: "b",
          onError,
          default: "x",
          transforms: [expression(SPIN, { timeoutMs: 50 })],
        },
      ]);
      assert.throws(
        () => mapping.map([{ a: 1 }], ctx),
        /rule "Spin": record 0: expression: did not finish within its limit of 50 ms \(promise callbacks included\)/,
        `with onError ${onError}`,
      );
    }
  });

  it("stops a synchronous loop the same way", function () {
    const mapping = compileMapping([
      { source: "a", target: "b", transforms: [expression("(() => { for (;;); })()", { timeoutMs: 20 })] },
    ]);
    assert.throws(() => mapping.map({ a: 1 }, ctx), /did not finish within its limit of 20 ms/);
  });

  it("still runs promise callbacks that finish in time, and keeps working after a timeout", function () {
    const mapping = compileMapping([
      {
        source: "a",
        target: "b",
        transforms: [
          expression(
            "value === 1 ? (Promise.resolve().then(function f() { return Promise.resolve().then(f); }), 1) : value * 2",
            { timeoutMs: 30 },
          ),
        ],
      },
    ]);
    assert.throws(() => mapping.map({ a: 1 }, ctx), /did not finish/);
    assert.deepEqual(mapping.map({ a: 2 }, ctx), { b: 4 });
  });

  it(`refuses a limit over the cap (${EXPRESSION_CAP_MS} ms unless settings.js says otherwise) at deploy`, function () {
    assert.equal(EXPRESSION_CAP_MS, 1000);
    assert.throws(
      () =>
        compileMapping([
          { name: "Slow", source: "a", target: "b", transforms: [expression("value", { timeoutMs: 60000 })] },
        ]),
      /rule 1 "Slow": transform 1 \(expression\): the time limit of 60000 ms is over the cap of 1000 ms: lower it, or raise patchworks\.map\.maxExpressionMs in settings\.js/,
    );
    const deps = { table: () => undefined, maxExpressionMs: 5000 };
    compileMapping(
      [{ source: "a", target: "b", transforms: [expression("value", { timeoutMs: 5000 })] }],
      {},
      deps,
    );
    assert.throws(
      () =>
        compileMapping([{ source: "a", target: "b", transforms: [expression("value", { timeoutMs: 0 })] }]),
      /whole number of ms/,
    );
    assert.throws(
      () =>
        compileMapping([
          { source: "a", target: "b", transforms: [expression("value", { timeoutMs: "lots" })] },
        ]),
      /"timeoutMs" must be a number/,
    );
  });

  describe("through a deployed map (node)", function () {
    afterEach(() => helper.unload());
    it("fails the message with the limit named; nothing is sent", async function () {
      await load([
        { id: "tab1", type: "tab" },
        { id: "out", type: "helper", z: "tab1" },
        { id: "c1", type: "catch", z: "tab1", scope: null, uncaught: false, wires: [["caught"]] },
        { id: "caught", type: "helper", z: "tab1" },
        {
          id: "m",
          type: "pw-map",
          z: "tab1",
          name: "Spin",
          rules: [{ source: "a", target: "b", transforms: [expression(SPIN, { timeoutMs: 50 })] }],
          wires: [["out"]],
        },
      ]);
      let sent = 0;
      helper.getNode("out").on("input", () => sent++);
      const caught = nextMessage("caught");
      helper.getNode("m").receive({ payload: [{ a: 1 }] });
      assert.match(
        (await caught).error.message,
        /map "Spin": rule "a → b": record 0: expression: did not finish within its limit of 50 ms/,
      );
      assert.equal(sent, 0);
    });
  });
});
