// Shopify's prebuilt connector end to end: every endpoint (REST and GraphQL) through a
// pw-connection shape in a real runtime, on an instance whose Admin API token goes through the
// admin API as the editor sends it, against demo/fakes/shopify.js. REST endpoints first meet
// Shopify's 429 with Retry-After; GraphQL endpoints first meet an empty cost bucket (Shopify
// answers THROTTLED with a 200), and the shape waits for it to refill.
const assert = require("node:assert/strict");
const { endToEnd } = require("../support/marketplace");
const { startShopify } = require("../../demo/fakes/shopify");

const TOKEN = "shpat_e2e_admin_api_token";
const withFailures = "completed with failures";
const range = (n, f) => Array.from({ length: n }, (_, i) => f(i));
const sizes = (pages) => pages.map((p) => p.payload.length);
const gid = (type, id) => `gid://shopify/${type}/${id}`;
const refusedOne = (failed, pattern, status) => {
  assert.equal(failed.length, 1, JSON.stringify(failed));
  assert.match(failed[0].error, pattern);
  if (status) assert.equal(failed[0].status, status);
  assert.equal(failed[0].outcome, "refused");
};
// GraphQL's rate limit: another app empties the bucket just before the first query, which is
// THROTTLED; the shape tries again once the bucket has refilled enough.
const throttled = (fake) => {
  const before = fake.gql.throttled;
  fake.drainBeforeNext(1);
  return () => assert.equal(fake.gql.throttled, before + 1, "one query was throttled, then went through");
};

