// A loopback upstream that fails on purpose, the same way for the same seed: a list API paged
// by an opaque cursor, and a batch create that dedupes on an Idempotency-Key header (as Stripe
// and Shopify's GraphQL do: a key seen before gets the first answer again, nothing is created
// twice). `pageDelayMs` makes each page of the list slow (a pull that takes a while, for tests
// that kill a worker in the middle of one). Failures, drawn with `rate` from `modes`:
//   429       refused before any work, with Retry-After (seconds, may be fractional)
//   500       refused before any work
//   500-after the batch is accepted, then the answer is 500
//   drop-after the batch is accepted, then the connection is closed without an answer
// A GET fails only as 429, 500 or a dropped connection. `failWhen(req)` may name a mode for
// one request, for deterministic tests. A record with `bad: true` is refused on its own: the
// answer is 200 with `failures: [{ index, message }]`.
const { startServer } = require("../support/http-server");

/** mulberry32: a small seeded generator, so a seed gives the same failures on every run. */
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALL_MODES = ["429", "500", "500-after", "drop-after"];

async function startFlaky({
  records = [],
  rate = 0,
  seed = 1,
  modes = ALL_MODES,
  retryAfter = "0.02",
  failWhen,
  pageDelayMs = 0,
} = {}) {
  const random = seeded(seed);
  /** Every accepted record, duplicates included, in order. */
  const accepted = [];
  const answers = new Map();
  const stats = { requests: 0, failures: {} };
  const pick = (req) => {
    const forced = failWhen?.(req);
    if (forced !== undefined) return forced;
    if (rate <= 0 || random() >= rate) return undefined;
    return modes[Math.floor(random() * modes.length)];
  };
  const fail = (mode) => {
    stats.failures[mode] = (stats.failures[mode] ?? 0) + 1;
    if (mode === "429")
      return { status: 429, headers: { "retry-after": retryAfter }, body: { error: "slow down" } };
    if (mode === "drop" || mode === "drop-after") return { drop: true };
    return { status: 500, body: { error: "internal error" } };
  };
  const server = await startServer(async (req) => {
    stats.requests++;
    if (req.method === "GET" && req.path === "/items") {
      if (pageDelayMs > 0) await new Promise((r) => setTimeout(r, pageDelayMs));
      const mode = pick(req);
      if (mode) return fail(mode === "500-after" ? "500" : mode === "drop-after" ? "drop" : mode);
      const limit = Math.min(Number(req.query.limit ?? 50), 250);
      const start = req.query.cursor ? Number(Buffer.from(req.query.cursor, "base64url").toString()) : 0;
      if (!Number.isInteger(start) || start < 0) return { status: 400, body: { error: "bad cursor" } };
      const items = records.slice(start, start + limit);
      const body = { items };
      if (start + limit < records.length)
        body.next = Buffer.from(String(start + limit)).toString("base64url");
      return { body };
    }
    if (req.method === "POST" && req.path === "/items/batch") {
      const key = req.headers["idempotency-key"];
      if (key && answers.has(key)) return answers.get(key);
      const mode = pick(req);
      if (mode === "429" || mode === "500") return fail(mode);
      const { items } = JSON.parse(req.body || "{}");
      if (!Array.isArray(items)) return { status: 400, body: { error: "items must be a list" } };
      const failures = [];
      items.forEach((item, index) => {
        if (item && item.bad) failures.push({ index, message: `item ${item.id} is not valid` });
        else accepted.push(item);
      });
      const answer = { status: 200, body: { accepted: items.length - failures.length, failures } };
      if (key) answers.set(key, answer);
      return mode ? fail(mode) : answer;
    }
    return { status: 404, body: { error: "not found" } };
  });
  return { ...server, accepted, stats };
}

/** A connector definition for the flaky upstream (cursor pages, batches of `batch`, an idempotency header). */
function flakyConnector({ id = "flaky", pageSize = 250, batch = 100, idempotency = true, keyTemplate } = {}) {
  return {
    id,
    name: "Flaky upstream",
    version: "1.0.0",
    variables: [{ key: "base", label: "Base URL", required: true }],
    baseUrl: "{{vars.base}}",
    auth: [{ type: "none" }],
    ...(idempotency
      ? {
          retry: {
            idempotencyHeader: "Idempotency-Key",
            ...(keyTemplate ? { idempotencyKey: keyTemplate } : {}),
          },
        }
      : {}),
    endpoints: [
      {
        id: "list-items",
        name: "List items",
        direction: "receive",
        method: "GET",
        path: "/items",
        query: { limit: String(pageSize) },
        records: "items",
        pagination: { type: "cursor", path: "next", param: "cursor" },
      },
      {
        id: "create-items",
        name: "Create items",
        direction: "send",
        method: "POST",
        path: "/items/batch",
        batch: { size: batch, wrap: "items" },
        results: { errors: "failures", match: { by: "index", path: "index" } },
      },
    ],
  };
}

module.exports = { startFlaky, flakyConnector, seeded };
