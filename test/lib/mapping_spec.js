// The map engine: every example of the help text run as a test, wildcard pairing, static
// values, error policies, bad values for each kind of transform, auto-map, lookup tables, CSV.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { lib, root } = require("../support/dist");
const { compileMapping, MappingError } = lib("mapping/mapping");
const { TRANSFORMS } = lib("mapping/transforms");
const { buildLookupTable } = lib("mapping/lookup");
const { autoMap, samplePaths } = lib("mapping/automap");
const { parseCsv, toCsv } = lib("csv");

const NOW = Date.parse("2026-11-27T12:00:00Z");
const ctx = { now: NOW, view: () => ({ payload: {}, meta: { shop: "acme" }, flow: {}, env: {} }) };
const countries = buildLookupTable({
  name: "countries",
  columns: ["code", "name", "hubspot"],
  rows: [
    ["GB", "United Kingdom", "UK"],
    ["US", "United States", "US"],
  ],
});
const deps = { table: (id) => (id === "countries" ? countries : undefined) };
const map = (rules, payload, options) => compileMapping(rules, options, deps).map(payload, ctx);
const one = (transforms, value, extra = {}) =>
  map([{ source: "v", target: "out", transforms, ...extra }], { v: value }).out;

const unescape = (s) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#x27;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");

describe("map: the help's examples", function () {
  const help = fs.readFileSync(path.join(root, "locales", "en-US", "pw-map.html"), "utf8");
  const rows = [
    ...help.matchAll(
      /<tr data-spec='([^']*)'([^>]*)><td>([^<]*)<\/td><td><code>(.*?)<\/code><\/td><td><code>(.*?)<\/code><\/td>/g,
    ),
  ];

  it("has an example for every transform but now (whose output is the time of mapping)", function () {
    const shown = new Set(rows.map((r) => JSON.parse(unescape(r[1])).type));
    assert.deepEqual(
      TRANSFORMS.filter((t) => !shown.has(t)),
      ["now"],
    );
  });

  for (const [, spec, attrs, label, input, output] of rows) {
    it(`${unescape(label)}: ${unescape(input)} → ${unescape(output)}`, function () {
      const transform = JSON.parse(unescape(spec));
      const inValue = JSON.parse(unescape(input));
      const byRecord = /data-input="record"/.test(attrs);
      const valueAttr = /data-value="([^"]*)"/.exec(attrs);
      const value = valueAttr ? JSON.parse(unescape(valueAttr[1])) : undefined;
      const record = byRecord ? { ...inValue, __value: value } : { __value: inValue };
      const out = map([{ source: "__value", target: "out", transforms: [transform] }], record).out;
      assert.deepEqual(out, JSON.parse(unescape(output)));
    });
  }
});

