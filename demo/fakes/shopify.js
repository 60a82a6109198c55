// A fake of Shopify's Admin API as documented: X-Shopify-Access-Token on every call.
// REST: Link-header paging with page_info (limit at most 250), a leaky bucket of 40 draining
// 2 a second that answers 429 with Retry-After when full, orders created with POST /orders.json,
// customers listed with GET /customers.json (updated_at_min, the REST form: updated_at);
// `failNext(n, status, after)` answers the next requests (REST or GraphQL) with a 429 or a 5xx.
// GraphQL (POST /admin/api/<version>/graphql.json): cost-based throttling as Shopify
// documents it (shopify.dev/docs/api/usage/limits, .../admin-graphql rate limits): a bucket of
// points per app and store (maximumAvailable) refilled at restoreRate a second; a query's
// requested cost (a connection costs 2 plus `first` times its node's cost, an object 1, a
// mutation 10) must be in the bucket before it runs, else the answer is 200 with a THROTTLED
// error and actualQueryCost null; after it runs the difference to its actual cost is
// refunded. A query may cost at most 1,000 points (MAX_COST_EXCEEDED); input arrays at most
// 250. Every answer carries extensions.cost with throttleStatus. userErrors are per input.
// REST also: PUT /orders/{id}.json (404 for an unknown order), GET /products.json and GET
// /inventory_levels.json (Link paging; inventory levels need location_ids or inventory_item_ids,
// else 422), POST /inventory_levels/set.json (422 for an item the store does not know); GraphQL
// also: location(id) { inventoryLevels } (null for an unknown location).
// productSet (identifier.handle: create or update by handle) keeps products readable back.
// Versions: YYYY-MM in the path; one Shopify no longer supports is answered by the oldest
// supported one, named in X-Shopify-API-Version.
// REST products (`restProducts`: GET /products.json, updated_at_min, Link paging), one order
// (GET /orders/{id}.json), an order's fulfillment orders (GET
// /orders/{id}/fulfillment_orders.json, from `fulfillmentOrders` with an `orderId`), refunds
// (POST /orders/{id}/refunds.json: refund_line_items of the order's line items, at most the
// quantity not yet refunded, else 422).
const { startServer } = require("./http-server");

const SUPPORTED = ["2026-01", "2026-04", "2026-07", "2026-10"];

/** Requested cost as documented: connections nest, each `first: N` multiplying its node's cost. */
function queryCost(query, variables) {
  if (/^\s*mutation\b/.test(query)) return 10;
  const firsts = [...query.matchAll(/\bfirst:\s*(\$\w+|\d+)/g)].map((m) =>
    m[1].startsWith("$") ? Number(variables[m[1].slice(1)] ?? 0) : Number(m[1]),
  );
  return firsts.reduceRight((inner, n) => 2 + n * (1 + inner), 0) || 1;
}

/** A REST cursor: the next record's position and the filters of the first page's request. */
function toPageInfo(start, filters) {
  return Buffer.from(JSON.stringify({ start, filters })).toString("base64url");
}
function fromPageInfo(query) {
  if (!query.page_info) {
    const { limit, page_info, ...filters } = query;
    return { start: 0, filters };
  }
  const text = Buffer.from(query.page_info, "base64url").toString();
  if (/^\d+$/.test(text)) return { start: Number(text), filters: {} };
  const { start, filters } = JSON.parse(text);
  return { start, filters };
}

