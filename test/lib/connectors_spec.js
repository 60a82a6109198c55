// Connector definitions and instances against servers on 127.0.0.1: the schema with errors
// by field, the prebuilt Shopify and HubSpot connectors against fakes of their documented
// contracts, session logins and OAuth 2 client credentials (a real OAuth 2 server), and
// sends with failures per record. No secret may reach errors or request records.
const assert = require("node:assert/strict");
const { OAuth2Server } = require("oauth2-mock-server");
const { lib } = require("../support/dist");
const { startServer } = require("../support/http-server");
const { startShopify } = require("../../demo/fakes/shopify");
const { startHubSpot } = require("../../demo/fakes/hubspot");
const { startNetSuite } = require("../../demo/fakes/netsuite");
const { validateDefinition, loadPrebuilt, DefinitionError } = lib("connectors/definition");
const { ConnectorClient } = lib("connectors/client");

const prebuilt = Object.fromEntries(loadPrebuilt().map((d) => [d.id, d]));
const collect = async (gen) => {
  const pages = [];
  for await (const p of gen) pages.push(p);
  return pages;
};
let instanceCount = 0;
const instance = (vars, extra = {}) => ({ id: `inst-${++instanceCount}`, vars, ...extra });

describe("connectors", function () {
  describe("definitions", function () {
    it("ships valid prebuilt connectors", function () {
      assert.deepEqual(Object.keys(prebuilt).sort(), [
        "hubspot",
        "klaviyo",
        "netsuite",
        "peoplevox",
        "shopify",
        "tiktok-shop",
        "woocommerce",
      ]);
    });

    it("gives every variable and secret of every prebuilt connector help for the instance dialog", function () {
      // The pw-instance dialog lists this help under the fields: where the value is found in
      // the vendor's admin, so nobody has to guess what a "shop cipher" or "token id" is.
      const missing = Object.values(prebuilt).flatMap((d) =>
        (d.variables ?? [])
          .filter((v) => typeof v.help !== "string" || v.help.trim().length < 20)
          .map((v) => `${d.id}.${v.key}`),
      );
      assert.deepEqual(missing, []);
      const secrets = Object.values(prebuilt).flatMap((d) => (d.variables ?? []).filter((v) => v.secret));
      assert.ok(secrets.length >= 10, "the secret slots are variables too, and were checked above");
    });

    it("has an end-to-end spec through the connection shape for every prebuilt connector", function () {
      // Each of those specs checks it has a case for every endpoint its definition lists, so
      // a new connector or a new endpoint without an end-to-end test fails one or the other.
      const fs = require("node:fs");
      const path = require("node:path");
      for (const id of Object.keys(prebuilt)) {
        const file = path.join(__dirname, "..", "runtime", `marketplace_${id.replace(/-/g, "_")}_spec.js`);
        assert.ok(fs.existsSync(file), `${path.relative(process.cwd(), file)} exists`);
        const text = fs.readFileSync(file, "utf8");
        assert.ok(text.includes(`connector: "${id}"`) && text.includes("endToEnd("), `${id}: uses endToEnd`);
      }
    });

    it("names every field that is wrong", function () {
      assert.throws(
        () =>
          validateDefinition({
            id: "My API",
            name: "x",
            version: "1.0",
            baseUrl: "https://x",
            auth: [{ type: "apikey", in: "cookie", name: "k", value: "v" }],
            endpoints: [
              { id: "a", name: "A", direction: "receive", method: "FETCH", path: "/a", colour: "red" },
            ],
          }),
        (err) => {
          assert.ok(err instanceof DefinitionError);
          for (const part of [
            "id: must match pattern",
            "version: must match pattern",
            "auth[0].in: must be one of header, query",
            "endpoints[0].method: must be one of GET, POST, PUT, PATCH, DELETE",
            'endpoints[0]: has "colour", which is not a setting',
          ])
            assert.ok(err.message.includes(part), `${part} in ${err.message}`);
          return true;
        },
      );
    });

    it("checks what the schema cannot: unique ids, templates, pagination that can work", function () {
      const base = {
        id: "x",
        name: "X",
        version: "1.0.0",
        baseUrl: "https://{{vars.host}}",
        auth: [{ type: "none" }],
      };
      assert.throws(
        () =>
          validateDefinition({
            ...base,
            endpoints: [
              { id: "a", name: "A", direction: "receive", method: "GET", path: "/a" },
              { id: "a", name: "B", direction: "receive", method: "GET", path: "/b" },
            ],
          }),
        /endpoints\[1\]\.id: "a" is used by another endpoint/,
      );
      assert.throws(
        () =>
          validateDefinition({
            ...base,
            endpoints: [{ id: "a", name: "A", direction: "receive", method: "GET", path: "/{{#open}}" }],
          }),
        /endpoints\[0\]\.path: template/,
      );
      assert.throws(
        () =>
          validateDefinition({
            ...base,
            endpoints: [
              {
                id: "a",
                name: "A",
                direction: "receive",
                method: "GET",
                path: "/a",
                pagination: { type: "cursor" },
              },
            ],
          }),
        /endpoints\[0\]\.pagination: pagination "cursor" needs/,
      );
    });
  });

  describe("typed parameters", function () {
    const { checkParameter } = lib("connectors/parameters");
    const p = (extra) => ({ key: "x", label: "X", in: "query", ...extra });
    const def = (parameters) => ({
      id: "api",
      name: "API",
      version: "1.0.0",
      baseUrl: "https://x.example",
      auth: [{ type: "none" }],
      endpoints: [{ id: "a", name: "A", direction: "receive", method: "GET", path: "/a", parameters }],
    });

    it("accepts what the type allows and says what it needs otherwise", function () {
      assert.equal(checkParameter(p({ type: "integer" }), "250"), 250);
      assert.throws(
        () => checkParameter(p({ type: "integer" }), "2.5"),
        /parameter "X" must be a whole number, not "2\.5"/,
      );
      assert.equal(checkParameter(p({ type: "number" }), "2.5"), 2.5);
      assert.equal(checkParameter(p({ type: "boolean" }), "TRUE"), true);
      assert.throws(() => checkParameter(p({ type: "boolean" }), "yes"), /must be true or false/);
      assert.equal(checkParameter(p({ type: "date" }), "2026-02-28"), "2026-02-28");
      assert.throws(() => checkParameter(p({ type: "date" }), "2026-02-30"), /must be a date \(YYYY-MM-DD/);
      assert.equal(checkParameter(p({ type: "date" }), new Date("2026-03-01T10:00:00Z")), "2026-03-01");
      assert.equal(
        checkParameter(p({ type: "date-time" }), "2026-01-01T00:00:00+01:00"),
        "2026-01-01T00:00:00+01:00",
      );
      assert.throws(() => checkParameter(p({ type: "date-time" }), "2026-01-01T00:00:00"), /with its offset/);
      assert.throws(() => checkParameter(p({ format: "email" }), "bob"), /must be an email address/);
      assert.throws(() => checkParameter(p({}), { a: 1 }), /must be a single value/);
      assert.equal(checkParameter(p({ type: "integer", enum: [10, 50] }), "50"), 50);
      // unix-time: seconds, or a date and time (a watermark kept as ISO 8601) turned into them.
      const unix = p({ type: "integer", format: "unix-time" });
      assert.equal(checkParameter(unix, "1798000000"), 1798000000);
      assert.equal(checkParameter(unix, "2026-12-01T13:00:00.999Z"), 1796130000);
      assert.equal(checkParameter(unix, "2026-12-01T14:00:00+01:00"), 1796130000);
      assert.equal(checkParameter(unix, new Date("2026-12-01T13:00:00Z")), 1796130000);
      assert.throws(
        () => checkParameter(unix, "2026-12-01"),
        /must be a whole number of seconds since 1970 or a date/,
      );
      assert.throws(
        () => checkParameter(p({ type: "integer" }), "2026-12-01T13:00:00Z"),
        /must be a whole number/,
      );
      assert.throws(
        () => checkParameter(p({ type: "integer", enum: [10, 50] }), "20"),
        /must be one of 10, 50/,
      );
    });

    it("refuses a definition whose parameter type, enum or default does not fit", function () {
      assert.throws(
        () => validateDefinition(def([{ key: "d", label: "D", in: "query", type: "fortnight" }])),
        (err) =>
          err instanceof DefinitionError &&
          err.problems.some((m) =>
            /endpoints\[0\]\.parameters\[0\]\.type: must be one of string, integer/.test(m),
          ),
      );
      assert.throws(
        () =>
          validateDefinition(
            def([
              { key: "n", label: "N", in: "query", type: "integer", enum: [1, "two"] },
              { key: "s", label: "S", in: "query", enum: ["open"], default: "Open" },
            ]),
          ),
        (err) =>
          err.problems.includes(
            'endpoints[0].parameters[0].enum[1]: parameter "N" must be a whole number, not "two"',
          ) && err.problems.some((m) => /parameters\[1\]\.default: .*did you mean "open"/.test(m)),
      );
    });

    it("sends a required parameter's default when the shape sets none", async function () {
      const up = await startServer(() => ({ body: [] }));
      try {
        const c = new ConnectorClient(
          validateDefinition({
            ...def([
              { key: "revision", label: "Revision", in: "header", required: true, default: "2024-10-15" },
            ]),
            baseUrl: up.base,
          }),
          instance({}),
        );
        await collect(c.receive("a"));
        assert.equal(up.log[0].headers.revision, "2024-10-15");
      } finally {
        await up.close();
      }
    });
  });

  describe("Shopify (fake of the Admin REST contract)", function () {
    let shop;
    const orders = Array.from({ length: 7 }, (_, i) => ({
      id: i + 1,
      created_at: `2026-11-2${i}T10:00:00Z`,
      total_price: "10.00",
    }));
    before(async () => (shop = await startShopify({ orders })));
    after(() => shop.close());

    it("pulls every page through the Link header, the token in its header and never in a record", async function () {
      // Shopify's host is <shop>.myshopify.com: here the fake, by a base URL override.
      const c = new ConnectorClient(
        {
          ...prebuilt.shopify,
          baseUrl: `${shop.base}/admin/api/{{vars.apiVersion}}`,
          endpoints: prebuilt.shopify.endpoints.map((e) =>
            e.id === "list-orders" ? { ...e, query: { ...e.query, limit: "3" } } : e,
          ),
        },
        instance({ shop: "acme", token: "shpat_test_token" }),
      );
      const records = [];
      const pages = await collect(c.receive("list-orders", { record: (r) => records.push(r) }));
      assert.deepEqual(
        pages.map((p) => [p.number, p.records.map((o) => o.id), p.last]),
        [
          [1, [1, 2, 3], false],
          [2, [4, 5, 6], false],
          [3, [7], true],
        ],
      );
      assert.equal(shop.log[0].headers["x-shopify-access-token"], "shpat_test_token");
      assert.ok(records.every((r) => !JSON.stringify(r).includes("shpat_test_token")));
      assert.match(records[1].url, /page_info=/);
    });

    it("passes the endpoint's optional parameters as filters", async function () {
      const c = new ConnectorClient(
        { ...prebuilt.shopify, baseUrl: `${shop.base}/admin/api/2026-10` },
        instance({ shop: "acme", token: "shpat_test_token" }),
      );
      const pages = await collect(
        c.receive("list-orders", {
          params: { created_at_min: "2026-11-25T00:00:00Z", financial_status: "any" },
        }),
      );
      assert.deepEqual(
        pages[0].records.map((o) => o.id),
        [6, 7],
      );
      assert.equal(shop.log.at(-1).query.created_at_min, "2026-11-25T00:00:00Z");
    });

    it("checks typed parameters before sending: a date where Shopify wants a date and time, an enum in the wrong case", async function () {
      const c = new ConnectorClient(
        { ...prebuilt.shopify, baseUrl: `${shop.base}/admin/api/2026-10` },
        instance({ shop: "acme", token: "shpat_test_token" }),
      );
      const before = shop.log.length;
      await assert.rejects(
        collect(c.receive("list-orders", { params: { created_at_min: "2026-01-01" } })),
        /"List orders": parameter "Created at or after" must be a date and time with its offset \(ISO 8601 \/ RFC 3339, e\.g\. 2026-01-01T00:00:00Z\), not "2026-01-01"; nothing was sent/,
      );
      await assert.rejects(
        collect(c.receive("list-orders", { params: { financial_status: "Paid" } })),
        /parameter "Financial status" must be one of any, authorized, pending, paid, .* \(did you mean "paid"\?\), not "Paid"/,
      );
      assert.equal(shop.log.length, before, "nothing reached the API");
      // A Date from a message is sent as ISO 8601.
      await collect(
        c.receive("list-orders", { params: { created_at_min: new Date("2026-11-26T00:00:00Z") } }),
      );
      assert.equal(shop.log.at(-1).query.created_at_min, "2026-11-26T00:00:00.000Z");
    });

    it("refuses a record whose path value is missing or empty, and sends the others", async function () {
      const c = new ConnectorClient(
        { ...prebuilt.shopify, baseUrl: `${shop.base}/admin/api/2026-10` },
        instance({ shop: "acme", token: "shpat_test_token" }),
      );
      const before = shop.log.length;
      const result = await c.send("update-order", [{ note: "no id" }, { id: "  ", note: "blank id" }]);
      assert.equal(shop.log.length, before, "no PUT /orders/.json left");
      assert.deepEqual(
        result.failed.map((f) => [f.outcome, f.records[0].note]),
        [
          ["refused", "no id"],
          ["refused", "blank id"],
        ],
      );
      assert.match(
        result.failed[0].error,
        /^record 1 of 2: "Update an order": the path \/orders\/\{\{record\.id\}\}\.json needs record\.id, which is missing in this record; nothing was sent\. Give each record its "id"/,
      );
      assert.match(result.failed[1].error, /^record 2 of 2: .* which is empty in this record/);
    });

    it("creates orders one by one and reports each failure with its record and no secret", async function () {
      const c = new ConnectorClient(
        { ...prebuilt.shopify, baseUrl: `${shop.base}/admin/api/2026-10` },
        instance({ shop: "acme", token: "shpat_test_token" }),
      );
      const result = await c.send("create-order", [
        { email: "a@x.com", line_items: [{ variant_id: 1, quantity: 1 }] },
        { email: "b@x.com", line_items: [] },
      ]);
      assert.equal(result.ok.length, 1);
      assert.equal(result.ok[0].response.order.email, "a@x.com");
      assert.equal(result.failed.length, 1);
      assert.deepEqual(result.failed[0].records, [{ email: "b@x.com", line_items: [] }]);
      assert.match(
        result.failed[0].error,
        /POST http:\/\/127\.0\.0\.1:\d+\/admin\/api\/2026-10\/orders\.json answered 422: \{"errors":\{"line_items":\["must have at least one line item"\]\}\}/,
      );
      assert.equal(result.failed[0].status, 422);
      assert.equal(shop.created.length, 1, "the failed order was not retried");
    });

    it("refuses a wrong token with the vendor's message and without the token", async function () {
      const c = new ConnectorClient(
        { ...prebuilt.shopify, baseUrl: `${shop.base}/admin/api/2026-10` },
        instance({ shop: "acme", token: "shpat_wrong_one" }),
      );
      await assert.rejects(
        collect(c.receive("list-orders")),
        (err) =>
          /answered 401: .*Invalid API key/.test(err.message) && !err.message.includes("shpat_wrong_one"),
      );
    });

    it("asks for the instance's required variables by name", function () {
      assert.throws(
        () => new ConnectorClient(prebuilt.shopify, instance({ shop: "acme" })),
        /the instance of Shopify needs "Admin API access token"/,
      );
    });
  });

  describe("Shopify GraphQL Admin API (fake with Shopify's cost accounting)", function () {
    const orders = Array.from({ length: 100 }, (_, i) => ({
      id: `gid://shopify/Order/${i + 1}`,
      name: `#${1001 + i}`,
      updatedAt: `2026-11-${String(1 + (i % 28)).padStart(2, "0")}T10:00:00Z`,
      status: i % 10 === 0 ? "closed" : "open",
    }));
    const client = (shop) =>
      new ConnectorClient(
        { ...prebuilt.shopify, baseUrl: `${shop.base}/admin/api/{{vars.apiVersion}}` },
        instance({ shop: "acme", token: "shpat_test_token" }),
      );

    it("pulls every page of orders by cursor, filtered with the search syntax, on a supported version", async function () {
      const shop = await startShopify({ orders });
      try {
        const pages = await collect(
          client(shop).receive("graphql-list-orders", {
            params: { updated_at_min: "2026-11-20T00:00:00Z", status: "open" },
          }),
        );
        const want = orders.filter((o) => o.updatedAt >= "2026-11-20T00:00:00Z" && o.status === "open");
        assert.deepEqual(
          pages.flatMap((p) => p.records.map((o) => o.id)),
          want.map((o) => o.id),
        );
        assert.equal(pages.at(-1).last, true);
        const body = JSON.parse(shop.log[0].body);
        assert.equal(body.variables.query.trim(), "updated_at:>='2026-11-20T00:00:00Z' status:open");
        assert.equal(body.variables.first, 25);
        assert.match(shop.log[0].path, /^\/admin\/api\/2026-10\/graphql\.json$/);
        assert.deepEqual(
          [...new Set(shop.versions)],
          ["2026-10"],
          "the default version is one Shopify supports",
        );
        assert.ok(shop.gql.maxSeenCost <= 1000, "each query within the 1,000-point cap");
      } finally {
        await shop.close();
      }
    });

    it("paces requests by the cost Shopify reports, so a low bucket never runs dry", async function () {
      // 1,000 points restoring 500 a second; a page of 25 orders asks for 327: the fourth waits.
      const shop = await startShopify({ orders, points: 1000, restoreRate: 500 });
      try {
        const started = Date.now();
        const pages = await collect(client(shop).receive("graphql-list-orders"));
        assert.equal(pages.length, 4);
        assert.equal(shop.gql.throttled, 0, "never THROTTLED");
        assert.ok(Date.now() - started >= 400, "it waited for the bucket to refill");
      } finally {
        await shop.close();
      }
    });

    it("tries a THROTTLED answer again once the bucket has refilled what the query costs", async function () {
      const shop = await startShopify({ orders: orders.slice(0, 20), points: 1000, restoreRate: 1000 });
      try {
        shop.spend(1000); // another app emptied the bucket
        const records = [];
        const pages = await collect(
          client(shop).receive("graphql-list-orders", { record: (r) => records.push(r) }),
        );
        assert.equal(shop.gql.throttled, 1);
        assert.equal(pages[0].records.length, 20);
        assert.equal(shop.log.length, 2, "the throttled query, then the same query again");
        assert.equal(shop.log[0].body, shop.log[1].body);
      } finally {
        await shop.close();
      }
    });

    it("gives up on THROTTLED after its tries, saying what the query costs", async function () {
      const shop = await startShopify({ orders, points: 1000, restoreRate: 1 });
      try {
        shop.spend(1000);
        await assert.rejects(
          collect(client(shop).receive("graphql-list-orders", { attempts: 2 })),
          /was throttled by the API's cost limit 1 time\(s\) \(the query costs 327 points; 0 of 1000 were left, restoring 1 a second\): ask for fewer records per page/,
        );
      } finally {
        await shop.close();
      }
    });

    it("creates orders and reports userErrors as per-record failures", async function () {
      const shop = await startShopify();
      try {
        const result = await client(shop).send("graphql-create-order", [
          { email: "a@x.com", lineItems: [{ variantId: "gid://shopify/ProductVariant/1", quantity: 1 }] },
          { email: "b@x.com", lineItems: [] },
        ]);
        assert.equal(result.ok.length, 1);
        assert.equal(result.ok[0].response.data.orderCreate.order.email, "a@x.com");
        assert.deepEqual(
          result.failed.map((f) => [f.records[0].email, f.outcome, f.status]),
          [["b@x.com", "refused", 200]],
        );
        assert.match(
          result.failed[0].error,
          /answered 200 with an error for record 1 of 1: Line items must have at least one line item/,
        );
        assert.equal(shop.created.length, 1);
      } finally {
        await shop.close();
      }
    });

    it("creates fulfillments with tracking (graphql-create-fulfillment): userErrors and refused input are per-record failures", async function () {
      const fo = (n, status = "OPEN") => ({ id: `gid://shopify/FulfillmentOrder/${n}`, status });
      const shop = await startShopify({ fulfillmentOrders: [fo(1), fo(2), fo(3, "CLOSED")] });
      try {
        const tracking = {
          company: "UPS",
          number: "1Z001985YW99744790",
          url: "https://www.ups.com/track?tracknum=1Z001985YW99744790",
        };
        const result = await client(shop).send("graphql-create-fulfillment", [
          {
            lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: fo(1).id }],
            trackingInfo: tracking,
            notifyCustomer: true,
          },
          { lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: fo(3).id }], trackingInfo: tracking },
          { lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: "gid://shopify/FulfillmentOrder/404" }] },
          {
            lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: fo(2).id }],
            orderId: "gid://shopify/Order/1",
          },
          prebuilt.shopify.endpoints.find((e) => e.id === "graphql-create-fulfillment").sample,
        ]);
        assert.deepEqual(
          result.ok.map((r) => r.response.data.fulfillmentCreate.fulfillment.trackingInfo[0].number),
          ["1Z001985YW99744790"],
        );
        assert.deepEqual(
          result.failed.map((f) => [
            f.index ?? f.records[0].lineItemsByFulfillmentOrder[0].fulfillmentOrderId.split("/").pop(),
            f.outcome,
          ]),
          [
            ["3", "refused"],
            ["404", "refused"],
            ["2", "refused"],
            ["1046000778", "refused"],
          ],
        );
        assert.match(result.failed[0].error, /unfulfillable status= closed/);
        assert.match(result.failed[1].error, /Fulfillment order does not exist/);
        assert.match(result.failed[2].error, /orderId \(Field is not defined on FulfillmentInput\)/);
        assert.equal(shop.fulfillments.length, 1);
        assert.deepEqual(shop.fulfillments[0].input.trackingInfo, tracking);
        assert.equal(shop.fulfillmentOrders[0].status, "CLOSED");
      } finally {
        await shop.close();
      }
    });

    it("pulls customers, and products with their variants and SKUs, every page", async function () {
      const customers = Array.from({ length: 230 }, (_, i) => ({
        id: `gid://shopify/Customer/${i + 1}`,
        email: `c${i}@example.com`,
        updatedAt: "2026-11-01T10:00:00Z",
      }));
      const products = Array.from({ length: 23 }, (_, i) => ({
        id: `gid://shopify/Product/${i + 1}`,
        title: `P${i}`,
        updatedAt: "2026-11-01T10:00:00Z",
        variants: {
          nodes: Array.from({ length: i === 0 ? 40 : 2 }, (_, j) => ({
            id: `gid://shopify/ProductVariant/${(i + 1) * 100 + j}`,
            sku: `SKU-${i}-${j}`,
            inventoryItem: { id: `gid://shopify/InventoryItem/${(i + 1) * 100 + j}` },
          })),
        },
      }));
      const shop = await startShopify({ customers, products });
      try {
        const c = await collect(client(shop).receive("graphql-list-customers"));
        assert.deepEqual(
          c.map((p) => p.records.length),
          [100, 100, 30],
        );
        assert.deepEqual(
          c.flatMap((p) => p.records.map((r) => r.id)),
          customers.map((r) => r.id),
        );
        const p = await collect(client(shop).receive("graphql-list-products"));
        const got = p.flatMap((x) => x.records);
        assert.deepEqual(
          got.map((r) => r.id),
          products.map((r) => r.id),
        );
        assert.equal(got[1].variants.nodes[1].sku, "SKU-1-1");
        // A product with more variants than one page of them says so, never silently cut.
        assert.equal(got[0].variants.pageInfo.hasNextPage, true);
        assert.equal(got[1].variants.pageInfo.hasNextPage, false);
        assert.ok(shop.gql.maxSeenCost <= 1000);
      } finally {
        await shop.close();
      }
    });

    it("sets inventory quantities in batches of 250; a refused quantity fails the request's other records, which were not applied", async function () {
      const shop = await startShopify();
      try {
        const q = (i) => ({
          inventoryItemId: `gid://shopify/InventoryItem/${i}`,
          locationId: "gid://shopify/Location/1",
          quantity: 5,
        });
        const records = Array.from({ length: 260 }, (_, i) => q(i + 1));
        records[255] = { ...q(256), quantity: -1 };
        const result = await client(shop).send("graphql-set-inventory", records);
        const batches = shop.log.map((e) => JSON.parse(e.body).variables.input.quantities.length);
        assert.deepEqual(batches, [250, 10]);
        assert.equal(result.ok.length, 1);
        assert.equal(result.ok[0].records.length, 250);
        assert.equal(result.failed.length, 10);
        assert.match(result.failed[5].error, /record 6 of 10: The quantity can't be negative/);
        assert.match(result.failed[0].error, /not applied: the API applies this request whole or not at all/);
        assert.equal(shop.inventory.length, 250);
      } finally {
        await shop.close();
      }
    });
  });

  describe("HubSpot (fake of the CRM v3 contract)", function () {
    let hub;
    const contacts = Array.from({ length: 5 }, (_, i) => ({
      id: String(i + 1),
      properties: { email: `c${i}@x.com` },
    }));
    before(async () => (hub = await startHubSpot({ contacts })));
    after(() => hub.close());
    const client = (token = "pat-na1-test") =>
      new ConnectorClient(
        {
          ...prebuilt.hubspot,
          endpoints: prebuilt.hubspot.endpoints.map((e) =>
            e.id === "list-contacts" ? { ...e, query: { ...e.query, limit: "2" } } : e,
          ),
        },
        instance({ token, baseUrl: hub.base }),
      );

    it("pages contacts by cursor", async function () {
      const pages = await collect(client().receive("list-contacts"));
      assert.deepEqual(
        pages.map((p) => p.records.map((c) => c.id)),
        [["1", "2"], ["3", "4"], ["5"]],
      );
      assert.equal(hub.log[1].query.after, "2");
    });

    it("creates contacts in batches of at most 100, wrapped in inputs, and splits a 207 answer per record", async function () {
      const inputs = Array.from({ length: 230 }, (_, i) => ({ properties: { email: `n${i}@x.com` } }));
      inputs[150] = { properties: { firstname: "no email" } };
      const result = await client().send("create-contacts", inputs, { concurrency: 2 });
      const posts = hub.log.filter((e) => e.method === "POST").map((e) => JSON.parse(e.body).inputs);
      assert.deepEqual(
        posts.map((p) => p.length).sort((a, b) => a - b),
        [30, 100, 100],
      );
      // Each input carries its position as objectWriteTraceId, which turns on HubSpot's multi-status.
      assert.deepEqual(
        posts.find((p) => p.length === 30).map((i) => i.objectWriteTraceId),
        Array.from({ length: 30 }, (_, i) => String(i)),
      );
      assert.equal(inputs[0].objectWriteTraceId, undefined, "the caller's records are not changed");
      // The contract requires associations on each input: an empty list where the record has none.
      assert.ok(posts.every((p) => p.every((i) => Array.isArray(i.associations))));
      assert.equal(inputs[0].associations, undefined);
      // HubSpot answered 207 for the second batch: 99 created, one refused, named by its trace id.
      assert.deepEqual(
        result.ok.map((o) => [o.status, o.records.length]),
        [
          [201, 100],
          [207, 99],
          [201, 30],
        ],
      );
      assert.equal(result.failed.length, 1);
      assert.equal(result.failed[0].records[0], inputs[150]);
      assert.equal(result.failed[0].outcome, "refused");
      assert.equal(result.failed[0].status, 207);
      assert.match(
        result.failed[0].error,
        /POST .*batch\/create answered 207 with an error for record 51 of 100: Property values were not valid: email is required/,
      );
      assert.equal(hub.created.length, 229);
    });

    it("refuses a wrong token", async function () {
      await assert.rejects(
        collect(client("pat-wrong-token").receive("list-contacts")),
        (err) => /401/.test(err.message) && !err.message.includes("pat-wrong-token"),
      );
    });
  });

  describe("HubSpot companies, deals, search and associations (fake of the CRM contract)", function () {
    let hub;
    const at = (i) => new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
    const companies = Array.from({ length: 23 }, (_, i) => ({
      id: String(100 + i),
      // Two companies share each change instant: the boundary of a search window falls inside a pair.
      properties: { name: `Co ${i}`, domain: `co${i}.com`, hs_lastmodifieddate: at(Math.floor(i / 2)) },
    }));
    before(async () => (hub = await startHubSpot({ companies })));
    after(() => hub.close());
    beforeEach(() => (hub.log.length = 0));
    const client = (def = prebuilt.hubspot, vars = {}, extra) =>
      new ConnectorClient(def, instance({ token: "pat-na1-test", baseUrl: hub.base, ...vars }), extra);
    const searchWith = (max, limit) => ({
      ...prebuilt.hubspot,
      endpoints: prebuilt.hubspot.endpoints.map((e) =>
        e.id === "search-companies"
          ? {
              ...e,
              body: { ...e.body, limit },
              pagination: { ...e.pagination, window: { ...e.pagination.window, max } },
            }
          : e,
      ),
    });

    it("searches companies with filters, the cursor in the body, every page", async function () {
      const pages = await collect(
        client().receive("search-companies", {
          params: {
            filterGroups: [
              { filters: [{ propertyName: "hs_lastmodifieddate", operator: "GTE", value: at(5) }] },
            ],
          },
        }),
      );
      assert.equal(pages.length, 1);
      assert.deepEqual(
        pages[0].records.map((r) => r.id),
        companies.slice(10).map((c) => c.id),
      );
      const body = JSON.parse(hub.log[0].body);
      assert.equal(body.limit, 200);
      assert.deepEqual(body.sorts, [{ propertyName: "hs_lastmodifieddate", direction: "ASCENDING" }]);
      // Without filters the key is left out, not sent empty.
      await collect(client().receive("search-companies"));
      assert.equal("filterGroups" in JSON.parse(hub.log[1].body), false);
    });

    it("searches on past the result cap from the last change time, each record once", async function () {
      // HubSpot caps a search at 10,000 results; the fake's cap is lowered to 10 (and the
      // connector's window with it) to reach it with pages of 5, so the pull must search again.
      const def = searchWith(10, 5);
      hub.limits.searchCap = 10;
      const fake = { ...def };
      const pages = await collect(client(fake).receive("search-companies")).finally(
        () => (hub.limits.searchCap = 10000),
      );
      const ids = pages.flatMap((p) => p.records.map((r) => r.id));
      assert.deepEqual(
        ids,
        companies.map((c) => c.id),
        "every company once, in order",
      );
      const bodies = hub.log.map((e) => JSON.parse(e.body));
      assert.ok(bodies.every((b) => (b.after === undefined ? 0 : Number(b.after)) + b.limit <= 10));
      const restart = bodies.find((b) => b.filterGroups);
      assert.deepEqual(restart.filterGroups, [
        {
          filters: [
            { propertyName: "hs_lastmodifieddate", operator: "GTE", value: String(Date.parse(at(4))) },
          ],
        },
      ]);
      // A user's filters stay: the lower bound is added to each group.
      hub.log.length = 0;
      await collect(
        client(fake).receive("search-companies", {
          params: { filterGroups: [{ filters: [{ propertyName: "name", operator: "NEQ", value: "Co 0" }] }] },
        }),
      );
      const again = hub.log
        .map((e) => JSON.parse(e.body))
        .find((b) => b.filterGroups[0].filters.length === 2);
      assert.equal(again.filterGroups[0].filters[0].propertyName, "name");
    });

    it("answers 400 past 10,000 results, as HubSpot does, when a definition pages without the window", async function () {
      const def = searchWith(10, 5);
      const noWindow = {
        ...def,
        endpoints: def.endpoints.map((e) =>
          e.id === "search-companies"
            ? { ...e, body: { ...e.body, after: "9998" }, pagination: { type: "none" } }
            : e,
        ),
      };
      await assert.rejects(collect(client(noWindow).receive("search-companies")), /400.*10,000 results/);
    });

    it("creates, updates and upserts companies and deals in batches, and reads them back", async function () {
      const made = await client().send("create-companies", [
        { properties: { name: "Acme", domain: "acme.com" } },
        { properties: { domain: "noname.com" } },
      ]);
      assert.equal(made.ok[0].status, 207);
      assert.equal(made.failed.length, 1);
      assert.equal(made.failed[0].outcome, "refused");
      assert.match(made.failed[0].error, /name is required/);
      const acme = hub.objects.companies.find((c) => c.properties.name === "Acme");
      const up = await client().send("update-companies", [
        { id: acme.id, properties: { city: "Leeds" } },
        { id: "999999", properties: { city: "Nowhere" } },
      ]);
      assert.deepEqual(
        up.failed.map((f) => [f.records[0].id, f.outcome]),
        [["999999", "refused"]],
      );
      assert.match(up.failed[0].error, /Object not found/);
      const deals = await client().send("upsert-deals", [
        { idProperty: "dealname", id: "Order #1", properties: { amount: "10.00" } },
        { idProperty: "dealname", id: "Order #1", properties: { amount: "12.00" } },
      ]);
      assert.equal(deals.failed.length, 0);
      assert.equal(hub.objects.deals.filter((d) => d.properties.dealname === "Order #1").length, 1);
      const read = await collect(
        client().receive("search-companies", {
          params: {
            filterGroups: [{ filters: [{ propertyName: "domain", operator: "EQ", value: "acme.com" }] }],
          },
        }),
      );
      assert.equal(read[0].records[0].properties.city, "Leeds");
      await collect(client().receive("list-deals"));
      assert.ok(
        hub.log.some((e) => e.path === "/crm/v3/objects/deals" && e.query.properties.includes("dealname")),
      );
    });

    it("associates contacts, companies and deals (v4) and lists them; an unknown id is refused alone", async function () {
      await client().send("create-contacts", [{ properties: { email: "a@x.com" } }]);
      await client().send("create-deals", [{ properties: { dealname: "D1" } }]);
      const contact = hub.objects.contacts.find((c) => c.properties.email === "a@x.com");
      const deal = hub.objects.deals.find((d) => d.properties.dealname === "D1");
      const r = await client().send("associate-deals-contacts", [
        { from: { id: deal.id }, to: { id: contact.id } },
        { from: { id: "424242" }, to: { id: contact.id } },
      ]);
      assert.equal(r.ok[0].records.length, 1);
      assert.deepEqual(
        r.failed.map((f) => [f.records[0].from.id, f.outcome]),
        [["424242", "refused"]],
      );
      await client().send("associate-contacts-companies", [{ from: { id: contact.id }, to: { id: "100" } }]);
      const listed = await collect(
        client().receive("list-associations", {
          params: { fromType: "deals", id: deal.id, toType: "contacts" },
        }),
      );
      assert.deepEqual(listed[0].records, [
        {
          toObjectId: Number(contact.id),
          associationTypes: [{ category: "HUBSPOT_DEFINED", typeId: 3, label: null }],
        },
      ]);
    });

    it("waits out a 429 with HubSpot's rate-limit headers and a 5xx on a page", async function () {
      this.timeout(20000);
      hub.failNext(1, 429);
      const pages = await collect(client().receive("list-companies"));
      assert.equal(pages.flatMap((p) => p.records).length, hub.objects.companies.length);
      assert.equal(hub.log[0].path, hub.log[1].path, "the same page asked again");
      hub.failNext(1, 502);
      hub.log.length = 0;
      await collect(client().receive("list-companies"));
      assert.equal(hub.log.length, 2);
      // A batch create is retried after a 429 (refused before any work), not after a 5xx.
      hub.failNext(1, 429);
      const sent = await client().send("create-deals", [{ properties: { dealname: "after 429" } }]);
      assert.equal(sent.failed.length, 0);
      hub.failNext(1, 500);
      const lost = await client().send("create-deals", [{ properties: { dealname: "after 500" } }]);
      assert.equal(lost.failed[0].outcome, "unknown");
    });

    it("signs in with OAuth: refreshes an expired token with the refresh token and keeps no secret in errors", async function () {
      let saved = { accessToken: "stale", refreshToken: "refresh-1", expiresAt: Date.now() - 1000 };
      const tokens = { get: () => saved, set: async (t) => void (saved = t) };
      const oauth = new ConnectorClient(
        prebuilt.hubspot,
        {
          ...instance({ baseUrl: hub.base, clientId: "client-1", clientSecret: "client-secret-1" }),
          auth: 1,
        },
        { tokens },
      );
      const pages = await collect(oauth.receive("list-companies"));
      assert.ok(pages[0].records.length > 0);
      assert.equal(saved.accessToken, "oauth-access-1");
      const token = hub.log.find((e) => e.path === "/oauth/v1/token");
      assert.match(token.body, /grant_type=refresh_token/);
      assert.equal(hub.log.at(-1).headers.authorization, "Bearer oauth-access-1");
      // A wrong client secret: the token endpoint's answer, never the secret.
      saved = { accessToken: "stale", refreshToken: "refresh-1", expiresAt: 0 };
      const wrong = new ConnectorClient(
        prebuilt.hubspot,
        { ...instance({ baseUrl: hub.base, clientId: "client-1", clientSecret: "wrong-secret-9" }), auth: 1 },
        { tokens },
      );
      await assert.rejects(
        collect(wrong.receive("list-companies")),
        (err) => /BAD_CLIENT_ID|400/.test(err.message) && !err.message.includes("wrong-secret-9"),
      );
      // The private-app method needs only the token; OAuth only the app's id and secret.
      assert.throws(
        () => new ConnectorClient(prebuilt.hubspot, instance({ baseUrl: hub.base })),
        /Private app access token/,
      );
    });
  });

  describe("NetSuite (fake of REST web services with token-based auth)", function () {
    let ns;
    const customers = Array.from({ length: 5 }, (_, i) => ({
      id: String(i + 1),
      companyName: `Co ${i}`,
      email: `c${i}@x.com`,
    }));
    const keys = {
      consumerKey: "ck-test",
      consumerSecret: "cs-test",
      tokenId: "tk-test",
      tokenSecret: "ts-test",
    };
    before(async () => (ns = await startNetSuite({ records: { customer: customers } })));
    after(() => ns.close());
    beforeEach(() => (ns.log.length = 0));
    // Pages of 2 (NetSuite allows up to 1000) so five customers take three pages.
    const small = {
      ...prebuilt.netsuite,
      endpoints: prebuilt.netsuite.endpoints.map((e) =>
        e.pagination ? { ...e, pagination: { ...e.pagination, limit: 2 } } : e,
      ),
    };
    const client = (vars = {}, def = small) =>
      new ConnectorClient(def, instance({ accountId: "1234567-sb1", host: ns.base, ...keys, ...vars }));

    it("signs every request (OAuth 1.0a, HMAC-SHA256, realm from the account id) and pages by offset until hasMore is false", async function () {
      const pages = await collect(client().receive("list-customers"));
      assert.deepEqual(
        pages.map((p) => p.records.map((r) => r.id)),
        [["1", "2"], ["3", "4"], ["5"]],
      );
      assert.deepEqual(
        ns.log.map((e) => [e.query.offset, e.query.limit]),
        [
          ["0", "2"],
          ["2", "2"],
          ["4", "2"],
        ],
      );
      assert.ok(pages[2].last);
      const header = ns.log[0].headers.authorization;
      assert.match(header, /^OAuth realm="1234567_SB1", /);
      assert.match(header, /oauth_signature_method="HMAC-SHA256"/);
      assert.ok(!header.includes("cs-test") && !header.includes("ts-test"), "secrets are never sent");
      const one = await collect(client().receive("get-customer", { params: { id: "3" } }));
      assert.equal(one[0].records[0].companyName, "Co 2");
    });

    it("refuses a wrong token secret as NetSuite does, without the secret in the error", async function () {
      await assert.rejects(
        collect(client({ tokenSecret: "ts-wrong-secret" }).receive("list-customers")),
        (err) =>
          /401/.test(err.message) &&
          /INVALID_LOGIN|Invalid login/.test(err.message) &&
          !err.message.includes("ts-wrong-secret"),
      );
    });

    it("creates and updates customers, reads them back, and refuses an invalid one alone", async function () {
      const r = await client().send("create-customer", [
        { companyName: "Acme", email: "ap@acme.example" },
        { email: "nobody@x.com" },
      ]);
      assert.equal(r.ok.length, 1);
      assert.equal(r.ok[0].status, 204);
      const id = r.ok[0].response.location.split("/").pop();
      assert.match(r.ok[0].response.location, /\/record\/v1\/customer\/\d+$/);
      assert.deepEqual(
        r.failed.map((f) => [f.records[0].email, f.outcome, f.status]),
        [["nobody@x.com", "refused", 400]],
      );
      assert.match(r.failed[0].error, /Please enter value\(s\) for: companyName/);
      const u = await client().send("update-customer", [
        { id, phone: "+44 1" },
        { id: "999999", phone: "+44 2" },
      ]);
      assert.deepEqual(
        u.failed.map((f) => [f.records[0].id, f.status]),
        [["999999", 404]],
      );
      assert.equal(ns.log.find((e) => e.method === "PATCH").path, `/services/rest/record/v1/customer/${id}`);
      const back = await collect(client().receive("get-customer", { params: { id } }));
      assert.equal(back[0].records[0].phone, "+44 1");
    });

    it("creates a sales order asynchronously (Prefer: respond-async) and it exists once its job has run", async function () {
      const r = await client().send("create-sales-order", [
        { entity: { id: "1" }, item: { items: [{ item: { id: "310" }, quantity: 2 }] } },
      ]);
      assert.equal(r.ok[0].status, 202);
      assert.equal(ns.log[0].headers.prefer, "respond-async");
      assert.match(r.ok[0].response.location, /\/async\/v1\/job\/\d+$/);
      assert.equal(ns.data.salesOrder.length, 0, "not made until the job runs");
      const job = new URL(r.ok[0].response.location).pathname.split("/").pop();
      const polled = new ConnectorClient(
        {
          ...small,
          endpoints: [
            {
              id: "job",
              name: "Job",
              direction: "receive",
              method: "GET",
              path: "/async/v1/job/{{params.id}}",
            },
          ],
        },
        instance({ accountId: "1234567-sb1", host: ns.base, ...keys }),
      );
      const status = await collect(polled.receive("job", { params: { id: job } }));
      assert.equal(status[0].records[0].progress, "succeeded");
      assert.equal(ns.data.salesOrder.length, 1);
    });

    it("runs a SuiteQL query with Prefer: transient, every page", async function () {
      const pages = await collect(
        client().receive("suiteql", { params: { q: "SELECT id, companyName FROM customer ORDER BY id" } }),
      );
      const rows = pages.flatMap((p) => p.records);
      assert.ok(rows.length >= 5);
      assert.deepEqual(rows[0], { links: [], id: "1", companyname: "Co 0" });
      assert.ok(ns.log.every((e) => e.headers.prefer === "transient" && e.method === "POST"));
      assert.equal(JSON.parse(ns.log[0].body).q, "SELECT id, companyName FROM customer ORDER BY id");
      assert.deepEqual(
        ns.log.slice(0, 2).map((e) => e.query.offset),
        ["0", "2"],
      );
    });

    it("tries a page again after a 429 (concurrency limit) and a 5xx; a create after a 5xx is unknown", async function () {
      this.timeout(20000);
      ns.failNext(1, 429);
      await collect(client().receive("list-inventory-items"));
      assert.equal(ns.log.length, 2);
      ns.failNext(1, 503);
      const pages = await collect(client().receive("list-customers"));
      assert.ok(pages.flatMap((p) => p.records).length >= 5);
      ns.failNext(1, 429);
      const after429 = await client().send("create-customer", [{ companyName: "After 429" }]);
      assert.equal(after429.failed.length, 0);
      ns.failNext(1, 500);
      const after500 = await client().send("create-customer", [{ companyName: "After 500" }]);
      assert.equal(after500.failed[0].outcome, "unknown");
    });

    it("calls the account's own host: 1234567-sb1.suitetalk.api.netsuite.com for a sandbox", async function () {
      this.timeout(20000);
      // A proxy on 127.0.0.1 sees where the request is headed; nothing leaves this machine.
      const http = require("node:http");
      const seen = [];
      const proxy = http.createServer((req, res) => {
        seen.push({ url: req.url, host: req.headers.host, auth: req.headers.authorization });
        res.writeHead(401, { "content-type": "application/json" });
        res.end('{"title":"Unauthorized","status":401}');
      });
      proxy.on("connect", (req, socket) => {
        seen.push({ url: req.url });
        socket.destroy();
      });
      await new Promise((r) => proxy.listen(0, "127.0.0.1", r));
      try {
        const c = new ConnectorClient(prebuilt.netsuite, instance({ accountId: "1234567-sb1", ...keys }), {
          proxy: { protocol: "http", host: "127.0.0.1", port: proxy.address().port },
        });
        await assert.rejects(collect(c.receive("list-customers", { attempts: 1, timeoutMs: 1000 })));
        assert.ok(
          seen.some((s) => /1234567-sb1\.suitetalk\.api\.netsuite\.com/.test(`${s.url} ${s.host}`)),
          JSON.stringify(seen),
        );
        const signed = seen.find((s) => s.auth);
        if (signed) assert.match(signed.auth, /realm="1234567_SB1"/);
      } finally {
        await new Promise((r) => proxy.close(r));
      }
      assert.throws(
        () => new ConnectorClient(prebuilt.netsuite, instance({ accountId: "1234567" })),
        /Consumer key.*Consumer secret.*Token id.*Token secret/,
      );
    });
  });

  describe("exactly once where the API allows it", function () {
    const { startFlaky, flakyConnector } = require("../fakes/flaky");
    let up;
    let answer;
    before(async () => (up = await startServer((req) => answer(req))));
    after(() => up.close());
    beforeEach(() => (up.log.length = 0));
    const def = (endpoint, extra = {}) =>
      validateDefinition({
        id: "api",
        name: "API",
        version: "1.0.0",
        variables: [{ key: "base", label: "Base" }],
        baseUrl: "{{vars.base}}",
        auth: [{ type: "none" }],
        ...extra,
        endpoints: [{ id: "send", name: "Send", direction: "send", method: "POST", path: "/x", ...endpoint }],
      });
    const make = (d) => new ConnectorClient(d, instance({ base: up.base }));

    it("splits GraphQL userErrors per record, and an error naming no record makes every record's outcome unknown", async function () {
      // One mutation per record: its userErrors are that record's.
      answer = (req) => {
        const input = JSON.parse(req.body).variables.input;
        return {
          body: {
            data: {
              productCreate: {
                product: input.title ? { id: "gid://1" } : null,
                userErrors: input.title
                  ? []
                  : [{ field: ["input", "title"], message: "Title can't be blank" }],
              },
            },
          },
        };
      };
      const graphql = make(
        def({
          body: { query: "mutation", variables: { input: "{{record}}" } },
          results: { errors: "data.*.userErrors" },
        }),
      );
      const r = await graphql.send("send", [{ title: "A" }, { title: "" }, { title: "C" }]);
      assert.equal(r.ok.length, 2);
      assert.deepEqual(
        r.failed.map((f) => [f.records[0], f.outcome, f.status]),
        [[{ title: "" }, "refused", 200]],
      );
      assert.match(r.failed[0].error, /answered 200 with an error for record 1 of 1: Title can't be blank/);
      // A list of failures naming each record by its key, and one naming nothing it was sent.
      answer = () => ({
        body: {
          failures: [
            { sku: "B", reason: "out of range" },
            { sku: "Z", reason: "who?" },
          ],
        },
      });
      const keyed = make(
        def({
          batch: { size: 3 },
          results: { errors: "failures", match: { by: "key", path: "sku", field: "sku" }, message: "reason" },
        }),
      );
      const k = await keyed.send("send", [{ sku: "A" }, { sku: "B" }, { sku: "C" }]);
      assert.deepEqual(
        k.failed.map((f) => [f.records[0].sku, f.outcome]),
        [
          ["A", "unknown"],
          ["B", "refused"],
          ["C", "unknown"],
        ],
      );
      assert.match(k.failed[1].error, /out of range/);
      assert.match(
        k.failed[0].error,
        /without saying for which record \(who\?\); this record may or may not have been accepted/,
      );
      assert.equal(k.ok.length, 0, "no record is known to have gone through");
    });

    it("checks results declarations and key templates like the rest of a definition", function () {
      assert.throws(
        () => def({ results: { errors: "failures", match: { by: "key", path: "sku" } } }),
        /endpoints\[0\]\.results: match by key needs "field"/,
      );
      assert.throws(() => def({ results: {} }), /endpoints\[0\]\.results: needs "errors"/);
      assert.throws(
        () => def({}, { retry: { idempotencyKey: "{{record.id}}" } }),
        /retry\.idempotencyKey: needs retry\.idempotencyHeader/,
      );
      assert.throws(
        () => def({}, { retry: { idempotencyHeader: "Idempotency-Key", idempotencyKey: "{{#record}" } }),
        /retry\.idempotencyKey:/,
      );
    });

    it("sends the connector's idempotency key template per request, the same on every attempt", async function () {
      answer = () => (up.log.length % 2 === 1 ? { status: 503 } : { status: 201, body: {} });
      const keyed = make(
        def({}, { retry: { idempotencyHeader: "Idempotency-Key", idempotencyKey: "order-{{record.id}}" } }),
      );
      const r = await keyed.send("send", [{ id: 7 }, { id: 8 }]);
      assert.equal(r.failed.length, 0);
      assert.deepEqual(
        up.log.map((e) => e.headers["idempotency-key"]),
        ["order-7", "order-7", "order-8", "order-8"],
      );
    });

    it("tells on each failed record whether it was refused or may have been accepted", async function () {
      const flaky = await startFlaky({
        failWhen: (req) => {
          const id = JSON.parse(req.body).items[0].id;
          return { 1: "500-after", 2: "drop-after", 3: "500", 4: undefined }[id];
        },
      });
      const noKey = new ConnectorClient(
        validateDefinition(flakyConnector({ batch: 1, idempotency: false })),
        instance({ base: flaky.base }),
      );
      const items = [1, 2, 3, 4, 5].map((id) => ({ id, bad: id === 5 }));
      const r = await noKey.send("create-items", items);
      assert.deepEqual(
        r.failed.map((f) => [f.records[0].id, f.outcome, f.status ?? null]),
        [
          [1, "unknown", 500],
          [2, "unknown", null],
          [3, "unknown", 500],
          [5, "refused", 200],
        ],
      );
      // What the upstream really did: the two "unknown" ones after accepting were accepted.
      assert.deepEqual(
        flaky.accepted.map((i) => i.id),
        [1, 2, 4],
      );
      // With the idempotency header each is retried under its key and accepted exactly once.
      flaky.accepted.length = 0;
      const keyed = new ConnectorClient(
        validateDefinition(flakyConnector({ batch: 1 })),
        instance({ base: flaky.base }),
      );
      flaky.log.length = 0;
      const once = await keyed.send("create-items", items.slice(0, 4), { attempts: 3 });
      assert.deepEqual(
        once.failed.map((f) => [f.records[0].id, f.outcome]),
        [[3, "unknown"]],
        "the one that always answers 500 gives up",
      );
      assert.equal(
        flaky.log.length,
        8,
        "1 and 2 twice (the second answered from the key), 3 three times, 4 once",
      );
      assert.deepEqual(
        flaky.accepted.map((i) => i.id).sort(),
        [1, 2, 4],
        "accepted once each, though 1 and 2 were sent again",
      );
      await flaky.close();
    });
  });

  describe("none, basic and API key in the query", function () {
    let api;
    before(async () => {
      api = await startServer((req) => {
        if (req.path === "/open") return { body: [{ id: "open" }] };
        if (req.path === "/basic")
          return req.headers.authorization === `Basic ${Buffer.from("ops:b4sic-pass").toString("base64")}`
            ? { body: [{ id: "basic" }] }
            : { status: 401, body: "who are you" };
        if (req.path === "/keyed")
          return req.query.api_key === "q-key-9876"
            ? { body: [{ id: "keyed" }] }
            : { status: 403, body: "bad key" };
        return { status: 404 };
      });
    });
    after(() => api.close());
    const def = (auth, path) =>
      validateDefinition({
        id: "simple",
        name: "Simple",
        version: "1.0.0",
        baseUrl: "{{vars.url}}",
        variables: [
          { key: "url", label: "URL" },
          { key: "user", label: "User" },
          { key: "secret", label: "Secret", secret: true },
        ],
        auth: [auth],
        endpoints: [{ id: "e", name: "E", direction: "receive", method: "GET", path }],
      });
    const ids = async (c) => (await collect(c.receive("e")))[0].records.map((r) => r.id);

    it("calls an open API with no auth", async function () {
      assert.deepEqual(
        await ids(new ConnectorClient(def({ type: "none" }, "/open"), instance({ url: api.base }))),
        ["open"],
      );
    });

    it("sends user and password as Basic auth, and fails clearly with the wrong password", async function () {
      const auth = { type: "basic", username: "{{vars.user}}", password: "{{vars.secret}}" };
      assert.deepEqual(
        await ids(
          new ConnectorClient(
            def(auth, "/basic"),
            instance({ url: api.base, user: "ops", secret: "b4sic-pass" }),
          ),
        ),
        ["basic"],
      );
      await assert.rejects(
        ids(
          new ConnectorClient(
            def(auth, "/basic"),
            instance({ url: api.base, user: "ops", secret: "wr0ng-pass" }),
          ),
        ),
        (err) => /answered 401: who are you/.test(err.message) && !err.message.includes("wr0ng-pass"),
      );
    });

    it("puts an API key in the query, and keeps it out of the recorded URL", async function () {
      const records = [];
      const c = new ConnectorClient(
        def({ type: "apikey", in: "query", name: "api_key", value: "{{vars.secret}}" }, "/keyed"),
        instance({ url: api.base, secret: "q-key-9876" }),
      );
      for await (const p of c.receive("e", { record: (r) => records.push(r) })) void p;
      assert.match(records[0].url, /\/keyed\?api_key=\*\*\*$/);
      await assert.rejects(
        ids(
          new ConnectorClient(
            def({ type: "apikey", in: "query", name: "api_key", value: "{{vars.secret}}" }, "/keyed"),
            instance({ url: api.base, secret: "bad-key-1" }),
          ),
        ),
        (err) => /answered 403/.test(err.message) && !err.message.includes("bad-key-1"),
      );
    });
  });

  describe("token expiry", function () {
    const { createAuthenticator } = lib("connectors/auth");
    const { fakeClock } = require("../support/fake-clock");
    it("renews a token 30 s before it expires, once for every waiting request", async function () {
      const clock = fakeClock(0);
      let fetched = 0;
      const auth = createAuthenticator(
        {
          type: "oauth2_client_credentials",
          tokenUrl: "http://127.0.0.1:9/token",
          clientId: "id",
          clientSecret: "client-secret",
        },
        {
          render: (t) => t,
          vars: {},
          baseUrl: "http://127.0.0.1:9",
          clock,
          send: async () => ({
            status: 200,
            headers: {},
            url: "",
            data: { access_token: `tok-${++fetched}`, expires_in: 60 },
          }),
        },
      );
      const header = async () =>
        (await auth.prepare({ method: "GET", url: "http://x/" })).headers.Authorization;
      assert.deepEqual(await Promise.all([header(), header(), header()]), [
        "Bearer tok-1",
        "Bearer tok-1",
        "Bearer tok-1",
      ]);
      clock.advance(29_000);
      assert.equal(await header(), "Bearer tok-1");
      clock.advance(2_000);
      assert.equal(await header(), "Bearer tok-2", "renewed ahead of its expiry");
      assert.equal(fetched, 2);
      assert.ok(auth.secrets().includes("tok-2") && auth.secrets().includes("client-secret"));
    });

    it("a session login whose answer does not match the token pattern fails without showing the answer", async function () {
      const auth = createAuthenticator(
        {
          type: "session",
          tokenPath: "Detail",
          tokenPattern: "^[^,]*,(.+)$",
          login: { method: "POST", path: "/login" },
        },
        {
          render: (t) => t,
          vars: {},
          baseUrl: "http://127.0.0.1:9",
          send: async () => ({ status: 200, headers: {}, url: "", data: { Detail: "session-7f3a9c" } }),
        },
      );
      await assert.rejects(auth.prepare({ method: "GET", url: "http://x/" }), (err) => {
        assert.match(err.message, /does not match the token pattern/);
        assert.ok(!err.message.includes("session-7f3a9c"), err.message);
        return true;
      });
    });

    it("keeps the last few tokens masked, not every one fetched in a long life", async function () {
      const clock = fakeClock(0);
      let fetched = 0;
      const auth = createAuthenticator(
        {
          type: "oauth2_client_credentials",
          tokenUrl: "http://127.0.0.1:9/token",
          clientId: "id",
          clientSecret: "client-secret",
        },
        {
          render: (t) => t,
          vars: {},
          baseUrl: "http://127.0.0.1:9",
          clock,
          send: async () => ({
            status: 200,
            headers: {},
            url: "",
            data: { access_token: `tok-${++fetched}`, expires_in: 60 },
          }),
        },
      );
      // A token an hour for a thousand hours, and an API answering 401 now and then.
      for (let hour = 0; hour < 1000; hour++) {
        await auth.prepare({ method: "GET", url: "http://x/" });
        if (hour % 7 === 0) await auth.renew();
        clock.advance(3_600_000);
      }
      const header = (await auth.prepare({ method: "GET", url: "http://x/" })).headers.Authorization;
      assert.ok(fetched > 1000);
      const secrets = auth.secrets();
      assert.ok(secrets.length <= 5, `${secrets.length} secrets kept`);
      assert.ok(secrets.includes(header.slice(7)), "the token in use is masked");
      assert.ok(secrets.includes(`tok-${fetched - 1}`), "and the one before it");
      assert.ok(!secrets.includes("tok-1"));
      assert.ok(secrets.includes("client-secret"));
    });
  });

  describe("session login", function () {
    let api;
    let issued = 0;
    const valid = new Map();
    before(async () => {
      api = await startServer((req) => {
        if (req.path === "/auth/login") {
          const body = JSON.parse(req.body);
          if (body.user !== "ops" || body.password !== "s3cret-pass")
            return { status: 401, body: { error: "bad login" } };
          const token = `sess-${++issued}-token`;
          valid.set(token, Date.now() + 400);
          return { body: { data: { token }, expires_in: 0.4 } };
        }
        const token = (req.headers.authorization ?? "").replace("Token ", "");
        if (!valid.has(token) || valid.get(token) < Date.now())
          return { status: 401, body: { error: "expired" } };
        return { body: { items: [{ id: 1 }] } };
      });
    });
    after(() => api.close());
    const def = () =>
      validateDefinition({
        id: "legacy",
        name: "Legacy ERP",
        version: "1.0.0",
        baseUrl: "{{vars.url}}",
        variables: [
          { key: "url", label: "URL", required: true },
          { key: "user", label: "User", required: true },
          { key: "password", label: "Password", required: true, secret: true },
        ],
        auth: [
          {
            type: "session",
            login: {
              method: "POST",
              path: "/auth/login",
              body: { user: "{{vars.user}}", password: "{{vars.password}}" },
            },
            tokenPath: "data.token",
            expiresInPath: "expires_in",
            header: "Authorization",
            prefix: "Token ",
          },
        ],
        endpoints: [
          {
            id: "items",
            name: "Items",
            direction: "receive",
            method: "GET",
            path: "/items",
            records: "items",
          },
        ],
      });

    it("logs in once, reuses the token, and logs in again after a 401", async function () {
      const c = new ConnectorClient(def(), instance({ url: api.base, user: "ops", password: "s3cret-pass" }));
      await Promise.all([
        collect(c.receive("items")),
        collect(c.receive("items")),
        collect(c.receive("items")),
      ]);
      assert.equal(
        api.log.filter((e) => e.path === "/auth/login").length,
        1,
        "one login for three waiting requests",
      );
      // The server forgets the token: the next call meets a 401, logs in again and succeeds.
      valid.clear();
      const pages = await collect(c.receive("items"));
      assert.equal(pages[0].records.length, 1);
      assert.equal(api.log.filter((e) => e.path === "/auth/login").length, 2);
    });

    it("fails with the login's answer, never the password", async function () {
      const c = new ConnectorClient(
        def(),
        instance({ url: api.base, user: "ops", password: "wrong-password" }),
      );
      await assert.rejects(
        collect(c.receive("items")),
        (err) =>
          /could not get a token: POST .*\/auth\/login answered 401/.test(err.message) &&
          !err.message.includes("wrong-password"),
      );
    });
  });

  describe("SOAP (a real SOAP server: the soap package)", function () {
    const soap = require("soap");
    const http = require("node:http");
    const fs = require("node:fs");
    const path = require("node:path");
    let server;
    let base;
    const calls = [];
    before(async () => {
      server = http.createServer((req, res) => {
        res.statusCode = 404;
        res.end();
      });
      await new Promise((r) => server.listen(0, "127.0.0.1", r));
      base = `http://127.0.0.1:${server.address().port}`;
      soap.listen(
        server,
        "/erp",
        {
          ErpService: {
            ErpPort: {
              Login: (args) => {
                calls.push(["Login", args.user]);
                if (args.user !== "ops" || args.password !== "p&ss<word>")
                  throw { Fault: { faultcode: "soap:Client", faultstring: "Login refused" } };
                return { sessionId: "sess-4711" };
              },
              GetStock: (args, cb, headers) => {
                calls.push(["GetStock", args.warehouse, headers && headers.Session]);
                if (!headers || headers.Session !== "sess-4711")
                  throw { Fault: { faultcode: "soap:Client", faultstring: "No session" } };
                return {
                  item: [
                    { sku: "A & B", qty: 3 },
                    { sku: "C", qty: 0 },
                  ],
                };
              },
            },
          },
        },
        fs.readFileSync(path.join(__dirname, "..", "fixtures", "erp.wsdl"), "utf8"),
      );
    });
    after(() => new Promise((r) => server.close(r)));

    const envelope = (header, body) =>
      `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:e="http://erp.example.com/ws"><soap:Header>${header}</soap:Header><soap:Body>${body}</soap:Body></soap:Envelope>`;
    const def = () =>
      validateDefinition({
        id: "erp",
        name: "Legacy ERP (SOAP)",
        version: "1.0.0",
        baseUrl: "{{vars.url}}",
        variables: [
          { key: "url", label: "URL" },
          { key: "user", label: "User" },
          { key: "password", label: "Password", secret: true },
        ],
        auth: [
          {
            type: "session",
            inject: "body",
            tokenPath: "Envelope.Body.LoginResponse.sessionId",
            login: {
              method: "POST",
              path: "/erp",
              bodyFormat: "xml",
              headers: {
                SOAPAction: '"http://erp.example.com/ws/Login"',
                "content-type": "text/xml; charset=utf-8",
              },
              body: envelope(
                "",
                "<e:LoginRequest><e:user>{{vars.user}}</e:user><e:password>{{vars.password}}</e:password></e:LoginRequest>",
              ),
            },
          },
        ],
        endpoints: [
          {
            id: "stock",
            name: "Stock",
            direction: "receive",
            method: "POST",
            path: "/erp",
            bodyFormat: "xml",
            format: "xml",
            headers: {
              SOAPAction: '"http://erp.example.com/ws/GetStock"',
              "content-type": "text/xml; charset=utf-8",
            },
            parameters: [{ key: "warehouse", label: "Warehouse", in: "query" }],
            body: envelope(
              "<e:Session>{{auth.token}}</e:Session>",
              "<e:GetStockRequest><e:warehouse>{{params.warehouse}}</e:warehouse></e:GetStockRequest>",
            ),
            records: "Envelope.Body.GetStockResponse.item",
          },
        ],
      });

    it("logs in with an envelope, injects the session into the SOAP header, and reads the XML answer as JSON", async function () {
      const c = new ConnectorClient(def(), instance({ url: base, user: "ops", password: "p&ss<word>" }));
      const pages = await collect(c.receive("stock", { params: { warehouse: "LDS <north>" } }));
      assert.deepEqual(pages[0].records, [
        { sku: "A & B", qty: 3 },
        { sku: "C", qty: 0 },
      ]);
      assert.deepEqual(
        calls.slice(-2),
        [
          ["Login", "ops"],
          ["GetStock", "LDS <north>", "sess-4711"],
        ],
        "values are XML-escaped into the envelopes",
      );
    });

    it("reports a SOAP fault with its message and without the password", async function () {
      const c = new ConnectorClient(def(), instance({ url: base, user: "ops", password: "wrong-password" }));
      await assert.rejects(
        collect(c.receive("stock")),
        (err) =>
          /could not get a token: POST .*\/erp answered (500: .*|a SOAP fault: )Login refused/.test(
            err.message,
          ) && !err.message.includes("wrong-password"),
      );
    });
  });

  describe("OAuth 2 client credentials (a real OAuth 2 server)", function () {
    let oauth;
    let api;
    before(async () => {
      oauth = new OAuth2Server();
      await oauth.issuer.keys.generate("RS256");
      await oauth.start(0, "127.0.0.1");
      api = await startServer((req) =>
        (req.headers.authorization ?? "").startsWith("Bearer ey")
          ? { body: [{ id: 1 }] }
          : { status: 401, body: {} },
      );
    });
    after(async () => {
      await oauth.stop();
      await api.close();
    });

    it("gets a token with the client's id and secret, caches it, and sends it as a bearer token", async function () {
      const tokenUrl = `http://127.0.0.1:${oauth.address().port}/token`;
      const grants = [];
      oauth.service.on("beforeTokenSigning", (token, req) => grants.push(req.body));
      const def = validateDefinition({
        id: "cc",
        name: "Client credentials API",
        version: "1.0.0",
        baseUrl: "{{vars.url}}",
        variables: [
          { key: "url", label: "URL" },
          { key: "clientId", label: "Client id" },
          { key: "clientSecret", label: "Client secret", secret: true },
        ],
        auth: [
          {
            type: "oauth2_client_credentials",
            tokenUrl,
            clientId: "{{vars.clientId}}",
            clientSecret: "{{vars.clientSecret}}",
            scope: "orders:read",
          },
        ],
        endpoints: [{ id: "orders", name: "Orders", direction: "receive", method: "GET", path: "/orders" }],
      });
      const c = new ConnectorClient(
        def,
        instance({ url: api.base, clientId: "flow-app", clientSecret: "cc-secret-value" }),
      );
      await collect(c.receive("orders"));
      await collect(c.receive("orders"));
      assert.equal(grants.length, 1, "the token is cached");
      assert.equal(grants[0].grant_type, "client_credentials");
      assert.equal(grants[0].client_id, "flow-app");
      assert.equal(grants[0].scope, "orders:read");
      assert.ok(c.secrets().includes("cc-secret-value"));
      assert.ok(
        c.secrets().some((s) => s.startsWith("ey")),
        "the fetched token is kept out of logs too",
      );
    });
  });
});