describe("map: rules", function () {
  const order = {
    id: 1042,
    created_at: "2026-11-27T10:05:00Z",
    total_price: "120.50",
    tags: "vip, eu",
    customer: { first_name: "Ada", last_name: "Lovelace", email: "ADA@EXAMPLE.COM" },
    line_items: [
      { sku: "A", qty: "2", options: [{ v: "red" }, { v: "L" }] },
      { sku: "B", qty: 1, options: [{ v: "blue" }] },
    ],
  };

  it("maps each record of an array to a new record, reading nested paths and writing nested targets", function () {
    const out = map(
      [
        { source: "customer.email", target: "properties.email", transforms: [{ type: "lower" }] },
        { source: "total_price", target: "properties.amount", transforms: [{ type: "to_number" }] },
        {
          source: "created_at",
          target: "properties.closedate",
          transforms: [{ type: "date_format", format: "epoch_ms" }],
        },
        { source: "id", target: "ids[0]" },
        { source: "id", target: "deep.list[1].id" },
      ],
      [order, { ...order, id: 7 }],
    );
    assert.equal(out.length, 2);
    const { deep, ...rest } = out[0];
    assert.deepEqual(rest, {
      properties: { email: "ada@example.com", amount: 120.5, closedate: 1795773900000 },
      ids: [1042],
    });
    assert.ok(Array.isArray(deep.list), "an index in the target path makes a list");
    assert.deepEqual(deep.list[1], { id: 1042 });
    assert.deepEqual(out[1].ids, [7]);
  });

  it("pairs wildcards by position, nested ones in order, and collects into arrays where the target has fewer", function () {
    const out = map(
      [
        { source: "line_items[*].sku", target: "items[*].code" },
        { source: "line_items[*].qty", target: "items[*].quantity", transforms: [{ type: "to_number" }] },
        {
          source: "line_items[*].options[*].v",
          target: "items[*].options[*].value",
          transforms: [{ type: "upper" }],
        },
        {
          source: "line_items[*].options[*].v",
          target: "items[*].variant",
          transforms: [{ type: "join", separator: "/" }],
        },
        { source: "line_items[*].sku", target: "skus", transforms: [{ type: "join", separator: ";" }] },
        { source: "line_items[*].qty", target: "units", transforms: [{ type: "sum" }] },
      ],
      order,
    );
    assert.deepEqual(out, {
      items: [
        { code: "A", quantity: 2, options: [{ value: "RED" }, { value: "L" }], variant: "red/L" },
        { code: "B", quantity: 1, options: [{ value: "BLUE" }], variant: "blue" },
      ],
      skus: "A;B",
      units: 3,
    });
  });

  it("writes static values and templates, and leaves out fields whose source is missing", function () {
    const out = map(
      [
        { target: "source", valueType: "str", value: "shopify" },
        { target: "count", valueType: "num", value: "3" },
        { target: "flags", valueType: "json", value: "[1,2]" },
        { target: "note", valueType: "template", value: "{{record.customer.first_name}} via {{meta.shop}}" },
        { source: "customer.phone", target: "phone" },
        { source: "customer.phone", target: "phone2", transforms: [{ type: "default", value: "none" }] },
      ],
      order,
    );
    assert.deepEqual(out, {
      source: "shopify",
      count: 3,
      flags: [1, 2],
      note: "Ada via acme",
      phone2: "none",
    });
  });

  it("wraps a single record in a list when asked", function () {
    assert.deepEqual(map([{ source: "id", target: "id" }], order, { wrapInput: true }), [{ id: 1042 }]);
    assert.deepEqual(map([{ source: "id", target: "id" }], order, { wrapOutput: true }), [{ id: 1042 }]);
    assert.deepEqual(map([{ source: "id", target: "id" }], order), { id: 1042 });
  });

  describe("error policies", function () {
    const records = [{ amount: "12.5" }, { amount: "twelve" }];
    const rule = (extra) => ({
      name: "Amount",
      source: "amount",
      target: "amount",
      transforms: [{ type: "to_number" }],
      ...extra,
    });
    it("fails the message naming the rule, the record and the value by default", function () {
      assert.throws(
        () => map([rule()], records),
        (err) =>
          err instanceof MappingError &&
          err.message ===
            'rule "Amount": record 1: to_number: cannot read "twelve" as a number (value "twelve")',
      );
    });
    it("leaves the field out when told to skip", function () {
      assert.deepEqual(map([rule({ onError: "skip" })], records), [{ amount: 12.5 }, {}]);
    });
    it("writes a default when told to", function () {
      assert.deepEqual(map([rule({ onError: "default", default: "0", defaultType: "num" })], records), [
        { amount: 12.5 },
        { amount: 0 },
      ]);
    });
  });

  describe("bad values, per kind of transform", function () {
    const fails = (transforms, value, pattern) => assert.throws(() => one(transforms, value), pattern);
    it("dates", function () {
      fails([{ type: "date_parse" }], "yesterday", /date_parse: "yesterday" is not a date/);
      fails([{ type: "date_parse" }], "2026-02-30", /is not a real date|is not a date/);
      fails(
        [{ type: "date_parse", format: "custom", pattern: "dd/MM/yyyy" }],
        "2026-11-27",
        /does not match the pattern "dd\/MM\/yyyy"/,
      );
      fails([{ type: "date_parse", format: "epoch_s" }], "soon", /is not a number of seconds/);
      fails([{ type: "date_format", format: "epoch_ms" }], { at: 1 }, /is not a date/);
    });
    it("numbers", function () {
      fails([{ type: "to_number" }], "n/a", /cannot read "n\/a" as a number/);
      fails([{ type: "round", places: "2" }], "abc", /round: cannot read "abc" as a number/);
      assert.throws(
        () =>
          map(
            [
              {
                source: "v",
                target: "out",
                transforms: [{ type: "math", op: "divide", operandType: "field", operand: "zero" }],
              },
            ],
            { v: 5, zero: 0 },
          ),
        /would divide by 0/,
      );
      fails([{ type: "to_minor" }], "1.2.3", /to_minor: cannot read "1.2.3" as a number/);
    });
    it("text, booleans, JSON, lookups, expressions", function () {
      fails([{ type: "upper" }], { a: 1 }, /upper: cannot use \{"a":1\} as text/);
      fails([{ type: "boolean" }], "maybe", /"maybe" is neither true/);
      fails([{ type: "json_parse" }], "{oops", /is not JSON/);
      fails(
        [{ type: "lookup", table: "countries", miss: "error" }],
        "FR",
        /"FR" is not in the lookup table "countries"/,
      );
      fails([{ type: "expression", code: "value.nope.deeper" }], 1, /the expression failed/);
      fails(
        [{ type: "expression", code: "(() => { while (true) {} })()" }],
        1,
        /expression: did not finish within its limit of 100 ms/,
      );
    });
    it("every text transform refuses what is not text, every number transform what is not a number, every date transform what is not a date", function () {
      const params = {
        prefix: { text: "#" },
        suffix: { text: "!" },
        replace: { find: "a", replacement: "b" },
        substring: { start: "0", length: "1" },
        pad_left: { length: "3" },
        pad_right: { length: "3" },
        truncate: { length: "2" },
        split: { separator: "," },
      };
      for (const type of [
        "upper",
        "lower",
        "capitalise",
        "trim",
        "prefix",
        "suffix",
        "split",
        "replace",
        "substring",
        "pad_left",
        "pad_right",
        "truncate",
        "slug",
        "url_encode",
      ]) {
        fails([{ type, ...params[type] }], { a: 1 }, new RegExp(`${type}: cannot use \\{"a":1\\} as text`));
      }
      const numParams = { math: { op: "add", operand: "1" }, min: { value: "1" }, max: { value: "1" } };
      for (const type of [
        "to_number",
        "round",
        "math",
        "abs",
        "min",
        "max",
        "fixed",
        "to_minor",
        "to_major",
      ]) {
        fails([{ type, ...numParams[type] }], "abc", new RegExp(`${type}: cannot read "abc" as a number`));
      }
      fails([{ type: "sum" }], [1, "x"], /sum: cannot read "x" as a number/);
      const dateParams = {
        date_zone: { zone: "UTC" },
        date_add: { amount: "1", unit: "days" },
        date_start: { unit: "day" },
        date_end: { unit: "day" },
      };
      for (const type of ["date_parse", "date_format", "date_zone", "date_add", "date_start", "date_end"]) {
        fails(
          [{ type, ...dateParams[type] }],
          "31/31/2026",
          new RegExp(`${type}: "31/31/2026" is not a date`),
        );
      }
    });

    it("takes any value where there is nothing to refuse", function () {
      const anything = { nested: [1, { a: null }] };
      for (const type of [
        "to_string",
        "json_stringify",
        "count",
        "first",
        "last",
        "null_if_empty",
        "default",
      ])
        assert.doesNotThrow(() => one([{ type, value: "x" }], anything), type);
    });

    it("passes missing values through instead of failing", function () {
      assert.deepEqual(
        map(
          [
            {
              source: "x",
              target: "y",
              transforms: [{ type: "to_number" }, { type: "upper" }, { type: "date_parse" }],
            },
          ],
          {},
        ),
        {},
      );
    });
  });

  describe("lookups", function () {
    it("reads a named column, ignores case by default, and follows the miss policy", function () {
      assert.equal(one([{ type: "lookup", table: "countries", column: "hubspot" }], "gb"), "UK");
      assert.equal(
        one([{ type: "lookup", table: "countries", miss: "default", default: "Other" }], "FR"),
        "Other",
      );
      assert.equal(one([{ type: "lookup", table: "countries" }], "FR"), "", "the table's own default");
      const sensitive = buildLookupTable({
        name: "s",
        columns: ["k", "v"],
        rows: [["GB", "x"]],
        caseSensitive: true,
        miss: "passthrough",
      });
      assert.equal(sensitive.get("gb"), undefined);
      assert.equal(sensitive.get("GB"), "x");
    });
    it("refuses bad tables and unknown columns at deploy", function () {
      assert.throws(
        () => buildLookupTable({ name: "t", columns: ["only"], rows: [] }),
        /needs a key column and at least one value column/,
      );
      assert.throws(
        () =>
          buildLookupTable({
            name: "t",
            columns: ["k", "v"],
            rows: [
              ["a", 1],
              ["A", 2],
            ],
          }),
        /the key "A" appears twice/,
      );
      assert.throws(
        () =>
          compileMapping(
            [
              {
                source: "a",
                target: "b",
                transforms: [{ type: "lookup", table: "countries", column: "iso3" }],
              },
            ],
            {},
            deps,
          ),
        /has no column "iso3"/,
      );
      assert.throws(
        () =>
          compileMapping(
            [{ source: "a", target: "b", transforms: [{ type: "lookup", table: "gone" }] }],
            {},
            deps,
          ),
        /the lookup table "gone" does not exist/,
      );
    });
  });

  describe("bad configuration", function () {
    const refuses = (rules, pattern) => assert.throws(() => compileMapping(rules, {}, deps), pattern);
    it("names the rule and the transform", function () {
      refuses([{ source: "a" }], /rule 1: needs a target field/);
      refuses(
        [{ name: "Price", source: "a", target: "b", transforms: [{ type: "shout" }] }],
        /rule 1 "Price": transform 1: unknown transform "shout"/,
      );
      refuses(
        [{ source: "a", target: "b", transforms: [{ type: "round", places: "two" }] }],
        /transform 1 \(round\): "places" must be a number/,
      );
      refuses(
        [
          {
            source: "a",
            target: "b",
            transforms: [{ type: "date_format", format: "custom", dialect: "php", pattern: "Y-m-d q" }],
          },
        ],
        /PHP date letter "q" is not supported/,
      );
      refuses(
        [{ source: "a", target: "b", transforms: [{ type: "date_zone", zone: "Mars/Olympus" }] }],
        /"Mars\/Olympus" is not a time zone/,
      );
      refuses(
        [{ source: "a", target: "b", transforms: [{ type: "replace", find: "(", regex: true }] }],
        /is not a valid regular expression/,
      );
      refuses([{ source: "a", target: "b[*].c" }], /the target has 1 \[\*\] but the source only 0/);
      refuses([{ target: "n", valueType: "num", value: "ten" }], /"ten" is not a number/);
      refuses(
        [{ source: "a", target: "b", transforms: [{ type: "expression", code: "value +" }] }],
        /the expression does not parse/,
      );
      refuses([{ source: "a", target: "b", onError: "shrug" }], /unknown error policy "shrug"/);
    });
  });
});

