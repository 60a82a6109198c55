// TikTok Shop's prebuilt connector end to end: every endpoint through a pw-connection shape in a
// real runtime, on an instance whose app secret and access token go through the admin API as
// the editor sends them, against demo/fakes/tiktok-shop.js (which checks TikTok's signature on
// every request). Each endpoint first meets a 429 that the shape waits out.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { endToEnd } = require("../support/marketplace");
const { lib } = require("../support/dist");
const { startTikTokShop } = require("../../demo/fakes/tiktok-shop");

const APP_SECRET = "tts-app-secret-e2e";
const TOKEN = "TTP_access_token_e2e";
const orders = Array.from({ length: 130 }, (_, i) => ({
  id: `5764614130387857${String(i).padStart(3, "0")}`,
  status: i % 2 ? "AWAITING_SHIPMENT" : "DELIVERED",
  create_time: 1798000000 + i,
  update_time: 1798000300 + i,
}));
const products = Array.from({ length: 105 }, (_, i) => ({
  id: `1729592969712207${String(i).padStart(3, "0")}`,
  title: `Tee ${i}`,
  skus: [{ id: `sku-${i}`, inventory: [{ warehouse_id: "w1", quantity: 1 }] }],
}));

// Per endpoint: what the shape is given and what must come out of it, and of the fake.
const CASES = {
  "search-orders": {
    params: { create_time_ge: 1798000010 },
    check: ({ records, pages }) => {
      assert.equal(records.length, 120, "every order created at or after the filter, from every page");
      assert.deepEqual(
        pages.map((p) => [p.payload.length, p.page.last]),
        [
          [100, false],
          [20, true],
        ],
      );
    },
  },
  "get-orders": {
    params: { ids: `${orders[3].id},${orders[4].id}` },
    check: ({ records }) =>
      assert.deepEqual(
        records.map((o) => o.id),
        [orders[3].id, orders[4].id],
      ),
  },
  "search-products": {
    check: ({ records, pages }) => {
      assert.deepEqual(
        records.map((p) => p.id),
        products.map((p) => p.id),
      );
      assert.equal(pages.at(-1).page.last, true);
    },
  },
  "update-inventory": {
    payload: [
      {
        product_id: products[0].id,
        skus: [{ id: "sku-0", inventory: [{ warehouse_id: "w1", quantity: 7 }] }],
      },
      { product_id: "404", skus: [{ id: "sku-x", inventory: [] }] },
    ],
    check: ({ records, failed, fake }) => {
      assert.equal(records.length, 1);
      assert.equal(fake.products[0].skus[0].inventory[0].quantity, 7, "the stock reads back");
      assert.equal(failed.length, 1);
      assert.equal(failed[0].record.product_id, "404");
      assert.match(failed[0].error, /answered 400: .*product does not exist/);
      assert.equal(failed[0].outcome, "refused");
    },
    status: "completed with failures",
  },
  "ship-package": {
    payload: [
      {
        package_id: "1152321127278713123",
        tracking_number: "1Z999",
        shipping_provider_id: "6617675021119438849",
      },
      { package_id: "1152321127278713124", tracking_number: "", shipping_provider_id: "" },
    ],
    check: ({ records, failed, fake }) => {
      assert.equal(records.length, 1);
      assert.deepEqual(fake.shipped.at(-1), {
        package_id: "1152321127278713123",
        tracking_number: "1Z999",
        shipping_provider_id: "6617675021119438849",
      });
      assert.match(failed[0].error, /tracking_number and shipping_provider_id are required/);
      assert.equal(failed[0].status, 400);
    },
    status: "completed with failures",
  },
};

const instance = (fake) => ({
  connector: "tiktok-shop",
  vars: { appKey: "6d3rk2", shopCipher: "ROW_cipher", baseUrl: fake.base },
  secretSlots: { appSecret: 0, accessToken: 1 },
  credentials: { secret_0: APP_SECRET, secret_1: TOKEN },
});

