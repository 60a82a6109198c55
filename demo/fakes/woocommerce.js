// A fake of the WooCommerce REST API v3 (/wp-json/wc/v3) as documented
// (woocommerce.github.io/woocommerce-rest-api-docs) and as WC_REST_Authentication checks it.
// Auth: over plain HTTP only OAuth 1.0a one-legged in the query string (oauth_consumer_key,
// oauth_timestamp within 15 minutes, a nonce used once, HMAC-SHA1 or HMAC-SHA256 over
// METHOD & rawurlencode(url) & the sorted query pairs encoded once and joined with %3D/%26,
// keyed with consumer_secret + "&"); Basic auth (key:secret) is honoured only over HTTPS
// (`ssl: true` makes the fake behave as a store behind TLS). No credentials: 401
// woocommerce_rest_cannot_view; a bad key, signature, timestamp or nonce: 401
// woocommerce_rest_authentication_error with WooCommerce's message. Lists (orders, customers,
// products, a product's variations): page and per_page (1 to 100, default 10; more is 400
// rest_invalid_param), modified_after, X-WP-Total and X-WP-TotalPages headers and a Link header;
// a page past the last is an empty list. Create (201) and update (PUT, 200; 404 for an unknown
// id); POST <resource>/batch with create/update/delete, at most 100 items in all (413
// woocommerce_rest_request_entity_too_large), answered 200 with one item per input in order,
// a refused one as { id, error: { code, message, data: { status } } }. State is kept so what
// was sent reads back. Hosts rate-limit WooCommerce (core does not): `limit` requests a second
// answer 429 with Retry-After. `failNext(n, status, { after })` makes n requests fail, after
// `after` more have answered (a 5xx, or a 429 with Retry-After, midway through a pull).
const crypto = require("node:crypto");
const { startServer } = require("./http-server");

const wcEncode = (v) =>
  encodeURIComponent(v)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%7E/g, "~");

/** The signature exactly as WC_REST_Authentication::check_oauth_signature computes it. */
function wcSignature(method, url, query, secret) {
  const params = { ...query };
  delete params.oauth_signature;
  const names = Object.keys(params).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const pairs = names.map((k) => `${wcEncode(k)}%3D${wcEncode(params[k])}`).join("%26");
  const base = `${method.toUpperCase()}&${wcEncode(url)}&${pairs}`;
  const algo = params.oauth_signature_method === "HMAC-SHA1" ? "sha1" : "sha256";
  return crypto.createHmac(algo, `${secret}&`).update(base).digest("base64");
}

const err = (status, code, message) => ({ status, body: { code, message, data: { status } } });

