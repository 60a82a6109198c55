// The blueprint "TikTok Shop orders into Shopify" end to end in a real Node-RED runtime:
// imported from the examples as a user imports it, its instances pointed at the TikTok Shop
// and Shopify fakes with credentials supplied in the deploy (the admin API), run on its button
// and through its signed webhook. It proves: every order awaiting shipment arrives in Shopify
// mapped (line items by SKU through the lookup table, addresses, totals, taxes, discounts, tag);
// a second run asks from the watermark and creates nothing twice; 429s and 5xx from TikTok in
// the middle of a pull still deliver every order exactly once; an order Shopify refuses (an
// unknown SKU) is reported by notify, the others go through and the watermark stays; a Shopify
// fulfilment goes back to TikTok as the order's package shipped with its tracking number and
// provider.
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const { startRuntime } = require("../support/runtime");
const { waitUntil } = require("../support/wait");
const { importBlueprint, runEnded, pressTrigger } = require("../support/blueprint");
const { startShopify } = require("../../demo/fakes/shopify");
const { startTikTokShop } = require("../../demo/fakes/tiktok-shop");

const NAME = "TikTok Shop orders into Shopify";
const TOKEN = "shpat_blueprint_secret";
const APP = { appKey: "tt-app-key", appSecret: "tt-app-secret-value", accessToken: "TTP_access_token_value" };
const CIPHER = "GCP_cipher_1";
const HOOK_SECRET = "shopify-app-client-secret";
const TEE = "gid://shopify/ProductVariant/39072856";
const MUG = "gid://shopify/ProductVariant/39072857";
const UPS = "6617675021119438849";