describe("map: field pickers and auto-map", function () {
  const shopify = {
    id: 1,
    email: "a@x.com",
    first_name: "Ada",
    last_name: "L",
    phone: "1",
    billing_address: { zip: "LS1", city: "Leeds" },
    line_items: [{ sku: "A", quantity: 1 }],
  };
  const hubspot = {
    email: "",
    firstname: "",
    lastname: "",
    mobilephone: "",
    postcode: "",
    city: "",
    company: "",
  };

  it("lists the paths of a sample, arrays as [*]", function () {
    assert.deepEqual(samplePaths(shopify), [
      "id",
      "email",
      "first_name",
      "last_name",
      "phone",
      "billing_address",
      "billing_address.zip",
      "billing_address.city",
      "line_items",
      "line_items[*]",
      "line_items[*].sku",
      "line_items[*].quantity",
    ]);
    assert.deepEqual(samplePaths([{ "a.b": 1 }]), ["['a.b']"]);
  });

  it("proposes rules for equivalent names, keeping existing rules unless told to replace them", function () {
    const existing = [{ source: "email", target: "email", transforms: [{ type: "lower" }] }];
    const rules = autoMap(shopify, hubspot, existing);
    assert.deepEqual(
      rules.map((r) => [r.source, r.target]),
      [
        ["email", "email"],
        ["first_name", "firstname"],
        ["last_name", "lastname"],
        ["phone", "mobilephone"],
        ["billing_address.zip", "postcode"],
        ["billing_address.city", "city"],
      ],
    );
    assert.deepEqual(rules[0].transforms, [{ type: "lower" }], "the existing rule is untouched");
    assert.equal(
      autoMap(shopify, hubspot, existing, true).filter((r) => r.target === "email")[0].transforms.length,
      0,
    );
  });

  it("maps same-named top-level fields when there is no target sample", function () {
    assert.deepEqual(
      autoMap({ id: 1, email: "x", nested: { a: 1 } }, undefined).map((r) => r.target),
      ["id", "email"],
    );
  });
});

describe("CSV", function () {
  it("reads quoted fields, doubled quotes, line breaks in quotes, CRLF and a byte order mark", function () {
    assert.deepEqual(parseCsv('\ufeffcode,name\r\nGB,"United Kingdom"\r\n"X,Y","say ""hi""\nthere"\n\n'), [
      ["code", "name"],
      ["GB", "United Kingdom"],
      ["X,Y", 'say "hi"\nthere'],
    ]);
    assert.deepEqual(parseCsv("a;b\n1;2", ";"), [
      ["a", "b"],
      ["1", "2"],
    ]);
    assert.throws(() => parseCsv('a,"b\n'), /ends inside a quoted field/);
  });
  it("writes what it reads", function () {
    const rows = [
      ["k", "v"],
      ["a,b", 'q"uote'],
      ["line\nbreak", " spaced "],
    ];
    assert.deepEqual(parseCsv(toCsv(rows)), rows);
  });
});
