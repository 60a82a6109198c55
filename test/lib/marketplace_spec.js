// The marketplace's prebuilt Klaviyo, WooCommerce and TikTok Shop connectors, each against a
// fake of its vendor's documented contract (demo/fakes/): every endpoint pulled to its last
// page or sent, read back from the fake's state, a per-record failure, a 429 with the vendor's
// headers and a 5xx; no secret in errors or request records.
const assert = require("node:assert/strict");
const { lib } = require("../support/dist");
const { startKlaviyo } = require("../../demo/fakes/klaviyo");
const { startWooCommerce, wcSignature } = require("../../demo/fakes/woocommerce");
const { startTikTokShop } = require("../../demo/fakes/tiktok-shop");
const { loadPrebuilt } = lib("connectors/definition");
const { ConnectorClient } = lib("connectors/client");
const { woocommerceSign } = lib("connectors/signing");

const prebuilt = Object.fromEntries(loadPrebuilt().map((d) => [d.id, d]));
const collect = async (gen) => {
  const pages = [];
  for await (const p of gen) pages.push(p);
  return pages;
};
let count = 0;
const instance = (vars, extra = {}) => ({ id: `mkt-${++count}`, vars, ...extra });
const withQuery = (def, id, query) => ({
  ...def,
  endpoints: def.endpoints.map((e) => (e.id === id ? { ...e, query: { ...e.query, ...query } } : e)),
});

