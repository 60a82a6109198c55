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
// body), order detail (GET /order/202309/orders?ids=, at most 50), products search, inventory
// update (POST /product/202309/products/{id}/inventory/update) and package ship (POST
// /fulfillment/202309/packages/{id}/ship), each needing shop_cipher; state kept so an inventory
// or a shipment reads back; a refused record answers 400 with TikTok's code and message;
// `failNext(n, status)` and `limit` (requests a second, then 429) for retry tests.
async function startTikTokShop({
  appKey,
  appSecret,
  accessToken,
  orders = [],
  products = [],
  shopCipher,
  limit = 1000,
}) {
  const fail = { count: 0, status: 500 };
  const shipped = [];
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
    if (req.query.app_key !== appKey)
      return { status: 401, body: { code: 106001, message: "invalid app_key" } };
    if (Math.abs(Date.now() / 1000 - Number(req.query.timestamp)) > 300)
      return { status: 401, body: { code: 106010, message: "timestamp expired" } };
    if (req.query.sign !== expectedSign(req.path, req.query, req.body, appSecret))
      return { status: 401, body: { code: 106001, message: "signature is invalid" } };
    if (req.headers["x-tts-access-token"] !== accessToken)
      return { status: 401, body: { code: 105002, message: "access token invalid" } };
    const now = Math.floor(Date.now() / 1000);
    if (now !== second) {
      second = now;
      inSecond = 0;
    }
    if (++inSecond > limit) return { status: 429, body: { code: 36009004, message: "Too many requests" } };
    if (fail.count > 0) {
      fail.count -= 1;
      if (fail.status === 429)
        return { status: 429, body: { code: 36009004, message: "Too many requests", request_id: "req" } };
      return { status: fail.status, body: { code: 36009001, message: "Internal error" } };
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
      return page(list, req, "orders");
    }
    if (req.method === "GET" && req.path === "/order/202309/orders") {
      const ids = String(req.query.ids ?? "")
        .split(",")
        .filter(Boolean);
      if (ids.length === 0 || ids.length > 50)
        return { status: 400, body: { code: 36009003, message: "ids must hold 1 to 50 order ids" } };
      return ok({ orders: orders.filter((o) => ids.includes(o.id)) });
    }
    if (req.method === "POST" && req.path === "/product/202309/products/search")
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
    failNext(count, status = 500) {
      fail.count = count;
      fail.status = status;
    },
  };
}

module.exports = { startTikTokShop, expectedSign };
