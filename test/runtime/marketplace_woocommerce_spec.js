// WooCommerce's prebuilt connector end to end: every endpoint through a pw-connection shape in a
// real runtime, on an instance using OAuth 1.0a over plain HTTP (the key and secret passed as
// the editor sends them), against demo/fakes/woocommerce.js, which checks every signature. Each
// endpoint first meets a 429 with Retry-After that the shape waits out.
const assert = require("node:assert/strict");
const { endToEnd } = require("../support/marketplace");
const { startWooCommerce } = require("../../demo/fakes/woocommerce");

const CK = "ck_e2e_consumer_key";
const CS = "cs_e2e_consumer_secret";
const range = (n, f) => Array.from({ length: n }, (_, i) => f(i));
const pagesOf = (pages) => pages.map((p) => p.payload.length);
const refused = (failed, pattern, status = 400) => {
  assert.equal(failed.length, 1, JSON.stringify(failed));
  assert.match(failed[0].error, pattern);
  assert.equal(failed[0].status, status);
  assert.equal(failed[0].outcome, "refused");
};
const withFailures = "completed with failures";

const CASES = {
  "list-orders": {
    check: ({ records, pages, fake }) => {
      assert.deepEqual(pagesOf(pages), [100, 50]);
      assert.deepEqual(
        records.map((o) => o.id),
        fake.store.orders.slice(0, 150).map((o) => o.id),
      );
    },
  },
  "list-customers": {
    check: ({ records, pages }) => {
      assert.deepEqual(pagesOf(pages), [100, 10]);
      assert.equal(new Set(records.map((c) => c.email)).size, 110);
    },
  },
  "list-products": {
    check: ({ records, pages }) => {
      assert.deepEqual(pagesOf(pages), [100, 1]);
      assert.equal(records[0].name, "Product 0");
    },
  },
  "list-variations": {
    opts: (fake) => ({ params: { product_id: fake.store.products[0].id } }),
    check: ({ records, pages, fake }) => {
      assert.deepEqual(pagesOf(pages), [100, 5]);
      assert.deepEqual(
        records.map((v) => v.id),
        fake.store.variations.get(fake.store.products[0].id).map((v) => v.id),
      );
    },
  },
  "create-order": {
    opts: (fake) => ({
      payload: [
        { status: "processing", line_items: [{ product_id: fake.store.products[1].id, quantity: 2 }] },
        { line_items: [{ product_id: 999999, quantity: 1 }] },
      ],
    }),
    status: withFailures,
    check: ({ records, failed, fake }) => {
      const made = fake.store.orders.find((o) => o.id === records[0].id);
      assert.equal(made.line_items[0].quantity, 2);
      refused(failed, /answered 400: .*Product ID provided is invalid/);
    },
  },
  "update-order": {
    opts: (fake) => ({
      payload: [
        { id: fake.store.orders[0].id, status: "completed" },
        { id: 999999, status: "completed" },
      ],
    }),
    status: withFailures,
    check: ({ fake, failed }) => {
      assert.equal(fake.store.orders[0].status, "completed");
      refused(failed, /answered 404: .*Invalid ID/, 404);
    },
  },
  "batch-create-orders": {
    payload: [
      { status: "pending", customer_note: "batch one" },
      { line_items: [{ product_id: 999999 }] },
      { status: "pending", customer_note: "batch three" },
    ],
    status: withFailures,
    check: ({ fake, failed }) => {
      assert.deepEqual(
        fake.store.orders.filter((o) => /^batch/.test(o.customer_note ?? "")).map((o) => o.customer_note),
        ["batch one", "batch three"],
      );
      assert.equal(failed.length, 1);
      assert.deepEqual(failed[0].record, { line_items: [{ product_id: 999999 }] });
      assert.match(failed[0].error, /Product ID provided is invalid/);
    },
  },
  "batch-update-orders": {
    opts: (fake) => ({
      payload: [
        { id: fake.store.orders[1].id, status: "on-hold" },
        { id: 999999, status: "on-hold" },
      ],
    }),
    status: withFailures,
    check: ({ fake, failed }) => {
      assert.equal(fake.store.orders[1].status, "on-hold");
      assert.equal(failed.length, 1);
      assert.equal(failed[0].record.id, 999999);
      assert.match(failed[0].error, /Invalid ID/);
    },
  },
  "create-customer": {
    payload: [{ email: "new@e2e.test", first_name: "New" }, { first_name: "No email" }],
    status: withFailures,
    check: ({ fake, failed }) => {
      assert.equal(fake.store.customers.find((c) => c.email === "new@e2e.test").first_name, "New");
      refused(failed, /Missing parameter\(s\): email/);
    },
  },
  "update-customer": {
    opts: (fake) => ({
      payload: [
        { id: fake.store.customers[0].id, first_name: "Renamed" },
        { id: fake.store.customers[1].id, email: fake.store.customers[2].email },
      ],
    }),
    status: withFailures,
    check: ({ fake, failed }) => {
      assert.equal(fake.store.customers[0].first_name, "Renamed");
      refused(failed, /already registered with your email/);
    },
  },
  "batch-create-customers": {
    payload: [{ email: "b1@e2e.test" }, { email: "c0@x.com" }, { email: "b3@e2e.test" }],
    status: withFailures,
    check: ({ fake, failed }) => {
      assert.ok(["b1@e2e.test", "b3@e2e.test"].every((e) => fake.store.customers.some((c) => c.email === e)));
      assert.equal(failed.length, 1);
      assert.equal(failed[0].record.email, "c0@x.com");
      assert.match(failed[0].error, /already registered/);
    },
  },
  "batch-update-customers": {
    opts: (fake) => ({
      payload: [
        { id: fake.store.customers[3].id, last_name: "Batched" },
        { id: 999999, last_name: "Nobody" },
      ],
    }),
    status: withFailures,
    check: ({ fake, failed }) => {
      assert.equal(fake.store.customers[3].last_name, "Batched");
      assert.equal(failed[0].record.id, 999999);
      assert.match(failed[0].error, /Invalid ID/);
    },
  },
  "batch-update-products": {
    opts: (fake) => ({
      payload: [
        { id: fake.store.products[2].id, regular_price: "9.99" },
        { id: 999999, regular_price: "1.00" },
      ],
    }),
    status: withFailures,
    check: ({ fake, failed }) => {
      assert.equal(fake.store.products[2].regular_price, "9.99");
      assert.equal(failed[0].record.id, 999999);
      assert.match(failed[0].error, /Invalid ID/);
    },
  },
  "update-variations-stock": {
    opts: (fake) => {
      const [v0, v1] = fake.store.variations.get(fake.store.products[0].id);
      return {
        params: { product_id: fake.store.products[0].id },
        payload: [
          { id: v0.id, stock_quantity: 5 },
          { id: v1.id, stock_quantity: "lots" },
        ],
      };
    },
    status: withFailures,
    check: ({ fake, failed }) => {
      const [v0] = fake.store.variations.get(fake.store.products[0].id);
      assert.equal(v0.stock_quantity, 5);
      assert.equal(failed[0].record.stock_quantity, "lots");
      assert.match(failed[0].error, /Invalid parameter\(s\): stock_quantity/);
    },
  },
};

