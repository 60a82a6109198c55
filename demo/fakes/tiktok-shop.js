// A fake of TikTok Shop's Partner API (202309) signing contract: app_key, timestamp and sign
// in the query, x-tts-access-token in a header; sign recomputed here from the documented
// recipe and compared, a stale timestamp refused.
const crypto = require("node:crypto");
const { startServer } = require("./http-server");

function expectedSign(path, query, body, appSecret) {
  const params = Object.keys(query)
    .filter((k) => k !== "sign" && k !== "access_token")
    .sort()
    .map((k) => `${k}${query[k]}`)
    .join("");
  return crypto
    .createHmac("sha256", appSecret)
    .update(`${appSecret}${path}${params}${body}${appSecret}`)
    .digest("hex");
}

// Beyond signing: orders search (POST /order/202309/orders/search, page_size 1 to 100,
// page_token, next_page_token "" on the last page, filters create_time_ge/update_time_ge in the
// body), order detail (GET /order/202309/orders?ids=, at most 50), products search (202312, and
// 202309), inventory
// update (POST /product/202309/products/{id}/inventory/update) and package ship (POST
// /fulfillment/202309/packages/{id}/ship), each needing shop_cipher; state kept so an inventory
// or a shipment reads back; a refused record answers 400 with TikTok's code and message;
// `failNext(n, status, after)` (the n requests after the next `after` ones answer `status`, or
// each status of a list in turn) and `limit` (requests a second, then 429) for retry tests;
// every orders search is kept in `searches` with its body and the ids it answered.
// Tokens: the access token is valid until `accessTokenExpiresAt` (epoch ms; `expireAccessToken()`
// ends it now), then answered 401 code 105002; an unknown token is 401 code 105001. GET
// /api/v2/token/refresh?app_key&app_secret&refresh_token&grant_type=refresh_token (TikTok's
// documented refresh, on the auth host: tests point the instance's auth address here) answers
// { code: 0, data: { access_token, access_token_expire_in (a Unix time), refresh_token,
// refresh_token_expire_in, ... } } with a new access token and a rotated refresh token; the old
// access token stops working. `refreshes` lists the refresh calls.
async function startTikTokShop({
  appKey,
  appSecret,
  accessToken,
  orders = [],
  products = [],
  shopCipher,
  limit = 1000,
  refreshToken,
  accessTokenExpiresAt = Infinity,
  tokenTtlSec = 7 * 24 * 3600,
}) {
  const tokens = { access: accessToken, expiresAt: accessTokenExpiresAt, refresh: refreshToken, issued: 0 };
  const refreshes = [];
  const fail = { count: 0, status: 500, after: 0, failed: 0 };
  const shipped = [];
  const searches = [];
  let second = 0;
  let inSecond = 0;
  const ok = (data) => ({ body: { code: 0, message: "Success", request_id: "req", data } });
  const page = (list, req, key) => {
    const size = Number(req.query.page_size);
    if (!Number.isInteger(size) || size < 1 || size > 100)
      return { status: 400, body: { code: 36009003, message: "page_size must be between 1 and 100" } };
    const start = req.query.page_token
      ? Number(Buffer.from(req.query.page_token, "base64url").toString())
      : 0;
    const next = start + size < list.length ? Buffer.from(String(start + size)).toString("base64url") : "";
    return ok({ [key]: list.slice(start, start + size), next_page_token: next, total_count: list.length });
  };
  const server = await startServer((req) => {
    if (req.method === "GET" && req.path === "/api/v2/token/refresh") {
      refreshes.push({ at: Date.now(), refresh_token: req.query.refresh_token });
      if (req.query.app_key !== appKey || req.query.app_secret !== appSecret)
        return { body: { code: 36004004, message: "invalid app_key or app_secret", data: null } };
      if (req.query.grant_type !== "refresh_token")
        return { body: { code: 36004005, message: "grant_type must be refresh_token", data: null } };
      if (!tokens.refresh || req.query.refresh_token !== tokens.refresh)
        return { body: { code: 36004006, message: "refresh_token is invalid or expired", data: null } };
      tokens.issued += 1;
      tokens.access = `TTP_access_refreshed_${tokens.issued}`;
      tokens.refresh = `TTP_refresh_rotated_${tokens.issued}`;
      tokens.expiresAt = Date.now() + tokenTtlSec * 1000;
      return {
        body: {
          code: 0,
          message: "success",
          request_id: "req",
          data: {
            access_token: tokens.access,
            access_token_expire_in: Math.floor(tokens.expiresAt / 1000),
            refresh_token: tokens.refresh,
            refresh_token_expire_in: Math.floor(Date.now() / 1000) + 365 * 24 * 3600,
            open_id: "open-id-fake",
            seller_name: "Fake shop",
            seller_base_region: "GB",
            user_type: 0,
          },
        },
      };
    }
    if (req.query.app_key !== appKey)
      return { status: 401, body: { code: 106001, message: "invalid app_key" } };
    if (Math.abs(Date.now() / 1000 - Number(req.query.timestamp)) > 300)
      return { status: 401, body: { code: 106010, message: "timestamp expired" } };
    if (req.query.sign !== expectedSign(req.path, req.query, req.body, appSecret))
      return { status: 401, body: { code: 106001, message: "signature is invalid" } };
    if (req.headers["x-tts-access-token"] !== tokens.access)
      return {
        status: 401,
        body: { code: 105001, message: "Invalid credentials: the access token is invalid" },
      };
    if (Date.now() >= tokens.expiresAt)
      return {
        status: 401,
        body: { code: 105002, message: "Expired credentials: the access token has expired" },
      };
    const now = Math.floor(Date.now() / 1000);
    if (now !== second) {
      second = now;
      inSecond = 0;
    }
    if (++inSecond > limit) return { status: 429, body: { code: 36009004, message: "Too many requests" } };
    if (fail.count > 0 && fail.after > 0) fail.after -= 1;
    else if (fail.count > 0) {
      fail.count -= 1;
      // A list of statuses answers them in turn (429, then 500, …).
      const status = Array.isArray(fail.status)
        ? fail.status[fail.failed++ % fail.status.length]
        : fail.status;
      return status === 429
        ? { status: 429, body: { code: 36009004, message: "Too many requests", request_id: "req" } }
        : { status, body: { code: 36009001, message: "Internal error" } };
    }
    if (shopCipher && req.query.shop_cipher !== shopCipher)
      return { status: 400, body: { code: 106011, message: "shop_cipher is invalid" } };
    const body = req.body ? JSON.parse(req.body) : {};
    if (req.method === "POST" && req.path === "/order/202309/orders/search") {
      const list = orders.filter(
        (o) =>
          (body.create_time_ge === undefined || o.create_time >= body.create_time_ge) &&
          (body.update_time_ge === undefined || o.update_time >= body.update_time_ge),
      );
      const answer = page(list, req, "orders");
      searches.push({
        body,
        pageToken: req.query.page_token,
        ids: (answer.body.data?.orders ?? []).map((o) => o.id),
      });
      return answer;
    }
    if (req.method === "GET" && req.path === "/order/202309/orders") {
      const ids = String(req.query.ids ?? "")
        .split(",")
        .filter(Boolean);
      if (ids.length === 0 || ids.length > 50)
        return { status: 400, body: { code: 36009003, message: "ids must hold 1 to 50 order ids" } };
      return ok({ orders: orders.filter((o) => ids.includes(o.id)) });
    }
    // 202312 is the version TikTok documents now; 202309 kept for older callers.
    if (req.method === "POST" && /^\/product\/(202309|202312)\/products\/search$/.test(req.path))
      return page(products, req, "products");
    const inv = /^\/product\/202309\/products\/([^/]+)\/inventory\/update$/.exec(req.path);
    if (req.method === "POST" && inv) {
      const product = products.find((p) => p.id === inv[1]);
      if (!product) return { status: 400, body: { code: 12019001, message: "product does not exist" } };
      for (const sku of body.skus ?? []) {
        const known = product.skus.find((s) => s.id === sku.id);
        if (!known) return { status: 400, body: { code: 17019004, message: `sku ${sku.id} does not exist` } };
        known.inventory = sku.inventory;
      }
      return ok({});
    }
    const ship = /^\/fulfillment\/202309\/packages\/([^/]+)\/ship$/.exec(req.path);
    if (req.method === "POST" && ship) {
      const t = body.self_shipment ?? {};
      if (!t.tracking_number || !t.shipping_provider_id)
        return {
          status: 400,
          body: { code: 21011001, message: "tracking_number and shipping_provider_id are required" },
        };
      shipped.push({ package_id: ship[1], ...t });
      return ok({});
    }
    return { status: 404, body: { code: 404, message: "not found" } };
  });
  return {
    ...server,
    shipped,
    products,
    searches,
    refreshes,
    tokens,
    expireAccessToken() {
      tokens.expiresAt = Date.now();
    },
    failNext(count, status = 500, after = 0) {
      fail.count = count;
      fail.status = status;
      fail.after = after;
      fail.failed = 0;
    },
  };
}

module.exports = { startTikTokShop, expectedSign };