const orders = range(300, (i) => ({
  id: 450789000 + i,
  name: `#${1001 + i}`,
  email: `o${i}@x.com`,
  created_at: "2026-11-27T10:00:00Z",
  updatedAt: "2026-11-27T10:00:00Z",
}));
// The order the refund case refunds: two of one line item, one of another.
Object.assign(orders[5], {
  line_items: [
    { id: 466157049, variant_id: 39072856, quantity: 2, price: "199.00" },
    { id: 518995019, variant_id: 49148385, quantity: 1, price: "9.50" },
  ],
});
const CASES = {
  "list-orders": {
    check: ({ pages, records }) => {
      assert.deepEqual(sizes(pages), [250, 50]);
      assert.deepEqual(
        records.map((o) => o.id),
        orders.map((o) => o.id),
      );
    },
  },
  "list-customers": { check: ({ pages }) => assert.deepEqual(sizes(pages), [250, 10]) },
  "create-order": {
    payload: [
      { email: "new@s.test", line_items: [{ variant_id: 447654529, quantity: 1 }] },
      { email: "empty@s.test", line_items: [] },
    ],
    status: withFailures,
    check: ({ fake, failed }) => {
      assert.equal(fake.created.at(-1).email, "new@s.test");
      refusedOne(failed, /answered 422: .*must have at least one line item/, 422);
    },
  },
  "update-order": {
    payload: [
      { id: orders[0].id, note: "updated e2e", tags: "e2e" },
      { id: 1, note: "nobody" },
    ],
    status: withFailures,
    check: ({ fake, failed }) => {
      assert.equal(fake.orders[0].note, "updated e2e");
      refusedOne(failed, /answered 404/, 404);
    },
  },
  "list-products": {
    check: ({ pages, records }) => {
      assert.deepEqual(sizes(pages), [250, 5]);
      assert.equal(records[0].title, "Product 0");
    },
  },
  "list-inventory-levels": {
    params: { location_ids: "1" },
    check: ({ pages, records }) => {
      assert.deepEqual(sizes(pages), [250, 10]);
      assert.ok(records.every((l) => l.location_id === 1));
    },
  },
  "set-inventory-level": {
    payload: [
      { location_id: 1, inventory_item_id: 5, available: 42 },
      { location_id: 1, inventory_item_id: 999999, available: 1 },
    ],
    status: withFailures,
    check: ({ fake, failed }) => {
      const level = fake.inventoryLevels.find((l) => l.location_id === 1 && l.inventory_item_id === 5);
      assert.equal(level.available, 42);
      refusedOne(failed, /answered 422: .*Inventory item does not have inventory tracking enabled/, 422);
    },
  },
  "graphql-list-orders": {
    tooMany: throttled,
    check: ({ pages, records }) => {
      assert.equal(pages.length, 12, "25 a page");
      assert.equal(records.length, 300);
    },
  },
  "graphql-list-customers": {
    tooMany: throttled,
    check: ({ pages }) => assert.deepEqual(sizes(pages), [100, 100, 60]),
  },
  "graphql-list-products": {
    tooMany: throttled,
    check: ({ pages, records }) => {
      assert.deepEqual(sizes(pages), [10, 10, 5]);
      assert.equal(records[0].variants.nodes[0].sku, "SKU-0-0");
    },
  },
  "graphql-list-variants": {
    tooMany: throttled,
    check: ({ pages }) => assert.deepEqual(sizes(pages), [100, 50]),
  },
  "graphql-list-inventory-levels": {
    tooMany: throttled,
    params: { location: gid("Location", 1) },
    check: ({ pages, records }) => {
      assert.deepEqual(sizes(pages), [100, 100, 60]);
      assert.equal(records[0].item.id, gid("InventoryItem", 0));
      assert.equal(records[0].quantities[0].name, "available");
    },
  },
  "graphql-set-inventory": {
    tooMany: throttled,
    payload: [
      { inventoryItemId: gid("InventoryItem", 7), locationId: gid("Location", 1), quantity: 9 },
      { inventoryItemId: gid("InventoryItem", 8), locationId: gid("Location", 1), quantity: 3 },
    ],
    check: ({ fake }) =>
      assert.deepEqual(
        fake.inventory.slice(-2).map((q) => [q.inventoryItemId, q.quantity, q.name]),
        [
          [gid("InventoryItem", 7), 9, "available"],
          [gid("InventoryItem", 8), 3, "available"],
        ],
      ),
  },
  "graphql-create-fulfillment": {
    tooMany: throttled,
    payload: [
      {
        lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: gid("FulfillmentOrder", 1) }],
        trackingInfo: { number: "1Z999", company: "UPS" },
      },
      { lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: gid("FulfillmentOrder", 2) }] },
    ],
    status: withFailures,
    check: ({ fake, failed }) => {
      assert.deepEqual(fake.fulfillments.at(-1).trackingInfo, [
        { company: "UPS", number: "1Z999", url: null },
      ]);
      assert.equal(fake.fulfillmentOrders[0].status, "CLOSED");
      refusedOne(failed, /unfulfillable status= closed/);
    },
  },
  "graphql-create-order": {
    tooMany: throttled,
    payload: [
      { email: "gql@s.test", lineItems: [{ variantId: gid("ProductVariant", 1), quantity: 1 }] },
      { email: "nolines@s.test" },
    ],
    status: withFailures,
    check: ({ fake, failed }) => {
      assert.equal(fake.created.at(-1).email, "gql@s.test");
      refusedOne(failed, /Line items must have at least one line item/);
      assert.equal(failed[0].record.email, "nolines@s.test");
    },
  },
  "get-order": {
    params: { order_id: orders[7].id },
    check: ({ records }) => assert.deepEqual([records.length, records[0].name], [1, "#1008"]),
  },
  "list-fulfillment-orders": {
    params: { order_id: orders[4].id },
    check: ({ records }) =>
      // The first was closed by graphql-create-fulfillment above.
      assert.deepEqual(
        records.map((f) => [gid("FulfillmentOrder", f.id), f.order_id, f.status]),
        [
          [gid("FulfillmentOrder", 1), orders[4].id, "closed"],
          [gid("FulfillmentOrder", 2), orders[4].id, "closed"],
        ],
      ),
  },
  "create-refund": {
    payload: [
      {
        order_id: orders[5].id,
        note: "damaged",
        refund_line_items: [{ line_item_id: 466157049, quantity: 1, restock_type: "return" }],
      },
      {
        order_id: orders[5].id,
        refund_line_items: [{ line_item_id: 466157049, quantity: 1, restock_type: "no_restock" }],
      },
      // Both of the first line item are refunded already.
      {
        order_id: orders[5].id,
        refund_line_items: [{ line_item_id: 466157049, quantity: 1, restock_type: "no_restock" }],
      },
    ],
    status: withFailures,
    check: ({ fake, records, failed }) => {
      assert.deepEqual(
        fake.refunds.map((r) => [r.order_id, r.refund_line_items[0].quantity]),
        [
          [orders[5].id, 1],
          [orders[5].id, 1],
        ],
      );
      assert.equal(fake.refunds[0].note, "damaged");
      assert.deepEqual(
        records.map((r) => r.refund.id),
        fake.refunds.map((r) => r.id),
      );
      refusedOne(failed, /answered 422: .*cannot refund more items than were purchased/, 422);
    },
  },
  "graphql-set-product": {
    tooMany: throttled,
    payload: [
      {
        handle: "e2e-tee",
        title: "E2E Tee",
        productOptions: [{ name: "Size", values: [{ name: "S" }, { name: "M" }] }],
        variants: [
          { optionValues: [{ optionName: "Size", name: "S" }], sku: "TEE-S", price: "10.00" },
          { optionValues: [{ optionName: "Size", name: "M" }], sku: "TEE-M", price: "10.00" },
        ],
      },
      // The same handle again: the product is updated, the M variant deleted, S kept.
      {
        handle: "e2e-tee",
        title: "E2E Tee (v2)",
        productOptions: [{ name: "Size", values: [{ name: "S" }] }],
        variants: [{ optionValues: [{ optionName: "Size", name: "S" }], sku: "TEE-S2", price: "12.00" }],
      },
      {
        handle: "e2e-bad",
        title: "Bad",
        productOptions: [{ name: "Size", values: [{ name: "S" }] }],
        variants: [{ optionValues: [{ optionName: "Size", name: "XL" }], sku: "BAD-XL" }],
      },
    ],
    status: withFailures,
    check: ({ fake, records, failed }) => {
      const tees = fake.products.filter((p) => p.handle === "e2e-tee");
      assert.equal(tees.length, 1, "one product for one handle");
      assert.deepEqual(
        fake.productSets.filter((p) => p.handle === "e2e-tee").map((p) => p.created),
        [true, false],
      );
      assert.equal(tees[0].title, "E2E Tee (v2)");
      assert.deepEqual(
        tees[0].variants.nodes.map((v) => [v.sku, v.price]),
        [["TEE-S2", "12.00"]],
      );
      // The S variant kept its id and inventory item across both sets.
      // Each answer lists the variants with their SKU and inventory item (what setting stock
      // needs); the S variant keeps its id and inventory item across both sets.
      const [first, second] = records.map((r) => r.data.productSet.product);
      assert.equal(first.id, second.id);
      assert.deepEqual(
        first.variants.nodes.map((v) => v.sku),
        ["TEE-S", "TEE-M"],
      );
      assert.deepEqual(second.variants.nodes, [{ ...first.variants.nodes[0], sku: "TEE-S2" }]);
      assert.equal(tees[0].variants.nodes[0].inventoryItem.id, first.variants.nodes[0].inventoryItem.id);
      assert.ok(!fake.products.some((p) => p.handle === "e2e-bad"), "a refused set makes nothing");
      refusedOne(failed, /Option value 'XL' of option 'Size' is not in productOptions/);
    },
  },
};

