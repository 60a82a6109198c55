// Descartes Peoplevox's prebuilt connector end to end: every endpoint through a pw-connection
// shape in a real runtime, on an instance whose password goes through the admin API as the
// editor sends it, against demo/fakes/peoplevox.js (a real SOAP server that checks the session
// in every call's UserSessionCredentials header).
//
// How Peoplevox's limit shows: it publishes no rate limit and sends no 429 or rate headers (see
// docs/connectors/peoplevox.md, Limits); the connector holds itself to 5 calls a second per
// instance, and the fake shows a busy service as a SOAP fault (HTTP 500, "Service busy"), as
// Peoplevox documents no throttling answer. So, as the suite allows for vendors without
// rate-limit headers (NetSuite, TikTok Shop: no Retry-After to wait for), each read first meets
// that fault and the shape tries the page again; a send cannot be repeated after a fault
// (SaveData has no idempotency key), so each send first meets what Peoplevox answers before doing
// anything, an expired session (ResponseId -1 in a 200): the shape signs in again once and
// repeats the call. A test of its own checks the 5 calls a second.
const assert = require("node:assert/strict");
const { endToEnd } = require("../support/marketplace");
const { startPeoplevox } = require("../../demo/fakes/peoplevox");

const PASSWORD = "pvx-e2e-secret";
const BASE64 = Buffer.from(PASSWORD).toString("base64");
const withFailures = "completed with failures";
const itemTypes = Array.from({ length: 1100 }, (_, i) => ({
  ItemCode: `PV-${String(i + 1).padStart(4, "0")}`,
  Name: `Item ${i + 1}`,
  Barcode: String(5012345000000 + i),
}));
const inventory = [1, 2, 3].map((i) => ({ ItemCode: `PV-000${i}`, Available: String(i * 7) }));
const orders = [1, 2, 3].map((i) => ({
  SalesOrderNumber: `#100${i}`,
  Email: `buyer${i}@e2e.test`,
  Status: "New",
}));
const despatches = [1, 2, 3].map((i) => ({
  DespatchNumber: `D-000${i}`,
  SalesOrderNumber: `#100${i}`,
  TrackingNumber: `RM${i}GB`,
  DespatchDate: `2026-12-0${i}T10:00:00Z`,
}));
const customers = [1, 2].map((i) => ({ CustomerReference: `C-${i}`, Name: `Customer ${i}` }));
const pageSizes = (pages) => pages.map((p) => p.payload.length);
const operations = (fake, from) => fake.log.slice(from).map((e) => e.operation);
/** The subscription id Peoplevox answered in Detail. */
const subscriptionOf = (answer) => JSON.stringify(answer).match(/"Detail":"?(\d+)/)[1];

/** A send first meets an expired session: signed in again once, the call repeated once. */
const expiredSession = (operation) => (fake) => {
  const from = fake.log.length;
  fake.failNext(1, "expired", 0, operation);
  return () => {
    const ops = operations(fake, from);
    assert.deepEqual(
      ops.slice(0, 4),
      ["Authenticate", operation, "Authenticate", operation],
      "signed in, refused for the expired session, signed in again, then sent once more",
    );
    assert.equal(ops.filter((o) => o === "Authenticate").length, 2, "one sign-in again");
  };
};

const CASES = {
  "list-item-types": {
    check: ({ records, pages, fake }) => {
      assert.deepEqual(pageSizes(pages), [500, 500, 100]);
      assert.deepEqual(
        records.map((r) => r.ItemCode),
        itemTypes.map((i) => i.ItemCode),
      );
      assert.deepEqual(records[0], { ItemCode: "PV-0001", Name: "Item 1", Barcode: "5012345000000" });
      const pulls = fake.calls.filter((c) => c[0] === "GetData").slice(-3);
      assert.deepEqual(
        pulls.map((c) => [c[1], c[2], c[3]]),
        [
          ["Item types", 1, 500],
          ["Item types", 2, 500],
          ["Item types", 3, 500],
        ],
        "no empty page is fetched past TotalCount",
      );
    },
  },
  "list-item-inventory": {
    params: { searchClause: '([ItemCode].Equals("PV-0002"))' },
    check: ({ records }) => assert.deepEqual(records, [{ ItemCode: "PV-0002", Available: "14" }]),
  },
  "list-sales-orders": {
    check: ({ records }) => assert.deepEqual(records, orders),
  },
  "list-despatch-packages": {
    params: { searchClause: '[DespatchDate] >= "2026-12-02"' },
    check: ({ records }) =>
      assert.deepEqual(
        records.map((r) => [r.DespatchNumber, r.TrackingNumber]),
        [
          ["D-0002", "RM2GB"],
          ["D-0003", "RM3GB"],
        ],
      ),
  },
  "get-data": {
    params: { templateName: "Customers" },
    check: ({ records }) => assert.deepEqual(records, customers),
  },
  "save-item-types": {
    tooMany: expiredSession("SaveData"),
    payload: [
      { ItemCode: "NEW-1", Name: 'Tee, "black"', Barcode: "5099" },
      { ItemCode: "NEW-2", Name: "", Barcode: "5098" },
    ],
    status: withFailures,
    check: ({ fake, failed }) => {
      const made = fake.rows("Item types").find((r) => r.ItemCode === "NEW-1");
      assert.equal(made.Name, 'Tee, "black"', "the CSV quoting reads back");
      assert.ok(!fake.rows("Item types").some((r) => r.ItemCode === "NEW-2"));
      assert.equal(failed.length, 1);
      assert.deepEqual(failed[0].record, { ItemCode: "NEW-2", Name: "", Barcode: "5098" });
      assert.match(failed[0].error, /record 2 of 2: Name is required/);
      assert.equal(failed[0].outcome, "refused");
    },
  },
  "save-sales-orders": {
    tooMany: expiredSession("SaveData"),
    payload: [
      { SalesOrderNumber: "#3001", Email: "new@e2e.test", Status: "New" },
      { SalesOrderNumber: "", Email: "nonumber@e2e.test", Status: "New" },
    ],
    status: withFailures,
    check: ({ fake, failed }) => {
      assert.equal(
        fake.rows("Sales orders").find((o) => o.SalesOrderNumber === "#3001").Email,
        "new@e2e.test",
      );
      assert.equal(failed.length, 1);
      assert.match(failed[0].error, /SalesOrderNumber is required/);
      assert.equal(failed[0].outcome, "refused");
    },
  },
  "save-sales-order-lines": {
    tooMany: expiredSession("SaveData"),
    payload: [
      { SalesOrderNumber: "#3001", ItemCode: "NEW-1", Quantity: "2" },
      { SalesOrderNumber: "#3001", ItemCode: "GHOST", Quantity: "1" },
    ],
    status: withFailures,
    check: ({ fake, failed }) => {
      assert.deepEqual(
        fake.rows("Sales order lines").map((l) => [l.SalesOrderNumber, l.ItemCode, l.Quantity]),
        [["#3001", "NEW-1", "2"]],
      );
      assert.equal(failed.length, 1);
      assert.equal(failed[0].record.ItemCode, "GHOST");
      assert.match(failed[0].error, /Item type GHOST does not exist/);
      assert.equal(failed[0].outcome, "refused");
    },
  },
  "save-data": {
    tooMany: expiredSession("SaveData"),
    params: { templateName: "Item types" },
    payload: [
      { ItemCode: "NEW-1", Name: "Renamed" },
      { ItemCode: "", Name: "No code" },
    ],
    status: withFailures,
    check: ({ fake, failed }) => {
      const rows = fake.rows("Item types").filter((r) => r.ItemCode === "NEW-1");
      assert.deepEqual(
        rows.map((r) => [r.Name, r.Barcode]),
        [["Renamed", "5099"]],
        "updated by the template's key, not duplicated",
      );
      assert.equal(failed.length, 1);
      assert.match(failed[0].error, /ItemCode is required/);
    },
  },
  "subscribe-event": {
    tooMany: expiredSession("SubscribeEvent"),
    payload: [
      {
        eventType: "AvailabilityChanges",
        callbackUrl: "http://127.0.0.1:9/stock?sku={ItemCode}",
        filter: "",
      },
      { eventType: "StockTake", callbackUrl: "http://127.0.0.1:9/stock-take", filter: "" },
    ],
    status: withFailures,
    check: ({ fake, records, failed }) => {
      const id = Number(subscriptionOf(records));
      assert.deepEqual(
        { ...fake.subscriptions.get(id) },
        { eventType: "AvailabilityChanges", url: "http://127.0.0.1:9/stock?sku={ItemCode}", filter: "" },
      );
      assert.equal(failed.length, 1);
      assert.equal(failed[0].record.eventType, "StockTake");
      assert.match(failed[0].error, /Invalid event type: StockTake/);
      assert.equal(failed[0].outcome, "refused");
    },
  },
  "subscribe-post-event": {
    tooMany: expiredSession("SubscribePostEvent"),
    payload: [
      {
        eventType: "GoodsReceived",
        postUrl: "http://127.0.0.1:9/goods-in",
        postParams: "sku={ItemCode}&quantity={Quantity}",
        filter: "",
      },
      { eventType: "", postUrl: "http://127.0.0.1:9/nothing", postParams: "", filter: "" },
    ],
    status: withFailures,
    check: ({ fake, records, failed }) => {
      assert.equal(failed.length, 1);
      assert.match(failed[0].error, /Invalid event type/);
      assert.equal(failed[0].outcome, "refused");
      const s = fake.subscriptions.get(Number(subscriptionOf(records)));
      assert.deepEqual(
        [s.eventType, s.url, s.post, s.params],
        ["GoodsReceived", "http://127.0.0.1:9/goods-in", true, "sku={ItemCode}&quantity={Quantity}"],
      );
    },
  },
  "unsubscribe-event": {
    tooMany: expiredSession("UnsubscribeEvent"),
    opts: (fake) => ({
      payload: [
        { subscriptionId: String(Math.min(...fake.subscriptions.keys())) },
        { subscriptionId: "999" },
      ],
    }),
    status: withFailures,
    check: ({ fake, failed }) => {
      assert.equal(fake.subscriptions.size, 1, "the first subscription is gone, the other stays");
      assert.equal(failed.length, 1);
      assert.deepEqual(failed[0].record, { subscriptionId: "999" });
      assert.match(failed[0].error, /Subscription 999 does not exist/);
      assert.equal(failed[0].outcome, "refused");
    },
  },
};

endToEnd({
  title: "Peoplevox",
  connector: "peoplevox",
  start: async () => {
    const fake = await startPeoplevox({ clientId: "acme", username: "integration", password: PASSWORD });
    fake.seed("Item types", itemTypes);
    fake.seed("Item type inventory", inventory);
    fake.seed("Sales orders", orders);
    fake.seed("Despatch packages", despatches);
    fake.seed("Customers", customers);
    return fake;
  },
  instance: (fake) => ({
    connector: "peoplevox",
    vars: { url: fake.base, clientId: "acme", username: "integration" },
    secretSlots: { password: 0 },
    credentials: { secret_0: PASSWORD },
  }),
  cases: CASES,
  // Reads: a busy Peoplevox's SOAP fault on the page (not on the sign-in each run starts with).
  tooMany: (fake) => fake.failNext(1, "fault", 0, "GetData"),
  secrets: [PASSWORD, BASE64],
  more(ctx) {
    it("retries a page that met a SOAP fault or a 503, and reports a SaveData that met one as of unknown outcome", async function () {
      ctx.fake.failNext(1, "http", 0, "GetData");
      const get = await ctx.call("get-data", { params: { templateName: "Customers" } });
      assert.equal(get.run.status, "succeeded", JSON.stringify(get.run.errors));
      assert.deepEqual(get.records, customers);
      assert.deepEqual([get.requests[0].status, get.requests[0].attempts], [200, 2], "the page tried again");
      for (const kind of ["fault", "http"]) {
        ctx.fake.failNext(1, kind, 0, "SaveData");
        const from = ctx.fake.log.length;
        const save = await ctx.call("save-item-types", {
          payload: [{ ItemCode: `UNK-${kind}`, Name: "Unknown outcome" }],
        });
        assert.equal(save.run.status, withFailures, kind);
        assert.deepEqual(
          [save.failed[0].outcome, save.failed[0].status],
          ["unknown", kind === "fault" ? 500 : 503],
          kind,
        );
        assert.deepEqual(save.failed[0].record, { ItemCode: `UNK-${kind}`, Name: "Unknown outcome" });
        assert.equal(
          operations(ctx.fake, from).filter((o) => o === "SaveData").length,
          1,
          `a SaveData that met a ${kind} is not repeated`,
        );
      }
    });

    it("keeps to the connector's own 5 calls a second (Peoplevox publishes no limit to wait for)", async function () {
      // 10 pages of 500 (and a sign-in): 5 calls at once, then 5 a second: the last after 1 s or more.
      ctx.fake.seed(
        "Despatch packages",
        Array.from({ length: 5000 }, (_, i) => ({ DespatchNumber: `R-${String(i).padStart(4, "0")}` })),
      );
      const from = ctx.fake.log.length;
      const out = await ctx.call("list-despatch-packages", {
        params: { searchClause: '[DespatchNumber] >= "R-"' },
      });
      assert.equal(out.run.status, "succeeded", JSON.stringify(out.run.errors));
      assert.equal(out.records.length, 5000);
      const at = ctx.fake.log.slice(from).map((e) => e.at);
      assert.ok(at.length >= 10, `${at.length} calls`);
      const spread = at.at(-1) - at[0];
      assert.ok(spread >= ((at.length - 5) / 5) * 1000 - 100, `${at.length} calls in ${spread} ms`);
    });
  },
});
