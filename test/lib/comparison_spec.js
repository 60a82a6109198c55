// The assert shape's comparison: deep equality, subset, array order, ignored paths, and a
// difference list a person can read.
const assert = require("node:assert/strict");
const { lib } = require("../support/dist");
const { compileComparison, parseExpected, compileIgnorePaths } = lib("comparison");

const check = (expected, actual, options = {}) => compileComparison({ expected, ...options })(actual);
const paths = (r) => r.differences.map((d) => `${d.path} ${d.problem}`);

describe("payload comparison (assert)", function () {
  const order = {
    id: 1001,
    email: "a@example.com",
    lines: [
      { sku: "A", qty: 1 },
      { sku: "B", qty: 2 },
    ],
  };

  it("passes an equal payload and lists each difference by path with both values", function () {
    assert.equal(check(order, structuredClone(order)).pass, true);
    const got = { id: "1001", email: "A@example.com", lines: [{ sku: "A", qty: 1 }], extra: true };
    const r = check(order, got);
    assert.equal(r.pass, false);
    assert.deepEqual(paths(r), [
      "id different type",
      "email different value",
      "lines[1] missing",
      "extra unexpected",
    ]);
    assert.equal(
      r.text,
      [
        "4 differences from the expected payload:",
        'id: expected number 1001, got string "1001"',
        'email: expected "a@example.com", got "A@example.com"',
        'lines[1]: missing (expected {"sku":"B","qty":2})',
        "extra: not expected (got true)",
      ].join("\n"),
    );
  });

  it("in subset mode, checks only that the expected fields are present with their values", function () {
    const got = { ...order, created_at: "2026-01-01", lines: order.lines.map((l) => ({ ...l, price: 5 })) };
    assert.equal(
      check({ id: 1001, lines: [{ sku: "A" }, { sku: "B" }] }, got, { mode: "subset" }).pass,
      true,
    );
    const r = check({ id: 1001, status: "paid", lines: [{ sku: "A" }] }, got, { mode: "subset" });
    assert.deepEqual(paths(r), ["status missing", "lines[1] unexpected"]);
  });

  it("ignores array order when told to, pairing each expected element with a different one", function () {
    const shuffled = { ...order, lines: [order.lines[1], order.lines[0]] };
    assert.equal(check(order, shuffled).pass, false);
    assert.equal(check(order, shuffled, { ignoreOrder: true }).pass, true);
    const twice = { ...order, lines: [order.lines[0], order.lines[0]] };
    const r = check(order, twice, { ignoreOrder: true });
    assert.deepEqual(paths(r), ["lines[1] not found", "lines[1] unexpected"]);
    assert.match(r.text, /lines\[1\]: no element matches \{"sku":"B","qty":2\}/);
  });

  it("leaves ignored paths out on both sides, with [*] for every element", function () {
    const expected = [
      { id: 1, updated_at: "x", meta: { rev: 1 } },
      { id: 2, updated_at: "y" },
    ];
    const got = [{ id: 1, updated_at: "z", meta: { rev: 9 } }, { id: 2 }];
    assert.deepEqual(paths(check(expected, got)), [
      "[0].updated_at different value",
      "[0].meta.rev different value",
      "[1].updated_at missing",
    ]);
    assert.equal(check(expected, got, { ignorePaths: ["[*].updated_at", "[0].meta"] }).pass, true);
    assert.equal(
      check(expected, got, { ignorePaths: ["*.updated_at", "[*].meta.rev"], ignoreOrder: true }).pass,
      true,
    );
  });

  it("compares dates as their ISO text, and names the payload itself when it differs", function () {
    assert.equal(
      check({ at: "2026-01-01T00:00:00.000Z" }, { at: new Date("2026-01-01T00:00:00Z") }).pass,
      true,
    );
    const r = check({}, null);
    assert.equal(
      r.text,
      "1 difference from the expected payload:\n(the payload): expected object {}, got null",
    );
  });

  it("shows the first 50 differences and counts the rest", function () {
    const expected = Array.from({ length: 80 }, (_, i) => i);
    const r = check(
      expected,
      expected.map((n) => n + 1),
    );
    assert.equal(r.count, 80);
    assert.equal(r.differences.length, 50);
    assert.match(r.text, /^80 differences[\s\S]*… and 30 more$/);
  });

  it("refuses an empty or broken expected payload and bad ignored paths", function () {
    assert.deepEqual(parseExpected("{}"), {});
    assert.throws(() => parseExpected(""), /the expected payload is empty: paste the payload you expect/);
    assert.throws(() => parseExpected("{id: 1}"), /not valid JSON/);
    assert.throws(() => compileIgnorePaths(["ok", " "]), /ignored path 2 is empty/);
    assert.throws(() => compileIgnorePaths(["a..b"]), /ignored path 1: path "a..b" has an empty key/);
    assert.throws(() => compileComparison({ expected: {}, mode: "loose" }), /unknown comparison "loose"/);
  });
});
