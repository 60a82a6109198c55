// NetSuite's prebuilt connector end to end: every endpoint through a pw-connection shape in a
// real runtime, on an instance whose four token-based-auth secrets go through the admin API as
// the editor sends them, against demo/fakes/netsuite.js (which recomputes every OAuth 1.0a
// signature). Each endpoint first meets NetSuite's 429 CONCURRENCY_LIMIT_EXCEEDED (no
// Retry-After), which the shape backs off from.
const assert = require("node:assert/strict");
const { endToEnd } = require("../support/marketplace");
const { startNetSuite } = require("../../demo/fakes/netsuite");

const keys = {
  consumerKey: "ck-e2e",
  consumerSecret: "cs-e2e-secret",
  token: "tk-e2e",
  tokenSecret: "ts-e2e-secret",
};
const withFailures = "completed with failures";
const customers = Array.from({ length: 1005 }, (_, i) => ({
  id: String(i + 1),
  companyName: `Co ${i}`,
  email: `c${i}@x.com`,
}));
const salesOrders = [1, 2, 3].map((i) => ({ id: `50${i}`, entity: { id: "1" }, tranId: `SO${i}` }));
const items = [1, 2, 3].map((i) => ({ id: `31${i}`, itemId: `ITEM-${i}`, quantityOnHand: 1 }));
const pageSizes = (pages) => pages.map((p) => p.payload.length);

const CASES = {
  "list-customers": {
    check: ({ records, pages }) => {
      assert.deepEqual(pageSizes(pages), [1000, 5]);
      assert.deepEqual(
        records.map((r) => r.id),
        customers.map((c) => c.id),
      );
    },
  },
  "get-customer": {
    params: { id: "42" },
    check: ({ records }) => assert.equal(records[0].companyName, "Co 41"),
  },
  "list-sales-orders": {
    check: ({ records }) =>
      assert.deepEqual(
        records.map((r) => r.id),
        ["501", "502", "503"],
      ),
  },
  "get-sales-order": {
    params: { id: "502" },
    check: ({ records }) => assert.equal(records[0].tranId, "SO2"),
  },
  "list-inventory-items": {
    check: ({ records }) =>
      assert.deepEqual(
        records.map((r) => r.id),
        ["311", "312", "313"],
      ),
  },
  "get-inventory-item": {
    params: { id: "313" },
    check: ({ records }) => assert.equal(records[0].itemId, "ITEM-3"),
  },
  "create-customer": {
    payload: [{ companyName: "Made E2E", email: "made@e2e.test" }, { email: "nameless@e2e.test" }],
    status: withFailures,
    check: ({ fake, failed }) => {
      assert.equal(fake.data.customer.find((c) => c.companyName === "Made E2E").email, "made@e2e.test");
      assert.equal(failed.length, 1);
      assert.equal(failed[0].status, 400);
      assert.match(failed[0].error, /Please enter value\(s\) for: companyName/);
      assert.equal(failed[0].outcome, "refused");
    },
  },
  "update-customer": {
    payload: [
      { id: "7", phone: "+44 7" },
      { id: "8", email: "not an email" },
    ],
    status: withFailures,
    check: ({ fake, failed }) => {
      assert.equal(fake.data.customer.find((c) => c.id === "7").phone, "+44 7");
      assert.match(failed[0].error, /Invalid email address: not an email/);
      assert.equal(fake.data.customer.find((c) => c.id === "8").email, "c7@x.com");
    },
  },
  "create-sales-order": {
    payload: [
      { entity: { id: "1" }, item: { items: [{ item: { id: "311" }, quantity: 2 }] } },
      { item: { items: [] } },
    ],
    status: withFailures,
    check: ({ fake, records, failed }) => {
      // Prefer: respond-async: NetSuite answers 202 with the job that will make the order.
      assert.match(records[0].location, /\/async\/v1\/job\/\d+$/);
      const job = fake.jobs.get(records[0].location.split("/").pop());
      assert.deepEqual(job.body.entity, { id: "1" });
      assert.match(failed[0].error, /Please enter value\(s\) for: entity/);
    },
  },
  "update-inventory-item": {
    payload: [
      { id: "312", quantityOnHand: 40 },
      { id: "999", quantityOnHand: 1 },
    ],
    status: withFailures,
    check: ({ fake, failed }) => {
      assert.equal(fake.data.inventoryItem.find((i) => i.id === "312").quantityOnHand, 40);
      assert.equal(failed[0].status, 404);
      assert.match(failed[0].error, /The record instance does not exist/);
    },
  },
  "upsert-sales-order": {
    // Sent twice: the second finds the first by its external id and updates it, never a second order.
    payload: [
      { externalId: "shopify-order-1001", entity: { id: "1" }, otherRefNum: "#1001", memo: "first" },
      { externalId: "shopify-order-1001", memo: "again" },
      { externalId: "shopify-order-1002", memo: "no customer" },
    ],
    status: withFailures,
    check: ({ fake, records, failed }) => {
      const made = fake.data.salesOrder.filter((o) => o.externalId === "shopify-order-1001");
      assert.equal(made.length, 1, "one order for one external id");
      assert.deepEqual([made[0].otherRefNum, made[0].memo], ["#1001", "again"]);
      assert.deepEqual(
        fake.upserts.map((u) => [u.externalId, u.created]),
        [
          ["shopify-order-1001", true],
          ["shopify-order-1001", false],
        ],
      );
      // 204 with a Location either way, whose last part is the order's internal id.
      assert.deepEqual(
        records.map((r) => r.location.split("/").pop()),
        [made[0].id, made[0].id],
      );
      assert.equal(failed.length, 1);
      assert.equal(failed[0].status, 400);
      assert.match(failed[0].error, /Please enter value\(s\) for: entity/);
      assert.equal(failed[0].outcome, "refused");
      assert.ok(!fake.data.salesOrder.some((o) => o.externalId === "shopify-order-1002"));
    },
  },
  suiteql: {
    params: { q: "SELECT id, companyName FROM customer ORDER BY id" },
    check: ({ records, pages }) => {
      assert.deepEqual(pageSizes(pages), [1000, 6], "every customer, the one made above included");
      assert.deepEqual(records[0], { links: [], id: "1", companyname: "Co 0" });
    },
  },
};