endToEnd({
  title: "Shopify",
  connector: "shopify",
  start: () =>
    startShopify({
      token: TOKEN,
      orders,
      customers: range(260, (i) => ({
        id: 207119000 + i,
        email: `c${i}@x.com`,
        updated_at: "2026-11-27T10:00:00Z",
        updatedAt: "2026-11-27T10:00:00Z",
      })),
      restProducts: range(255, (i) => ({ id: 632910000 + i, title: `Product ${i}`, status: "active" })),
      inventoryLevels: range(260, (i) => ({
        inventory_item_id: i,
        location_id: 1,
        available: 1,
        sku: `SKU-${i}`,
        updated_at: "2026-11-27T10:00:00Z",
      })),
      products: range(25, (i) => ({
        id: gid("Product", i),
        title: `Product ${i}`,
        updatedAt: "2026-11-27T10:00:00Z",
        variants: { nodes: [{ id: gid("ProductVariant", i), sku: `SKU-${i}-0` }] },
      })),
      variants: range(150, (i) => ({
        id: gid("ProductVariant", i),
        sku: `V-${i}`,
        updatedAt: "2026-11-27T10:00:00Z",
      })),
      fulfillmentOrders: [
        { id: gid("FulfillmentOrder", 1), status: "OPEN", orderId: orders[4].id },
        { id: gid("FulfillmentOrder", 2), status: "CLOSED", orderId: orders[4].id },
      ],
      restoreRate: 1000,
    }),
  instance: (fake) => ({
    connector: "shopify",
    vars: { shop: new URL(fake.base).host, scheme: "http" },
    secretSlots: { token: 0 },
    credentials: { secret_0: TOKEN },
  }),
  cases: CASES,
  tooMany: (fake) => fake.failNext(1, 429),
  retryAfterMs: 1000,
  secrets: [TOKEN],
  more(ctx) {
    it("refuses a whole inventory set when one quantity is wrong (Shopify applies none), naming the record", async function () {
      const before = ctx.fake.inventory.length;
      const out = await ctx.call("graphql-set-inventory", {
        payload: [
          { inventoryItemId: gid("InventoryItem", 9), locationId: gid("Location", 1), quantity: 1 },
          { inventoryItemId: "not-an-item", locationId: gid("Location", 1), quantity: 1 },
        ],
      });
      assert.equal(out.run.status, withFailures);
      assert.equal(out.failed.length, 2, "atomic: both records failed");
      assert.ok(out.failed.some((f) => /The specified inventory item could not be found/.test(f.error)));
      assert.equal(ctx.fake.inventory.length, before, "nothing applied");
    });

    it("retries a GET and a PUT that met a 5xx, and reports a POST that met one as of unknown outcome", async function () {
      ctx.fake.failNext(1, 503);
      const get = await ctx.call("list-products");
      assert.equal(get.run.status, "succeeded");
      assert.equal(get.requests[0].attempts, 2);
      ctx.fake.failNext(1, 500);
      const put = await ctx.call("update-order", { payload: [{ id: orders[1].id, note: "after a 500" }] });
      assert.equal(put.run.status, "succeeded");
      assert.equal(ctx.fake.orders[1].note, "after a 500");
      ctx.fake.failNext(1, 502);
      const post = await ctx.call("create-order", {
        payload: [{ email: "maybe@s.test", line_items: [{ variant_id: 1, quantity: 1 }] }],
      });
      assert.deepEqual([post.failed[0].outcome, post.failed[0].status], ["unknown", 502]);
    });
  },
});