describe("token store", function () {
  const fs = require("node:fs");
  const os = require("node:os");
  const path = require("node:path");
  const { TokenStore } = lib("connectors/token-store");

  it("keeps a file it cannot read aside, says so naming it, and never overwrites it", async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-tokens-"));
    const file = path.join(dir, "tokens.json");
    fs.writeFileSync(file, '{"iv":"broken');
    const warnings = [];
    const store = new TokenStore(file, "secret", (m) => warnings.push(m));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /tokens\.json cannot be read .* moved to .*tokens\.json\.unreadable-\d+/);
    const aside = fs.readdirSync(dir).find((f) => f.startsWith("tokens.json.unreadable-"));
    assert.equal(fs.readFileSync(path.join(dir, aside), "utf8"), '{"iv":"broken', "kept as it was");
    await store.set("inst", { accessToken: "a" });
    assert.equal(fs.readFileSync(path.join(dir, aside), "utf8"), '{"iv":"broken', "still not overwritten");
    assert.equal(new TokenStore(file, "secret").get("inst").accessToken, "a");
  });

  it("treats an instance id as a key only, __proto__ included", async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-tokens-"));
    const store = new TokenStore(path.join(dir, "tokens.json"), "secret");
    assert.equal(store.get("__proto__"), undefined);
    assert.equal(store.get("constructor"), undefined);
    await store.set("__proto__", { accessToken: "p" });
    assert.equal({}.accessToken, undefined);
    assert.equal(new TokenStore(path.join(dir, "tokens.json"), "secret").get("__proto__").accessToken, "p");
  });
});