async function startWooCommerce({
  consumerKey = "ck_test",
  consumerSecret = "cs_test",
  ssl = false,
  orders = [],
  customers = [],
  products = [],
  limit = 1000,
} = {}) {
  const store = { orders: [], customers: [], products: [], variations: new Map() };
  const ids = { n: 100 };
  const nowIso = () => new Date().toISOString().slice(0, 19);
  for (const o of orders) store.orders.push({ id: ++ids.n, date_modified: nowIso(), ...o });
  for (const c of customers) store.customers.push({ id: ++ids.n, date_modified: nowIso(), ...c });
  for (const p of products) {
    const { variations = [], ...rest } = p;
    const product = { id: ++ids.n, date_modified: nowIso(), ...rest };
    store.products.push(product);
    store.variations.set(
      product.id,
      variations.map((v) => ({ id: ++ids.n, date_modified: nowIso(), ...v })),
    );
  }
  const nonces = new Set();
  const fail = { count: 0, status: 500, after: 0, retryAfter: "1", answered: [] };
  let second = 0;
  let inSecond = 0;

  function authenticate(req) {
    if (ssl && req.headers.authorization?.startsWith("Basic ")) {
      const [k, s] = Buffer.from(req.headers.authorization.slice(6), "base64").toString().split(":");
      if (k !== consumerKey)
        return err(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.");
      if (s !== consumerSecret)
        return err(401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.");
      return undefined;
    }
    const q = req.query;
    if (!q.oauth_consumer_key) return "anonymous";
    for (const p of [
      "oauth_consumer_key",
      "oauth_timestamp",
      "oauth_nonce",
      "oauth_signature",
      "oauth_signature_method",
    ])
      if (!q[p]) return err(401, "woocommerce_rest_authentication_error", `Missing OAuth parameter ${p}`);
    if (q.oauth_consumer_key !== consumerKey)
      return err(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.");
    if (!["HMAC-SHA1", "HMAC-SHA256"].includes(q.oauth_signature_method))
      return err(
        401,
        "woocommerce_rest_authentication_error",
        "Invalid signature - signature method is invalid.",
      );
    const expected = wcSignature(req.method, `${server.base}${req.path}`, q, consumerSecret);
    const given = Buffer.from(q.oauth_signature);
    if (
      given.length !== Buffer.from(expected).length ||
      !crypto.timingSafeEqual(given, Buffer.from(expected))
    )
      return err(
        401,
        "woocommerce_rest_authentication_error",
        "Invalid signature - provided signature does not match.",
      );
    const ts = Number(q.oauth_timestamp);
    if (Math.abs(Date.now() / 1000 - ts) > 15 * 60)
      return err(401, "woocommerce_rest_authentication_error", "Invalid timestamp.");
    if (nonces.has(q.oauth_nonce))
      return err(
        401,
        "woocommerce_rest_authentication_error",
        "Invalid nonce - nonce has already been used.",
      );
    nonces.add(q.oauth_nonce);
    return undefined;
  }

  const validate = {
    orders: (o) => {
      for (const li of o.line_items ?? [])
        if (li.product_id !== undefined && !store.products.some((p) => p.id === li.product_id))
          return err(400, "woocommerce_rest_invalid_product_id", "Product ID provided is invalid.");
      return undefined;
    },
    customers: (c, id) => {
      if (id === undefined && !c.email)
        return err(400, "rest_missing_callback_param", "Missing parameter(s): email");
      if (c.email && store.customers.some((x) => x.email === c.email && x.id !== id))
        return err(
          400,
          "registration-error-email-exists",
          "An account is already registered with your email address. Please log in.",
        );
      return undefined;
    },
    products: () => undefined,
    variations: (v) =>
      v.stock_quantity !== undefined && !Number.isInteger(Number(v.stock_quantity))
        ? err(400, "rest_invalid_param", "Invalid parameter(s): stock_quantity")
        : undefined,
  };

  function create(kind, list, input) {
    const bad = validate[kind](input, undefined);
    if (bad) return bad;
    const item = { ...input, id: ++ids.n, date_created: nowIso(), date_modified: nowIso() };
    if (kind === "orders") item.number = String(item.id);
    list.push(item);
    return { status: 201, body: item };
  }
  function update(kind, list, id, input) {
    const item = list.find((x) => x.id === Number(id));
    if (!item)
      return err(
        404,
        `woocommerce_rest_${kind === "orders" ? "shop_order" : kind.replace(/s$/, "")}_invalid_id`,
        "Invalid ID.",
      );
    const bad = validate[kind](input, item.id);
    if (bad) return bad;
    const { id: _ignored, ...changes } = input;
    Object.assign(item, changes, { date_modified: nowIso() });
    return { status: 200, body: item };
  }

  const server = await startServer((req) => {
    const now = Math.floor(Date.now() / 1000);
    if (now !== second) {
      second = now;
      inSecond = 0;
    }
    if (++inSecond > limit)
      return {
        status: 429,
        headers: { "retry-after": "1" },
        body: { code: "too_many_requests", message: "Too many requests." },
      };
    const m =
      /^\/wp-json\/wc\/v3\/(orders|customers|products)(?:\/(\d+)(?:\/(variations)(?:\/(\d+))?)?)?(\/batch)?$/.exec(
        req.path,
      );
    if (!m) return err(404, "rest_no_route", "No route was found matching the URL and request method.");
    const auth = authenticate(req);
    if (auth === "anonymous")
      return req.method === "GET"
        ? err(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
        : err(401, "woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources.");
    if (auth) return auth;
    if (fail.after > 0) fail.after -= 1;
    else if (fail.count > 0) {
      const status = Array.isArray(fail.status)
        ? fail.status[fail.answered.length % fail.status.length]
        : fail.status;
      fail.count -= 1;
      fail.answered.push({ method: req.method, path: req.path, query: { ...req.query }, status });
      if (status === 429)
        return {
          status: 429,
          headers: { "retry-after": fail.retryAfter },
          body: { code: "too_many_requests", message: "Too many requests." },
        };
      return err(status, "internal_server_error", "There has been a critical error on this website.");
    }
    let [, kind, id, sub, subId, batch] = m;
    let list = store[kind];
    if (sub) {
      if (kind !== "products" || !store.variations.has(Number(id)))
        return err(404, "woocommerce_rest_product_invalid_id", "Invalid ID.");
      list = store.variations.get(Number(id));
      kind = "variations";
      id = subId;
    }
    let body;
    if (req.method !== "GET") {
      try {
        body = JSON.parse(req.body || "{}");
      } catch {
        return err(400, "rest_invalid_json", "Invalid JSON body passed.");
      }
    }
    if (batch) {
      if (req.method !== "POST")
        return err(404, "rest_no_route", "No route was found matching the URL and request method.");
      const total = ["create", "update", "delete"].reduce((n, k) => n + (body[k]?.length ?? 0), 0);
      if (total > 100)
        return err(
          413,
          "woocommerce_rest_request_entity_too_large",
          "Unable to accept more than 100 items for this request.",
        );
      const out = {};
      const asItem = (r, fallbackId) =>
        r.status < 300
          ? r.body
          : { id: fallbackId, error: { code: r.body.code, message: r.body.message, data: r.body.data } };
      if (body.create) out.create = body.create.map((i) => asItem(create(kind, list, i), 0));
      if (body.update)
        out.update = body.update.map((i) =>
          i.id === undefined
            ? asItem(err(400, "woocommerce_rest_missing_id", "ID is required."), 0)
            : asItem(update(kind, list, i.id, i), i.id),
        );
      return { status: 200, body: out };
    }
    if (req.method === "GET" && id === undefined) {
      const perPage = req.query.per_page === undefined ? 10 : Number(req.query.per_page);
      if (!Number.isInteger(perPage) || perPage < 1 || perPage > 100)
        return {
          status: 400,
          body: {
            code: "rest_invalid_param",
            message: "Invalid parameter(s): per_page",
            data: {
              status: 400,
              params: { per_page: "per_page must be between 1 (inclusive) and 100 (inclusive)" },
            },
          },
        };
      const page = Number(req.query.page ?? 1);
      let all = list;
      if (req.query.modified_after)
        all = all.filter((x) => x.date_modified > req.query.modified_after.slice(0, 19));
      if (req.query.status && req.query.status !== "any")
        all = all.filter((x) => x.status === req.query.status);
      const pages = Math.ceil(all.length / perPage);
      const url = (p) => {
        const u = new URL(`${server.base}${req.path}`);
        for (const [k, v] of Object.entries(req.query)) if (!k.startsWith("oauth_")) u.searchParams.set(k, v);
        u.searchParams.set("page", String(p));
        return u.toString();
      };
      const links = [];
      if (page > 1) links.push(`<${url(page - 1)}>; rel="prev"`);
      if (page < pages) links.push(`<${url(page + 1)}>; rel="next"`);
      return {
        headers: {
          "x-wp-total": String(all.length),
          "x-wp-totalpages": String(pages),
          ...(links.length ? { link: links.join(", ") } : {}),
        },
        body: all.slice((page - 1) * perPage, page * perPage),
      };
    }
    if (req.method === "GET") {
      const item = list.find((x) => x.id === Number(id));
      return item ? { body: item } : err(404, "woocommerce_rest_invalid_id", "Invalid ID.");
    }
    if (req.method === "POST" && id === undefined) return create(kind, list, body);
    if ((req.method === "PUT" || req.method === "PATCH" || req.method === "POST") && id !== undefined)
      return update(kind, list, id, body);
    return err(404, "rest_no_route", "No route was found matching the URL and request method.");
  });
  return {
    ...server,
    store,
    /** After `after` more requests, the next `count` answer `status` (or each in turn of a list; 429 with Retry-After). */
    failNext(count, status = 500, { after = 0, retryAfter = "1" } = {}) {
      Object.assign(fail, { count, status, after, retryAfter });
    },
    /** The requests failNext answered with a failure. */
    failures: fail.answered,
    setLimit(n) {
      limit = n;
    },
  };
}

module.exports = { startWooCommerce, wcSignature };
