// The blueprint "Shopify & Descartes Peoplevox" end to end in a real Node-RED runtime:
// imported from the examples as a user imports it, its instances pointed at the Shopify fake
// and the Peoplevox SOAP fake, credentials supplied through the deploy. It proves: products
// and paid orders arrive in Peoplevox mapped, a 5xx midway (a Shopify page, a Peoplevox
// SaveData) still delivers everything once, a second run creates nothing twice, a refused
// order line is reported and keeps the watermark; the subscribe button registers Peoplevox's
// events, whose callbacks set Shopify stock, fulfil with tracking and refund returns, each once
// however often Peoplevox calls; the unsubscribe button removes them.
const assert = require("node:assert/strict");
const { startRuntime } = require("../support/runtime");
const { waitUntil } = require("../support/wait");
const { importBlueprint, pressTrigger } = require("../support/blueprint");
const { startShopify } = require("../../demo/fakes/shopify");
const { startPeoplevox } = require("../../demo/fakes/peoplevox");

const NAME = "Shopify & Descartes Peoplevox";
const TOKEN = "shpat_pvx_blueprint_secret";
const PVX_PASSWORD = "pvx-blueprint-secret";
const HOOK_TOKEN = "pvx-hook-token-secret";

describe(`the blueprint "${NAME}" (runtime, against the fakes)`, function () {
  this.timeout(60000);
  let rt;
  let shop;
  let pvx;
  let flow;
  const ago = (minutes) => new Date(Date.now() - minutes * 60000).toISOString();
  const restProducts = [
    {
      id: 1,
      title: "T-shirt",
      updated_at: ago(300),
      variants: [
        {
          id: 11,
          title: "Black / M",
          sku: "TS-BLK-M",
          price: "19.99",
          barcode: "501",
          inventory_item_id: 9011,
        },
        {
          id: 12,
          title: "Black / L",
          sku: "TS-BLK-L",
          price: "19.99",
          barcode: "502",
          inventory_item_id: 9012,
        },
      ],
    },
    {
      id: 2,
      title: "Mug",
      updated_at: ago(200),
      variants: [{ id: 21, title: "Default Title", sku: "MUG", price: "8.00", inventory_item_id: 9021 }],
    },
  ];
  const order = (id, lines, extra = {}) => ({
    id,
    name: `#${id - 5000}`,
    email: `buyer${id}@example.com`,
    created_at: ago(100),
    updated_at: ago(100),
    financial_status: "paid",
    total_price: "27.99",
    shipping_address: { address1: "1 Long Street", city: "Leeds", zip: "LS1 4AB", country_code: "GB" },
    line_items: lines.map(([sku, quantity], i) => ({ id: id * 10 + i, sku, quantity, price: "9.99" })),
    ...extra,
  });
  const orders = [
    order(6001, [
      ["TS-BLK-M", 2],
      ["MUG", 1],
    ]),
    order(6002, [["TS-BLK-L", 1]]),
  ];
  const fulfillmentOrders = [
    { id: "gid://shopify/FulfillmentOrder/7001", orderId: 6001, status: "OPEN" },
    { id: "gid://shopify/FulfillmentOrder/7002", orderId: 6002, status: "OPEN" },
  ];

  before(async () => {
    shop = await startShopify({ token: TOKEN, restProducts, orders, fulfillmentOrders });
    pvx = await startPeoplevox({ clientId: "acme", username: "integration", password: PVX_PASSWORD });
    rt = await startRuntime({ patchworks: { runs: { settleMs: 40 } } });
    flow = await importBlueprint(rt, NAME);
    assert.ok(!JSON.stringify(flow).includes("secret_0"));
    Object.assign(
      flow.find((n) => n.type === "pw-instance" && n.connector === "shopify"),
      { vars: { shop: new URL(shop.base).host, scheme: "http" }, credentials: { secret_0: TOKEN } },
    );
    Object.assign(
      flow.find((n) => n.type === "pw-instance" && n.connector === "peoplevox"),
      {
        vars: { url: pvx.base, clientId: "acme", username: "integration" },
        credentials: { secret_0: PVX_PASSWORD },
      },
    );
    for (const t of flow.filter((n) => n.type === "pw-trigger" && n.webhook))
      t.credentials = { secret: HOOK_TOKEN };
    const tab = flow.find((n) => n.type === "tab");
    tab.env = [
      { name: "SHOPIFY_LOCATION_ID", value: "gid://shopify/Location/555", type: "str" },
      { name: "PEOPLEVOX_CALLBACK_BASE", value: rt.hooks, type: "str" },
      { name: "PEOPLEVOX_WEBHOOK_TOKEN", value: HOOK_TOKEN, type: "str" },
    ];
    await rt.deploy(flow);
  });
  after(async () => {
    await rt?.stop();
    await shop?.close();
    await pvx?.close();
  });

  const trigger = (name) => flow.find((n) => n.type === "pw-trigger" && n.name === name);
  const press = (name) => pressTrigger(rt, trigger(name).id, { timeout: 20000 });
  const saves = (template) => pvx.calls.filter((c) => c[0] === "SaveData" && c[1] === template).length;

  it("puts every Shopify variant into Peoplevox as an item type, and a second run sends nothing", async function () {
    const run = await press("Hourly products");
    assert.equal(run.status, "succeeded", JSON.stringify(run.errors));
    assert.deepEqual(
      pvx.rows("Item types").map((r) => [r.ItemCode, r.Name, r.Barcode, r.SalesPrice]),
      [
        ["TS-BLK-M", "T-shirt - Black / M", "501", "19.99"],
        ["TS-BLK-L", "T-shirt - Black / L", "502", "19.99"],
        ["MUG", "Mug", "", "8.00"],
      ],
    );
    const calls = saves("Item types");
    assert.equal((await press("Hourly products")).status, "succeeded");
    assert.equal(saves("Item types"), calls, "nothing changed since the watermark: nothing saved");
    assert.equal(pvx.rows("Item types").length, 3);
  });

  it("sends paid orders and their lines despite a Shopify 503 and a Peoplevox 503 midway, each once", async function () {
    shop.failNext(1, 503); // the orders page: retried
    pvx.failNext(1, "http", 1); // Authenticate answers, then the first SaveData gets a 503
    const first = await press("Hourly orders");
    // A SaveData that got a 503 may or may not have been applied: its records are 'unknown',
    // the run completes with failures and keeps the watermark.
    assert.equal(first.status, "completed with failures", JSON.stringify(first));
    const second = await press("Hourly orders");
    assert.equal(second.status, "succeeded", JSON.stringify(second.errors));
    assert.deepEqual(
      pvx
        .rows("Sales orders")
        .map((o) => [o.SalesOrderNumber, o.CustomerReference, o.ShippingAddressPostcode]),
      [
        ["6001", "#1001", "LS1 4AB"],
        ["6002", "#1002", "LS1 4AB"],
      ],
    );
    assert.deepEqual(
      pvx.rows("Sales order lines").map((l) => [l.SalesOrderNumber, l.ItemCode, l.Quantity]),
      [
        ["6001", "TS-BLK-M", "2"],
        ["6001", "MUG", "1"],
        ["6002", "TS-BLK-L", "1"],
      ],
    );
    const calls = saves("Sales orders");
    const third = await press("Hourly orders");
    assert.equal(third.status, "succeeded");
    assert.equal(saves("Sales orders"), calls, "the second successful run sends nothing again");
    assert.equal(pvx.rows("Sales orders").length, 2);
    assert.equal(pvx.rows("Sales order lines").length, 3);
  });

  it("reports an order line Peoplevox refuses through notify, and keeps the watermark", async function () {
    orders.push(order(6003, [["NOT-IN-PVX", 1]], { updated_at: new Date().toISOString() }));
    const run = await press("Hourly orders");
    assert.equal(run.status, "completed with failures", JSON.stringify(run));
    const notes = run.notifications ?? [];
    assert.equal(notes.length, 1, JSON.stringify(notes));
    assert.match(notes[0].text, /1 record\(s\) refused .*Item type NOT-IN-PVX does not exist/);
    assert.ok(
      pvx.rows("Sales orders").some((o) => o.SalesOrderNumber === "6003"),
      "the order itself arrived",
    );
    const again = await press("Hourly orders");
    assert.equal(again.status, "completed with failures", "pulled again: the watermark stayed");
    assert.equal(pvx.rows("Sales orders").length, 3, "and nothing was created twice");
  });

  it("subscribes Peoplevox's events; its callbacks set stock, fulfil with tracking and refund, each once", async function () {
    const sub = await press("Subscribe Peoplevox events");
    assert.equal(sub.status, "succeeded", JSON.stringify(sub.errors));
    const subs = [...pvx.subscriptions.values()];
    assert.deepEqual(
      subs.map((s) => s.eventType),
      ["AvailabilityChanges", "DespatchPackageDespatched", "Returns"],
    );
    assert.ok(subs.every((s) => s.url.startsWith(`${rt.hooks}/peoplevox/`)));

    // Stock: the SKU's inventory item, at the tab's location.
    assert.deepEqual(await pvx.emit("AvailabilityChanges", { ItemCode: "TS-BLK-M", Available: 42 }), [200]);
    await waitUntil(() => shop.inventory.length === 1, "the stock update", 10000, 20);
    assert.deepEqual(
      {
        id: shop.inventory[0].inventoryItemId,
        at: shop.inventory[0].locationId,
        q: shop.inventory[0].quantity,
      },
      { id: "gid://shopify/InventoryItem/9011", at: "gid://shopify/Location/555", q: 42 },
    );

    // Despatch: a fulfillment with tracking for the order's open fulfillment order, once.
    const despatch = {
      SalesOrderNumber: "6001",
      DespatchNumber: "D-1",
      TrackingNumber: "RM123456789GB",
      CarrierReference: "Royal Mail",
    };
    await pvx.emit("DespatchPackageDespatched", despatch);
    await waitUntil(() => shop.fulfillments.length === 1, "the fulfillment", 10000, 20);
    assert.deepEqual(shop.fulfillments[0].input.lineItemsByFulfillmentOrder, [
      { fulfillmentOrderId: "gid://shopify/FulfillmentOrder/7001" },
    ]);
    assert.deepEqual(shop.fulfillments[0].input.trackingInfo, {
      company: "Royal Mail",
      number: "RM123456789GB",
    });

    // Return: a refund of the returned line, once.
    const ret = { SalesOrderNumber: "6001", ItemCode: "MUG", Quantity: 1, ReturnReference: "R-1" };
    await pvx.emit("Returns", ret);
    await waitUntil(() => shop.refunds.length === 1, "the refund", 10000, 20);
    assert.deepEqual(shop.refunds[0].refund_line_items, [
      { line_item_id: 60011, quantity: 1, restock_type: "no_restock" },
    ]);

    // Peoplevox calls again (a retry of its own): nothing is done twice.
    await pvx.emit("DespatchPackageDespatched", despatch);
    await pvx.emit("Returns", ret);
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(shop.fulfillments.length, 1);
    assert.equal(shop.refunds.length, 1);

    // A callback without the token starts nothing.
    const bare = await fetch(`${rt.hooks}/peoplevox/returns`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "order=6001&sku=MUG&quantity=1&reference=R-2",
    });
    assert.equal(bare.status, 401);
  });

  it("unsubscribes every event it subscribed", async function () {
    const run = await press("Unsubscribe Peoplevox events");
    assert.equal(run.status, "succeeded", JSON.stringify(run.errors));
    assert.equal(pvx.subscriptions.size, 0);
    assert.deepEqual(await pvx.emit("AvailabilityChanges", { ItemCode: "MUG", Available: 1 }), []);
  });
});
