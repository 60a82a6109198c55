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

  it("writes static values and templates, and leaves out fields whose source is missing when the rule says so", function () {
    const out = map(
      [
        { target: "source", valueType: "str", value: "shopify" },
        { target: "count", valueType: "num", value: "3" },
        { target: "flags", valueType: "json", value: "[1,2]" },
        { target: "note", valueType: "template", value: "{{record.customer.first_name}} via {{meta.shop}}" },
        { source: "customer.phone", target: "phone", onError: "skip" },
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

    it("passes missing values through the transforms, to the rule's policy", function () {
      assert.deepEqual(
        map(
          [
            {
              source: "x",
              target: "y",
              onError: "skip",
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
            transforms: [{ type: "date_parse", format: "custom", dialect: "php", pattern: "Y-m-d N" }],
          },
        ],
        /PHP date letter "N" is not supported for reading dates/,
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

  describe("by the shared field taxonomy", function () {
    const { loadPrebuilt, validateDefinition } = lib("connectors/definition");
    const prebuilt = Object.fromEntries(loadPrebuilt().map((d) => [d.id, d]));
    const endpoint = (c, id) => prebuilt[c].endpoints.find((e) => e.id === id);
    const taxonomy = require(path.join(root, "nodes", "connectors", "taxonomy.json")).tags;
    const pairs = (rules) => rules.map((r) => [r.source, r.target]);
    // TikTok Shop (Partner API 202309 order detail) and Klaviyo (a profile's attributes) are
    // written by hand here, tagged as their connectors' samples are to be.
    const tiktokOrder = {
      id: "576461413038785752",
      buyer_email: "v9m2hf@scs.tiktokw.us",
      create_time: 1619611561,
      status: "AWAITING_SHIPMENT",
      payment: { currency: "GBP", total_amount: "21.00", sub_total: "20.00" },
      recipient_address: {
        name: "Jane Doe",
        phone_number: "(+44)7700900000",
        address_line1: "1 High Street",
        address_line2: "Flat 2",
        postal_code: "LS1 1AA",
        region_code: "GB",
      },
      line_items: [{ seller_sku: "MUG-1", product_name: "Mug", sale_price: "10.00" }],
    };
    const tiktokTags = {
      id: "order.id",
      buyer_email: "customer.email",
      create_time: "order.created_at",
      status: "order.status",
      "payment.currency": "order.currency",
      "payment.total_amount": "order.total",
      "payment.sub_total": "order.subtotal",
      "recipient_address.name": "shipping_address.name",
      "recipient_address.phone_number": "shipping_address.phone",
      "recipient_address.address_line1": "shipping_address.line1",
      "recipient_address.address_line2": "shipping_address.line2",
      "recipient_address.postal_code": "shipping_address.postcode",
      "recipient_address.region_code": "shipping_address.country_code",
      "line_items[*].seller_sku": "line_item.sku",
      "line_items[*].product_name": "line_item.name",
      "line_items[*].sale_price": "line_item.unit_price",
    };
    const klaviyoProfile = {
      email: "",
      phone_number: "",
      first_name: "",
      last_name: "",
      organization: "",
      location: { address1: "", city: "", zip: "", country: "" },
    };
    const klaviyoTags = {
      email: "customer.email",
      phone_number: "customer.phone",
      first_name: "customer.first_name",
      last_name: "customer.last_name",
      organization: "customer.company",
      "location.address1": "address.line1",
      "location.city": "address.city",
      "location.zip": "address.postcode",
      "location.country": "address.country_code",
    };

    it("tags every prebuilt endpoint's sample with standard tags only, on fields the sample has", function () {
      for (const def of Object.values(prebuilt))
        for (const e of def.endpoints) {
          assert.ok(e.tags, `${def.id}/${e.id} has tags`);
          if (e.sample !== undefined) {
            const paths = samplePaths(e.sample);
            for (const [field, tag] of Object.entries(e.tags)) {
              assert.ok(tag in taxonomy, `${def.id}/${e.id}: ${tag}`);
              assert.ok(paths.includes(field), `${def.id}/${e.id}: ${field}`);
            }
          }
        }
      assert.ok(Object.keys(endpoint("shopify", "list-customers").tags).length >= 5);
    });

    it("refuses a tag that is not standard, or a field the sample does not have", function () {
      const def = (tags) => ({
        id: "x",
        name: "X",
        version: "1.0.0",
        baseUrl: "https://x.example",
        auth: [{ type: "none" }],
        endpoints: [
          { id: "a", name: "A", direction: "receive", method: "GET", path: "/a", sample: { mail: "" }, tags },
        ],
      });
      assert.throws(
        () => validateDefinition(def({ mail: "customer.e_mail", nope: "customer.email" })),
        (err) =>
          err.problems.some((m) => /tags\["mail"\]: "customer.e_mail" is not a standard tag/.test(m)) &&
          err.problems.some((m) => /tags\["nope"\]: the endpoint's sample has no field "nope"/.test(m)),
      );
      assert.doesNotThrow(() => validateDefinition(def({ mail: "customer.email" })));
    });

    it("maps a Shopify customer to a HubSpot contact by tag", function () {
      const from = endpoint("shopify", "list-customers");
      const to = endpoint("hubspot", "upsert-contacts");
      const rules = autoMap(from.sample, to.sample, [], false, { source: from.tags, target: to.tags });
      const contact = [
        ["email", "properties.email"],
        ["first_name", "properties.firstname"],
        ["last_name", "properties.lastname"],
        ["phone", "properties.phone"],
        ["default_address.city", "properties.city"],
        ["default_address.zip", "properties.zip"],
        ["default_address.country_code", "properties.country"],
      ];
      // Upsert by email: the email is also the record's id.
      assert.deepEqual(pairs(rules), [["email", "id"], ...contact]);
      const create = endpoint("hubspot", "create-contacts");
      assert.deepEqual(
        pairs(autoMap(from.sample, create.sample, [], false, { source: from.tags, target: create.tags })),
        contact,
      );
    });

    it("maps a TikTok Shop order to a Shopify order by meaning, keeping the rules the user wrote", function () {
      const to = endpoint("shopify", "create-order");
      const mine = [{ source: "'sales@acme.test'", target: "email", transforms: [] }];
      const rules = autoMap(tiktokOrder, to.sample, mine, false, { source: tiktokTags, target: to.tags });
      assert.deepEqual(pairs(rules), [
        ["'sales@acme.test'", "email"],
        ["payment.currency", "currency"],
        ["buyer_email", "customer.email"],
        ["line_items[*].seller_sku", "line_items[*].sku"],
        ["line_items[*].product_name", "line_items[*].title"],
        ["line_items[*].sale_price", "line_items[*].price"],
        ["recipient_address.name", "shipping_address.name"],
        ["recipient_address.address_line1", "shipping_address.address1"],
        ["recipient_address.address_line2", "shipping_address.address2"],
        ["recipient_address.postal_code", "shipping_address.zip"],
        ["recipient_address.region_code", "shipping_address.country_code"],
        ["recipient_address.phone_number", "shipping_address.phone"],
      ]);
      assert.equal(rules[0], mine[0], "the user's rule is kept as it was");
      // By name alone the shipping address would also fill the billing address and the
      // customer's phone; tags say they mean something else.
      const byName = pairs(autoMap(tiktokOrder, to.sample));
      assert.ok(byName.some(([, t]) => t === "billing_address.zip"));
      assert.ok(!pairs(rules).some(([, t]) => t.startsWith("billing_address") || t === "phone"));
    });

    it("maps a TikTok Shop order from the search to a Shopify GraphQL order by tag (the blueprint's fields)", function () {
      const from = endpoint("tiktok-shop", "search-orders");
      const to = endpoint("shopify", "graphql-create-order");
      const rules = autoMap(from.sample, to.sample, [], false, { source: from.tags, target: to.tags });
      assert.deepEqual(pairs(rules), [
        ["id", "sourceIdentifier"],
        ["buyer_email", "email"],
        ["payment.currency", "currency"],
        ["create_time", "processedAt"],
        ["buyer_email", "customer.toUpsert.email"],
        ["recipient_address.first_name", "customer.toUpsert.firstName"],
        ["recipient_address.last_name", "customer.toUpsert.lastName"],
        ["line_items[*].quantity", "lineItems[*].quantity"],
        ["line_items[*].sale_price", "lineItems[*].priceSet.shopMoney.amount"],
        ["recipient_address.first_name", "shippingAddress.firstName"],
        ["recipient_address.last_name", "shippingAddress.lastName"],
        ["recipient_address.address_line1", "shippingAddress.address1"],
        ["recipient_address.address_line2", "shippingAddress.address2"],
        ["recipient_address.postal_code", "shippingAddress.zip"],
        ["recipient_address.region_code", "shippingAddress.countryCode"],
        ["recipient_address.phone_number", "shippingAddress.phone"],
      ]);
      // What tags cannot pair is left to the user (the blueprint's rules): the variant by SKU
      // (a lookup table), the billing address TikTok does not give, totals into lists.
      assert.ok(!pairs(rules).some(([, t]) => /^(billingAddress|lineItems\[\*\]\.variantId)/.test(t)));
    });

    it("maps a Shopify customer to a Klaviyo profile by tag", function () {
      const from = endpoint("shopify", "graphql-list-customers");
      const rules = autoMap(from.sample, klaviyoProfile, [], false, {
        source: from.tags,
        target: klaviyoTags,
      });
      assert.deepEqual(pairs(rules), [
        ["email", "email"],
        ["phone", "phone_number"],
        ["firstName", "first_name"],
        ["lastName", "last_name"],
        ["defaultAddress.city", "location.city"],
        ["defaultAddress.zip", "location.zip"],
        ["defaultAddress.countryCodeV2", "location.country"],
      ]);
    });
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

describe("map: PHP dates, as PHP's manual documents DateTime::createFromFormat and date()", function () {
  const parse = (pattern, value, zone) =>
    one(
      [{ type: "date_parse", format: "custom", dialect: "php", pattern, ...(zone ? { zone } : {}) }],
      value,
    );
  const format = (pattern, value, zone) =>
    one(
      [{ type: "date_format", format: "custom", dialect: "php", pattern, ...(zone ? { zone } : {}) }],
      value,
    );

  it("reads d, j, m, n, g, h, G and H with or without leading zeros, i and s with two digits", function () {
    assert.equal(parse("d/m/Y H:i", "5/3/2026 9:05"), "2026-03-05T09:05:00.000Z");
    assert.equal(parse("d/m/Y H:i", "05/03/2026 09:05"), "2026-03-05T09:05:00.000Z");
    assert.equal(parse("n/j/Y G:i:s", "3/5/2026 9:05:07"), "2026-03-05T09:05:07.000Z");
    assert.equal(parse("j.n.y g:ia", "27.11.26 9:05pm"), "2026-11-27T21:05:00.000Z");
    assert.equal(parse("d/m/Y h:i A", "27/11/2026 12:30 AM"), "2026-11-27T00:30:00.000Z");
    assert.throws(() => parse("d/m/Y H:i", "5/3/2026 9:5"), /does not match the pattern "d\/m\/Y H:i"/);
  });

  it("reads S (st, nd, rd, th) and ignores it, and month and day names in full or short", function () {
    assert.equal(parse("jS F Y", "1st March 2026"), "2026-03-01T00:00:00.000Z");
    assert.equal(parse("jS M Y", "22nd Sep 2026"), "2026-09-22T00:00:00.000Z");
    assert.equal(parse("l jS \\of F Y", "Monday 8th of August 2005"), "2005-08-08T00:00:00.000Z");
    assert.equal(
      parse("D, d M Y H:i:s O", "Wed, 01 Jul 2026 09:00:00 +0100"),
      "2026-07-01T08:00:00.000Z",
      "an offset in the text counts; the result is in the transform's zone",
    );
    assert.throws(() => parse("jS F Y", "1st Marchy 2026"), /where a month name should be/);
  });

  it("reads y as 1970-2069, U as epoch seconds, and zones as offsets, IANA names or unambiguous abbreviations", function () {
    assert.equal(parse("y-m-d", "99-01-02"), "1999-01-02T00:00:00.000Z");
    assert.equal(parse("y-m-d", "03-01-02"), "2003-01-02T00:00:00.000Z");
    assert.equal(parse("U", "1292177455"), "2010-12-12T18:10:55.000Z");
    assert.equal(parse("Y-m-d H:i T", "2026-01-05 09:00 EST"), "2026-01-05T14:00:00.000Z");
    assert.equal(parse("Y-m-d H:i e", "2026-07-01 09:00 Europe/London"), "2026-07-01T08:00:00.000Z");
    assert.equal(
      parse("Y-m-d H:i", "2026-07-01 09:00", "Europe/London"),
      "2026-07-01T09:00:00.000+01:00",
      "a time without a zone is read in the transform's zone",
    );
    assert.throws(() => parse("Y-m-d H:i T", "2026-01-05 09:00 IST"), /means different offsets/);
  });

  it("refuses a date that does not exist rather than rolling it over, and a letter it cannot read at deploy", function () {
    assert.throws(() => parse("d/m/Y", "31/02/2026"), /February 2026 has no day 31/);
    assert.throws(() => parse("d/m/Y H:i", "01/02/2026 24:00"), /is not a real time/);
    assert.throws(
      () =>
        compileMapping([
          {
            source: "a",
            target: "b",
            transforms: [{ type: "date_parse", format: "custom", dialect: "php", pattern: "Y-m-d N" }],
          },
        ]),
      /PHP date letter "N" is not supported for reading dates \(supported: d j D l S/,
    );
  });

  it("writes the manual's examples: l jS \\of F Y h:i:s A, c and r, and DATE_ATOM", function () {
    assert.equal(
      format("l jS \\of F Y h:i:s A", "2005-08-08T15:12:46Z"),
      "Monday 8th of August 2005 03:12:46 PM",
    );
    assert.equal(format("c", "2004-02-12T15:19:21Z"), "2004-02-12T15:19:21+00:00");
    assert.equal(format("c", "2004-02-12T15:19:21Z", "Europe/Berlin"), "2004-02-12T16:19:21+01:00");
    assert.equal(format("r", "2000-12-21T14:01:07Z", "Europe/Athens"), "Thu, 21 Dec 2000 16:01:07 +0200");
    assert.equal(format("Y-m-d\\TH:i:sP", "2000-07-01T00:00:00Z"), "2000-07-01T00:00:00+00:00");
    assert.equal(format("B", "2026-07-01T12:00:00Z"), "541", "Swatch beats: 13:00 in Biel");
  });

  it("writes T as the IANA zone database's abbreviation, as PHP does (BST, EST, not GMT+1)", function () {
    const { DateTime } = require("luxon");
    const cases = [
      ["Europe/London", "2026-07-01T12:00:00Z", "BST"],
      ["Europe/London", "2026-01-15T12:00:00Z", "GMT"],
      ["America/New_York", "2026-01-15T12:00:00Z", "EST"],
      ["America/New_York", "2026-07-01T12:00:00Z", "EDT"],
      ["Europe/Paris", "2026-07-01T12:00:00Z", "CEST"],
      ["Asia/Tokyo", "2026-07-01T12:00:00Z", "JST"],
      ["Asia/Kolkata", "2026-07-01T12:00:00Z", "IST"],
      ["Australia/Sydney", "2026-01-15T12:00:00Z", "AEDT"],
      ["Asia/Dubai", "2026-07-01T12:00:00Z", "+04"],
      ["UTC", "2026-07-01T12:00:00Z", "UTC"],
      ["US/Eastern", "2026-01-15T12:00:00Z", "EST"],
    ];
    for (const [zone, at, abbreviation] of cases) {
      assert.equal(format("T", at, zone), abbreviation, zone);
      // The offset behind it is the zone database's, through luxon.
      assert.equal(format("P", at, zone), DateTime.fromISO(at, { zone }).toFormat("ZZ"), `${zone} offset`);
    }
  });
});

describe("map: rounding is half away from zero, as PHP's round() and number_format()", function () {
  const round = (v, places, mode) =>
    one([{ type: "round", places: String(places), ...(mode ? { mode } : {}) }], v);
  it("gives the manual's round() values, negative numbers included", function () {
    const manual = [
      [3.4, 0, 3],
      [3.5, 0, 4],
      [3.6, 0, 4],
      [1.95583, 2, 1.96],
      [1241757, -3, 1242000],
      [5.045, 2, 5.05],
      [5.055, 2, 5.06],
      [345, -2, 300],
      [678, -2, 700],
      [-3.4, 0, -3],
      [-3.5, 0, -4],
      [-3.6, 0, -4],
      [9.5, 0, 10],
      [-9.5, 0, -10],
    ];
    for (const [v, places, expected] of manual)
      assert.equal(round(v, places), expected, `round(${v}, ${places})`);
  });
  it("rounds a refund as the sale it reverses: -0.125, -2.5, -0.5, fixed -0.615, minor units of -12.345", function () {
    assert.equal(round(-0.125, 2), -0.13);
    assert.equal(round(0.125, 2), 0.13);
    assert.equal(round(-2.5, 0), -3);
    assert.equal(round(-0.5, 0), -1);
    assert.equal(round(-1.005, 2), -1.01);
    assert.equal(one([{ type: "fixed", places: "2" }], -0.615), "-0.62");
    assert.equal(one([{ type: "fixed", places: "2" }], 0.615), "0.62");
    assert.equal(
      one([{ type: "fixed", places: "2" }], 1234.5678),
      "1234.57",
      "number_format(1234.5678, 2, '.', '')",
    );
    assert.equal(one([{ type: "to_minor", digits: "2" }], "-12.345"), -1235);
    assert.equal(one([{ type: "to_minor", digits: "2" }], "12.345"), 1235);
    assert.equal(one([{ type: "to_major", digits: "2" }], -1235), -12.35);
  });
  it("never writes negative zero (number_format gives 0.00 for -0.001 since PHP 7.2)", function () {
    assert.equal(one([{ type: "fixed", places: "2" }], -0.001), "0.00");
    for (const out of [
      round(-0.4, 0),
      round(-0.001, 2),
      round(-0.4, 0, "ceil"),
      one([{ type: "to_number" }], "-0"),
      one([{ type: "to_minor" }], "-0.001"),
      one([{ type: "math", op: "multiply", operand: "-1" }], 0),
      one([{ type: "abs" }], -0),
      map([{ target: "n", valueType: "num", value: "-0" }], {}).n,
    ])
      assert.ok(Object.is(out, 0), `${out} is +0`);
  });
  it("refuses places that are not whole numbers at deploy", function () {
    assert.throws(
      () => compileMapping([{ source: "a", target: "b", transforms: [{ type: "round", places: "1.5" }] }]),
      /"places" must be a whole number/,
    );
  });
});

describe("map: arithmetic on decimals has no binary floating-point artefacts", function () {
  const math = (op, a, b) => one([{ type: "math", op, operand: String(b) }], a);
  it("adds, subtracts and multiplies to the operands' precision, and divides to 15 significant digits", function () {
    assert.equal(0.1 + 0.2, 0.30000000000000004, "what JavaScript gives");
    assert.equal(math("add", 0.1, 0.2), 0.3);
    assert.equal(math("add", "1.10", "2.205"), 3.305);
    assert.equal(math("subtract", 0.3, 0.1), 0.2);
    assert.equal(math("subtract", 1, 0.9), 0.1);
    assert.equal(math("multiply", 1.1, 1.1), 1.21);
    assert.equal(math("multiply", 19.99, 3), 59.97);
    assert.equal(math("multiply", 4.35, 100), 435);
    assert.equal(math("divide", 0.3, 0.1), 3);
    assert.equal(math("divide", 1, 3), 0.333333333333333);
    assert.equal(one([{ type: "sum" }], [0.1, 0.2, "0.3"]), 0.6);
  });
});

describe("map: to number reads what locale formatting writes", function () {
  const toNumber = (v, decimal) => one([{ type: "to_number", ...(decimal ? { decimal } : {}) }], v);
  it("reads Intl.NumberFormat's currency text, separators and signs of several locales", function () {
    const cases = [
      ["de-DE", "EUR", 1234.5, ","],
      ["fr-FR", "EUR", -1234.5, ","],
      ["en-GB", "GBP", -12.5, "."],
      ["en-US", "USD", 1234567.25, "."],
      ["de-CH", "CHF", 1234.5, "."],
      ["en-IN", "INR", 123456.5, "."],
      ["sv-SE", "SEK", -12.5, ","],
      ["nl-NL", "EUR", -1234.5, ","],
    ];
    for (const [locale, currency, value, decimal] of cases) {
      const text = new Intl.NumberFormat(locale, { style: "currency", currency }).format(value);
      assert.equal(toNumber(text, decimal), value, `${locale}: ${JSON.stringify(text)}`);
    }
    const accounting = new Intl.NumberFormat("en-US", {
      style: "currency",
      currency: "USD",
      currencySign: "accounting",
    }).format(-12.5);
    assert.equal(accounting, "($12.50)");
    assert.equal(toNumber(accounting), -12.5);
  });
  it('reads "1.234,50 €" with the decimal comma, "-£12.50", "(12.50)" and "12.50-"', function () {
    assert.equal(toNumber("1.234,50 €", ","), 1234.5);
    assert.equal(toNumber("-£12.50"), -12.5);
    assert.equal(toNumber("£-12.50"), -12.5);
    assert.equal(toNumber("(12.50)"), -12.5);
    assert.equal(toNumber("12.50-"), -12.5);
    assert.equal(toNumber("12.50 GBP"), 12.5);
  });
  it("refuses text it would misread: a decimal comma read with the point, words, two signs", function () {
    assert.throws(
      () => toNumber("1,5"),
      /cannot read "1,5" as a number \(thousands separators must group three digits/,
    );
    assert.throws(() => toNumber("1.234,50"), /choose the decimal comma/);
    assert.throws(() => toNumber("12 apples"), /cannot read "12 apples" as a number/);
    assert.throws(() => toNumber("-(12.50)"), /cannot read/);
  });
  it("refuses an id with more digits than a number holds (2^53 and above) instead of changing them", function () {
    const tiktok = "576462904739184639"; // an 18-digit order id
    assert.throws(
      () => toNumber(tiktok),
      /rule "v → out": record 0: to_number: "576462904739184639" has more digits than a number can hold exactly \(it would become 576462904739184640\)/,
    );
    assert.throws(() => toNumber("9007199254740993"), /more digits than a number can hold/);
    assert.equal(toNumber("9007199254740992"), 2 ** 53, "2^53 itself is kept exactly");
    assert.throws(
      () => one([{ type: "math", op: "add", operand: "1" }], tiktok),
      /more digits than a number/,
    );
    assert.equal(one([], tiktok), tiktok, "an id stays text unless a rule converts it");
    assert.equal(one([{ type: "prefix", text: "#" }], tiktok), `#${tiktok}`);
  });
});

describe("map: text transforms count characters as Intl.Segmenter does (Unicode grapheme clusters)", function () {
  const segmenter = new Intl.Segmenter("en", { granularity: "grapheme" });
  const count = (t) => [...segmenter.segment(t)].length;
  const thumbs = "👍🏽"; // two code points, four UTF-16 units, one character
  const flag = "🇬🇧";
  const eAcute = "e\u0301"; // e + combining acute accent
  const family = "👨‍👩‍👧";
  it("substring, truncate, pad left and pad right never cut a character in two", function () {
    const cases = [
      [{ type: "substring", start: "0", length: "1" }, `${thumbs}ab`, thumbs],
      [{ type: "substring", start: "-1" }, `ab${eAcute}`, eAcute],
      [{ type: "substring", start: "1", length: "2" }, `${family}${flag}${thumbs}x`, `${flag}${thumbs}`],
      [{ type: "truncate", length: "3", ellipsis: "…" }, `${flag}${flag}${flag}${flag}`, `${flag}${flag}…`],
      [{ type: "truncate", length: "4" }, `caf${eAcute}`, `caf${eAcute}`],
      [{ type: "pad_left", length: "4", char: "0" }, `${eAcute}1`, `00${eAcute}1`],
      [{ type: "pad_right", length: "3", char: thumbs }, "a", `a${thumbs}${thumbs}`],
    ];
    for (const [spec, input, expected] of cases) {
      const out = one([spec], input);
      assert.equal(out, expected, `${spec.type} ${input}`);
      assert.ok(out.isWellFormed(), `${spec.type}: well-formed Unicode`);
    }
    assert.equal(count(one([{ type: "pad_left", length: "5", char: "*" }], family)), 5);
  });
});

describe("map: slug transliterates as people write names in URLs", function () {
  it('gives "lodz-strasse-o" for "Łódź Straße Ø", and keeps letters and digits only', function () {
    const slug = (v) => one([{ type: "slug" }], v);
    assert.equal(slug("Łódź Straße Ø"), "lodz-strasse-o");
    assert.equal(slug("Crème Brûlée (Large)"), "creme-brulee-large");
    assert.equal(slug("Ærøskøbing — Dvořák & Søn"), "aeroskobing-dvorak-and-son");
    assert.equal(slug(`cafe\u0301 ${"👍🏽"} 2026`), "cafe-2026");
    assert.equal(slug("  --Hello, World!--  "), "hello-world");
  });
});

describe("map: defaults keep their type", function () {
  it("writes the rule's error default and the default-when-empty value as a number, true/false, null or JSON", function () {
    const rule = (defaultType, value) => ({
      source: "v",
      target: "out",
      transforms: [{ type: "to_number" }],
      onError: "default",
      default: value,
      defaultType,
    });
    const out = (r) => map([r], { v: "n/a" }).out;
    assert.equal(out(rule("num", "0")), 0);
    assert.equal(out(rule("bool", "false")), false);
    assert.equal(out(rule("null", "")), null);
    assert.deepEqual(out(rule("json", '{"a":[1]}')), { a: [1] });
    assert.equal(out(rule("str", "0")), "0");
    assert.equal(out(rule(undefined, "0")), "0", "text when no type is given, as before");
    const empty = (valueType, value) => one([{ type: "default", value, valueType }], "");
    assert.equal(empty("num", "0"), 0);
    assert.equal(empty("bool", "true"), true);
    assert.equal(empty("null", ""), null);
    assert.deepEqual(empty("json", "[]"), []);
    assert.equal(empty("str", "0"), "0");
    assert.throws(
      () =>
        compileMapping([
          { source: "a", target: "b", onError: "default", default: "zero", defaultType: "num" },
        ]),
      /"zero" is not a number/,
    );
  });
});

describe("map: a source field that is missing", function () {
  const rule = (extra) => ({ name: "Phone", source: "customer.phone", target: "phone", ...extra });
  it("fails the message naming the rule, the record and the field by default", function () {
    assert.throws(
      () => map([rule()], [{ customer: { phone: "1" } }, { customer: {} }]),
      (err) =>
        err instanceof MappingError &&
        /^rule "Phone": record 1: the source field "customer\.phone" is not in the record/.test(err.message),
    );
    assert.throws(
      () => map([rule()], { customer: null }),
      /the source field "customer.phone" is not in the record/,
    );
  });
  it("is left out when the rule says so, or gets the rule's default", function () {
    assert.deepEqual(map([rule({ onError: "skip" })], [{ customer: {} }, { customer: { phone: "1" } }]), [
      {},
      { phone: "1" },
    ]);
    assert.deepEqual(
      map([rule({ onError: "default", default: "", defaultType: "null" })], { customer: {} }),
      {
        phone: null,
      },
    );
  });
  it("is not missing when it is null, and a default-when-empty transform gives it a value whatever the policy", function () {
    assert.deepEqual(map([rule()], { customer: { phone: null } }), { phone: null });
    assert.deepEqual(map([rule({ transforms: [{ type: "default", value: "none" }] })], {}), {
      phone: "none",
    });
  });
  it("through [*] is missing when the list is; elements without the field are left out", function () {
    const items = { source: "line_items[*].sku", target: "skus", name: "SKUs" };
    assert.throws(
      () => map([items], {}),
      /rule "SKUs": record 0: the source field "line_items\[\*\].sku" is not in the record/,
    );
    assert.deepEqual(map([items], { line_items: [{ sku: "A" }, {}] }), { skus: ["A"] });
    assert.deepEqual(map([{ ...items, target: "items[*].code" }], { line_items: [] }), {});
    assert.throws(() => map([{ ...items, target: "items[*].code" }], { other: 1 }), /is not in the record/);
  });
});

describe("map: PHP letters a pattern cannot use", function () {
  it("writes a letter PHP's date() does not know as it is, and refuses at deploy one it writes but cannot read", function () {
    assert.equal(
      one(
        [{ type: "date_format", format: "custom", dialect: "php", pattern: "Y-m-d q" }],
        "2026-11-27T10:05:00Z",
      ),
      "2026-11-27 q",
    );
    assert.equal(
      one(
        [{ type: "date_parse", format: "custom", dialect: "php", pattern: "l jS \\of F Y" }],
        "Friday 27th of November 2026",
      ),
      "2026-11-27T00:00:00.000Z",
      "f is no PHP letter: it matches itself",
    );
  });
});
