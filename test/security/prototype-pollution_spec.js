// Prototype pollution through user-supplied names: every writer refuses __proto__, constructor
// and prototype when it compiles, or keeps such a key as plain data, and Object.prototype is
// never touched (one polluted `d` once made every node "disabled" at the next deploy).
const assert = require("node:assert/strict");
const { lib } = require("../support/dist");
const { helper, load, nextMessage } = require("../support/node-helper");
const { compileMapping } = lib("mapping/mapping");
const { autoMap, samplePaths } = lib("mapping/automap");
const { buildLookupTable } = lib("mapping/lookup");
const { compileGetter, parseTargetPath } = lib("paths");
const { compileRules, applyRules } = lib("variables");
const { withMeta } = lib("meta");
const { compileSplitter } = lib("splitting");
const { parseCsv } = lib("csv");
const { formToObject } = lib("webhook/body");
const { redact } = lib("redact");
const { setKey } = lib("keys");

const ctx = { now: 0, view: () => ({ payload: {}, meta: {}, flow: {}, env: {} }) };
const UNSAFE = ["__proto__", "constructor", "prototype"];

function assertClean() {
  const probe = {};
  for (const name of ["polluted", "x", "d", "y"]) {
    assert.equal(probe[name], undefined, `Object.prototype.${name} was set`);
    assert.equal(Object.prototype[name], undefined);
  }
  assert.equal(typeof probe.constructor, "function", "Object.prototype.constructor is intact");
}