endToEnd({
  title: "TikTok Shop",
  connector: "tiktok-shop",
  start: () =>
    startTikTokShop({
      appKey: "6d3rk2",
      appSecret: APP_SECRET,
      accessToken: TOKEN,
      orders,
      products,
      shopCipher: "ROW_cipher",
    }),
  instance,
  cases: CASES,
  tooMany: (fake) => fake.failNext(1, 429),
  secrets: [APP_SECRET, TOKEN],
  more(ctx) {
    it("retries a search POST page that met a 5xx (a page only reads) and delivers every product once; retries a GET that met one", async function () {
      const SEARCH = "/product/202312/products/search";
      const from = ctx.fake.log.length;
      // The first page goes through, the second meets a 503 once.
      ctx.fake.failNext(1, 503, 1);
      const search = await ctx.call("search-products");
      assert.equal(search.run.status, "succeeded", JSON.stringify(search.run.errors));
      assert.deepEqual(
        search.requests.map((r) => [r.status, r.attempts]),
        [
          [200, 1],
          [200, 2],
        ],
        "the second page was tried again after its 503",
      );
      const posts = ctx.fake.log.slice(from).filter((e) => e.method === "POST" && e.path === SEARCH);
      assert.equal(posts.length, 3, "two pages, one of them twice");
      assert.deepEqual(
        search.records.map((p) => p.id),
        products.map((p) => p.id),
        "every product delivered once, in order",
      );
      ctx.fake.failNext(1, 500);
      const get = await ctx.call("get-orders", { params: { ids: orders[0].id } });
      assert.equal(get.run.status, "succeeded");
      assert.deepEqual(
        get.requests.map((r) => [r.status, r.attempts]),
        [[200, 2]],
      );
      assert.equal(get.records[0].id, orders[0].id);
    });

    describe("access token refresh", function () {
      const REFRESH = "TTP_refresh_token_e2e";
      const withRefresh = (refreshToken = REFRESH) => ({
        ...instance(ctx.fake),
        id: "inst",
        vars: {
          appKey: "6d3rk2",
          shopCipher: "ROW_cipher",
          baseUrl: ctx.fake.base,
          authBaseUrl: ctx.fake.base,
        },
        secretSlots: { appSecret: 0, accessToken: 1, refreshToken: 2 },
        credentials: { secret_0: APP_SECRET, secret_1: TOKEN, secret_2: refreshToken },
      });
      const stored = () => {
        const { TokenStore } = lib("connectors/token-store");
        const file = path.join(ctx.rt.userDir, "patchworks", "tokens.json");
        return {
          text: fs.readFileSync(file, "utf8"),
          tokens: new TokenStore(file, "test-secret-for-runtime").get("inst"),
        };
      };

      it("refreshes an expired access token once, keeps the new tokens encrypted in the token store, and logs none", async function () {
        ctx.fake.tokens.refresh = REFRESH;
        ctx.fake.expireAccessToken();
        const before = ctx.fake.refreshes.length;
        const out = await ctx.callWith(withRefresh(), "search-products");
        assert.equal(out.run.status, "succeeded", JSON.stringify(out.run.errors));
        assert.equal(out.records.length, products.length);
        assert.equal(ctx.fake.refreshes.length, before + 1, "one refresh for every page");
        // TikTok's documented call, on the instance's auth address.
        const call = ctx.fake.log.find((e) => e.path === "/api/v2/token/refresh");
        assert.deepEqual(
          { ...call.query },
          { app_key: "6d3rk2", app_secret: APP_SECRET, refresh_token: REFRESH, grant_type: "refresh_token" },
        );
        const { text, tokens } = stored();
        assert.equal(tokens.accessToken, ctx.fake.tokens.access);
        assert.equal(tokens.refreshToken, ctx.fake.tokens.refresh, "the rotated refresh token is kept");
        assert.ok(
          Math.abs(tokens.expiresAt - ctx.fake.tokens.expiresAt) < 1000,
          "access_token_expire_in is a Unix time",
        );
        for (const secret of [ctx.fake.tokens.access, ctx.fake.tokens.refresh, REFRESH, APP_SECRET]) {
          assert.ok(!text.includes(secret), "the token file is encrypted");
          for (const where of [JSON.stringify(out.run), JSON.stringify(ctx.rt.logs)])
            assert.ok(!where.includes(secret), "no token or secret in the run log or the logs");
        }
        // Redeployed, the instance goes on with the saved token: no second refresh.
        const again = await ctx.callWith(withRefresh(), "get-orders", { params: { ids: orders[2].id } });
        assert.equal(again.run.status, "succeeded");
        assert.equal(ctx.fake.refreshes.length, before + 1);
        assert.equal(ctx.fake.log.at(-1).headers["x-tts-access-token"], ctx.fake.tokens.access);
      });

      it("fails the run naming TikTok's answer when the refresh token is refused, without showing it", async function () {
        ctx.fake.expireAccessToken();
        const out = await ctx.callWith(withRefresh("TTP_refresh_revoked"), "get-orders", {
          params: { ids: orders[0].id },
        });
        assert.equal(out.run.status, "failed");
        assert.match(
          out.run.errors[0].message,
          /could not refresh the TikTok Shop access token: TikTok Shop's token refresh answered code 36004006: refresh_token is invalid or expired\. Authorize the shop again/,
        );
        assert.ok(!JSON.stringify(out.run).includes("TTP_refresh_revoked"));
      });
    });

    it("reports a send POST that met a 5xx as of unknown outcome on the failure output, never repeating it", async function () {
      const from = ctx.fake.log.length;
      const shipped = ctx.fake.shipped.length;
      ctx.fake.failNext(1, 502);
      const out = await ctx.call("ship-package", {
        payload: [{ package_id: "p-5xx", tracking_number: "T1", shipping_provider_id: "S1" }],
      });
      assert.equal(out.failed.length, 1);
      assert.equal(out.failed[0].outcome, "unknown");
      assert.equal(out.failed[0].status, 502);
      assert.equal(out.run.status, "completed with failures");
      assert.equal(
        ctx.fake.log.slice(from).filter((e) => e.path === "/fulfillment/202309/packages/p-5xx/ship").length,
        1,
        "the ship POST was sent once",
      );
      assert.equal(ctx.fake.shipped.length, shipped);
    });
  },
});
