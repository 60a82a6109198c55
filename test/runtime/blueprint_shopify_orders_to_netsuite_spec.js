// The blueprint "Shopify orders into NetSuite sales orders" end to end in a real Node-RED runtime:
// imported from the examples, its instances pointed at the Shopify and NetSuite fakes with
// credentials supplied through the admin API (the deploy), run on its button. It proves: the
// customer comes first (found by email with SuiteQL whatever its case, else created once however
// many orders it has), then each sales order for that customer's internal id, lines by SKU
// through the lookup table; a second run creates nothing twice (upsert by external id); a pull
// that meets 429s and 5xxs midway delivers every order once; a run whose pull runs out of tries,
// and an order NetSuite refuses (reported by notify), leave the watermark where it was.
const assert = require("node:assert/strict");
const { startRuntime } = require("../support/runtime");
const { importBlueprint, pressTrigger } = require("../support/blueprint");
const { startShopify } = require("../../demo/fakes/shopify");
const { startNetSuite } = require("../../demo/fakes/netsuite");

const NAME = "Shopify orders into NetSuite sales orders";
const TOKEN = "shpat_blueprint_secret";
const NS = {
  consumerKey: "ns-ck-secret",
  consumerSecret: "ns-cs-secret",
  token: "ns-tk-secret",
  tokenSecret: "ns-ts-secret",
};

