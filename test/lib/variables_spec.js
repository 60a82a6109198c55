const assert = require("node:assert/strict");
const { lib } = require("../support/dist");
const { compileRules, applyRules } = lib("variables");
const { lookupObject } = lib("templates");

function apply(rules, payload, meta = {}, env = {}) {
  let latest = meta;
  const view = () => ({ payload, meta: latest, run: { id: "R1" }, env: lookupObject((k) => env[k]) });
  const writes = applyRules(compileRules(rules), {
    payload,
    meta,
    onMeta: (m) => (latest = m),
    view,
    env: (k) => env[k],
  });
  return { writes, meta: latest };
}

describe("set variables rules", function () {
  it("sets meta from literals, paths, templates and env, in order", function () {
    const { meta, writes } = apply(
      [
        { target: "meta", key: "order", valueType: "path", value: "[0].id" },
        { target: "meta", key: "label", valueType: "template", value: "order-{{meta.order}}-{{run.id}}" },
        { target: "meta", key: "count", valueType: "num", value: "3" },
        { target: "meta", key: "shop", valueType: "env", value: "SHOP" },
        { target: "flow", key: "skus", valueType: "path", value: "[*].sku" },
        { target: "flow", key: "settings", valueType: "json", value: '{"dryRun":true}' },
        { target: "flow", key: "on", valueType: "bool", value: "true" },
      ],
      [
        { id: 1001, sku: "A" },
        { id: 1002, sku: "B" },
      ],
      {},
      { SHOP: "acme" },
    );
    assert.deepEqual(meta, { order: "1001", label: "order-1001-R1", count: "3", shop: "acme" });
    assert.deepEqual(writes, [
      ["skus", ["A", "B"]],
      ["settings", { dryRun: true }],
      ["on", true],
    ]);
  });

  it("gives each message its own copy of a JSON value", function () {
    const rules = compileRules([{ target: "flow", key: "x", valueType: "json", value: '{"a":[1]}' }]);
    const ctx = { payload: null, meta: {}, onMeta() {}, view: () => ({}), env: () => undefined };
    const [[, first]] = applyRules(rules, ctx);
    first.a.push(2);
    const [[, second]] = applyRules(rules, ctx);
    assert.deepEqual(second, { a: [1] });
  });

  it("refuses bad rows at deploy, naming the row", function () {
    assert.throws(() => compileRules([]), /no variables to set/);
    assert.throws(
      () => compileRules([{ target: "meta", key: "", valueType: "str", value: "" }]),
      /row 1 .*name is empty/,
    );
    assert.throws(
      () => compileRules([{ target: "meta", key: "a", valueType: "num", value: "abc" }]),
      /row 1 \(meta "a"\): "abc" is not a number/,
    );
    assert.throws(
      () => compileRules([{ target: "x", key: "a", valueType: "str", value: "" }]),
      /unknown target/,
    );
    assert.throws(
      () => compileRules([{ target: "flow", key: "a", valueType: "json", value: "{" }]),
      /JSON value is not valid/,
    );
    assert.throws(
      () => compileRules([{ target: "flow", key: "a", valueType: "path", value: "a..b" }]),
      /row 1 .*empty key/,
    );
    assert.throws(
      () => compileRules([{ target: "flow", key: "a", valueType: "template", value: "{{#a}}" }]),
      /not valid/,
    );
  });

  it("fails the row that would push meta over 10 KB and writes no flow variable", function () {
    assert.throws(
      () =>
        apply(
          [
            { target: "flow", key: "f", valueType: "str", value: "1" },
            { target: "meta", key: "blob", valueType: "path", value: "text" },
          ],
          { text: "x".repeat(11000) },
        ),
      /row 2 \(meta "blob"\): meta variables would take \d+ bytes, over the 10240-byte limit/,
    );
  });
});
