// The condition engine: every operator and type, wildcards, groups, templates, bad values.
const assert = require("node:assert/strict");
const { lib } = require("../support/dist");
const { compileConditions, ConditionValueError, OPERATORS } = lib("conditions");

const NOW = Date.parse("2026-11-27T12:00:00Z");
const view = () => ({ payload: { min: 10 }, meta: { channel: "web" }, flow: {}, env: {} });

/** Which of the records match one condition. */
function matching(condition, records, opts = {}) {
  const predicate = compileConditions({ logic: "and", rules: [condition], ...opts }).bind(view, NOW);
  return records.filter((r, i) => predicate(r, i));
}
const ids = (records) => records.map((r) => r.id);

describe("conditions", function () {
  describe("text", function () {
    const people = [
      { id: 1, name: "Ada Lovelace", email: "ada@example.com" },
      { id: 2, name: "alan turing", email: "alan@example.org" },
      { id: 3, name: "Grace", email: null },
      { id: 4 },
    ];
    it("equals and not equals, with a case-insensitive option", function () {
      assert.deepEqual(ids(matching({ field: "name", op: "equals", value: "Grace" }, people)), [3]);
      assert.deepEqual(ids(matching({ field: "name", op: "equals", value: "ALAN TURING" }, people)), []);
      assert.deepEqual(
        ids(matching({ field: "name", op: "equals", value: "ALAN TURING", caseInsensitive: true }, people)),
        [2],
      );
      assert.deepEqual(ids(matching({ field: "name", op: "not_equals", value: "Grace" }, people)), [1, 2, 4]);
    });
    it("contains, does not contain, starts with, ends with", function () {
      assert.deepEqual(ids(matching({ field: "name", op: "contains", value: "ing" }, people)), [2]);
      assert.deepEqual(
        ids(matching({ field: "name", op: "not_contains", value: "Lovelace" }, people)),
        [2, 3, 4],
      );
      assert.deepEqual(ids(matching({ field: "email", op: "starts_with", value: "ada" }, people)), [1]);
      assert.deepEqual(
        ids(matching({ field: "email", op: "ends_with", value: ".ORG", caseInsensitive: true }, people)),
        [2],
      );
    });
    it("in list and not in list (commas or new lines)", function () {
      assert.deepEqual(
        ids(matching({ field: "name", op: "in", value: "Grace, Ada Lovelace" }, people)),
        [1, 3],
      );
      assert.deepEqual(
        ids(matching({ field: "name", op: "not_in", value: "Grace\nAda Lovelace" }, people)),
        [2, 4],
      );
    });
    it("exists, does not exist, empty, not empty", function () {
      const rows = [
        { id: 1, v: "x" },
        { id: 2, v: "" },
        { id: 3, v: "  " },
        { id: 4, v: null },
        { id: 5 },
        { id: 6, v: [] },
        { id: 7, v: {} },
        { id: 8, v: 0 },
      ];
      assert.deepEqual(ids(matching({ field: "v", op: "exists" }, rows)), [1, 2, 3, 6, 7, 8]);
      assert.deepEqual(ids(matching({ field: "v", op: "not_exists" }, rows)), [4, 5]);
      assert.deepEqual(ids(matching({ field: "v", op: "empty" }, rows)), [2, 3, 4, 5, 6, 7]);
      assert.deepEqual(ids(matching({ field: "v", op: "not_empty" }, rows)), [1, 8]);
    });
    it("matches a regular expression, and refuses an invalid one at deploy", function () {
      assert.deepEqual(ids(matching({ field: "email", op: "regex", value: "^a.*\\.com$" }, people)), [1]);
      assert.deepEqual(
        ids(matching({ field: "name", op: "regex", value: "^ALAN", caseInsensitive: true }, people)),
        [2],
      );
      assert.throws(
        () => compileConditions({ logic: "and", rules: [{ field: "email", op: "regex", value: "([a-z" }] }),
        /rule 1 \(email regex\): the value: "\(\[a-z" is not a valid regular expression/,
      );
    });
    it("compares numbers and booleans in the record as text", function () {
      assert.deepEqual(
        ids(
          matching({ field: "code", op: "equals", value: "42" }, [
            { id: 1, code: 42 },
            { id: 2, code: "42" },
            { id: 3, code: true },
          ]),
        ),
        [1, 2],
      );
    });
    it("looks for an element in an array field", function () {
      const rows = [
        { id: 1, tags: ["vip", "wholesale"] },
        { id: 2, tags: ["retail"] },
        { id: 3, tags: [] },
      ];
      assert.deepEqual(ids(matching({ field: "tags", op: "contains", value: "vip" }, rows)), [1]);
      assert.deepEqual(ids(matching({ field: "tags", op: "not_contains", value: "vip" }, rows)), [2, 3]);
    });
  });

  describe("numbers", function () {
    const items = [
      { id: 1, qty: 0 },
      { id: 2, qty: "5" },
      { id: 3, qty: 10.5 },
      { id: 4, qty: "n/a" },
      { id: 5 },
    ];
    const num = (op, value, value2) =>
      ids(matching({ field: "qty", op, type: "number", value, value2 }, items));
    it("greater and less than, or equal, between, equals, in list", function () {
      assert.deepEqual(num("gt", "5"), [3]);
      assert.deepEqual(num("gte", "5"), [2, 3]);
      assert.deepEqual(num("lt", "5"), [1]);
      assert.deepEqual(num("lte", "5.0"), [1, 2]);
      assert.deepEqual(num("between", "1", "10.5"), [2, 3]);
      assert.deepEqual(num("equals", "5"), [2]);
      assert.deepEqual(num("in", "0, 10.5"), [1, 3]);
    });
    it("treats text that is not a number as no match by default", function () {
      assert.deepEqual(
        num("not_equals", "5"),
        [1, 3, 5],
        "n/a is not a number: no match either way; a missing field is simply not equal",
      );
    });
    it("fails with the field, the record and the value when told to", function () {
      const predicate = compileConditions({
        logic: "and",
        onBadValue: "error",
        rules: [{ field: "qty", op: "gt", type: "number", value: "1" }],
      }).bind(view, NOW);
      assert.equal(predicate(items[2], 2), true);
      assert.throws(
        () => predicate(items[3], 3),
        (err) =>
          err instanceof ConditionValueError &&
          /record 3: field "qty" is not a number \(value "n\/a"\)/.test(err.message),
      );
    });
    it("refuses a value that is not a number at deploy", function () {
      assert.throws(
        () => compileConditions([{ field: "qty", op: "gt", type: "number", value: "ten" }]),
        /rule 1 \(qty gt\): the value: "ten" is not a number/,
      );
    });
    it("compares with another field of the same record", function () {
      const rows = [
        { id: 1, paid: 10, total: 10 },
        { id: 2, paid: 5, total: 10 },
      ];
      assert.deepEqual(
        ids(matching({ field: "paid", op: "lt", type: "number", value: "total", valueType: "field" }, rows)),
        [2],
      );
    });
    it("takes the value from a template rendered per message", function () {
      assert.deepEqual(
        ids(
          matching(
            { field: "qty", op: "gte", type: "number", value: "{{payload.min}}", valueType: "template" },
            items,
          ),
        ),
        [3],
      );
      const bad = compileConditions([
        { field: "qty", op: "gte", type: "number", value: "{{payload.nothing}}x", valueType: "template" },
      ]);
      assert.throws(() => bad.bind(view, NOW), /the value: "x" is not a number/);
    });
  });

  describe("dates", function () {
    const orders = [
      { id: 1, at: "2026-11-27T11:30:00Z" },
      { id: 2, at: "2026-11-20" },
      { id: 3, at: Date.parse("2026-11-28T12:00:00Z") },
      { id: 4, at: 1795000000 }, // epoch seconds: 2026-11-18
      { id: 5, at: "yesterday" },
    ];
    const date = (op, value, extra = {}) =>
      ids(matching({ field: "at", op, type: "date", value, ...extra }, orders));
    it("before, after, equals, between", function () {
      assert.deepEqual(date("before", "2026-11-21"), [2, 4]);
      assert.deepEqual(date("after", "2026-11-27T00:00:00Z"), [1, 3]);
      assert.deepEqual(date("equals", "2026-11-20T00:00:00Z"), [2]);
      assert.deepEqual(date("between", "2026-11-19", { value2: "2026-11-27T12:00:00Z" }), [1, 2]);
    });
    it("within the last or next N units, and older than", function () {
      assert.deepEqual(date("within_last", "1", { unit: "hours" }), [1]);
      assert.deepEqual(date("within_next", "2", { unit: "days" }), [3]);
      assert.deepEqual(date("older_than", "5", { unit: "days" }), [2, 4]);
      assert.deepEqual(date("within_last", "90", { unit: "minutes" }), [1]);
    });
    it("reads relative dates against the time the message is handled", function () {
      const m = compileConditions([{ field: "at", op: "within_last", value: "1", unit: "hours" }]);
      assert.equal(m.constant, false);
      assert.equal(m.bind(view, NOW)(orders[0], 0), true);
      assert.equal(m.bind(view, NOW + 2 * 3600_000)(orders[0], 0), false);
    });
    it("names a date that does not parse when told to fail", function () {
      const p = compileConditions({
        logic: "and",
        onBadValue: "error",
        rules: [{ field: "at", op: "after", type: "date", value: "2026-01-01" }],
      }).bind(view, NOW);
      assert.throws(() => p(orders[4], 4), /record 4: field "at" is not a date \(value "yesterday"\)/);
      assert.throws(
        () => compileConditions([{ field: "at", op: "after", type: "date", value: "soon" }]),
        /"soon" is not a date \(use ISO 8601/,
      );
      assert.throws(
        () => compileConditions([{ field: "at", op: "within_last", value: "-1" }]),
        /not a number of minutes, hours or days/,
      );
    });
  });

  describe("booleans", function () {
    const rows = [
      { id: 1, ok: true },
      { id: 2, ok: "false" },
      { id: 3, ok: 1 },
      { id: 4, ok: "maybe" },
      { id: 5 },
    ];
    it("true and false, reading true/false, yes/no and 1/0", function () {
      assert.deepEqual(ids(matching({ field: "ok", op: "true" }, rows)), [1, 3]);
      assert.deepEqual(ids(matching({ field: "ok", op: "false" }, rows)), [2]);
      assert.deepEqual(ids(matching({ field: "ok", op: "equals", type: "boolean", value: "no" }, rows)), [2]);
      assert.throws(
        () => matching({ field: "ok", op: "true" }, rows, { onBadValue: "error" }),
        /record 3: field "ok" is not true or false \(value "maybe"\)/,
      );
    });
  });

  describe("paths through arrays", function () {
    const orders = [
      {
        id: 1,
        line_items: [
          { sku: "A", qty: 1 },
          { sku: "GIFT", qty: 1 },
        ],
      },
      { id: 2, line_items: [{ sku: "B", qty: 3 }] },
      { id: 3, line_items: [] },
      { id: 4 },
    ];
    it("matches when any element matches", function () {
      assert.deepEqual(
        ids(matching({ field: "line_items[*].sku", op: "equals", value: "GIFT" }, orders)),
        [1],
      );
      assert.deepEqual(
        ids(matching({ field: "line_items.*.qty", op: "gt", type: "number", value: "2" }, orders)),
        [2],
      );
    });
    it("matches when every element matches with the all option (none at all is no match)", function () {
      assert.deepEqual(
        ids(
          matching(
            { field: "line_items[*].qty", op: "equals", type: "number", value: "1", all: true },
            orders,
          ),
        ),
        [1],
      );
      assert.deepEqual(
        ids(matching({ field: "line_items[*].sku", op: "not_equals", value: "A", all: true }, orders)),
        [1, 2, 3, 4],
        "not every sku is A",
      );
    });
    it("negates the whole condition: no element contains the value", function () {
      assert.deepEqual(
        ids(matching({ field: "line_items[*].sku", op: "not_equals", value: "GIFT" }, orders)),
        [2, 3, 4],
      );
    });
    it("reads quoted keys and indexes", function () {
      const rows = [
        { id: 1, "a.b": [{ c: 1 }] },
        { id: 2, "a.b": [{ c: 2 }] },
      ];
      assert.deepEqual(
        ids(matching({ field: "['a.b'][0].c", op: "equals", type: "number", value: "2" }, rows)),
        [2],
      );
    });
    it("tests the record itself with an empty field", function () {
      assert.deepEqual(matching({ field: "", op: "in", value: "x, z" }, ["x", "y", "z"]), ["x", "z"]);
    });
  });

  describe("groups", function () {
    const rows = [
      { id: 1, country: "GB", total: 120, vip: false },
      { id: 2, country: "US", total: 80, vip: true },
      { id: 3, country: "US", total: 30, vip: false },
    ];
    it("combines with AND and OR, one level nested and deeper", function () {
      const m = compileConditions({
        logic: "or",
        rules: [
          { field: "vip", op: "true" },
          {
            logic: "and",
            rules: [
              { field: "country", op: "equals", value: "GB" },
              { field: "total", op: "gt", type: "number", value: "100" },
            ],
          },
        ],
      });
      const p = m.bind(view, NOW);
      assert.deepEqual(ids(rows.filter(p)), [1, 2]);
      assert.equal(m.constant, true, "no templates or relative dates: bound once");
      const deeper = compileConditions({
        logic: "and",
        rules: [
          {
            logic: "or",
            rules: [{ logic: "and", rules: [{ field: "id", op: "equals", type: "number", value: "3" }] }],
          },
        ],
      });
      assert.deepEqual(ids(rows.filter(deeper.bind(view, NOW))), [3]);
    });
    it("takes everything when there are no conditions", function () {
      const m = compileConditions({ logic: "and", rules: [] });
      assert.equal(m.always, true);
      assert.equal(m.bind(view, NOW)(undefined, 0), true);
    });
    it("reads conditions given as JSON text or as a plain list (AND)", function () {
      assert.deepEqual(
        ids(
          rows.filter(
            compileConditions(
              JSON.stringify([
                { field: "country", op: "equals", value: "US" },
                { field: "vip", op: "false" },
              ]),
            ).bind(view, NOW),
          ),
        ),
        [3],
      );
    });
  });

  describe("bad configuration", function () {
    it("names the rule and what is wrong", function () {
      assert.throws(
        () => compileConditions([{ field: "a", op: "like", value: "x" }]),
        /rule 1: unknown operator "like"/,
      );
      assert.throws(
        () => compileConditions([{ field: "a", op: "equals" }]),
        /rule 1 \(a equals\): needs a value/,
      );
      assert.throws(
        () => compileConditions([{ field: "a", op: "between", type: "number", value: "1" }]),
        /needs an upper value/,
      );
      assert.throws(
        () => compileConditions([{ field: "a..b", op: "exists" }]),
        /rule 1: path "a..b" has an empty key/,
      );
      assert.throws(
        () => compileConditions({ logic: "and", rules: [{ logic: "xor", rules: [] }] }),
        /rule 1: logic must be "and" or "or"/,
      );
      assert.throws(() => compileConditions("{not json"), /not valid JSON/);
      assert.throws(() => compileConditions({ rules: "x" }), /must be a group/);
      assert.throws(
        () => compileConditions([{ field: "a", op: "equals", type: "colour", value: "x" }]),
        /unknown type "colour"/,
      );
      assert.throws(
        () => compileConditions([{ field: "a", op: "equals", value: "{{#x}}", valueType: "template" }]),
        /template .* is not valid/,
      );
    });
    it("lists every operator it supports", function () {
      assert.equal(OPERATORS.length, 25);
    });
  });
});