describe("prototype pollution: every writer of a user-supplied name (security)", function () {
  afterEach(function () {
    try {
      assertClean();
    } finally {
      // Whatever a failing case did, the next case (and spec file) starts clean.
      for (const name of ["polluted", "x", "d", "y"]) delete Object.prototype[name];
    }
  });

  describe("map targets", function () {
    for (const key of UNSAFE)
      for (const target of [
        `${key}.polluted`,
        `a.${key}.polluted`,
        `['${key}'].polluted`,
        key,
        `a[*].${key}`,
      ])
        it(`refuses the target "${target}" at compile time, naming the rule`, function () {
          assert.throws(
            () => compileMapping([{ name: "Evil", source: "a", target }]),
            (err) =>
              new RegExp(`rule 1 "Evil": the target .*"${key}".* is refused`).test(err.message) &&
              /Use another name/.test(err.message),
          );
        });

    it("refuses constructor.prototype, the other road to Object.prototype", function () {
      assert.throws(
        () => compileMapping([{ source: "a", target: "constructor.prototype.polluted" }]),
        /refused/,
      );
      assert.throws(() => parseTargetPath("x.prototype"), /"prototype"/);
    });

    it("maps a static value to a safe target and leaves Object.prototype alone", function () {
      const mapping = compileMapping([{ target: "d", valueType: "bool", value: "true" }]);
      assert.deepEqual(mapping.map([{}], ctx), [{ d: true }]);
    });
  });

  describe("paths that read", function () {
    it('reads "__proto__" and "constructor" as the record\'s own fields only', function () {
      const record = JSON.parse('{"__proto__": {"polluted": 1}, "constructor": "Williams"}');
      assert.deepEqual(compileGetter("__proto__")(record), { polluted: 1 });
      assert.equal(compileGetter("__proto__.polluted")(record), 1);
      assert.equal(compileGetter("constructor")(record), "Williams");
      assert.equal(compileGetter("__proto__")({}), undefined, "never Object.prototype");
      assert.equal(compileGetter("constructor")({}), undefined, "never Object");
      assert.deepEqual(compileGetter("[*].constructor")([{}, { constructor: "Ferrari" }]), ["Ferrari"]);
      assert.deepEqual(compileGetter("a[*].b[*].__proto__")({ a: [{ b: [{}] }] }), []);
    });

    it("maps a JSON-parsed own __proto__ field as data", function () {
      const mapping = compileMapping([
        // The second record has none of these fields: left out, as the rules say.
        { source: "__proto__", target: "proto", onError: "skip" },
        { source: "constructor", target: "team", onError: "skip" },
        { source: "items[*].__proto__", target: "list[*].p", onError: "skip" },
      ]);
      const record = JSON.parse('{"__proto__": {"polluted": true}, "items": [{"__proto__": 1}, {}]}');
      assert.deepEqual(mapping.map([record, {}], ctx), [{ proto: { polluted: true }, list: [{ p: 1 }] }, {}]);
    });
  });

  describe("JSON parse transform", function () {
    it("keeps a parsed __proto__ key as data and writes it to a safe target", function () {
      const mapping = compileMapping([
        { source: "raw", target: "parsed", transforms: [{ type: "json_parse" }] },
      ]);
      const [out] = mapping.map([{ raw: '{"__proto__": {"polluted": true}, "ok": 1}' }], ctx);
      assert.equal(Object.getPrototypeOf(out.parsed), Object.prototype);
      assert.deepEqual(Object.keys(out.parsed), ["__proto__", "ok"]);
      assert.equal(out.parsed.polluted, undefined, "the parsed object did not take it as its prototype");
    });
  });

  describe("auto-map and field pickers", function () {
    it('does not offer or propose a field named "__proto__", "constructor" or "prototype"', function () {
      const sample = JSON.parse(
        '{"__proto__": {"polluted": "x"}, "constructor": {"prototype": {"polluted": 1}}, "email": "a@x"}',
      );
      assert.deepEqual(samplePaths(sample), ["email"]);
      const rules = autoMap(sample, sample, [], true);
      assert.deepEqual(
        rules.map((r) => [r.source, r.target]),
        [["email", "email"]],
      );
      // What it proposes compiles and runs.
      assert.deepEqual(compileMapping(rules).map([sample], ctx), [{ email: "a@x" }]);
    });
  });

  describe("lookup tables and CSV import", function () {
    it("keeps __proto__, constructor and prototype as ordinary keys", function () {
      const rows = parseCsv("key,value\r\n__proto__,p\r\nconstructor,c\r\nprototype,t\r\n");
      assert.deepEqual(rows[1], ["__proto__", "p"]);
      const table = buildLookupTable({ name: "t", columns: rows[0], rows: rows.slice(1) });
      assert.equal(table.get("__proto__"), "p");
      assert.equal(table.get("constructor"), "c");
      assert.equal(table.get("prototype"), "t");
      assert.equal(table.get("toString"), undefined, "no inherited member is a key");
      const other = buildLookupTable({ name: "u", columns: ["k", "v"], rows: [["a", "b"]] });
      assert.equal(other.get("__proto__"), undefined);
      assert.equal(other.get("constructor"), undefined);
    });
  });

  describe("set variables", function () {
    for (const key of UNSAFE)
      for (const target of ["meta", "flow"])
        it(`refuses the ${target} variable "${key}" at deploy, naming the row`, function () {
          assert.throws(
            () => compileRules([{ target, key, valueType: "str", value: "true" }]),
            new RegExp(
              `row 1 \\(${target} "${key}"\\): the ${target} variable "${key}" uses "${key}".*refused`,
            ),
          );
        });

    it("refuses a flow variable path through __proto__ or constructor.prototype", function () {
      for (const key of ["__proto__.polluted", "a.__proto__.polluted", 'a["constructor"]["prototype"].x'])
        assert.throws(() => compileRules([{ target: "flow", key, valueType: "str", value: "1" }]), /refused/);
    });

    it("never lets a meta write set the meta object's prototype", function () {
      assert.throws(() => withMeta({}, JSON.parse('{"__proto__": "x"}')), /"__proto__".*refused/);
      const rules = compileRules([{ target: "meta", key: "shop", valueType: "str", value: "acme" }]);
      let meta;
      applyRules(rules, {
        payload: {},
        meta: {},
        view: () => ({}),
        env: () => undefined,
        onMeta: (m) => (meta = m),
      });
      assert.deepEqual(meta, { shop: "acme" });
    });
  });

  describe("split", function () {
    for (const key of UNSAFE) {
      it(`refuses the wrapper key "${key}"`, function () {
        assert.throws(
          () => compileSplitter({ path: "items", mode: "each", wrapper: key }),
          new RegExp(`the wrapper key "${key}" uses "${key}".*refused`),
        );
      });
      it(`refuses copying a parent field as "${key}"`, function () {
        assert.throws(
          () => compileSplitter({ path: "items", mode: "each", parentFields: [{ from: "id", to: key }] }),
          /parent field "id".*refused/,
        );
        assert.throws(
          () => compileSplitter({ path: "items", mode: "each", parentFields: [{ from: `a.${key}` }] }),
          /refused/,
        );
      });
    }
  });

  describe("data keys copied one by one", function () {
    it("a webhook form field named __proto__ or constructor is a field", function () {
      const form = formToObject("__proto__=x&__proto__=y&constructor=c&a=1");
      assert.deepEqual(Object.keys(form), ["__proto__", "constructor", "a"]);
      assert.deepEqual(form.__proto__, ["x", "y"]);
      assert.equal(form.constructor, "c");
      assert.equal(Object.getPrototypeOf(form), Object.prototype);
    });

    it("a redacted copy keeps __proto__ as data", function () {
      const copy = redact(JSON.parse('{"__proto__": {"polluted": 1, "password": "s"}}'));
      assert.deepEqual(Object.keys(copy), ["__proto__"]);
      assert.equal(copy.polluted, undefined);
      assert.equal(Object.getOwnPropertyDescriptor(copy, "__proto__").value.password, "***");
    });

    it("setKey makes __proto__ an own property, other keys as usual", function () {
      const o = {};
      setKey(o, "__proto__", { polluted: 1 });
      setKey(o, "a", 1);
      assert.equal(o.polluted, undefined);
      assert.deepEqual(Object.keys(o), ["__proto__", "a"]);
    });
  });
});