endToEnd({
  title: "NetSuite",
  connector: "netsuite",
  start: () =>
    startNetSuite({
      ...keys,
      records: { customer: customers, salesOrder: salesOrders, inventoryItem: items },
    }),
  instance: (fake) => ({
    connector: "netsuite",
    vars: { accountId: "1234567-sb1", host: fake.base },
    secretSlots: { consumerKey: 0, consumerSecret: 1, tokenId: 2, tokenSecret: 3 },
    credentials: {
      secret_0: keys.consumerKey,
      secret_1: keys.consumerSecret,
      secret_2: keys.token,
      secret_3: keys.tokenSecret,
    },
  }),
  cases: CASES,
  tooMany: (fake) => fake.failNext(1, 429),
  secrets: [keys.consumerSecret, keys.tokenSecret],
  more(ctx) {
    it("retries a GET that met a 5xx, and reports a PATCH that met one as of unknown outcome", async function () {
      ctx.fake.failNext(1, 503);
      const get = await ctx.call("get-customer", { params: { id: "3" } });
      assert.equal(get.run.status, "succeeded");
      assert.deepEqual([get.requests[0].attempts, get.records[0].companyName], [2, "Co 2"]);
      ctx.fake.failNext(1, 500);
      const patch = await ctx.call("update-customer", { payload: [{ id: "3", phone: "+1" }] });
      assert.deepEqual([patch.failed[0].outcome, patch.failed[0].status], ["unknown", 500]);
      assert.equal(patch.run.status, withFailures);
    });
  },
});
