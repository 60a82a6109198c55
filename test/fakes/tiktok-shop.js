// A fake of TikTok Shop's Partner API (202309) signing contract: app_key, timestamp and sign
// in the query, x-tts-access-token in a header; sign recomputed here from the documented
// recipe and compared, a stale timestamp refused.
const crypto = require("node:crypto");
const { startServer } = require("../support/http-server");

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

async function startTikTokShop({ appKey, appSecret, accessToken, orders = [] }) {
  return startServer((req) => {
    if (req.query.app_key !== appKey)
      return { status: 401, body: { code: 106001, message: "invalid app_key" } };
    if (Math.abs(Date.now() / 1000 - Number(req.query.timestamp)) > 300)
      return { status: 401, body: { code: 106010, message: "timestamp expired" } };
    if (req.query.sign !== expectedSign(req.path, req.query, req.body, appSecret))
      return { status: 401, body: { code: 106001, message: "signature is invalid" } };
    if (req.headers["x-tts-access-token"] !== accessToken)
      return { status: 401, body: { code: 105002, message: "access token invalid" } };
    if (req.path === "/order/202309/orders/search")
      return { body: { code: 0, message: "Success", data: { orders, next_page_token: "" } } };
    return { status: 404, body: { code: 404, message: "not found" } };
  });
}

module.exports = { startTikTokShop, expectedSign };
