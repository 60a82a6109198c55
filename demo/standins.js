// The demo's stand-ins: the vendor fakes (demo/fakes/, the same ones the tests hold the
// connectors to) filled with demo data (demo/data.js), each with a read-only page at /_demo,
// and the instance each needs to reach it. Ports are fixed (from a base) so the instances saved
// in the demo's flows keep pointing at their stand-in across restarts.
const data = require("./data");
const { listenNextOn, showRecords } = require("./fakes/http-server");
const { startShopify } = require("./fakes/shopify");
const { startTikTokShop } = require("./fakes/tiktok-shop");
const { startHubSpot } = require("./fakes/hubspot");
const { startKlaviyo } = require("./fakes/klaviyo");
const { startWooCommerce } = require("./fakes/woocommerce");
const { startNetSuite } = require("./fakes/netsuite");

// Published on purpose: these open nothing but the stand-ins on 127.0.0.1.
const DEMO = {
  shopify: { token: "shpat_demo_token" },
  tiktok: {
    appKey: "demo_app_key",
    appSecret: "demo_app_secret",
    accessToken: "demo_access_token",
    shopCipher: "demo_shop_cipher",
  },
  hubspot: { token: "pat-demo-token" },
  klaviyo: { apiKey: "pk_demo_key" },
  woocommerce: { consumerKey: "ck_demo_key", consumerSecret: "cs_demo_secret" },
  netsuite: {
    account: "1234567",
    consumerKey: "demo-ck",
    consumerSecret: "demo-cs",
    token: "demo-token",
    tokenSecret: "demo-ts",
  },
};

const rows = (v) => (Array.isArray(v) ? v : v instanceof Map ? [...v.values()].flat() : []);

/** Each stand-in: how it starts, what its page shows, and the instance that reaches it. */
const SYSTEMS = [
  {
    key: "tiktok",
    name: "TikTok Shop",
    connector: "tiktok-shop",
    start: async () => {
      const orders = data.tiktokOrders();
      const fake = await startTikTokShop({ ...DEMO.tiktok, orders, products: data.tiktokProducts() });
      return Object.assign(fake, { demoOrders: fake.orders ?? orders });
    },
    tables: (f) => [
      {
        name: "Orders",
        rows: f.demoOrders,
        columns: ["id", "status", "buyer_email", "payment", "update_time"],
      },
      { name: "Shipped packages", rows: rows(f.shipped) },
      { name: "Products", rows: rows(f.products), columns: ["id", "title", "skus"] },
    ],
    instance: (base) => ({
      vars: { appKey: DEMO.tiktok.appKey, shopCipher: DEMO.tiktok.shopCipher, baseUrl: base },
      secrets: { appSecret: DEMO.tiktok.appSecret, accessToken: DEMO.tiktok.accessToken },
    }),
  },
  {
    key: "shopify",
    name: "Shopify",
    connector: "shopify",
    start: () => {
      const products = data.shopifyProducts();
      return startShopify({
        token: DEMO.shopify.token,
        customers: data.shopifyCustomers(),
        products,
        variants: products.flatMap((p) => p.variants),
      });
    },
    tables: (f) => [
      {
        name: "Orders created",
        rows: rows(f.created),
        columns: ["id", "name", "email", "total_price", "tags", "line_items"],
      },
      { name: "Fulfillments", rows: rows(f.fulfillments) },
      { name: "Inventory set", rows: rows(f.inventory) },
    ],
    instance: (base) => ({
      vars: { shop: new URL(base).host, scheme: "http" },
      secrets: { token: DEMO.shopify.token },
    }),
  },
  {
    key: "hubspot",
    name: "HubSpot",
    connector: "hubspot",
    start: () => startHubSpot({ token: DEMO.hubspot.token, contacts: data.hubspotContacts() }),
    tables: (f) => [
      { name: "Contacts", rows: rows(f.objects?.contacts), columns: ["id", "properties"] },
      { name: "Companies", rows: rows(f.objects?.companies), columns: ["id", "properties"] },
    ],
    instance: (base) => ({ vars: { baseUrl: base }, secrets: { token: DEMO.hubspot.token } }),
  },
  {
    key: "klaviyo",
    name: "Klaviyo",
    connector: "klaviyo",
    start: () => startKlaviyo({ apiKey: DEMO.klaviyo.apiKey }),
    tables: (f) => [
      { name: "Profiles", rows: rows(f.state?.profiles), columns: ["id", "attributes", "subscriptions"] },
      { name: "Events", rows: rows(f.state?.events) },
    ],
    instance: (base) => ({ vars: { baseUrl: base }, secrets: { apiKey: DEMO.klaviyo.apiKey } }),
  },
  {
    key: "woocommerce",
    name: "WooCommerce",
    connector: "woocommerce",
    start: () => startWooCommerce({ ...DEMO.woocommerce, products: data.wooProducts() }),
    tables: (f) => [
      {
        name: "Products",
        rows: rows(f.store?.products),
        columns: ["id", "name", "sku", "type", "date_modified"],
      },
      {
        name: "Variations",
        rows: rows(f.store?.variations),
        columns: ["id", "sku", "regular_price", "stock_quantity"],
      },
      { name: "Orders", rows: rows(f.store?.orders) },
    ],
    // A plain-HTTP store: WooCommerce wants OAuth 1.0a there (the connector's second sign-in).
    instance: (base) => ({
      vars: { storeUrl: base },
      auth: 1,
      secrets: { consumerKey: DEMO.woocommerce.consumerKey, consumerSecret: DEMO.woocommerce.consumerSecret },
    }),
  },
  {
    key: "netsuite",
    name: "NetSuite",
    connector: "netsuite",
    start: () => startNetSuite({ ...DEMO.netsuite, records: data.netsuiteRecords() }),
    tables: (f) => [
      { name: "Customers", rows: rows(f.data?.customer) },
      { name: "Sales orders", rows: rows(f.data?.salesOrder) },
      { name: "Inventory items", rows: rows(f.data?.inventoryItem) },
    ],
    instance: (base) => ({
      vars: { accountId: DEMO.netsuite.account, host: base },
      secrets: {
        consumerKey: DEMO.netsuite.consumerKey,
        consumerSecret: DEMO.netsuite.consumerSecret,
        tokenId: DEMO.netsuite.token,
        tokenSecret: DEMO.netsuite.tokenSecret,
      },
    }),
  },
];

/**
 * Starts every stand-in, on portBase, portBase + 1, … (0: any free ports, as tests want).
 * Returns each with its base URL, page and instance settings, and close().
 */
async function startStandIns({ portBase = 0 } = {}) {
  const started = [];
  try {
    for (const [i, sys] of SYSTEMS.entries()) {
      listenNextOn(portBase ? portBase + i : 0);
      const fake = await sys.start();
      showRecords(fake.base, () => ({
        title: `${sys.name}`,
        note: `What the ${sys.name} stand-in holds. Its API is at ${fake.base}; the demo's "Demo ${sys.name}" instance points here.`,
        tables: sys.tables(fake),
      }));
      started.push({
        ...sys,
        fake,
        base: fake.base,
        page: `${fake.base}/_demo`,
        settings: sys.instance(fake.base),
      });
    }
  } catch (err) {
    await Promise.all(started.map((s) => s.fake.close()));
    throw err;
  }
  return { systems: started, close: () => Promise.all(started.map((s) => s.fake.close())) };
}

module.exports = { startStandIns, DEMO };
