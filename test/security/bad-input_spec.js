// Text or a number where records are expected is not read as a record without fields: map,
// filter and route fail the message through done(err), saying what was found, where, and
// how to fix it, and keep running.
const assert = require("node:assert/strict");
const { lib } = require("../support/dist");
const { helper, load, nextMessage } = require("../support/node-helper");
const { compileMapping } = lib("mapping/mapping");
const { compileConditions } = lib("conditions");
const { filterRecords, routeRecords } = lib("routing");

const ctx = { now: 0, view: () => ({}) };
const paid = { logic: "and", rules: [{ field: "status", op: "equals", value: "paid" }] };
const tab = { id: "tab1", type: "tab" };
const helpers = [
  { id: "out", type: "helper", z: "tab1" },
  { id: "out2", type: "helper", z: "tab1" },
  { id: "c1", type: "catch", z: "tab1", scope: null, uncaught: false, wires: [["caught"]] },
  { id: "caught", type: "helper", z: "tab1" },
];

describe("bad-typed input fails the message (security)", function () {
  describe("engine", function () {
    it("map refuses text, a number, true/false or null as records", function () {
      const mapping = compileMapping([{ source: "id", target: "id" }]);
      assert.throws(
        () => mapping.map('{"id": 1}', ctx),
        /msg.payload is text \("\{\\"id\\": 1\}"\), not records \(an object, or a list of objects\): it looks like JSON text; parse it first/,
      );
      assert.throws(
        () => mapping.map(42, ctx),
        /msg.payload is a number \(42\), not records.*check what the shape before/,
      );
      assert.throws(
        () => mapping.map([{ id: 1 }, "x"], ctx),
        /record 1: msg.payload\[1\] is text \("x"\), not an object with fields/,
      );
      assert.throws(() => mapping.map([{ id: 1 }, null], ctx), /msg.payload\[1\] is null/);
      assert.throws(() => mapping.map([true], ctx), /msg.payload\[0\] is true\/false \(true\)/);
      assert.deepEqual(mapping.map([{ id: 1 }, { id: 2 }], ctx), [{ id: 1 }, { id: 2 }]);
    });

    it("filter and route refuse text where conditions read a field, and take plain values with an empty field", function () {
      const predicate = compileConditions(paid).bind(() => ({}), 0);
      assert.throws(
        () => filterRecords("paid", predicate, true, true),
        /msg.payload is text \("paid"\), not records/,
      );
      assert.throws(
        () => filterRecords([{ status: "paid" }, 7], predicate, true, true),
        /msg.payload\[1\] is a number \(7\)/,
      );
      assert.throws(
        () => routeRecords([5], [predicate], "first", true, true),
        /msg.payload\[0\] is a number \(5\)/,
      );
      assert.deepEqual(filterRecords([{ status: "paid" }, null], predicate, true, true).kept, [
        { status: "paid" },
      ]);
      const plain = compileConditions({ logic: "and", rules: [{ field: "", op: "equals", value: "vip" }] });
      assert.equal(plain.readsFields, false);
      assert.equal(compileConditions(paid).readsFields, true);
      assert.deepEqual(
        filterRecords(
          ["vip", "eu"],
          plain.bind(() => ({}), 0),
          true,
          plain.readsFields,
        ).kept,
        ["vip"],
      );
    });
  });

  describe("through deployed shapes (node)", function () {
    afterEach(() => helper.unload());

    for (const [type, extra] of [
      ["pw-map", { rules: [{ source: "status", target: "status" }] }],
      ["pw-filter", { conditions: paid }],
      ["pw-route", { routes: [{ label: "paid", conditions: paid }], otherwise: true }],
    ]) {
      it(`${type} fails a message whose payload is text, and maps/passes the next one`, async function () {
        await load([
          tab,
          ...helpers,
          { id: "s", type, z: "tab1", name: "Orders", wires: [["out"], ["out2"]], ...extra },
        ]);
        const caught = nextMessage("caught");
        helper.getNode("s").receive({ payload: '[{"status": "paid"}]' });
        assert.match(
          (await caught).error.message,
          new RegExp(`${type.slice(3)} "Orders": msg.payload is text .*not records .*parse it first`),
        );
        const caughtToo = nextMessage("caught");
        helper.getNode("s").receive({ payload: [{ status: "paid" }, 12] });
        assert.match(
          (await caughtToo).error.message,
          new RegExp(`${type.slice(3)} "Orders": record 1: msg.payload\\[1\\] is a number \\(12\\)`),
        );
        const got = nextMessage("out");
        helper.getNode("s").receive({ payload: [{ status: "paid" }] });
        assert.deepEqual((await got).payload, [{ status: "paid" }]);
      });
    }
  });
});