describe(`the blueprint "${NAME}" (runtime, against the fakes)`, function () {
  this.timeout(90000);
  let rt;
  let shop;
  let ns;
  let flow;
  const ago = (minutes) => new Date(Date.now() - minutes * 60000).toISOString();
  const line = (sku, quantity, price) => ({ sku, quantity, price });
  const order = (id, email, customer, lines, over = {}) => ({
    id,
    name: `#${id}`,
    email,
    created_at: ago(30),
    customer,
    billing_address: { first_name: customer?.first_name, last_name: customer?.last_name },
    line_items: lines,
    note: null,
    ...over,
  });
  const ada = { first_name: "Ada", last_name: "Lovelace" };
  const bob = { first_name: "Bob", last_name: "Norman" };
  const orders = [
    order(1001, "ada@example.com", ada, [line("MUG-BLUE", 2, "12.50")], {
      created_at: "2026-11-20T10:00:00-05:00",
      note: "Gift wrap",
    }),
    order(1002, "bob@example.com", bob, [line("TEE-S", 1, "20.00"), line("MUG-BLUE", 1, "12.50")]),
    order(1003, "Bob@Example.com", bob, [line("TEE-S", 3, "20.00")]),
    order(1004, null, null, [line("TEE-S", 1, "20.00")]),
  ];
  const salesOrder = (id) => ns.data.salesOrder.find((s) => s.externalId === `shopify-order-${id}`);
  const customersOf = (email) => ns.data.customer.filter((c) => c.email?.toLowerCase() === email);

  before(async () => {
    shop = await startShopify({ token: TOKEN, orders });
    ns = await startNetSuite({
      ...NS,
      references: true,
      records: {
        customer: [{ id: "501", companyName: "Lovelace Ltd", email: "Ada@Example.com" }],
        inventoryItem: [
          { id: "310", itemId: "MUG-BLUE" },
          { id: "311", itemId: "TEE-S" },
        ],
      },
    });
    rt = await startRuntime({ patchworks: { runs: { settleMs: 40 } } });
    flow = await importBlueprint(rt, NAME);
    // What a user types into the instance dialogs and the SKU table. The NetSuite instance is
    // given more pace than its default 5 a second, as an account with more concurrency allows,
    // so the 255-order run below takes seconds, not a minute.
    Object.assign(
      flow.find((n) => n.type === "pw-instance" && n.connector === "shopify"),
      { vars: { shop: new URL(shop.base).host, scheme: "http" }, credentials: { secret_0: TOKEN } },
    );
    Object.assign(
      flow.find((n) => n.type === "pw-instance" && n.connector === "netsuite"),
      {
        vars: { accountId: "1234567-sb1", host: ns.base },
        rateLimit: [{ requests: 100, period: "second" }],
        credentials: {
          secret_0: NS.consumerKey,
          secret_1: NS.consumerSecret,
          secret_2: NS.token,
          secret_3: NS.tokenSecret,
        },
      },
    );
    flow.find((n) => n.type === "pw-lookup-table").rows = [
      ["MUG-BLUE", "310"],
      ["TEE-S", "311"],
    ];
    await rt.deploy(flow);
  });
  after(async () => {
    await rt?.stop();
    await shop?.close();
    await ns?.close();
  });

  const hourly = () => flow.find((n) => n.type === "pw-trigger" && n.name === "Hourly");
  const TIMEOUT = 60000;
  // A succeeded run writes the watermark as it ends: the next press waits until it is there.
  const press = () =>
    pressTrigger(rt, hourly().id, {
      timeout: TIMEOUT,
      watermark: { tab: flow.find((n) => n.type === "tab").id, key: "lastSyncedAt" },
    });

  let first;
  it("matches or creates each customer by email first, then creates each sales order for its internal id", async function () {
    first = await press();
    assert.equal(first.status, "succeeded", JSON.stringify(first.errors));
    assert.equal(shop.orderQueries[0].query.created_at_min, undefined, "the first run pulls everything");
    // Ada exists (her email in another case): matched, not created. Bob: created once for two orders.
    assert.equal(customersOf("ada@example.com").length, 1);
    const [b] = customersOf("bob@example.com");
    assert.equal(customersOf("bob@example.com").length, 1, "one customer for Bob's two orders");
    assert.deepEqual(
      { isPerson: b.isPerson, firstName: b.firstName, lastName: b.lastName, email: b.email },
      { isPerson: true, firstName: "Bob", lastName: "Norman", email: "bob@example.com" },
    );
    // The sales orders, each for its customer's internal id, lines through the SKU table.
    const pick = (s) => ({
      entity: s.entity,
      tranDate: s.tranDate,
      otherRefNum: s.otherRefNum,
      memo: s.memo,
      items: s.item.items,
    });
    assert.deepEqual(pick(salesOrder(1001)), {
      entity: { id: "501" },
      tranDate: "2026-11-20",
      otherRefNum: "#1001",
      memo: "Gift wrap",
      items: [{ item: { id: "310" }, quantity: 2, rate: 12.5 }],
    });
    assert.deepEqual(salesOrder(1002).entity, { id: b.id });
    assert.deepEqual(salesOrder(1002).item.items, [
      { item: { id: "311" }, quantity: 1, rate: 20 },
      { item: { id: "310" }, quantity: 1, rate: 12.5 },
    ]);
    assert.equal(salesOrder(1002).memo, undefined, "an empty note is left out");
    assert.deepEqual(salesOrder(1003).entity, { id: b.id });
    assert.equal(salesOrder(1004), undefined, "an order without an email is dropped");
    assert.equal(ns.data.salesOrder.length, 3);
    // Customers before orders: every customer create came before the first sales order.
    const log = ns.log.map((r) => `${r.method} ${r.path}`);
    const lastCustomer = log.lastIndexOf("POST /services/rest/record/v1/customer");
    const firstOrder = log.findIndex((l) => l.startsWith("PUT /services/rest/record/v1/salesOrder/"));
    assert.ok(lastCustomer >= 0 && lastCustomer < firstOrder, "customers first, then sales orders");
  });

  it("pulls only orders created since the watermark on the second run and creates nothing twice", async function () {
    const customers = ns.data.customer.length;
    orders.push(
      order(1005, "ADA@example.com", ada, [line("TEE-S", 1, "20.00")], {
        created_at: new Date().toISOString(),
      }),
    );
    const second = await press();
    assert.equal(second.status, "succeeded", JSON.stringify(second.errors));
    const since = shop.orderQueries.at(-1).query.created_at_min;
    assert.ok(
      Math.abs(Date.parse(since) - first.startedAt) < 50,
      `the watermark is the first run's start (${since} vs ${new Date(first.startedAt).toISOString()})`,
    );
    assert.deepEqual(shop.orderQueries.at(-1).ids, [1005]);
    assert.equal(ns.data.customer.length, customers, "Ada matched again, no customer created");
    assert.deepEqual(salesOrder(1005).entity, { id: "501" });
    assert.equal(ns.data.salesOrder.length, 4);
    const calls = ns.log.length;
    assert.equal((await press()).status, "succeeded");
    assert.deepEqual(shop.orderQueries.at(-1).ids, []);
    assert.equal(ns.log.length, calls, "nothing new: NetSuite is not called");
  });

  it("fails a run whose pull runs out of tries without moving the watermark, and the next run delivers every order once through 429s and 5xxs", async function () {
    const now = new Date().toISOString();
    const emails = ["ada@example.com", "bob@example.com", "cy@example.com"];
    for (let i = 0; i < 255; i++)
      orders.push(
        order(
          3000 + i,
          emails[i % 3],
          { first_name: "Cy", last_name: `Number${i % 3}` },
          [line("MUG-BLUE", 1 + (i % 4), "12.50")],
          {
            created_at: now,
          },
        ),
      );
    const before = ns.data.salesOrder.length;
    const asked = shop.orderQueries.length;
    shop.failNext(5, 429, { after: 1, retryAfter: "0.1" });
    const failed = await press();
    assert.equal(failed.status, "failed");
    assert.match(failed.errors[0].message, /page 2: .* answered 429/);
    assert.equal(ns.data.salesOrder.length, before + 250, "page 1 went on");
    const from = shop.orderQueries[asked].query.created_at_min;
    shop.failures.length = 0;
    shop.failNext(3, [429, 503, 500], { after: 1, retryAfter: "0.1" });
    const run = await press();
    assert.equal(run.status, "succeeded", JSON.stringify(run.errors));
    assert.deepEqual(
      shop.failures.map((f) => f.status),
      [429, 503, 500],
    );
    const pages = shop.orderQueries.slice(-2);
    assert.equal(pages[0].query.created_at_min, from, "asked from the last successful run's watermark");
    assert.equal(pages[0].ids.length + pages[1].ids.length, 255);
    assert.equal(ns.data.salesOrder.length, before + 255, "every order once");
    assert.equal(customersOf("cy@example.com").length, 1, "Cy created once for 85 orders over two runs");
    for (let i = 0; i < 255; i++) {
      const s = salesOrder(3000 + i);
      assert.equal(s.item.items[0].quantity, 1 + (i % 4));
      assert.equal(s.entity.id, customersOf(emails[i % 3])[0].id);
    }
    const again = ns.upserts.filter((u) => u.externalId === "shopify-order-3000");
    assert.deepEqual(
      again.map((u) => u.created),
      [true, false],
      "page 1's orders were sent again and updated, not duplicated",
    );
  });

  it("reports a sales order NetSuite refuses through notify and keeps the watermark until it is fixed", async function () {
    orders.push(
      order(
        4001,
        "dee@example.com",
        { first_name: "Dee", last_name: "Unknown" },
        [line("NOT-IN-TABLE", 1, "5.00")],
        {
          created_at: new Date().toISOString(),
        },
      ),
      order(4002, "eve@example.com", { first_name: "Eve", last_name: "Good" }, [line("TEE-S", 2, "20.00")], {
        created_at: new Date().toISOString(),
      }),
    );
    const run = await press();
    assert.equal(run.status, "completed with failures", JSON.stringify(run));
    const from = shop.orderQueries.at(-1).query.created_at_min;
    assert.ok(salesOrder(4002), "the good order arrived");
    assert.equal(salesOrder(4001), undefined);
    const notes = run.notifications ?? [];
    assert.equal(notes.length, 1, JSON.stringify(notes));
    assert.equal(notes[0].level, "warning");
    assert.match(
      notes[0].text,
      /^1 sales order\(s\) refused by NetSuite; first shopify-order-4001 \(#4001\): .*Invalid Field Value NOT-IN-TABLE/,
    );
    const again = await press();
    assert.equal(again.status, "completed with failures");
    assert.equal(shop.orderQueries.at(-1).query.created_at_min, from, "the watermark stayed");
    assert.equal(ns.data.salesOrder.filter((s) => s.externalId === "shopify-order-4002").length, 1);
    // The merchant adds the SKU to the table and deploys: the order arrives, the watermark moves on.
    ns.data.inventoryItem.push({ id: "312", itemId: "NOT-IN-TABLE" });
    flow.find((n) => n.type === "pw-lookup-table").rows.push(["NOT-IN-TABLE", "312"]);
    await rt.deploy(flow);
    const fixed = await press();
    assert.equal(fixed.status, "succeeded", JSON.stringify(fixed.errors));
    assert.equal(shop.orderQueries.at(-1).query.created_at_min, from, "the deploy kept the watermark");
    assert.deepEqual(salesOrder(4001).item.items, [{ item: { id: "312" }, quantity: 1, rate: 5 }]);
    await press();
    assert.ok(Math.abs(Date.parse(shop.orderQueries.at(-1).query.created_at_min) - fixed.startedAt) < 50);
  });
});
