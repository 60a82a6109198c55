// Stripe's list endpoints as documented (docs.stripe.com/api/pagination): objects newest
// first; `limit` from 1 to 100 (default 10); `starting_after` and `ending_before` take an
// object id and may not both be given; an id that is not in the list is a 400
// (resource_missing); the answer is { object: "list", url, has_more, data }. Keys are sent as
// HTTP basic (the key as user, no password) or as a bearer token; a missing or wrong key is a
// 401. Errors are { error: { type, code?, message, param? } }.
const { startServer } = require("../support/http-server");

const fail = (status, type, message, extra = {}) => ({
  status,
  body: { error: { type, message, ...extra } },
});

/** One page of a list as Stripe answers it, or its error. */
function stripeList(objects, req, url) {
  const q = req.query;
  const limit = q.limit === undefined ? 10 : Number(q.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    return fail(400, "invalid_request_error", "Limit must be between 1 and 100.", {
      code: "parameter_invalid_integer",
      param: "limit",
    });
  if (q.starting_after !== undefined && q.ending_before !== undefined)
    return fail(400, "invalid_request_error", "Received both starting_after and ending_before parameters.");
  let start = 0;
  let end = objects.length;
  for (const [param, after] of [
    ["starting_after", true],
    ["ending_before", false],
  ]) {
    if (q[param] === undefined) continue;
    const at = objects.findIndex((o) => String(o.id) === q[param]);
    if (at < 0)
      return fail(400, "invalid_request_error", `No such object: '${q[param]}'`, {
        code: "resource_missing",
        param,
      });
    if (after) start = at + 1;
    else end = at;
  }
  const window = q.ending_before !== undefined ? [Math.max(start, end - limit), end] : [start, start + limit];
  const data = objects.slice(window[0], Math.min(window[1], end));
  const hasMore = q.ending_before !== undefined ? window[0] > start : window[1] < end;
  return { body: { object: "list", url, has_more: hasMore, data } };
}

function authorized(req, key) {
  const h = req.headers.authorization ?? "";
  if (h === `Bearer ${key}`) return true;
  const m = /^Basic (.+)$/.exec(h);
  return !!m && Buffer.from(m[1], "base64").toString().replace(/:$/, "") === key;
}

/** A Stripe API on 127.0.0.1 with the given lists, e.g. { "/v1/customers": [...] }. */
async function startStripe({ key = "sk_test_4eC39HqLyjWDarjtT1zdp7dc", lists = {} } = {}) {
  const api = await startServer((req) => {
    if (!authorized(req, key)) return fail(401, "invalid_request_error", "Invalid API Key provided.");
    const objects = lists[req.path];
    if (req.method === "GET" && objects) return stripeList(objects, req, req.path);
    return fail(404, "invalid_request_error", `Unrecognized request URL (${req.method}: ${req.path}).`);
  });
  return { ...api, key };
}

module.exports = { startStripe, stripeList };