endToEnd({
  title: "WooCommerce",
  connector: "woocommerce",
  start: () =>
    startWooCommerce({
      consumerKey: CK,
      consumerSecret: CS,
      orders: range(150, (i) => ({ status: "pending", total: String(i) })),
      customers: range(110, (i) => ({ email: `c${i}@x.com`, first_name: `C${i}` })),
      products: range(101, (i) => ({
        name: `Product ${i}`,
        variations: i === 0 ? range(105, (j) => ({ sku: `V-${j}`, stock_quantity: 1 })) : [],
      })),
    }),
  instance: (fake) => ({
    connector: "woocommerce",
    auth: 1,
    vars: { storeUrl: fake.base },
    secretSlots: { consumerKey: 0, consumerSecret: 1 },
    credentials: { secret_0: CK, secret_1: CS },
  }),
  cases: CASES,
  tooMany: (fake) => fake.failNext(1, 429),
  retryAfterMs: 1000,
  secrets: [CS],
  more(ctx) {
    it("retries a list that met a 5xx and ends with every record", async function () {
      ctx.fake.failNext(1, 503);
      const out = await ctx.call("list-customers");
      assert.equal(out.run.status, "succeeded");
      assert.equal(out.requests[0].attempts, 2);
      assert.ok(out.records.length >= 110);
    });

    it("retries an update (PUT) that met a 5xx, and reports a create (POST) that met one as of unknown outcome", async function () {
      ctx.fake.failNext(1, 500);
      const put = await ctx.call("update-customer", {
        payload: [{ id: ctx.fake.store.customers[5].id, first_name: "After a 500" }],
      });
      assert.equal(put.run.status, "succeeded");
      assert.equal(ctx.fake.store.customers[5].first_name, "After a 500");
      ctx.fake.failNext(1, 500);
      const post = await ctx.call("create-customer", { payload: [{ email: "maybe@e2e.test" }] });
      assert.equal(post.failed[0].outcome, "unknown");
      assert.equal(post.run.status, withFailures);
    });
  },
});