describe("marketplace connectors", function () {
  this.timeout(20000);

  describe("Klaviyo (fake of the JSON:API contract)", function () {
    const KEY = "pk_klaviyo_secret_key";
    let k;
    const seed = Array.from({ length: 5 }, (_, i) => ({
      attributes: { email: `p${i}@x.com`, first_name: `P${i}` },
    }));
    beforeEach(async () => (k = await startKlaviyo({ apiKey: KEY, profiles: seed })));
    afterEach(() => k.close());
    const client = (key = KEY, def = prebuilt.klaviyo) =>
      new ConnectorClient(def, instance({ apiKey: key, baseUrl: k.base }));

    it("lists profiles to the last page by links.next, with the key, the revision and JSON:API accept headers", async function () {
      const records = [];
      const pages = await collect(
        client(KEY, withQuery(prebuilt.klaviyo, "list-profiles", { "page[size]": "2" })).receive(
          "list-profiles",
          { record: (r) => records.push(r) },
        ),
      );
      assert.deepEqual(
        pages.map((p) => [p.records.map((r) => r.attributes.email), p.last]),
        [
          [["p0@x.com", "p1@x.com"], false],
          [["p2@x.com", "p3@x.com"], false],
          [["p4@x.com"], true],
        ],
      );
      const h = k.log[0].headers;
      assert.equal(h.authorization, `Klaviyo-API-Key ${KEY}`);
      assert.equal(h.revision, "2025-10-15");
      assert.equal(h.accept, "application/vnd.api+json");
      assert.match(k.log[1].query["page[cursor]"], /./);
      assert.equal(k.log.length, 3, "no request after links.next is null");
      assert.ok(records.every((r) => !JSON.stringify(r).includes(KEY)));
    });

    it("filters profiles and gets one by id", async function () {
      const pages = await collect(
        client().receive("list-profiles", { params: { filter: 'equals(email,"p3@x.com")' } }),
      );
      assert.deepEqual(
        pages.flatMap((p) => p.records.map((r) => r.attributes.first_name)),
        ["P3"],
      );
      const id = pages[0].records[0].id;
      const one = await collect(client().receive("get-profile", { params: { id } }));
      assert.equal(one[0].records[0].attributes.email, "p3@x.com");
      await assert.rejects(
        collect(client().receive("get-profile", { params: { id: "nope" } })),
        /answered 404: .*A profile with id nope does not exist/,
      );
    });

    it("creates profiles, refuses a duplicate per record with Klaviyo's 409, and updates one that reads back", async function () {
      const result = await client().send("create-profile", [
        { email: "new@x.com", first_name: "New" },
        { email: "p1@x.com", first_name: "Again" },
        { email: "other@x.com" },
      ]);
      assert.equal(result.ok.length, 2);
      assert.equal(result.ok[0].status, 201);
      assert.equal(result.failed.length, 1);
      assert.equal(result.failed[0].outcome, "refused");
      assert.equal(result.failed[0].status, 409);
      assert.deepEqual(result.failed[0].records, [{ email: "p1@x.com", first_name: "Again" }]);
      assert.match(result.failed[0].error, /answered 409: .*duplicate_profile/);
      const sent = JSON.parse(k.log.find((e) => e.method === "POST").body);
      assert.deepEqual(sent, {
        data: { type: "profile", attributes: { email: "new@x.com", first_name: "New" } },
      });
      assert.equal(
        k.log.find((e) => e.method === "POST").headers["content-type"],
        "application/vnd.api+json",
      );

      const id = result.ok[0].response.data.id;
      const updated = await client().send("update-profile", [{ id, attributes: { last_name: "Person" } }]);
      assert.equal(updated.failed.length, 0);
      const patch = k.log.find((e) => e.method === "PATCH");
      assert.equal(patch.path, `/api/profiles/${id}`);
      assert.deepEqual(JSON.parse(patch.body), {
        data: { type: "profile", id, attributes: { last_name: "Person" } },
      });
      const back = await collect(client().receive("get-profile", { params: { id } }));
      assert.deepEqual(
        [back[0].records[0].attributes.first_name, back[0].records[0].attributes.last_name],
        ["New", "Person"],
      );
    });

    it("subscribes profiles to a list with consent in jobs of at most 1,000, which read back as subscribed", async function () {
      const profiles = Array.from({ length: 1200 }, (_, i) => ({
        type: "profile",
        attributes: {
          email: `s${i}@x.com`,
          subscriptions: { email: { marketing: { consent: "SUBSCRIBED" } } },
        },
      }));
      const result = await client().send("subscribe-profiles", profiles, { params: { list_id: "Y6nRLr" } });
      assert.equal(result.failed.length, 0);
      assert.deepEqual(
        result.ok.map((o) => [o.status, o.records.length]),
        [
          [202, 1000],
          [202, 200],
        ],
      );
      const job = JSON.parse(k.log.find((e) => e.method === "POST").body);
      assert.equal(job.data.type, "profile-subscription-bulk-create-job");
      assert.equal(job.data.attributes.custom_source, "Patchworks", "the required source's default");
      assert.deepEqual(job.data.relationships.list.data, { type: "list", id: "Y6nRLr" });
      const pages = await collect(
        client().receive("list-profiles", { params: { filter: 'equals(email,"s1199@x.com")' } }),
      );
      assert.equal(pages[0].records[0].attributes.subscriptions.email.marketing.consent, "SUBSCRIBED");
      // Without a list the request is not sent.
      const none = await client().send("subscribe-profiles", profiles.slice(0, 1));
      assert.match(none.failed[0].error, /needs the parameter "List id"/);
    });

    it("creates Placed Order events, and refuses one without a metric", async function () {
      const event = prebuilt.klaviyo.endpoints.find((e) => e.id === "create-event").sample;
      const result = await client().send("create-event", [event, { ...event, metric: undefined }]);
      assert.equal(result.ok.length, 1);
      assert.equal(result.ok[0].status, 202);
      assert.equal(k.state.events.length, 1);
      assert.equal(k.state.events[0].metric.data.attributes.name, "Placed Order");
      assert.equal(result.failed[0].outcome, "refused");
      assert.match(result.failed[0].error, /answered 400: .*A metric name is required/);
    });

    it("waits out a 429 by Retry-After, retries a page after a 5xx, and a send after a 5xx is unknown", async function () {
      k.setBurst(1);
      const t0 = Date.now();
      const pages = await collect(
        client(KEY, withQuery(prebuilt.klaviyo, "list-profiles", { "page[size]": "3" })).receive(
          "list-profiles",
        ),
      );
      assert.equal(pages.length, 2);
      assert.ok(k.log.some((e) => e.at >= t0) && Date.now() - t0 >= 900, "waited for Retry-After");
      k.setBurst(1000);
      k.failNext(1, 503);
      const again = await collect(client().receive("list-profiles"));
      assert.equal(again[0].records.length, 5);
      k.failNext(1, 500);
      const sent = await client().send("create-profile", [{ email: "five@x.com" }]);
      assert.equal(sent.failed[0].outcome, "unknown");
      assert.equal(sent.failed[0].status, 500);
    });

    it("refuses a missing or wrong key with Klaviyo's error, never showing the key", async function () {
      await assert.rejects(
        collect(client("pk_wrong_key_123").receive("list-profiles")),
        (err) =>
          /answered 401: .*authentication_failed/.test(err.message) &&
          !err.message.includes("pk_wrong_key_123"),
      );
      assert.throws(() => client(""), /needs "Private API key \(pk_…\)"/);
    });
  });
  describe("WooCommerce REST v3 (fake of the documented contract and its OAuth 1.0a check)", function () {
    const CK = "ck_0123456789abcdef";
    const CS = "cs_secret_0123456789";
    let w;
    const paged = (size) => ({
      ...prebuilt.woocommerce,
      endpoints: prebuilt.woocommerce.endpoints.map((e) =>
        e.pagination ? { ...e, pagination: { ...e.pagination, pageSize: size } } : e,
      ),
    });
    beforeEach(
      async () =>
        (w = await startWooCommerce({
          consumerKey: CK,
          consumerSecret: CS,
          orders: Array.from({ length: 6 }, (_, i) => ({
            status: i % 2 ? "completed" : "processing",
            total: `${i}.00`,
          })),
          customers: [{ email: "taken@x.com", first_name: "Taken" }],
          products: [
            {
              name: "Tee",
              type: "variable",
              variations: [
                { sku: "TEE-S", stock_quantity: 1, manage_stock: true },
                { sku: "TEE-M", stock_quantity: 2, manage_stock: true },
                { sku: "TEE-L", stock_quantity: 3, manage_stock: true },
              ],
            },
          ],
        })),
    );
    afterEach(() => w.close());
    // Auth method 1: OAuth 1.0a in the query string, as WooCommerce requires over plain HTTP.
    const client = (def = prebuilt.woocommerce, vars = {}) =>
      new ConnectorClient(
        def,
        instance({ storeUrl: w.base, consumerKey: CK, consumerSecret: CS, ...vars }, { auth: 1 }),
      );

    it("signs as WooCommerce checks it: pairs encoded once, the secret and '&' as key, unlike RFC 5849 for values with ':'", function () {
      const signed = woocommerceSign(
        {
          method: "GET",
          url: "http://127.0.0.1:8080/wp-json/wc/v3/orders",
          query: { modified_after: "2026-01-01T00:00:00" },
        },
        { vars: { consumerKey: CK, consumerSecret: CS }, now: 1_800_000_000_000 },
        "abc",
      );
      assert.equal(signed.query.oauth_timestamp, "1800000000");
      assert.equal(signed.query.oauth_signature_method, "HMAC-SHA256");
      assert.equal(
        signed.query.oauth_signature,
        wcSignature("GET", "http://127.0.0.1:8080/wp-json/wc/v3/orders", signed.query, CS),
      );
      assert.equal(signed.headers, undefined, "nothing in a header");
    });

    it("pulls orders page by page to the page X-WP-TotalPages names, with no empty page after it", async function () {
      const pages = await collect(client(paged(2)).receive("list-orders"));
      assert.deepEqual(
        pages.map((p) => [p.records.map((o) => o.total), p.last]),
        [
          [["0.00", "1.00"], false],
          [["2.00", "3.00"], false],
          [["4.00", "5.00"], true],
        ],
      );
      assert.equal(
        w.log.length,
        3,
        "six orders at two a page: three requests, not a fourth for an empty page",
      );
      assert.deepEqual([w.log[2].query.page, w.log[2].query.per_page], ["3", "2"]);
      assert.equal(w.log[0].query.oauth_consumer_key, CK);
      assert.ok(
        w.log.every((e) => !JSON.stringify(e.query).includes(CS)),
        "the secret never travels",
      );
    });

    it("filters by modified_after and status, lists customers, products and a product's variations", async function () {
      const later = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, "Z");
      const none = await collect(client().receive("list-orders", { params: { modified_after: later } }));
      assert.deepEqual(none[0].records, []);
      assert.equal(
        w.log.at(-1).query.modified_after,
        later,
        "a value with ':' signed as WooCommerce checks it",
      );
      const done = await collect(client().receive("list-orders", { params: { status: "completed" } }));
      assert.equal(done[0].records.length, 3);
      const customers = await collect(client().receive("list-customers"));
      assert.equal(customers[0].records[0].email, "taken@x.com");
      const products = await collect(client().receive("list-products"));
      const product = products[0].records[0];
      const variations = await collect(
        client().receive("list-variations", { params: { product_id: product.id } }),
      );
      assert.deepEqual(
        variations[0].records.map((v) => v.sku),
        ["TEE-S", "TEE-M", "TEE-L"],
      );
    });

    it("creates and updates an order and a customer, which read back, and refuses a taken email per record", async function () {
      const product = w.store.products[0];
      const created = await client().send("create-order", [
        { status: "processing", line_items: [{ product_id: product.id, quantity: 1 }] },
      ]);
      assert.equal(created.ok[0].status, 201);
      const id = created.ok[0].response.id;
      const updated = await client().send("update-order", [{ id, status: "completed" }]);
      assert.equal(updated.ok[0].status, 200);
      assert.equal(w.log.at(-1).method, "PUT");
      assert.equal(w.store.orders.find((o) => o.id === id).status, "completed");
      const customers = await client().send("create-customer", [
        { email: "new@x.com" },
        { email: "taken@x.com" },
      ]);
      assert.equal(customers.ok.length, 1);
      assert.equal(customers.failed[0].outcome, "refused");
      assert.match(customers.failed[0].error, /answered 400: .*registration-error-email-exists/);
      const cid = customers.ok[0].response.id;
      await client().send("update-customer", [{ id: cid, first_name: "Newer" }]);
      const back = await collect(client().receive("list-customers"));
      assert.equal(back[0].records.find((c) => c.id === cid).first_name, "Newer");
    });

    it("creates orders through the batch endpoint, 100 a call, and splits WooCommerce's per-item errors per record", async function () {
      const product = w.store.products[0];
      const orders = Array.from({ length: 150 }, () => ({
        line_items: [{ product_id: product.id, quantity: 1 }],
      }));
      orders[120] = { line_items: [{ product_id: 99999, quantity: 1 }] };
      const result = await client().send("batch-create-orders", orders);
      const posts = w.log.filter((e) => e.method === "POST").map((e) => JSON.parse(e.body).create.length);
      assert.deepEqual(posts, [100, 50]);
      assert.deepEqual(
        result.ok.map((o) => o.records.length),
        [100, 49],
      );
      assert.equal(result.failed.length, 1);
      assert.equal(result.failed[0].records[0], orders[120]);
      assert.equal(result.failed[0].outcome, "refused");
      assert.match(
        result.failed[0].error,
        /answered 200 with an error for record 21 of 50: Product ID provided is invalid/,
      );
      assert.equal(w.store.orders.length, 6 + 149);
    });

    it("updates variation stock in a batch; an unknown variation is refused on its own, the others read back", async function () {
      const product = w.store.products[0];
      const [s, m] = w.store.variations.get(product.id);
      const result = await client().send(
        "update-variations-stock",
        [
          { id: s.id, stock_quantity: 10 },
          { id: 424242, stock_quantity: 4 },
          { id: m.id, stock_quantity: 20 },
        ],
        { params: { product_id: product.id } },
      );
      assert.equal(w.log.at(-1).path, `/wp-json/wc/v3/products/${product.id}/variations/batch`);
      assert.deepEqual(
        JSON.parse(w.log.at(-1).body).update.map((u) => u.id),
        [s.id, 424242, m.id],
      );
      assert.equal(result.ok[0].records.length, 2);
      assert.deepEqual(
        result.failed.map((f) => [f.records[0].id, f.outcome]),
        [[424242, "refused"]],
      );
      assert.match(result.failed[0].error, /Invalid ID/);
      const back = await collect(client().receive("list-variations", { params: { product_id: product.id } }));
      assert.deepEqual(
        back[0].records.map((v) => v.stock_quantity),
        [10, 20, 3],
      );
    });

    it("waits out a 429, retries a page after a 5xx, reports a send after a 5xx as unknown", async function () {
      w.setLimit(1);
      const t0 = Date.now();
      const pages = await collect(client(paged(2)).receive("list-orders"));
      assert.equal(pages.length, 3);
      assert.ok(Date.now() - t0 >= 900, "waited for Retry-After");
      w.setLimit(1000);
      w.failNext(1, 502);
      const again = await collect(client().receive("list-customers"));
      assert.equal(again[0].records.length, 1);
      w.failNext(1, 500);
      const sent = await client().send("batch-update-orders", [
        { id: w.store.orders[0].id, status: "completed" },
      ]);
      assert.equal(sent.failed[0].outcome, "unknown");
    });

    it("refuses what WooCommerce refuses: no signature, a wrong secret, Basic auth over plain HTTP; Basic over HTTPS works", async function () {
      await assert.rejects(
        collect(client(prebuilt.woocommerce, { consumerSecret: "cs_wrong_secret" }).receive("list-orders")),
        (err) =>
          /answered 401: .*Invalid signature - provided signature does not match/.test(err.message) &&
          !err.message.includes("cs_wrong_secret"),
      );
      const basic = new ConnectorClient(
        prebuilt.woocommerce,
        instance({ storeUrl: w.base, consumerKey: CK, consumerSecret: CS }),
      );
      await assert.rejects(
        collect(basic.receive("list-orders")),
        /answered 401: .*woocommerce_rest_cannot_view/,
      );
      const tls = await startWooCommerce({
        consumerKey: CK,
        consumerSecret: CS,
        ssl: true,
        customers: [{ email: "a@x.com" }],
      });
      try {
        const c = new ConnectorClient(
          prebuilt.woocommerce,
          instance({ storeUrl: tls.base, consumerKey: CK, consumerSecret: CS }),
        );
        const pages = await collect(c.receive("list-customers"));
        assert.equal(pages[0].records[0].email, "a@x.com");
        assert.match(tls.log[0].headers.authorization, /^Basic /);
      } finally {
        await tls.close();
      }
    });
  });
  describe("TikTok Shop Partner API 202309 (fake that checks TikTok's signature)", function () {
    const keys = { appKey: "6a6app", appSecret: "tts-app-secret-1", accessToken: "ROW_tts_access_token" };
    let t;
    const orders = Array.from({ length: 5 }, (_, i) => ({
      id: `57${i}`,
      create_time: 1_798_000_000 + i,
      update_time: 1_798_000_000 + i,
      packages: [{ id: `pk${i}` }],
    }));
    beforeEach(
      async () =>
        (t = await startTikTokShop({
          ...keys,
          shopCipher: "GCP_cipher",
          orders,
          products: [{ id: "p1", skus: [{ id: "s1", inventory: [{ warehouse_id: "w1", quantity: 1 }] }] }],
        })),
    );
    afterEach(() => t.close());
    const client = (size) =>
      new ConnectorClient(
        size
          ? withQuery(prebuilt["tiktok-shop"], "search-orders", { page_size: String(size) })
          : prebuilt["tiktok-shop"],
        instance({ ...keys, shopCipher: "GCP_cipher", baseUrl: t.base }),
      );

    it("searches orders by create time to the last page by next_page_token, each request signed", async function () {
      const pages = await collect(
        client(2).receive("search-orders", { params: { create_time_ge: 1_798_000_001 } }),
      );
      assert.deepEqual(
        pages.map((p) => [p.records.map((o) => o.id), p.last]),
        [
          [["571", "572"], false],
          [["573", "574"], true],
        ],
      );
      assert.deepEqual(
        JSON.parse(t.log[0].body),
        { create_time_ge: 1_798_000_001 },
        "a number, unset filters left out",
      );
      assert.equal(t.log[0].headers["x-tts-access-token"], keys.accessToken);
      assert.ok(
        t.log.every(
          (e) =>
            e.query.sign &&
            e.query.shop_cipher === "GCP_cipher" &&
            !JSON.stringify(e.query).includes(keys.appSecret),
        ),
      );
    });

    it("reads order detail and searches products", async function () {
      const detail = await collect(client().receive("get-orders", { params: { ids: "571,573" } }));
      assert.deepEqual(
        detail[0].records.map((o) => o.id),
        ["571", "573"],
      );
      const products = await collect(client().receive("search-products"));
      assert.equal(products[0].records[0].id, "p1");
    });

    it("updates inventory, which reads back, and refuses an unknown SKU per record", async function () {
      const result = await client().send("update-inventory", [
        { product_id: "p1", skus: [{ id: "s1", inventory: [{ warehouse_id: "w1", quantity: 9 }] }] },
        { product_id: "p1", skus: [{ id: "nope", inventory: [{ warehouse_id: "w1", quantity: 1 }] }] },
      ]);
      assert.equal(result.ok.length, 1);
      assert.equal(result.failed[0].outcome, "refused");
      assert.match(result.failed[0].error, /answered 400: .*sku nope does not exist/);
      const back = await collect(client().receive("search-products"));
      assert.equal(back[0].records[0].skus[0].inventory[0].quantity, 9);
    });

    it("ships a package with its tracking number; one without a provider is refused", async function () {
      const result = await client().send("ship-package", [
        { package_id: "pk1", tracking_number: "JD014600003GB", shipping_provider_id: "6617675021119438849" },
        { package_id: "pk2", tracking_number: "JD0146" },
      ]);
      assert.equal(result.ok.length, 1);
      assert.deepEqual(
        t.shipped.map((s) => [s.package_id, s.tracking_number]),
        [["pk1", "JD014600003GB"]],
      );
      assert.equal(result.failed[0].outcome, "refused");
    });

    it("retries a search after a 429 and order detail after a 5xx; a send after a 5xx is unknown; a wrong secret is refused without it", async function () {
      t.failNext(1, 429);
      const pages = await collect(client().receive("search-orders"));
      assert.equal(pages[0].records.length, 5);
      // A 5xx is retried on the GET of order detail; search is a POST, which the engine does not
      // repeat after a 5xx (it cannot know the POST only reads).
      t.failNext(1, 503);
      const detail = await collect(client().receive("get-orders", { params: { ids: "570" } }));
      assert.equal(detail[0].records.length, 1);
      t.failNext(1, 500);
      const sent = await client().send("ship-package", [
        { package_id: "pk1", tracking_number: "X1", shipping_provider_id: "1" },
      ]);
      assert.equal(sent.failed[0].outcome, "unknown");
      const wrong = new ConnectorClient(
        prebuilt["tiktok-shop"],
        instance({ ...keys, appSecret: "wrong-secret-9", shopCipher: "GCP_cipher", baseUrl: t.base }),
      );
      await assert.rejects(
        collect(wrong.receive("search-orders")),
        (err) =>
          /answered 401: .*signature is invalid/.test(err.message) && !err.message.includes("wrong-secret-9"),
      );
    });

    it("refreshes once for workers sharing a token store: the others take the new tokens", async function () {
      await t.close();
      t = await startTikTokShop({ ...keys, shopCipher: "GCP_cipher", orders, refreshToken: "rt-1" });
      // Two workers' views of one shared store (as Redis gives them): refreshOnce lets one
      // refresh at a time, and a worker that finds the tokens already replaced takes them.
      const shared = { saved: undefined, lock: Promise.resolve() };
      const view = () => {
        const v = {
          known: undefined,
          get: () => v.known,
          set: async (tokens) => void (shared.saved = v.known = tokens),
          load: async () => (v.known = shared.saved),
          refreshOnce: (stale, refresh) => {
            const turn = shared.lock.then(async () => {
              const saved = await v.load();
              if (saved && !stale(saved)) return saved;
              const tokens = await refresh(saved);
              await v.set(tokens);
              return tokens;
            });
            shared.lock = turn.catch(() => {});
            return turn;
          },
        };
        return v;
      };
      const worker = () =>
        new ConnectorClient(
          prebuilt["tiktok-shop"],
          instance(
            { ...keys, refreshToken: "rt-1", shopCipher: "GCP_cipher", baseUrl: t.base, authBaseUrl: t.base },
            { id: "tts-shared" },
          ),
          { tokens: view() },
        );
      t.expireAccessToken();
      const [a, b] = [worker(), worker()];
      await Promise.all([
        collect(a.receive("get-orders", { params: { ids: "570" } })),
        collect(b.receive("get-orders", { params: { ids: "570" } })),
      ]);
      assert.equal(t.refreshes.length, 1, "one refresh for both workers (TikTok rotates the refresh token)");
      assert.equal(shared.saved.refreshToken, "TTP_refresh_rotated_1");
    });

    it("refreshes the access token ahead of its expiry once one is saved, and on TikTok's 401 for an expired one", async function () {
      const store = { saved: undefined, get: () => store.saved, set: async (v) => void (store.saved = v) };
      const refreshing = async (ttl) => {
        await t.close();
        t = await startTikTokShop({
          ...keys,
          shopCipher: "GCP_cipher",
          orders,
          refreshToken: "rt-1",
          tokenTtlSec: ttl,
        });
        return () =>
          new ConnectorClient(
            prebuilt["tiktok-shop"],
            instance(
              {
                ...keys,
                refreshToken: "rt-1",
                shopCipher: "GCP_cipher",
                baseUrl: t.base,
                authBaseUrl: t.base,
              },
              { id: "tts-refresh" },
            ),
            { tokens: store },
          );
      };
      // Tokens that live 10 s: inside the 30 s margin, so each call after a refresh refreshes first.
      const make = await refreshing(10);
      t.expireAccessToken();
      await collect(make().receive("get-orders", { params: { ids: "570" } }));
      assert.deepEqual(
        t.log.map((e) => [e.path, e.headers["x-tts-access-token"] ?? ""]),
        [
          ["/order/202309/orders", keys.accessToken],
          ["/api/v2/token/refresh", ""],
          ["/order/202309/orders", "TTP_access_refreshed_1"],
        ],
        "the expired token's 401 (code 105002), one refresh, the request again",
      );
      assert.equal(JSON.parse(JSON.stringify(store.saved)).refreshToken, "TTP_refresh_rotated_1");
      t.log.length = 0;
      await collect(make().receive("get-orders", { params: { ids: "570" } }));
      assert.deepEqual(
        t.log.map((e) => e.path),
        ["/api/v2/token/refresh", "/order/202309/orders"],
        "refreshed before the request, with the rotated refresh token",
      );
      assert.equal(t.log[0].query.refresh_token, "TTP_refresh_rotated_1");
      // Long-lived tokens are used as saved.
      const longLived = await refreshing(7 * 24 * 3600);
      store.saved = undefined;
      t.expireAccessToken();
      await collect(longLived().receive("get-orders", { params: { ids: "570" } }));
      t.log.length = 0;
      await collect(longLived().receive("get-orders", { params: { ids: "570" } }));
      assert.deepEqual(
        t.log.map((e) => e.path),
        ["/order/202309/orders"],
      );
      // New tokens pasted into the instance supersede the ones refreshed from the old.
      const pasted = new ConnectorClient(
        prebuilt["tiktok-shop"],
        instance(
          {
            ...keys,
            accessToken: "TTP_pasted_new",
            refreshToken: "rt-new",
            shopCipher: "GCP_cipher",
            baseUrl: t.base,
            authBaseUrl: t.base,
          },
          { id: "tts-refresh" },
        ),
        { tokens: store },
      );
      t.log.length = 0;
      await assert.rejects(
        collect(pasted.receive("get-orders", { params: { ids: "570" } })),
        /could not refresh the TikTok Shop access token: .*code 36004006/,
      );
      assert.equal(t.log[0].headers["x-tts-access-token"], "TTP_pasted_new");
      assert.equal(t.log[1].query.refresh_token, "rt-new", "the pasted refresh token, not the saved one");
      // A refused signature (TikTok's 106xxx codes) is not an expired token: no refresh, the 401 says why.
      const badSecret = new ConnectorClient(
        prebuilt["tiktok-shop"],
        instance({
          ...keys,
          appSecret: "wrong-secret-9",
          refreshToken: "rt-1",
          shopCipher: "GCP_cipher",
          baseUrl: t.base,
          authBaseUrl: t.base,
        }),
        { tokens: store },
      );
      const refreshes = t.refreshes.length;
      await assert.rejects(
        collect(badSecret.receive("get-orders", { params: { ids: "570" } })),
        (err) =>
          /answered 401: .*signature is invalid/.test(err.message) && !err.message.includes("wrong-secret-9"),
      );
      assert.equal(t.refreshes.length, refreshes);
    });
  });
});