describe("prototype pollution through deployed shapes (security, node)", function () {
  const tab = { id: "tab1", type: "tab" };
  const out = { id: "out", type: "helper", z: "tab1" };
  const catcher = [
    { id: "c1", type: "catch", z: "tab1", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", type: "helper", z: "tab1" },
  ];
  afterEach(async function () {
    await helper.unload();
    try {
      assertClean();
    } finally {
      for (const name of ["polluted", "x", "d", "y"]) delete Object.prototype[name];
    }
  });

  it("a map with target __proto__.d turns red and fails every message; nothing is polluted", async function () {
    await load([
      tab,
      out,
      ...catcher,
      {
        id: "m",
        type: "pw-map",
        z: "tab1",
        name: "Evil",
        rules: [{ target: "__proto__.d", valueType: "bool", value: "true" }],
        wires: [["out"]],
      },
    ]);
    const caught = nextMessage("caught");
    helper.getNode("m").receive({ payload: [{ a: 1 }] });
    assert.match(
      (await caught).error.message,
      /map "Evil" is not configured correctly: rule 1: the target "__proto__.d" uses "__proto__".*refused/,
    );
  });

  it("set variables refuses a meta key __proto__ and a flow key constructor.prototype.x", async function () {
    for (const [target, key] of [
      ["meta", "__proto__"],
      ["flow", "constructor.prototype.x"],
    ]) {
      await load([
        tab,
        out,
        ...catcher,
        {
          id: "s",
          type: "pw-set-variables",
          z: "tab1",
          name: "vars",
          rules: [{ target, key, valueType: "json", value: '{"polluted": true}' }],
          wires: [["out"]],
        },
      ]);
      const caught = nextMessage("caught");
      helper.getNode("s").receive({ payload: {} });
      assert.match(
        (await caught).error.message,
        /set variables "vars" is not configured correctly: row 1.*refused/,
      );
      await helper.unload();
    }
  });

  it("split refuses the wrapper key __proto__", async function () {
    await load([
      tab,
      out,
      ...catcher,
      {
        id: "sp",
        type: "pw-split",
        z: "tab1",
        name: "parts",
        path: "items",
        wrapper: "__proto__",
        wires: [["out"]],
      },
    ]);
    const caught = nextMessage("caught");
    helper.getNode("sp").receive({ payload: { items: [{ polluted: 1 }] } });
    assert.match((await caught).error.message, /split "parts" is not configured correctly: the wrapper key/);
  });
});
