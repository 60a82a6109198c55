// User regexes run on a linear-time engine (RE2, through re2js): `(a+)+$` on a long value
// cannot stall the runtime, in conditions typed in or arriving through a template, and in the
// map's replace transform. Patterns RE2 cannot run are refused at deploy naming the construct.
const assert = require("node:assert/strict");
const { lib } = require("../support/dist");
const { helper, load, nextMessage } = require("../support/node-helper");
const { compileConditions } = lib("conditions");
const { compileMapping } = lib("mapping/mapping");
const { compileUserRegex, cachedUserRegex, cachedPatternCount } = lib("user-regex");

// 10,000 a's and a "!": a backtracking engine would need about 2^10000 steps for (a+)+$ here,
// so a test that finishes at all shows the engine is linear. No timing asserts.
const EVIL = "a".repeat(10000) + "!";
const ctx = { now: 0, view: () => ({ payload: {}, meta: {}, flow: {}, env: {} }) };
const regex = (value, extra = {}) => ({
  logic: "and",
  rules: [{ field: "v", op: "regex", value, ...extra }],
});

describe("regexes on a linear-time engine (security)", function () {
  it("a condition (a+)+$ on 10,000 a's and a ! answers no match", function () {
    const match = compileConditions(regex("(a+)+$")).bind(() => ({}), 0);
    assert.equal(match({ v: EVIL }, 0), false);
    assert.equal(match({ v: "aaaa" }, 0), true);
  });

  it("a pattern from a template, rendered per message, runs on the same engine", function () {
    const matcher = compileConditions(regex("{{meta.pattern}}", { valueType: "template" }));
    const match = matcher.bind(() => ({ meta: { pattern: "^(a|aa)+$" } }), 0);
    assert.equal(match({ v: EVIL }, 0), false);
    assert.equal(match({ v: "aaa" }, 0), true);
  });

  it("caches run-time patterns per distinct pattern, boundedly", function () {
    const first = cachedUserRegex("^x+$");
    assert.equal(cachedUserRegex("^x+$"), first, "compiled once");
    for (let i = 0; i < 500; i++) cachedUserRegex(`^p${i}$`);
    assert.ok(cachedPatternCount() <= 200, `at most 200 kept, not ${cachedPatternCount()}`);
  });

  it("a bad pattern from a template fails that message, naming the rule", function () {
    const match = compileConditions(regex("{{meta.p}}", { valueType: "template" }));
    assert.throws(
      () => match.bind(() => ({ meta: { p: "(a)\\1" } }), 0),
      /rule 1 \(v regex\).*backreference "\\1"/,
    );
  });

  it("the map's replace transform runs (a+)+$ on 10,000 a's and a !", function () {
    const mapping = compileMapping([
      {
        source: "v",
        target: "v",
        transforms: [{ type: "replace", regex: true, find: "(a+)+$", replacement: "" }],
      },
      {
        source: "v",
        target: "w",
        transforms: [{ type: "replace", regex: true, find: "(a+)+!", replacement: "<$1>" }],
      },
    ]);
    const [out] = mapping.map([{ v: EVIL }], ctx);
    assert.equal(out.v, EVIL, "no match: unchanged");
    assert.ok(out.w === `<${"a".repeat(10000)}>`, "the group holds every a, as JavaScript gives it");
  });

  it("keeps JavaScript's replacement syntax and flags", function () {
    const re = (find, flags) =>
      compileMapping([
        {
          source: "v",
          target: "v",
          transforms: [{ type: "replace", regex: true, find, flags, replacement: "[$1|$&|$<n>]" }],
        },
      ]);
    assert.deepEqual(re("(?<n>\\d)(x)", "g").map({ v: "1x2x" }, ctx), { v: "[1|1x|1][2|2x|2]" });
    assert.deepEqual(re("(\\d)", "").map({ v: "12" }, ctx), { v: "[1|1|$<n>]2" });
    const ci = compileMapping([
      {
        source: "v",
        target: "v",
        transforms: [{ type: "replace", regex: true, find: "É", flags: "gi", replacement: "e" }],
      },
    ]);
    assert.deepEqual(ci.map({ v: "éÉ" }, ctx), { v: "ee" });
  });

  it("reads patterns as Unicode: \\p{L} with or without the u flag, \\u00e9 escapes", function () {
    assert.equal(compileUserRegex("^\\p{L}+$").test("Crème"), true);
    assert.equal(compileUserRegex("^\\p{L}+$", "u").test("Crème"), true);
    assert.equal(compileUserRegex("\\u00e9").test("é"), true);
    assert.equal(compileUserRegex("\\u{1F600}").test("😀"), true);
    assert.equal(compileUserRegex("\\\\u00e9").test("\\u00e9"), true, "an escaped backslash stays one");
    assert.equal(compileUserRegex("^a.c$", "s").test("a\nc"), true);
    assert.equal(compileUserRegex("^b$", "m").test("a\nb"), true);
  });

  describe("patterns RE2 cannot run are refused at deploy, naming the rule and the construct", function () {
    const cases = [
      ["a(?=b)", /lookahead "\(\?="/],
      ["a(?!b)", /lookahead "\(\?!"/],
      ["(?<=a)b", /lookbehind "\(\?<="/],
      ["(?<!a)b", /lookbehind "\(\?<!"/],
      ["(a)\\1", /backreference "\\1"/],
      ["(?<n>a)\\k<n>", /backreference "\\k"/],
      ["a{1001}", /repeats more than 1000 times/],
      ["(", /"\(" is not a valid regular expression: missing closing \)/],
    ];
    for (const [pattern, why] of cases) {
      it(`refuses ${pattern} in a filter condition and in a replace transform`, function () {
        assert.throws(
          () => compileConditions(regex(pattern)),
          (err) => /^rule 1 \(v regex\): the value: /.test(err.message) && why.test(err.message),
        );
        assert.throws(
          () =>
            compileMapping([
              {
                name: "Clean",
                source: "v",
                target: "v",
                transforms: [{ type: "replace", regex: true, find: pattern }],
              },
            ]),
          (err) => /^rule 1 "Clean": transform 1 \(replace\): /.test(err.message) && why.test(err.message),
        );
      });
    }

    it("refuses flags the engine has no equivalent for", function () {
      assert.throws(() => compileUserRegex("a", "y"), /flag "y" is not supported \(use g, i, m, s or u\)/);
    });
  });

  describe("through deployed shapes (node)", function () {
    const tab = { id: "tab1", type: "tab" };
    const helpers = [
      { id: "out", type: "helper", z: "tab1" },
      { id: "rest", type: "helper", z: "tab1" },
      { id: "c1", type: "catch", z: "tab1", scope: null, uncaught: false, wires: [["caught"]] },
      { id: "caught", type: "helper", z: "tab1" },
    ];
    afterEach(() => helper.unload());

    it("a route whose pattern comes from the payload sends the long value down otherwise", async function () {
      await load([
        tab,
        ...helpers,
        {
          id: "r",
          type: "pw-route",
          z: "tab1",
          routes: [{ label: "evil", conditions: regex("{{payload.0.p}}", { valueType: "template" }) }],
          otherwise: true,
          wires: [["out"], ["rest"]],
        },
      ]);
      const rest = nextMessage("rest");
      helper.getNode("r").receive({ payload: [{ p: "(a+)+$", v: EVIL }] });
      assert.equal((await rest).payload[0].v, EVIL);
    });

    it("a filter with a lookahead turns red at deploy and fails its messages with the reason", async function () {
      await load([
        tab,
        ...helpers,
        {
          id: "f",
          type: "pw-filter",
          z: "tab1",
          name: "Paid",
          conditions: regex("^(?=paid)"),
          wires: [["out"]],
        },
      ]);
      const caught = nextMessage("caught");
      helper.getNode("f").receive({ payload: [{ v: "paid" }] });
      assert.match(
        (await caught).error.message,
        /filter "Paid" is not configured correctly: rule 1 \(v regex\): the value: the regular expression "\^\(\?=paid\)" uses a lookahead/,
      );
    });
  });
});
