// The blueprint "WooCommerce products and stock into Shopify" end to end in a real Node-RED
// runtime: imported from the examples, its instances pointed at the WooCommerce and Shopify
// fakes with credentials supplied through the admin API (the deploy), run on its button. It
// proves: simple and variable products (with their variations) arrive as Shopify products with
// their variants by SKU, price and options, and each managed stock level is set at the location;
// a product Shopify already has (same handle) is updated in place; a second run creates nothing
// twice; a pull that meets 429s and 5xxs midway delivers every product once; a run whose pull
// runs out of tries, and a product Shopify refuses (reported by notify), leave the watermark.
const assert = require("node:assert/strict");
const { startRuntime } = require("../support/runtime");
const { importBlueprint, pressTrigger } = require("../support/blueprint");
const { startWooCommerce } = require("../../demo/fakes/woocommerce");
const { startShopify } = require("../../demo/fakes/shopify");

const NAME = "WooCommerce products and stock into Shopify";
const CK = "ck_blueprint_key";
const CS = "cs_blueprint_secret";
const TOKEN = "shpat_blueprint_secret";
const LOCATION = "gid://shopify/Location/523463154";

describe(`the blueprint "${NAME}" (runtime, against the fakes)`, function () {
  this.timeout(90000);
  let rt;
  let wc;
  let shop;
  let flow;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  // WooCommerce keeps date_modified to the second: a change made in the second a run started is
  // not "after" it, so the test waits for the next second before changing anything.
  const nextSecond = () => sleep(1100 - (Date.now() % 1000));
  const stamp = () => new Date().toISOString().slice(0, 19);
  const simple = (over) => ({
    type: "simple",
    status: "publish",
    description: "",
    attributes: [],
    manage_stock: true,
    ...over,
  });

  before(async () => {
    wc = await startWooCommerce({
      consumerKey: CK,
      consumerSecret: CS,
      products: [
        simple({
          name: "Blue Mug",
          slug: "blue-mug",
          sku: "MUG-BLUE",
          price: "12.50",
          regular_price: "12.50",
          description: "<p>Holds tea.</p>",
          stock_quantity: 7,
        }),
        {
          name: "T-Shirt",
          slug: "t-shirt",
          type: "variable",
          status: "publish",
          description: "",
          sku: "",
          price: "20.00",
          manage_stock: false,
          stock_quantity: null,
          attributes: [{ id: 1, name: "Size", variation: true, options: ["S", "M"] }],
          variations: [
            {
              sku: "TEE-S",
              price: "20.00",
              regular_price: "20.00",
              manage_stock: true,
              stock_quantity: 3,
              attributes: [{ id: 1, name: "Size", option: "S" }],
            },
            {
              sku: "TEE-M",
              price: "21.00",
              regular_price: "21.00",
              manage_stock: true,
              stock_quantity: 0,
              attributes: [{ id: 1, name: "Size", option: "M" }],
            },
          ],
        },
        simple({
          name: "Gift Card",
          slug: "gift-card",
          sku: "GIFT",
          price: "25.00",
          status: "draft",
          manage_stock: false,
          stock_quantity: null,
        }),
      ],
    });
    // The mug is already in Shopify (same handle): it is updated, not created again.
    shop = await startShopify({
      token: TOKEN,
      products: [
        {
          id: "gid://shopify/Product/1001",
          handle: "blue-mug",
          title: "Mug (old)",
          variants: {
            nodes: [
              {
                id: "gid://shopify/ProductVariant/2001",
                sku: "MUG-BLUE",
                price: "10.00",
                selectedOptions: [{ name: "Title", value: "Default Title" }],
                inventoryItem: { id: "gid://shopify/InventoryItem/3001" },
              },
            ],
          },
        },
      ],
    });
    rt = await startRuntime({ patchworks: { runs: { settleMs: 40 } } });
    flow = await importBlueprint(rt, NAME);
    // What a user types into the instance dialogs and the location shape. The WooCommerce store
    // is plain HTTP here, so the instance uses its OAuth 1.0a method (auth 1).
    Object.assign(
      flow.find((n) => n.type === "pw-instance" && n.connector === "woocommerce"),
      { vars: { storeUrl: wc.base }, auth: 1, credentials: { secret_0: CK, secret_1: CS } },
    );
    Object.assign(
      flow.find((n) => n.type === "pw-instance" && n.connector === "shopify"),
      { vars: { shop: new URL(shop.base).host, scheme: "http" }, credentials: { secret_0: TOKEN } },
    );
    flow.find((n) => n.name === "Shopify location").rules[0].value = LOCATION;
    await rt.deploy(flow);
  });
  after(async () => {
    await rt?.stop();
    await wc?.close();
    await shop?.close();
  });

  const hourly = () => flow.find((n) => n.type === "pw-trigger" && n.name === "Hourly");
  const TIMEOUT = 60000;
  // A succeeded run writes the watermark as it ends: the next press waits until it is there.
  const press = () =>
    pressTrigger(rt, hourly().id, {
      timeout: TIMEOUT,
      watermark: { tab: flow.find((n) => n.type === "tab").id, key: "lastSyncedAt" },
    });
  const product = (handle) => {
    const found = shop.products.filter((p) => p.handle === handle);
    assert.equal(found.length, 1, `one Shopify product with the handle ${handle}, not ${found.length}`);
    return found[0];
  };
  const variant = (handle, sku) => product(handle).variants.nodes.find((v) => v.sku === sku);
  /** The available quantity last set at a location for a variant's inventory item. */
  const stock = (handle, sku) => {
    const item = variant(handle, sku).inventoryItem.id;
    const sets = shop.inventory.filter((q) => q.inventoryItemId === item);
    if (sets.length === 0) return undefined;
    assert.equal(sets.at(-1).locationId, LOCATION);
    assert.equal(sets.at(-1).name, "available");
    return sets.at(-1).quantity;
  };
  const productsPulls = () => wc.log.filter((r) => r.method === "GET" && r.path.endsWith("/products"));

  let first;
  it("creates or updates every product with its variants, and sets each managed stock level at the location", async function () {
    first = await press();
    assert.equal(first.status, "succeeded", JSON.stringify(first.errors));
    assert.equal(productsPulls()[0].query.modified_after, undefined, "the first run pulls everything");
    assert.equal(shop.products.length, 3);
    // The mug existed: updated in place, its variant and inventory item kept.
    const mug = product("blue-mug");
    assert.equal(mug.id, "gid://shopify/Product/1001");
    assert.equal(mug.title, "Blue Mug");
    assert.equal(mug.descriptionHtml, "<p>Holds tea.</p>");
    assert.equal(mug.status, "ACTIVE");
    assert.deepEqual(
      mug.variants.nodes.map((v) => [v.id, v.sku, v.price]),
      [["gid://shopify/ProductVariant/2001", "MUG-BLUE", "12.50"]],
    );
    assert.equal(stock("blue-mug", "MUG-BLUE"), 7);
    // The variable product: one variant per variation, by size, SKU and price.
    const tee = product("t-shirt");
    assert.deepEqual(tee.options, [{ name: "Size", values: [{ name: "S" }, { name: "M" }] }]);
    assert.deepEqual(
      tee.variants.nodes.map((v) => [v.sku, v.price, v.selectedOptions]),
      [
        ["TEE-S", "20.00", [{ name: "Size", value: "S" }]],
        ["TEE-M", "21.00", [{ name: "Size", value: "M" }]],
      ],
    );
    assert.equal(stock("t-shirt", "TEE-S"), 3);
    assert.equal(stock("t-shirt", "TEE-M"), 0);
    // A draft whose stock WooCommerce does not manage: a draft product, no stock set.
    assert.equal(product("gift-card").status, "DRAFT");
    assert.equal(stock("gift-card", "GIFT"), undefined);
    assert.deepEqual(shop.productSets.map((p) => [p.handle, p.created]).sort(), [
      ["blue-mug", false],
      ["gift-card", true],
      ["t-shirt", true],
    ]);
  });

  it("pulls only products modified since the watermark on the second run and creates nothing twice", async function () {
    await nextSecond();
    const count = shop.products.length;
    const teeIds = product("t-shirt").variants.nodes.map((v) => v.id);
    // A variation's stock changes; WooCommerce stamps its product as modified.
    const tee = wc.store.products.find((p) => p.slug === "t-shirt");
    wc.store.variations.get(tee.id)[0].stock_quantity = 5;
    tee.date_modified = stamp();
    const sets = shop.productSets.length;
    const second = await press();
    assert.equal(second.status, "succeeded", JSON.stringify(second.errors));
    const since = productsPulls().at(-1).query.modified_after;
    assert.ok(Math.abs(Date.parse(since) - first.startedAt) < 50, `the watermark is the first run's start`);
    assert.equal(productsPulls().at(-1).query.dates_are_gmt, "true");
    assert.deepEqual(
      shop.productSets.slice(sets).map((p) => [p.handle, p.created]),
      [["t-shirt", false]],
    );
    assert.equal(shop.products.length, count, "no product created twice");
    assert.deepEqual(
      product("t-shirt").variants.nodes.map((v) => v.id),
      teeIds,
      "the variants kept their ids",
    );
    assert.equal(stock("t-shirt", "TEE-S"), 5);
    // Nothing changed since: nothing reaches Shopify.
    await nextSecond();
    const calls = shop.log.length;
    assert.equal((await press()).status, "succeeded");
    assert.equal(shop.log.length, calls);
  });

  it("fails a run whose pull runs out of tries without moving the watermark, and the next run delivers every product once through 429s and 5xxs", async function () {
    await nextSecond();
    const count = shop.products.length;
    for (let i = 0; i < 105; i++) {
      wc.store.products.push({
        id: 5000 + i,
        date_modified: stamp(),
        ...simple({
          name: `Candle ${i}`,
          slug: `candle-${i}`,
          sku: `CANDLE-${i}`,
          price: "9.00",
          stock_quantity: i,
        }),
      });
      wc.store.variations.set(5000 + i, []);
    }
    // Page 1 of 2 answers; page 2 answers 429 more often than the pull tries (5): the run fails.
    const asked = productsPulls().length;
    wc.failNext(5, 429, { after: 1, retryAfter: "0.1" });
    const failed = await press();
    assert.equal(failed.status, "failed");
    assert.match(failed.errors[0].message, /page 2: .* answered 429/);
    const from = productsPulls()[asked].query.modified_after;
    assert.equal(shop.products.length, count + 100, "page 1 went on");
    // The next run asks from the same watermark; page 2 meets a 429, a 503 and a 500, then answers.
    wc.failures.length = 0;
    wc.failNext(3, [429, 503, 500], { after: 1, retryAfter: "0.1" });
    const run = await press();
    assert.equal(run.status, "succeeded", JSON.stringify(run.errors));
    assert.deepEqual(
      wc.failures.map((f) => f.status),
      [429, 503, 500],
    );
    const pulls = productsPulls().slice(-2);
    assert.equal(pulls[0].query.modified_after, from, "asked from the last successful run's watermark");
    assert.equal(pulls[1].query.page, "2");
    assert.equal(shop.products.length, count + 105, "every product once");
    for (let i = 0; i < 105; i++) assert.equal(stock(`candle-${i}`, `CANDLE-${i}`), i);
  });

  it("reports a product Shopify refuses through notify and keeps the watermark until it is fixed", async function () {
    await nextSecond();
    wc.store.products.push(
      {
        id: 6001,
        date_modified: stamp(),
        ...simple({ name: " ", slug: "nameless", sku: "NONAME", price: "1.00", stock_quantity: 1 }),
      },
      {
        id: 6002,
        date_modified: stamp(),
        ...simple({
          name: "Green Mug",
          slug: "green-mug",
          sku: "MUG-GREEN",
          price: "12.50",
          stock_quantity: 4,
        }),
      },
    );
    for (const id of [6001, 6002]) wc.store.variations.set(id, []);
    const run = await press();
    assert.equal(run.status, "completed with failures", JSON.stringify(run));
    const from = productsPulls().at(-1).query.modified_after;
    assert.equal(stock("green-mug", "MUG-GREEN"), 4, "the good product arrived");
    const notes = run.notifications ?? [];
    assert.equal(notes.length, 1, JSON.stringify(notes));
    assert.equal(notes[0].level, "warning");
    assert.match(notes[0].text, /^1 product\(s\) refused by Shopify; first nameless: .*Title can't be blank/);
    // The next run asks from the same watermark; the good product is updated, not duplicated.
    await nextSecond();
    const again = await press();
    assert.equal(again.status, "completed with failures");
    assert.equal(productsPulls().at(-1).query.modified_after, from);
    product("green-mug");
    // Fixed in WooCommerce: the run succeeds and the watermark moves on.
    await nextSecond();
    Object.assign(
      wc.store.products.find((p) => p.id === 6001),
      { name: "Nameless no more", date_modified: stamp() },
    );
    const fixed = await press();
    assert.equal(fixed.status, "succeeded", JSON.stringify(fixed.errors));
    assert.equal(product("nameless").title, "Nameless no more");
    await nextSecond();
    await press();
    assert.ok(Math.abs(Date.parse(productsPulls().at(-1).query.modified_after) - fixed.startedAt) < 50);
  });
});
