// The condition engine: every operator and type, wildcards, groups, templates, bad values.
const assert = require("node:assert/strict");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const { lib, root } = require("../support/dist");
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

  describe("times without an offset", function () {
    const orders = [
      { id: 1, at: "2026-11-27T09:30:00" }, // no offset: UTC, or the condition's zone
      { id: 2, at: "2026-11-27 10:30" },
      { id: 3, at: "2026-11-27T10:30:00+01:00" }, // 09:30 UTC
      { id: 4, at: "2026-11-27" }, // midnight
      { id: 5, at: "2026-07-01T09:30:00" },
    ];
    // Run in a process of its own under a TZ: the engine must not read the server's zone.
    const script = `
      const { compileConditions } = require(${JSON.stringify(path.join(root, "dist", "lib", "conditions"))});
      const orders = ${JSON.stringify(orders)};
      const run = (rule) => orders.filter(compileConditions([rule]).bind(() => ({}), 0)).map((o) => o.id);
      console.log(JSON.stringify({
        tz: Intl.DateTimeFormat().resolvedOptions().timeZone,
        before10: run({ field: "at", op: "before", value: "2026-11-27T10:00:00" }),
        after10Z: run({ field: "at", op: "after", type: "date", value: "2026-11-27T10:00:00Z" }),
        equalsDay: run({ field: "at", op: "equals", type: "date", value: "2026-11-27" }),
        london: run({ field: "at", op: "before", value: "2026-11-27T10:00:00", zone: "Europe/London" }),
        newYork: run({ field: "at", op: "before", value: "2026-11-27T05:00:00", zone: "America/New_York" }),
      }));`;
    const under = (tz) =>
      JSON.parse(
        execFileSync(process.execPath, ["-e", script], { env: { ...process.env, TZ: tz } }).toString(),
      );

    it("gives the same result on a server in New York and one in London: UTC unless the condition names a zone", function () {
      const ny = under("America/New_York");
      const london = under("Europe/London");
      assert.equal(ny.tz, "America/New_York");
      assert.equal(london.tz, "Europe/London");
      const { tz: _a, ...a } = ny;
      const { tz: _b, ...b } = london;
      assert.deepEqual(a, b);
      assert.deepEqual(a.before10, [1, 3, 4, 5], "09:30 without an offset is 09:30 UTC");
      assert.deepEqual(a.after10Z, [2]);
      assert.deepEqual(a.equalsDay, [4], "a date alone is midnight UTC");
      // Europe/London in July is UTC+1: 09:30 there is 08:30 UTC, still before 10:00 London.
      assert.deepEqual(a.london, [1, 3, 4, 5]);
      // The zone reads the record's times too: 09:30 New York is 14:30 UTC, after 10:00 UTC.
      assert.deepEqual(a.newYork, [3, 4, 5], "05:00 New York is 10:00 UTC in November");
    });
    it("reads times without an offset in the zone the condition names, offsets as written", function () {
      const at = (value, zone) =>
        ids(matching({ field: "at", op: "equals", type: "date", value, zone }, orders));
      // The record's 10:30 is 10:30 UTC in London in November, 15:30 UTC in New York.
      assert.deepEqual(at("2026-11-27T10:30:00Z", "Europe/London"), [2]);
      assert.deepEqual(at("2026-11-27T15:30:00Z", "America/New_York"), [2]);
      assert.deepEqual(at("2026-11-27T05:00:00Z", "America/New_York"), [4], "a date alone: midnight there");
      assert.deepEqual(at("2026-11-27T09:30:00Z"), [1, 3]);
      assert.deepEqual(at("2026-07-01T08:30:00Z", "Europe/London"), [5], "summer time: UTC+1");
      assert.deepEqual(
        ids(
          matching(
            {
              field: "at",
              op: "after",
              type: "date",
              value: "2026-11-27T04:00:00",
              zone: "America/New_York",
            },
            orders,
          ),
        ),
        [1, 2, 3],
        "the value is read in the zone too",
      );
    });
    it("reads the ISO 8601 forms, with or without an offset, and nothing else that starts like a date", function () {
      const T = Date.parse("2026-11-27T09:30:00Z");
      const forms = {
        "2026-11-27T09:30:00Z": T,
        "2026-11-27T09:30:00": T,
        "2026-11-27 09:30": T,
        "2026-11-27t09:30:00.000z": T,
        "2026-11-27T09:30:00.5": T + 500,
        "2026-11-27T09:30:00,123456": T + 123,
        "2026-11-27T10:30:00+01:00": T,
        "2026-11-27T10:30:00+0100": T,
        "2026-11-27T04:30:00-05": T,
        "2026-11-27 09:30:00 UTC": T,
        "2026-11-27T24:00:00Z": Date.parse("2026-11-28T00:00:00Z"),
        "2024-02-29": Date.parse("2024-02-29T00:00:00Z"),
        "0099-01-01": Date.parse("0099-01-01T00:00:00Z"),
      };
      for (const [text, ms] of Object.entries(forms))
        assert.deepEqual(
          ids(
            matching({ field: "at", op: "equals", type: "date", value: String(ms) }, [
              { id: text, at: text },
            ]),
          ),
          [text],
        );
      for (const text of [
        "2026-11-27T9:30",
        "2026-13-01",
        "2025-02-29",
        "2026-11-27T09:60",
        "2026-11-27T10:00+1",
        "2026-11-27 tomorrow",
        "2026-11-27T24:30",
      ])
        assert.throws(
          () =>
            matching({ field: "at", op: "after", type: "date", value: "2000-01-01" }, [{ at: text }], {
              onBadValue: "error",
            }),
          /is not a date/,
          text,
        );
    });
    it("refuses a zone that is not one, naming the rule; a day that does not exist is not a date", function () {
      assert.throws(
        () => compileConditions([{ field: "at", op: "before", value: "2026-11-27", zone: "Europe/Londn" }]),
        /rule 1 \(at before\): "Europe\/Londn" is not a time zone \(use an IANA name/,
      );
      assert.throws(
        () => compileConditions([{ field: "at", op: "before", value: "2026-11-27", zone: "local" }]),
        /"local" is not a time zone/,
        "the server's zone is never a choice",
      );
      assert.throws(
        () => compileConditions([{ field: "at", op: "before", value: "2026-02-30" }]),
        /"2026-02-30" is not a date/,
      );
    });
  });

  describe("regular expressions: flags, delimiters, from another field", function () {
    const rows = [
      { id: 1, sku: "GIFT-123", pattern: "^gift-\\d{3}$" },
      { id: 2, sku: "line one\nGIFT-456", pattern: "^GIFT" },
      { id: 3, sku: "gift-\u00e9", pattern: "([a-" },
      { id: 4, sku: "x", pattern: 42 },
    ];
    const re = (value, extra = {}) => ids(matching({ field: "sku", op: "regex", value, ...extra }, rows));
    it("takes the i, m, s and u flags, and refuses others naming the rule", function () {
      assert.deepEqual(re("^gift-\\d{3}$"), []);
      assert.deepEqual(re("^gift-\\d{3}$", { flags: "i" }), [1]);
      assert.deepEqual(re("^GIFT-456$"), []);
      assert.deepEqual(re("^GIFT-456$", { flags: "m" }), [2]);
      assert.deepEqual(re("one.GIFT"), []);
      assert.deepEqual(re("one.GIFT", { flags: "s" }), [2]);
      assert.deepEqual(re("^gift-\\p{L}$", { flags: "u" }), [3]);
      assert.deepEqual(re("^gift-\\d{3}$", { caseInsensitive: true }), [1], "Aa sets i");
      assert.deepEqual(re("^gift-\\D", { caseInsensitive: true }), [3], "Aa does not lower-case the pattern");
      assert.throws(
        () => compileConditions([{ field: "sku", op: "regex", value: "gift", flags: "gi" }]),
        /rule 1 \(sku regex\): the regular expression flag "g" is not supported \(use i, m, s or u; g, every match, means nothing to a test\)/,
      );
    });
    it("refuses a pattern written between slashes, saying how to write it", function () {
      assert.throws(
        () => compileConditions([{ field: "sku", op: "regex", value: "/^gift-\\d{3}$/i" }]),
        /rule 1 \(sku regex\): the value: the regular expression "\/\^gift-\\d\{3\}\$\/i" is written between slashes as in code; write the pattern alone, \^gift-\\d\{3\}\$, and set the flags i on the condition/,
      );
      assert.throws(
        () => compileConditions([{ field: "sku", op: "regex", value: "/gift/" }]),
        /write the pattern alone, gift \(to match a text between slashes, escape them: \\\/gift\\\/\)/,
      );
      assert.deepEqual(re("\\/gift\\/"), [], "escaped slashes are a pattern of their own");
      assert.deepEqual(re("a/b"), [], "a slash inside a pattern is fine");
      const p = compileConditions([
        { field: "sku", op: "regex", valueType: "template", value: "{{meta.pattern}}" },
      ]);
      assert.throws(
        () => p.bind(() => ({ meta: { pattern: "/^gift/i" } }), NOW),
        /written between slashes as in code/,
        "from a template: the message fails",
      );
    });
    it("takes the pattern from another field of the record (a bad one is a value that cannot be compared)", function () {
      assert.deepEqual(re("pattern", { valueType: "field" }), []);
      assert.deepEqual(re("pattern", { valueType: "field", flags: "im" }), [1, 2]);
      assert.deepEqual(re("pattern", { valueType: "field", caseInsensitive: true }), [1]);
      assert.deepEqual(
        ids(
          matching(
            { field: "sku", op: "regex", valueType: "field", value: "pattern", flags: "i" },
            rows.slice(0, 2),
          ),
        ),
        [1],
      );
      const failing = compileConditions({
        logic: "and",
        onBadValue: "error",
        rules: [{ field: "sku", op: "regex", valueType: "field", value: "pattern" }],
      }).bind(view, NOW);
      assert.equal(failing(rows[0], 0), false);
      assert.throws(
        () => failing(rows[2], 2),
        /record 2: field "pattern" holds a pattern that cannot be used: "\(\[a-" is not a valid regular expression/,
      );
      assert.throws(
        () => failing(rows[3], 3),
        /record 3: field "pattern" holds no pattern \(text is needed\) \(value 42\)/,
      );
      assert.throws(
        () => failing({ sku: "x", pattern: "/x/" }, 4),
        /record 4: field "pattern" holds a pattern that cannot be used: the regular expression "\/x\/" is written between slashes/,
      );
    });
  });

  describe("empty lists through [*]", function () {
    const orders = [
      { id: 1, lines: [{ sku: "GIFT" }, { sku: "GIFT" }] },
      { id: 2, lines: [{ sku: "GIFT" }, { sku: "A" }] },
      { id: 3, lines: [{ sku: "A" }] },
      { id: 4, lines: [] },
    ];
    const run = (op, all) => ids(matching({ field: "lines[*].sku", op, value: "GIFT", all }, orders));
    it("any: an empty list never matches; a negative operator matches when no element does", function () {
      assert.deepEqual(run("equals", false), [1, 2]);
      assert.deepEqual(run("not_equals", false), [3, 4], "no line is a gift (none at all included)");
    });
    it("all: an empty list never matches; a negative operator matches unless every element does", function () {
      assert.deepEqual(run("equals", true), [1]);
      assert.deepEqual(run("not_equals", true), [2, 3, 4], "not every line is a gift (none at all included)");
    });
    it("tells the editor which operator each negative one negates", function () {
      const { NEGATIONS } = lib("conditions");
      assert.deepEqual(NEGATIONS, {
        not_equals: "equals",
        not_contains: "contains",
        not_in: "in",
        not_exists: "exists",
        not_empty: "empty",
      });
    });
  });

  describe("numbers beyond 2^53", function () {
    const orders = [
      { id: 1, order_id: "576460752303423488" }, // a TikTok-like 18-digit id
      { id: 2, order_id: "576460752303423489" }, // the same double as id 1
      { id: 3, order_id: 576460752303423500 }, // a JavaScript number: the value its text shows
      { id: 4, order_id: "5.76460752303423489e17" },
      { id: 5, order_id: "0576460752303423488.000" },
    ];
    const num = (op, value, extra = {}) =>
      ids(matching({ field: "order_id", op, type: "number", value, ...extra }, orders));
    it("compares integer text exactly, never rounding two ids to the same double", function () {
      assert.equal(
        Number("576460752303423488"),
        Number("576460752303423489"),
        "doubles cannot tell them apart",
      );
      assert.deepEqual(num("equals", "576460752303423488"), [1, 5]);
      assert.deepEqual(num("equals", "576460752303423489"), [2, 4]);
      assert.deepEqual(num("not_equals", "576460752303423489"), [1, 3, 5]);
      assert.deepEqual(num("gt", "576460752303423488"), [2, 3, 4]);
      assert.deepEqual(num("lte", "576460752303423488"), [1, 5]);
      assert.deepEqual(num("between", "576460752303423489", { value2: "576460752303423499" }), [2, 4]);
      assert.deepEqual(num("in", "576460752303423489, 576460752303423500"), [2, 3, 4]);
      assert.deepEqual(num("equals", "576460752303423500"), [3], "a number equals the text it shows");
      assert.deepEqual(
        ids(
          matching({ field: "order_id", op: "lt", type: "number", valueType: "field", value: "max" }, [
            { id: 1, order_id: "576460752303423488", max: "576460752303423489" },
            { id: 2, order_id: "576460752303423489", max: "576460752303423489" },
          ]),
        ),
        [1],
        "against another field",
      );
    });
    it("compares long decimals exactly, and still reads short numbers as before", function () {
      const rows = [
        { id: 1, v: "0.10000000000000000001" },
        { id: 2, v: "0.1" },
        { id: 3, v: 0.1 },
        { id: 4, v: "-12345678901234567.5" },
        { id: 5, v: " 12.50 " },
      ];
      const dec = (op, value) => ids(matching({ field: "v", op, type: "number", value }, rows));
      assert.deepEqual(dec("gt", "0.1"), [1, 5]);
      assert.deepEqual(dec("equals", "0.1000000000000000000"), [2, 3]);
      assert.deepEqual(dec("lt", "-12345678901234567.4"), [4]);
      assert.deepEqual(dec("gt", "-12345678901234567.50000001"), [1, 2, 3, 4, 5]);
      assert.deepEqual(dec("equals", "12.5"), [5]);
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
