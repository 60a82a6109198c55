// A fake of Shopify's Admin REST API as documented: X-Shopify-Access-Token, Link-header
// paging with page_info (limit at most 250), a leaky bucket of 40 draining 2 a second that
// answers 429 with Retry-After when full, and orders created with POST /orders.json.
const { startServer } = require("../support/http-server");

async function startShopify({
  token = "shpat_test_token",
  orders = [],
  bucket = 40,
  leakPerSecond = 2,
} = {}) {
  const created = [];
  let level = 0;
  let last = Date.now();
  const server = await startServer((req) => {
    const now = Date.now();
    level = Math.max(0, level - ((now - last) / 1000) * leakPerSecond);
    last = now;
    if (req.headers["x-shopify-access-token"] !== token)
      return {
        status: 401,
        body: { errors: "[API] Invalid API key or access token (unrecognized login or wrong password)" },
      };
    if (level + 1 > bucket)
      return {
        status: 429,
        headers: { "retry-after": "1.0" },
        body: {
          errors:
            "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.",
        },
      };
    level += 1;
    const limitHeader = { "x-shopify-shop-api-call-limit": `${Math.ceil(level)}/${bucket}` };
    if (req.method === "GET" && req.path === "/admin/api/2024-07/orders.json") {
      const limit = Number(req.query.limit ?? 50);
      if (limit > 250) return { status: 400, body: { errors: { limit: "must be at most 250" } } };
      const start = req.query.page_info
        ? Number(Buffer.from(req.query.page_info, "base64url").toString())
        : 0;
      const list = orders.filter(
        (o) => !req.query.created_at_min || o.created_at >= req.query.created_at_min,
      );
      const page = list.slice(start, start + limit);
      const headers = { ...limitHeader };
      if (start + limit < list.length)
        headers.link = `<${server.base}/admin/api/2024-07/orders.json?limit=${limit}&page_info=${Buffer.from(String(start + limit)).toString("base64url")}>; rel="next"`;
      return { headers, body: { orders: page } };
    }
    if (req.method === "POST" && req.path === "/admin/api/2024-07/orders.json") {
      const body = JSON.parse(req.body || "{}");
      if (!body.order || !Array.isArray(body.order.line_items) || body.order.line_items.length === 0)
        return { status: 422, body: { errors: { line_items: ["must have at least one line item"] } } };
      const order = { id: 1000 + created.length, ...body.order };
      created.push(order);
      return { status: 201, headers: limitHeader, body: { order } };
    }
    return { status: 404, body: { errors: "Not Found" } };
  });
  return { ...server, created };
}

module.exports = { startShopify };