describe(`the blueprint "${NAME}" (runtime, against the fakes)`, function () {
  this.timeout(60000);
  let rt;
  let shop;
  let tt;
  let flow;
  const now = () => Math.floor(Date.now() / 1000);
  // TikTok Shop 202309 orders as the search answers them (US: tax on top of the prices).
  const district = (state, city) => [
    { address_level: "L0", address_level_name: "Country", address_name: "United States" },
    { address_level: "L1", address_level_name: "State", address_name: state },
    { address_level: "L3", address_level_name: "City", address_name: city },
  ];
  const item = (n, sku, price, extra = {}) => ({
    id: `57708761441852${String(n).padStart(4, "0")}`,
    sku_id: `27293824768529${String(n).padStart(4, "0")}`,
    seller_sku: sku,
    product_name: sku.startsWith("TEE") ? "Tee" : "Mug",
    quantity: 1,
    original_price: price,
    sale_price: price,
    currency: "USD",
    ...extra,
  });
  const order = (id, extra = {}) => ({
    id,
    status: "AWAITING_SHIPMENT",
    create_time: now() - 3600,
    update_time: now() - 600,
    buyer_email: `${id}@scs.tiktokw.us`,
    recipient_address: {
      name: "Ada Lovelace",
      first_name: "Ada",
      last_name: "Lovelace",
      phone_number: "(+1)2125550100",
      address_line1: "1 Main St ",
      address_line2: "",
      postal_code: "10001",
      region_code: "us",
      district_info: district("New York", "New York City"),
    },
    payment: {
      currency: "USD",
      sub_total: "20.00",
      shipping_fee: "0",
      seller_discount: "0",
      platform_discount: "0",
      tax: "0",
      total_amount: "20.00",
    },
    line_items: [item(Number(id.slice(-4)), "TEE-M", "20.00")],
    packages: [{ id: `1152321127278${id.slice(-6)}` }],
    ...extra,
  });
  const orders = [
    order("576461413038785001", {
      buyer_email: " Grace@SCS.tiktokw.us",
      recipient_address: {
        name: "Grace Hopper",
        first_name: "Grace",
        last_name: "Hopper",
        phone_number: "(+1)2125550123",
        address_line1: "5 Navy Yard Rd",
        address_line2: "Unit 2",
        postal_code: "20374",
        region_code: "US",
        district_info: district("District of Columbia", "Washington"),
      },
      // Two tees and a mug at list price; $5 off from the seller, $2 from TikTok; $4.99
      // shipping; 8.5% tax: 14.99 × 2 + 9.50 − 7 + 4.99 + 3.77 = 41.24.
      line_items: [item(1, "TEE-M", "14.99"), item(2, "tee-m", "14.99"), item(3, "MUG-1", "9.50")],
      payment: {
        currency: "USD",
        original_total_product_price: "39.48",
        sub_total: "32.48",
        shipping_fee: "4.99",
        seller_discount: "5.00",
        platform_discount: "2.00",
        tax: "3.77",
        total_amount: "41.24",
      },
      packages: [{ id: "1152321127278713123" }],
    }),
    order("576461413038785002"),
    order("576461413038785003", { status: "UNPAID" }),
  ];
  const createdFor = (id) => shop.created.filter((o) => o.sourceIdentifier === id);

  before(async () => {
    shop = await startShopify({ token: TOKEN });
    tt = await startTikTokShop({ ...APP, orders, shopCipher: CIPHER });
    rt = await startRuntime({ patchworks: { runs: { settleMs: 40 } } });
    flow = await importBlueprint(rt, NAME);
    assert.ok(
      !JSON.stringify(flow).includes(APP.appSecret) && flow.some((n) => n.type === "comment"),
      "a comment says what to fill in",
    );
    // What a user types into the two instance dialogs, the SKU table and the webhook's secret.
    Object.assign(
      flow.find((n) => n.type === "pw-instance" && n.connector === "tiktok-shop"),
      {
        vars: { appKey: APP.appKey, shopCipher: CIPHER, baseUrl: tt.base },
        credentials: { secret_0: APP.appSecret, secret_1: APP.accessToken },
      },
    );
    Object.assign(
      flow.find((n) => n.type === "pw-instance" && n.connector === "shopify"),
      {
        vars: { shop: new URL(shop.base).host, scheme: "http" },
        credentials: { secret_0: TOKEN },
        // The connector paces at REST's 2 calls a second; GraphQL is limited by query cost
        // (the fake's bucket), so the instance's own limit lets the 240 orders below through
        // in seconds rather than two minutes.
        rateLimit: [{ requests: 20, period: "second", burst: 40 }],
      },
    );
    skus().rows = [
      ["TEE-M", TEE, "TEE-M"],
      ["MUG-1", MUG, "MUG-1"],
    ];
    Object.assign(
      flow.find((n) => n.type === "pw-trigger" && n.webhook),
      { credentials: { secret: HOOK_SECRET } },
    );
    await rt.deploy(flow);
  });
  after(async () => {
    await rt?.stop();
    await shop?.close();
    await tt?.close();
  });

  function carriers() {
    return flow.find((n) => n.type === "pw-lookup-table" && /carrier/.test(n.name));
  }
  function skus() {
    return flow.find((n) => n.type === "pw-lookup-table" && /SKU/.test(n.name));
  }
  const schedule = () => flow.find((n) => n.type === "pw-trigger" && n.name === "Every 15 minutes");
  const ended = (id) => runEnded(rt, id, 30000);
  const press = () => pressTrigger(rt, schedule().id, { timeout: 30000 });
  const since = () => tt.searches.at(-1).body.update_time_ge;

  let first;
  it("creates every order awaiting shipment in Shopify once, mapped, and records the Shopify id", async function () {
    first = await press();
    assert.equal(first.status, "succeeded", JSON.stringify(first.errors));
    assert.equal(tt.searches.length, 1);
    assert.equal(tt.searches[0].body.update_time_ge, undefined, "the first run pulls every order");
    assert.deepEqual(
      shop.created.map((o) => o.sourceIdentifier),
      ["576461413038785001", "576461413038785002"],
      "the unpaid order waits",
    );
    const { id, name, ...grace } = createdFor("576461413038785001")[0];
    assert.match(id, /^gid:\/\/shopify\/Order\/\d+$/);
    assert.ok(name);
    const address = {
      firstName: "Grace",
      lastName: "Hopper",
      address1: "5 Navy Yard Rd",
      address2: "Unit 2",
      city: "Washington",
      zip: "20374",
      countryCode: "US",
      phone: "+12125550123",
    };
    const usd = (amount) => ({ shopMoney: { amount, currencyCode: "USD" } });
    assert.deepEqual(grace, {
      sourceIdentifier: "576461413038785001",
      note: "TikTok Shop order 576461413038785001",
      tags: ["TikTok Shop"],
      financialStatus: "PAID",
      processedAt: new Date(orders[0].create_time * 1000).toISOString(),
      currency: "USD",
      email: "grace@scs.tiktokw.us",
      customer: { toUpsert: { email: "grace@scs.tiktokw.us", firstName: "Grace", lastName: "Hopper" } },
      shippingAddress: address,
      billingAddress: address,
      // By SKU through the lookup table (case ignored), at list price.
      lineItems: [
        { variantId: TEE, quantity: 1, priceSet: usd("14.99") },
        { variantId: TEE, quantity: 1, priceSet: usd("14.99") },
        { variantId: MUG, quantity: 1, priceSet: usd("9.50") },
      ],
      shippingLines: [
        { title: "TikTok Shop shipping", code: "TIKTOK_SHOP", source: "tiktok_shop", priceSet: usd("4.99") },
      ],
      discountCode: { itemFixedDiscountCode: { code: "TIKTOK SHOP", amountSet: usd("7.00") } },
      taxLines: [{ title: "Tax", rate: "0.1006", priceSet: usd("3.77") }],
      taxesIncluded: false,
    });
    // The totals add up to what the buyer paid on TikTok.
    const cents = (s) => Math.round(Number(s) * 100);
    const total =
      grace.lineItems.reduce((n, l) => n + cents(l.priceSet.shopMoney.amount) * l.quantity, 0) -
      cents(grace.discountCode.itemFixedDiscountCode.amountSet.shopMoney.amount) +
      cents(grace.shippingLines[0].priceSet.shopMoney.amount) +
      cents(grace.taxLines[0].priceSet.shopMoney.amount);
    assert.equal(total, cents(orders[0].payment.total_amount));
    // An order without discounts, tax or a second address line leaves those out.
    const plain = createdFor("576461413038785002")[0];
    assert.equal(plain.discountCode, undefined);
    assert.equal(plain.taxLines, undefined);
    assert.equal(plain.shippingAddress.address1, "1 Main St");
    assert.equal(plain.shippingAddress.address2, undefined);
    assert.equal(plain.shippingAddress.countryCode, "US");
    // The id mapping the fulfilment flow reads: Shopify order id → TikTok order id.
    const { caches } = (await rt.api("GET", "/pw/cache")).json;
    const mapping = caches.find((c) => c.cache === "tiktok-orders" && c.scope === "global");
    assert.equal(mapping?.entries, 2, JSON.stringify(caches));
  });

  it("asks from the watermark on the second run and creates nothing twice", async function () {
    Object.assign(orders[0], { update_time: now() });
    const second = await press();
    assert.equal(second.status, "succeeded", JSON.stringify(second.errors));
    assert.ok(
      Math.abs(since() - first.startedAt / 1000) <= 1,
      `the watermark is the first run's start (${since()})`,
    );
    assert.deepEqual(tt.searches.at(-1).ids, ["576461413038785001"], "only the order updated since");
    assert.equal(shop.created.length, 2, "nothing created a second time");
    const quiet = await press();
    assert.equal(quiet.status, "succeeded");
    assert.ok(since() >= Math.floor(second.startedAt / 1000), "the watermark moved on");
    assert.equal(shop.created.length, 2);
  });

  it("delivers every order exactly once through 429s and 5xx in the middle of a pull", async function () {
    // 130 new orders: two pages of TikTok's 100. The second page answers 429, then 500, then
    // comes: the pull retries it and goes on.
    const many = Array.from({ length: 130 }, (_, i) =>
      order(`5764614130387${String(86000 + i).padStart(5, "0")}`, { update_time: now() }),
    );
    orders.push(...many);
    tt.failNext(2, [429, 500], 1);
    const retried = await press();
    assert.equal(retried.status, "succeeded", JSON.stringify(retried.errors));
    const pages = tt.searches.filter((s) => s.body.update_time_ge === since());
    assert.ok(
      pages.some((s) => s.pageToken),
      "the second page was asked for",
    );
    for (const o of many) assert.equal(createdFor(o.id).length, 1, `order ${o.id} once`);
    assert.equal(shop.created.length, 132);

    // TikTok keeps failing past the tries: the run fails after the first page, the watermark
    // stays, and the next run brings the rest, creating the first page's orders no second time.
    for (const o of many) o.update_time = now() - 120; // not changed since that run
    const more = Array.from({ length: 110 }, (_, i) =>
      order(`5764614130387${String(87000 + i).padStart(5, "0")}`, { update_time: now() }),
    );
    orders.push(...more);
    tt.failNext(20, 503, 1);
    const broken = await press().finally(() => tt.failNext(0));
    assert.equal(broken.status, "failed", JSON.stringify(broken));
    assert.ok(shop.created.length > 132 && shop.created.length < 242, "the first page arrived");
    const asked = since();
    const healed = await press();
    assert.equal(healed.status, "succeeded", JSON.stringify(healed.errors));
    assert.equal(since(), asked, "asked from the same watermark as the failed run");
    for (const o of more) assert.equal(createdFor(o.id).length, 1, `order ${o.id} once`);
    assert.equal(shop.created.length, 242);
  });

  it("reports an order Shopify refuses (an unknown SKU) through notify, sends the rest, and keeps the watermark", async function () {
    orders.push(
      order("576461413038788001", {
        update_time: now(),
        line_items: [item(8001, "HAT-XL", "12.00")],
      }),
      order("576461413038788002", { update_time: now() }),
    );
    const bad = await press();
    assert.equal(bad.status, "completed with failures", JSON.stringify(bad));
    const watermark = since();
    assert.equal(createdFor("576461413038788002").length, 1, "the good order of the same page arrived");
    assert.equal(createdFor("576461413038788001").length, 0);
    const notes = bad.notifications ?? [];
    assert.equal(notes.length, 1, JSON.stringify(notes));
    assert.equal(notes[0].level, "warning");
    assert.match(
      notes[0].text,
      /^1 TikTok order\(s\) refused by Shopify; first 576461413038788001: .*Invalid global id 'HAT-XL'/,
    );
    assert.ok(
      rt.logs.some((l) => /\[notify "orders Shopify refused"\] warning: /.test(String(l.msg))),
      "in Node-RED's log too",
    );
    // The watermark stays: the next run asks from the same time and the refused order comes again.
    const created = shop.created.length;
    const searched = tt.searches.length;
    const again = await press();
    assert.equal(again.status, "completed with failures");
    assert.equal(since(), watermark);
    assert.ok(tt.searches.slice(searched).some((s) => s.ids.includes("576461413038788001")));
    assert.equal(shop.created.length, created, "the good one is not created twice");
    // The merchant adds the SKU to the table and deploys: the order arrives, once.
    skus().rows.push(["HAT-XL", "gid://shopify/ProductVariant/39072858", "HAT-XL"]);
    await rt.deploy(flow);
    const fixed = await press();
    assert.equal(fixed.status, "succeeded", JSON.stringify(fixed.errors));
    assert.equal(createdFor("576461413038788001").length, 1);
    assert.equal(
      createdFor("576461413038788001")[0].lineItems[0].variantId,
      "gid://shopify/ProductVariant/39072858",
    );
    assert.equal(createdFor("576461413038788002").length, 1);
    await press();
    assert.ok(
      Math.abs(since() - fixed.startedAt / 1000) <= 1,
      "the watermark moved on to the start of the run that succeeded",
    );
  });

  it("sends a Shopify fulfilment back to TikTok as the order's package shipped with tracking", async function () {
    const hooks = flow.find((n) => n.type === "pw-trigger" && n.webhook);
    const sign = (b) => crypto.createHmac("sha256", HOOK_SECRET).update(b).digest("base64");
    const post = (payload, signature, topic = "fulfillments/create") => {
      const body = JSON.stringify(payload);
      return fetch(rt.hooks + hooks.path, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-shopify-topic": topic,
          "x-shopify-hmac-sha256": signature ?? sign(body),
        },
        body,
      });
    };
    const runsNow = async () => (await rt.api("GET", "/pw/runs?limit=500")).json.runs;
    const known = new Set((await runsNow()).map((r) => r.id));
    const hookRun = async () => {
      const r = await waitUntil(
        async () => (await runsNow()).find((x) => !known.has(x.id)),
        "the webhook's run",
        10000,
        20,
      );
      known.add(r.id);
      return ended(r.id);
    };
    const grace = createdFor("576461413038785001")[0];
    const shopifyId = Number(grace.id.split("/").pop());
    // Shopify's REST Fulfillment resource, as the fulfillments/create webhook sends it.
    const fulfilment = {
      id: 255858046,
      order_id: shopifyId,
      status: "success",
      tracking_company: "UPS",
      tracking_number: "1Z001985YW99744790",
      tracking_numbers: ["1Z001985YW99744790"],
      tracking_url: "https://www.ups.com/track?tracknum=1Z001985YW99744790",
      line_items: [{ id: 466157049, sku: "TEE-M", quantity: 2 }],
    };
    assert.equal((await post(fulfilment, sign("{}"))).status, 401, "a bad signature starts no run");
    assert.equal((await post(fulfilment)).status, 200);
    const shippedRun = await hookRun();
    assert.equal(shippedRun.status, "succeeded", JSON.stringify(shippedRun.errors));
    assert.deepEqual(tt.shipped, [
      { package_id: "1152321127278713123", tracking_number: "1Z001985YW99744790", shipping_provider_id: UPS },
    ]);

    // Shopify delivers webhooks at least once: the same fulfilment again ships nothing twice.
    assert.equal((await post(fulfilment)).status, 200);
    assert.equal((await hookRun()).status, "succeeded");
    assert.equal(tt.shipped.length, 1, "not shipped a second time");

    // An order that did not come from TikTok Shop: nothing to ship, nothing asked of TikTok.
    assert.equal((await post({ ...fulfilment, id: 2, order_id: 99999999 })).status, 200);
    assert.equal((await hookRun()).status, "succeeded");
    assert.equal(tt.shipped.length, 1);

    // A carrier the table does not know: TikTok refuses the shipment and notify says so.
    const plain = createdFor("576461413038785002")[0];
    const unknownCarrier = {
      ...fulfilment,
      id: 3,
      order_id: Number(plain.id.split("/").pop()),
      tracking_company: "Pigeon Post",
      tracking_number: "PP1",
    };
    assert.equal((await post(unknownCarrier)).status, 200);
    const refused = await hookRun();
    assert.equal(refused.status, "completed with failures", JSON.stringify(refused));
    assert.equal(tt.shipped.length, 1);
    const notes = refused.notifications ?? [];
    assert.equal(notes.length, 1, JSON.stringify(notes));
    assert.match(notes[0].text, /carrier "Pigeon Post".*shipping_provider_id are required/);
    // Not remembered as sent: once the carrier is in the table, the fulfilment sent again (the
    // merchant re-saves its tracking: fulfillments/update) goes through.
    carriers().rows.push(["Pigeon Post", "7000000000000000001"]);
    await rt.deploy(flow);
    assert.equal((await post(unknownCarrier, undefined, "fulfillments/update")).status, 200);
    assert.equal((await hookRun()).status, "succeeded");
    assert.deepEqual(tt.shipped.at(-1), {
      package_id: orders[1].packages[0].id,
      tracking_number: "PP1",
      shipping_provider_id: "7000000000000000001",
    });
  });
});