async function startShopify({
  token = "shpat_test_token",
  orders = [],
  customers = [],
  products = [],
  variants = [],
  fulfillmentOrders = [],
  restProducts = [],
  inventoryLevels = [],
  bucket = 40,
  leakPerSecond = 2,
  points = 2000,
  restoreRate = 100,
} = {}) {
  const created = [];
  let drains = 0;
  const inventory = [];
  const fulfillments = [];
  const refunds = [];
  const versions = [];
  const customerQueries = [];
  const orderQueries = [];
  const productSets = [];
  let variantSeq = 90000;
  // GraphQL cost bucket.
  let available = points;
  let refilled = Date.now();
  const gql = { throttled: 0, maxSeenCost: 0, lowest: points };
  const pointsNow = () => {
    const now = Date.now();
    available = Math.min(points, available + ((now - refilled) / 1000) * restoreRate);
    refilled = now;
    return available;
  };
  const throttleStatus = () => ({
    maximumAvailable: points,
    currentlyAvailable: Math.floor(pointsNow()),
    restoreRate,
  });
  let level = 0;
  let last = Date.now();
  /** REST calls answered 429 because the leaky bucket was full. */
  const rest = { throttled: 0 };
  // failNext: after `after` more requests, the next `count` answer `status` (a 429 with Retry-After).
  const failing = { after: 0, count: 0, status: 500, retryAfter: "1.0", answered: [] };
  const server = await startServer((req) => {
    const now = Date.now();
    level = Math.max(0, level - ((now - last) / 1000) * leakPerSecond);
    last = now;
    if (req.headers["x-shopify-access-token"] !== token)
      return {
        status: 401,
        body: { errors: "[API] Invalid API key or access token (unrecognized login or wrong password)" },
      };
    if (level + 1 > bucket) {
      rest.throttled++;
      return {
        status: 429,
        headers: { "retry-after": "1.0" },
        body: {
          errors:
            "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.",
        },
      };
    }
    const m = /^\/admin\/api\/(\d{4}-\d{2})(\/.*)$/.exec(req.path);
    if (!m) return { status: 404, body: { errors: "Not Found" } };
    const version = SUPPORTED.includes(m[1]) ? m[1] : SUPPORTED[0];
    versions.push(version);
    const route = m[2];
    if (failing.after > 0) failing.after -= 1;
    else if (failing.count > 0) {
      const status = Array.isArray(failing.status)
        ? failing.status[failing.answered.length % failing.status.length]
        : failing.status;
      failing.count -= 1;
      failing.answered.push({ method: req.method, route, query: { ...req.query }, status });
      return status === 429
        ? {
            status: 429,
            headers: { "retry-after": failing.retryAfter },
            body: {
              errors:
                "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.",
            },
          }
        : { status, body: { errors: "Internal Server Error" } };
    }
    if (req.method === "POST" && route === "/graphql.json")
      return graphql(JSON.parse(req.body || "{}"), version);
    level += 1;
    const limitHeader = {
      "x-shopify-shop-api-call-limit": `${Math.ceil(level)}/${bucket}`,
      "x-shopify-api-version": version,
    };
    if (req.method === "GET" && route === "/orders.json") {
      const limit = Number(req.query.limit ?? 50);
      if (limit > 250) return { status: 400, body: { errors: { limit: "must be at most 250" } } };
      // created_at_min and updated_at_min compare as instants; page_info keeps them.
      const { start, filters } = fromPageInfo(req.query);
      const asked = { query: { ...req.query }, ids: [] };
      orderQueries.push(asked);
      const at = (key) => (filters[key] ? Date.parse(filters[key]) : undefined);
      for (const key of ["created_at_min", "updated_at_min"])
        if (filters[key] && Number.isNaN(at(key)))
          return { status: 400, body: { errors: { [key]: "is not a valid date" } } };
      const list = orders.filter(
        (o) =>
          (!filters.created_at_min || Date.parse(o.created_at) >= at("created_at_min")) &&
          (!filters.updated_at_min || Date.parse(o.updated_at ?? o.created_at) >= at("updated_at_min")),
      );
      const page = list.slice(start, start + limit);
      asked.ids = page.map((o) => o.id);
      const headers = { ...limitHeader };
      if (start + limit < list.length)
        headers.link = `<${server.base}/admin/api/${m[1]}/orders.json?limit=${limit}&page_info=${toPageInfo(start + limit, filters)}>; rel="next"`;
      return { headers, body: { orders: page } };
    }
    if (req.method === "GET" && route === "/customers.json") {
      // updated_at_min compares as an instant (Shopify takes any offset); each query is kept
      // with the ids it answered.
      const asked = { query: { ...req.query }, ids: [] };
      customerQueries.push(asked);
      const limit = Number(req.query.limit ?? 50);
      if (limit > 250) return { status: 400, body: { errors: { limit: "must be at most 250" } } };
      // As Shopify's cursors do, page_info carries the first request's filters.
      const { start, filters } = fromPageInfo(req.query);
      const since = filters.updated_at_min ? Date.parse(filters.updated_at_min) : undefined;
      if (since !== undefined && Number.isNaN(since))
        return { status: 400, body: { errors: { updated_at_min: "is not a valid date" } } };
      const list = customers.filter((c) => since === undefined || Date.parse(c.updated_at) >= since);
      const page = list.slice(start, start + limit);
      asked.ids = page.map((c) => c.id);
      const headers = { ...limitHeader };
      if (start + limit < list.length)
        headers.link = `<${server.base}/admin/api/${m[1]}/customers.json?limit=${limit}&page_info=${toPageInfo(start + limit, filters)}>; rel="next"`;
      return { headers, body: { customers: page } };
    }
    // Shopify's page_info cursor carries the filters of the first request: a next-page URL holds
    // only limit and page_info.
    const cursor = fromPageInfo(req.query);
    const linked = (name, list) => {
      const limit = Number(req.query.limit ?? 50);
      if (limit > 250) return { status: 400, body: { errors: { limit: "must be at most 250" } } };
      const start = cursor.start;
      const headers = { ...limitHeader };
      if (start + limit < list.length) {
        const next = toPageInfo(start + limit, cursor.filters);
        headers.link = `<${server.base}/admin/api/${m[1]}/${name}.json?limit=${limit}&page_info=${next}>; rel="next"`;
      }
      return { headers, body: { [name]: list.slice(start, start + limit) } };
    };
    if (req.method === "GET" && route === "/products.json")
      return linked(
        "products",
        restProducts.filter(
          (p) =>
            (!cursor.filters.status || (p.status ?? "active") === cursor.filters.status) &&
            (!cursor.filters.updated_at_min ||
              Date.parse(p.updated_at) >= Date.parse(cursor.filters.updated_at_min)),
        ),
      );
    if (req.method === "GET" && route === "/inventory_levels.json") {
      const ids = (k) => (cursor.filters[k] ? String(cursor.filters[k]).split(",").map(Number) : undefined);
      const locations = ids("location_ids");
      const items = ids("inventory_item_ids");
      if (!locations && !items)
        return {
          status: 422,
          body: { errors: { base: ["must include inventory_item_ids or location_ids"] } },
        };
      return linked(
        "inventory_levels",
        inventoryLevels.filter(
          (l) =>
            (!locations || locations.includes(l.location_id)) &&
            (!items || items.includes(l.inventory_item_id)),
        ),
      );
    }
    if (req.method === "POST" && route === "/inventory_levels/set.json") {
      const body = JSON.parse(req.body || "{}");
      const known = inventoryLevels.find((l) => l.inventory_item_id === body.inventory_item_id);
      if (!known)
        return { status: 422, body: { errors: ["Inventory item does not have inventory tracking enabled"] } };
      let level = inventoryLevels.find(
        (l) => l.inventory_item_id === body.inventory_item_id && l.location_id === body.location_id,
      );
      if (!level)
        inventoryLevels.push(
          (level = { inventory_item_id: body.inventory_item_id, location_id: body.location_id }),
        );
      Object.assign(level, { available: body.available, updated_at: new Date().toISOString() });
      return { headers: limitHeader, body: { inventory_level: level } };
    }
    const put = /^\/orders\/(\d+)\.json$/.exec(route);
    if (req.method === "PUT" && put) {
      const order = [...orders, ...created].find((o) => String(o.id) === put[1]);
      if (!order) return { status: 404, body: { errors: "Not Found" } };
      const body = JSON.parse(req.body || "{}");
      if (!body.order)
        return { status: 400, body: { errors: { order: "Required parameter missing or invalid" } } };
      Object.assign(order, body.order, { id: order.id });
      return { headers: limitHeader, body: { order } };
    }
    const one = /^\/orders\/(\d+)(\.json|\/fulfillment_orders\.json|\/refunds\.json)$/.exec(route);
    if (one) {
      const order = orders.find((o) => String(o.id) === one[1]);
      if (!order) return { status: 404, headers: limitHeader, body: { errors: "Not Found" } };
      if (req.method === "GET" && one[2] === ".json") return { headers: limitHeader, body: { order } };
      if (req.method === "GET" && one[2] === "/fulfillment_orders.json")
        return {
          headers: limitHeader,
          body: {
            fulfillment_orders: fulfillmentOrders
              .filter((f) => String(f.orderId) === one[1])
              .map((f) => ({
                id: Number(String(f.id).split("/").pop()),
                order_id: order.id,
                status: String(f.status).toLowerCase(),
              })),
          },
        };
      if (req.method === "POST" && one[2] === "/refunds.json") {
        const body = JSON.parse(req.body || "{}");
        const lines = body.refund?.refund_line_items;
        if (!Array.isArray(lines) || lines.length === 0)
          return {
            status: 422,
            headers: limitHeader,
            body: { errors: { refund_line_items: ["can't be blank"] } },
          };
        for (const l of lines) {
          const item = (order.line_items ?? []).find((li) => li.id === Number(l.line_item_id));
          const done = refunds
            .filter((r) => r.order_id === order.id)
            .flatMap((r) => r.refund_line_items)
            .filter((r) => Number(r.line_item_id) === Number(l.line_item_id))
            .reduce((n, r) => n + Number(r.quantity), 0);
          if (!item)
            return {
              status: 422,
              headers: limitHeader,
              body: { errors: { line_item_id: [`${l.line_item_id} is not a line item of the order`] } },
            };
          if (done + Number(l.quantity) > item.quantity)
            return {
              status: 422,
              headers: limitHeader,
              body: { errors: { quantity: ["cannot refund more items than were purchased"] } },
            };
        }
        const refund = { id: 509562969 + refunds.length, order_id: order.id, ...body.refund };
        refunds.push(refund);
        return { status: 201, headers: limitHeader, body: { refund } };
      }
    }
    if (req.method === "POST" && route === "/orders.json") {
      const body = JSON.parse(req.body || "{}");
      if (!body.order || !Array.isArray(body.order.line_items) || body.order.line_items.length === 0)
        return { status: 422, body: { errors: { line_items: ["must have at least one line item"] } } };
      const order = { id: 1000 + created.length, ...body.order };
      created.push(order);
      return { status: 201, headers: limitHeader, body: { order } };
    }
    return { status: 404, body: { errors: "Not Found" } };
  });

  function graphql({ query = "", variables = {} }, version) {
    const headers = { "x-shopify-api-version": version };
    const requested = queryCost(query, variables);
    gql.maxSeenCost = Math.max(gql.maxSeenCost, requested);
    const cost = (actual) => ({
      requestedQueryCost: requested,
      actualQueryCost: actual,
      throttleStatus: throttleStatus(),
    });
    if (requested > 1000)
      return {
        headers,
        body: {
          errors: [
            {
              message: `Query cost is ${requested}, which exceeds the single query max cost limit (1000).`,
              extensions: { code: "MAX_COST_EXCEEDED", cost: requested, maxCost: 1000 },
            },
          ],
          extensions: { cost: cost(null) },
        },
      };
    if (drains > 0) {
      drains -= 1;
      pointsNow();
      available = 0;
    }
    if (pointsNow() < requested) {
      gql.throttled++;
      return {
        headers,
        body: {
          errors: [
            {
              message: "Throttled",
              extensions: { code: "THROTTLED", documentation: "https://shopify.dev/api/usage/rate-limits" },
            },
          ],
          extensions: { cost: cost(null) },
        },
      };
    }
    available -= requested;
    gql.lowest = Math.min(gql.lowest, available);
    const { data, actual, errors } = resolve(query, variables);
    available += requested - actual; // the refund of what the query did not use
    return { headers, body: { data, ...(errors ? { errors } : {}), extensions: { cost: cost(actual) } } };
  }

  function page(list, variables, filter) {
    const first = Number(variables.first ?? 0);
    const kept = filter ? list.filter(filter) : list;
    const start = variables.after ? Number(Buffer.from(variables.after, "base64").toString()) : 0;
    const nodes = kept.slice(start, start + first);
    const end = start + nodes.length;
    return {
      nodes,
      pageInfo: {
        hasNextPage: end < kept.length,
        endCursor: nodes.length ? Buffer.from(String(end)).toString("base64") : null,
      },
    };
  }

  // Just enough of the schema for the prebuilt queries: the root field decides the answer.
  function resolve(query, variables) {
    const since = /updated_at:>='([^']+)'/.exec(variables.query ?? "")?.[1];
    const status = /status:(\w+)/.exec(variables.query ?? "")?.[1];
    const filter = (o) =>
      (!since || o.updatedAt >= since) && (!status || status === "any" || (o.status ?? "open") === status);
    const connection = (name, list) => {
      const conn = page(list, variables, filter);
      // Refunded: the nodes not returned cost nothing.
      const perNode = (queryCost(query, variables) - 2) / Math.max(1, Number(variables.first));
      return { data: { [name]: conn }, actual: Math.round(2 + conn.nodes.length * perNode) };
    };
    if (/\borders\(/.test(query)) return connection("orders", orders);
    if (/\bcustomers\(/.test(query)) return connection("customers", customers);
    if (/\bproducts\(/.test(query)) {
      // A nested connection gives at most its `first` nodes, and pageInfo when asked for.
      const at = /\bvariants\(first:\s*(\d+)\)\s*\{/.exec(query);
      const out = connection("products", products);
      if (at) {
        let depth = 1;
        let i = at.index + at[0].length;
        for (; i < query.length && depth > 0; i++) depth += query[i] === "{" ? 1 : query[i] === "}" ? -1 : 0;
        const selection = query.slice(at.index + at[0].length, i);
        const withPageInfo = /\}\s*pageInfo\s*\{/.test(selection);
        out.data.products.nodes = out.data.products.nodes.map((p) => {
          const all = p.variants?.nodes ?? [];
          const nodes = all.slice(0, Number(at[1]));
          const pageInfo = {
            hasNextPage: all.length > nodes.length,
            endCursor: nodes.length ? `v${nodes.length}` : null,
          };
          return { ...p, variants: { nodes, ...(withPageInfo ? { pageInfo } : {}) } };
        });
      }
      return out;
    }
    if (/\bproductVariants\(/.test(query)) return connection("productVariants", variants);
    if (/\blocation\(/.test(query)) {
      const id = Number(/^gid:\/\/shopify\/Location\/(\d+)$/.exec(variables.location ?? "")?.[1]);
      const here = inventoryLevels.filter((l) => l.location_id === id);
      if (!here.length) return { data: { location: null }, actual: 1 };
      const nodes = here.map((l) => ({
        id: `gid://shopify/InventoryLevel/${l.location_id}?inventory_item_id=${l.inventory_item_id}`,
        updatedAt: l.updated_at,
        item: { id: `gid://shopify/InventoryItem/${l.inventory_item_id}`, sku: l.sku ?? null },
        quantities: [
          { name: "available", quantity: l.available },
          { name: "on_hand", quantity: l.available },
          { name: "committed", quantity: 0 },
        ],
      }));
      const conn = page(nodes, variables);
      return { data: { location: { inventoryLevels: conn } }, actual: 2 + conn.nodes.length };
    }
    if (/\borderCreate\(/.test(query)) {
      const order = variables.order ?? {};
      // An ID that is no global id fails the whole request as a variable error (GraphQL's
      // input coercion), as a TikTok SKU left where a variant id belongs would.
      const badId = (order.lineItems ?? []).findIndex(
        (l) =>
          l &&
          l.variantId !== undefined &&
          !/^gid:\/\/shopify\/ProductVariant\/\d+$/.test(String(l.variantId)),
      );
      if (badId >= 0)
        return {
          data: undefined,
          actual: 0,
          errors: [
            {
              message: `Variable $order of type OrderCreateOrderInput! was provided invalid value for lineItems.${badId}.variantId (Invalid global id '${order.lineItems[badId].variantId}')`,
              extensions: { code: "INVALID_VARIABLE" },
            },
          ],
        };
      const userErrors = [];
      if (!Array.isArray(order.lineItems) || order.lineItems.length === 0)
        userErrors.push({
          field: ["order", "lineItems"],
          message: "Line items must have at least one line item",
        });
      if (userErrors.length) return { data: { orderCreate: { order: null, userErrors } }, actual: 10 };
      const made = {
        id: `gid://shopify/Order/${1000 + created.length}`,
        name: `#${1001 + created.length}`,
        ...order,
      };
      created.push(made);
      const answer = { id: made.id, name: made.name, email: made.email };
      // Fields the prebuilt mutation selects beyond these, when the query asks for them.
      if (/\bdisplayFinancialStatus\b/.test(query))
        answer.displayFinancialStatus = String(made.financialStatus ?? "PENDING").toUpperCase();
      if (/\bsourceIdentifier\b/.test(query)) answer.sourceIdentifier = made.sourceIdentifier ?? null;
      return { data: { orderCreate: { order: answer, userErrors } }, actual: 10 };
    }
    if (/\bfulfillmentCreate\(/.test(query)) {
      // FulfillmentInput as documented: lineItemsByFulfillmentOrder (required, each with a
      // fulfillmentOrderId), notifyCustomer, originAddress, trackingInfo; anything else, or a
      // missing required field, is a variable error of the whole request, not a userError.
      const input = variables.fulfillment;
      const FIELDS = ["lineItemsByFulfillmentOrder", "notifyCustomer", "originAddress", "trackingInfo"];
      const invalid = (detail) => ({
        data: undefined,
        actual: 0,
        errors: [
          {
            message: `Variable $fulfillment of type FulfillmentInput! was provided invalid value${detail}`,
            extensions: { code: "INVALID_VARIABLE" },
          },
        ],
      });
      if (!input || typeof input !== "object") return invalid(" (Expected value to not be null)");
      const unknown = Object.keys(input).find((k) => !FIELDS.includes(k));
      if (unknown) return invalid(` for ${unknown} (Field is not defined on FulfillmentInput)`);
      const groups = input.lineItemsByFulfillmentOrder;
      if (!Array.isArray(groups) && (groups === undefined || groups === null))
        return invalid(" for lineItemsByFulfillmentOrder (Expected value to not be null)");
      const list = Array.isArray(groups) ? groups : [groups]; // a single value is coerced to a list
      if (list.some((g) => !g || typeof g.fulfillmentOrderId !== "string"))
        return invalid(" for lineItemsByFulfillmentOrder.fulfillmentOrderId (Expected value to not be null)");
      const userErrors = [];
      list.forEach((g, i) => {
        const fo = fulfillmentOrders.find((f) => f.id === g.fulfillmentOrderId);
        if (!fo)
          userErrors.push({
            field: ["fulfillment", "lineItemsByFulfillmentOrder", String(i), "fulfillmentOrderId"],
            message: "Fulfillment order does not exist.",
          });
        else if (fo.status !== "OPEN" && fo.status !== "IN_PROGRESS")
          userErrors.push({
            field: ["fulfillment", "lineItemsByFulfillmentOrder", String(i), "fulfillmentOrderId"],
            message: `Fulfillment order ${fo.id} has an unfulfillable status= ${fo.status.toLowerCase()}.`,
          });
      });
      if (userErrors.length)
        return { data: { fulfillmentCreate: { fulfillment: null, userErrors } }, actual: 10 };
      for (const g of list) fulfillmentOrders.find((f) => f.id === g.fulfillmentOrderId).status = "CLOSED";
      const t = input.trackingInfo ?? {};
      const fulfillment = {
        id: `gid://shopify/Fulfillment/${255858046 + fulfillments.length}`,
        status: "SUCCESS",
        trackingInfo:
          t.number || t.company
            ? [{ company: t.company ?? null, number: t.number ?? null, url: t.url ?? null }]
            : [],
      };
      fulfillments.push({ ...fulfillment, input });
      return { data: { fulfillmentCreate: { fulfillment, userErrors } }, actual: 10 };
    }
    if (/\bproductSet\(/.test(query)) return productSet(variables);
    if (/\binventorySetQuantities\(/.test(query)) {
      const input = variables.input ?? {};
      const quantities = Array.isArray(input.quantities) ? input.quantities : [];
      if (quantities.length > 250)
        return {
          data: {
            inventorySetQuantities: {
              inventoryAdjustmentGroup: null,
              userErrors: [
                {
                  code: "INVALID",
                  field: ["input", "quantities"],
                  message: "The input array size of 251 is greater than the maximum allowed of 250.",
                },
              ],
            },
          },
          actual: 10,
        };
      const userErrors = [];
      const changes = [];
      quantities.forEach((q, i) => {
        if (!/^gid:\/\/shopify\/InventoryItem\/\d+$/.test(String(q.inventoryItemId)))
          userErrors.push({
            code: "INVALID_INVENTORY_ITEM",
            field: ["input", "quantities", String(i), "inventoryItemId"],
            message: "The specified inventory item could not be found.",
          });
        else if (!Number.isInteger(q.quantity) || q.quantity < 0)
          userErrors.push({
            code: "INVALID_QUANTITY",
            field: ["input", "quantities", String(i), "quantity"],
            message: "The quantity can't be negative.",
          });
      });
      // Shopify applies the change only when no input is in error.
      if (userErrors.length === 0)
        for (const q of quantities) {
          inventory.push({ ...q, name: input.name });
          changes.push({ name: input.name, delta: q.quantity, quantityAfterChange: q.quantity });
        }
      return {
        data: {
          inventorySetQuantities: {
            inventoryAdjustmentGroup: userErrors.length ? null : { reason: input.reason, changes },
            userErrors,
          },
        },
        actual: 10,
      };
    }
    return {
      data: null,
      actual: 1,
      errors: [{ message: "Field doesn't exist on type 'QueryRoot'" }],
    };
  }

  // productSet as documented (2025-04 and later): with identifier.handle (or .id) it updates the
  // product found, else creates one; list fields are set whole, so variants not in the input are
  // deleted and those matched by their option values keep their ids and inventory items.
  function productSet({ identifier = {}, input = {} }) {
    const out = (product, userErrors) => ({
      data: {
        productSet: {
          product: product && {
            id: product.id,
            handle: product.handle,
            title: product.title,
            variants: {
              nodes: product.variants.nodes.map((v) => ({
                id: v.id,
                sku: v.sku,
                inventoryItem: v.inventoryItem,
              })),
            },
          },
          userErrors,
        },
      },
      actual: 10,
    });
    const handle = identifier.handle ?? input.handle;
    let product = identifier.id
      ? products.find((p) => p.id === identifier.id)
      : handle
        ? products.find((p) => p.handle === handle)
        : undefined;
    if (identifier.id && !product)
      return out(null, [
        { code: "PRODUCT_DOES_NOT_EXIST", field: ["identifier", "id"], message: "Product does not exist" },
      ]);
    const userErrors = [];
    const title = input.title ?? product?.title;
    if (!title || !String(title).trim())
      userErrors.push({ code: "BLANK", field: ["input", "title"], message: "Title can't be blank" });
    const options = input.productOptions ?? [];
    const variantsIn = input.variants ?? [];
    const seen = new Set();
    variantsIn.forEach((v, i) => {
      const key = JSON.stringify((v.optionValues ?? []).map((o) => [o.optionName, o.name]));
      for (const o of v.optionValues ?? []) {
        const option = options.find((x) => x.name === o.optionName);
        if (!option || !(option.values ?? []).some((x) => x.name === o.name))
          userErrors.push({
            code: "INVALID_VARIANT",
            field: ["input", "variants", String(i), "optionValues"],
            message: `Option value '${o.name}' of option '${o.optionName}' is not in productOptions`,
          });
      }
      if (seen.has(key))
        userErrors.push({
          code: "INVALID_VARIANT",
          field: ["input", "variants", String(i)],
          message: "The variant already exists.",
        });
      seen.add(key);
      if (v.price !== undefined && !(Number(v.price) >= 0))
        userErrors.push({
          code: "INVALID_VARIANT",
          field: ["input", "variants", String(i), "price"],
          message: "Price must be greater than or equal to 0",
        });
    });
    if (userErrors.length) return out(null, userErrors);
    const created = !product;
    if (!product) {
      product = { id: `gid://shopify/Product/${7000 + products.length}`, variants: { nodes: [] } };
      products.push(product);
    }
    const previous = product.variants.nodes;
    const optionKey = (list) =>
      JSON.stringify((list ?? []).map((o) => [o.optionName ?? o.name, o.name ?? o.value]));
    const nodes = variantsIn.map((v) => {
      const selectedOptions = (v.optionValues ?? []).map((o) => ({ name: o.optionName, value: o.name }));
      const key = optionKey(v.optionValues);
      const had = previous.find(
        (p) => optionKey(p.selectedOptions?.map((o) => ({ optionName: o.name, name: o.value }))) === key,
      );
      const id = had?.id ?? `gid://shopify/ProductVariant/${(variantSeq += 1)}`;
      return {
        id,
        sku: v.sku ?? null,
        price: v.price === undefined ? (had?.price ?? "0.00") : String(v.price),
        barcode: v.barcode ?? had?.barcode ?? null,
        selectedOptions,
        inventoryItem: had?.inventoryItem ?? { id: id.replace("ProductVariant", "InventoryItem") },
      };
    });
    const { variants: _v, productOptions, ...fields } = input;
    Object.assign(product, fields, {
      handle:
        handle ??
        product.handle ??
        String(title)
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, "-"),
      title,
      options: productOptions ?? product.options,
      updatedAt: new Date().toISOString(),
      variants: { nodes: variantsIn.length ? nodes : previous },
    });
    productSets.push({ handle: product.handle, created });
    return out(product, []);
  }

  return {
    ...server,
    created,
    products,
    productSets,
    inventory,
    fulfillments,
    fulfillmentOrders,
    refunds,
    versions,
    customerQueries,
    /**
     * After `after` more requests (past auth and the bucket; a number or { after, retryAfter }),
     * the next `count`, REST or GraphQL, answer `status` (or each in turn of a list): a 5xx, or
     * 429 with Retry-After as the REST bucket answers.
     */
    failNext(count, status = 503, options = {}) {
      const { after = 0, retryAfter = "1.0" } = typeof options === "number" ? { after: options } : options;
      Object.assign(failing, { count, status, after, retryAfter });
    },
    /** The requests failNext answered with a failure. */
    failures: failing.answered,
    orderQueries,
    gql,
    orders,
    restProducts,
    inventoryLevels,
    /** Another app empties the bucket just before each of the next n GraphQL queries. */
    drainBeforeNext: (n = 1) => (drains = n),
    rest,
    /** Another app (or shape) spends points: the bucket runs low. */
    spend(n) {
      pointsNow();
      available = Math.max(0, available - n);
    },
    points: pointsNow,
  };
}

module.exports = { startShopify };
