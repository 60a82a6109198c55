// The HTTP engine against servers on 127.0.0.1: retries and the non-idempotent rule,
// Retry-After, aborts, recording with secrets removed, rate limits, and every pagination style.
const assert = require("node:assert/strict");
const { lib } = require("../support/dist");
const { startServer } = require("../support/http-server");
const { fakeClock } = require("../support/fake-clock");
const { sendRequest, HttpError, parseRetryAfter } = lib("http/request");
const { paginate, linkNext, PaginationError } = lib("http/pagination");
const { RateLimiter, limiterFor } = lib("http/rate-limit");
const { redactUrl } = lib("redact");
const { stripeList } = require("../fakes/stripe");

const quick = { backoffMs: 5, maxBackoffMs: 20 };

describe("http engine", function () {
  let server;
  let handler;
  before(async () => (server = await startServer((req, log) => handler(req, log))));
  after(() => server.close());
  beforeEach(() => (server.log.length = 0));

  describe("requests and retries", function () {
    it("retries a GET after a 500 and records one request with its attempts", async function () {
      handler = (req, log) => (log.length === 1 ? { status: 500, body: "busy" } : { body: { ok: true } });
      const records = [];
      const res = await sendRequest(
        { method: "GET", url: `${server.base}/orders`, query: { api_key: "k-123456" } },
        { ...quick, record: (r) => records.push(r) },
      );
      assert.deepEqual(res.data, { ok: true });
      assert.equal(server.log.length, 2);
      assert.equal(records.length, 1);
      assert.equal(records[0].attempts, 2);
      assert.equal(records[0].status, 200);
      assert.equal(records[0].url, `${server.base}/orders?api_key=***`);
    });

    it("does not retry a POST after a 500, which may have created the order", async function () {
      handler = () => ({ status: 500, body: { error: "boom" } });
      await assert.rejects(
        sendRequest({ method: "POST", url: `${server.base}/orders`, body: { id: 1 } }, quick),
        (err) =>
          err instanceof HttpError &&
          err.status === 500 &&
          err.attempts === 1 &&
          /POST .*\/orders answered 500: \{"error":"boom"\}/.test(err.message),
      );
      assert.equal(server.log.length, 1);
    });

    it("retries a POST that only reads (a search, a GraphQL query) after a 500, as a GET", async function () {
      handler = (req, log) => (log.length === 1 ? { status: 503 } : { body: { data: { orders: [] } } });
      const res = await sendRequest(
        { method: "POST", url: `${server.base}/orders/search`, body: { update_time_ge: 1 } },
        { ...quick, safe: true },
      );
      assert.deepEqual(res.data, { data: { orders: [] } });
      assert.equal(server.log.length, 2);
    });

    it("retries a POST after a 500 when the API takes an idempotency key, and after a 429", async function () {
      handler = (req, log) => (log.length === 1 ? { status: 500 } : { status: 201, body: { id: 9 } });
      const res = await sendRequest(
        { method: "POST", url: `${server.base}/orders`, body: {}, headers: { "Idempotency-Key": "abc" } },
        { ...quick, idempotencyHeader: "Idempotency-Key" },
      );
      assert.equal(res.status, 201);
      server.log.length = 0;
      handler = (req, log) =>
        log.length === 1 ? { status: 429, headers: { "retry-after": "0" } } : { status: 201, body: {} };
      assert.equal(
        (await sendRequest({ method: "POST", url: `${server.base}/orders`, body: {} }, quick)).status,
        201,
      );
      assert.equal(server.log.length, 2);
    });

    it("gives each POST its own idempotency key, the same on every attempt, and retries after a 500 only with one", async function () {
      let calls = 0;
      handler = (req) =>
        req.method === "GET" ? { body: [] } : ++calls % 2 === 1 ? { status: 500 } : { status: 201, body: {} };
      const opts = { ...quick, idempotencyHeader: "Idempotency-Key" };
      await sendRequest({ method: "POST", url: `${server.base}/orders`, body: { id: 1 } }, opts);
      await sendRequest({ method: "POST", url: `${server.base}/orders`, body: { id: 2 } }, opts);
      const keys = server.log.map((e) => e.headers["idempotency-key"]);
      assert.equal(keys.length, 4, "each request tried twice");
      assert.match(keys[0], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(keys[0], keys[1], "the same key across one request's attempts");
      assert.equal(keys[2], keys[3]);
      assert.notEqual(keys[0], keys[2], "another request, another key");
      // A key the connector rendered is used as it is; a GET carries none.
      server.log.length = 0;
      calls = 0;
      await sendRequest(
        { method: "POST", url: `${server.base}/orders`, body: {} },
        { ...opts, idempotencyKey: "order-1042" },
      );
      await sendRequest({ method: "GET", url: `${server.base}/orders` }, opts);
      assert.deepEqual(
        server.log.map((e) => e.headers["idempotency-key"]),
        ["order-1042", "order-1042", undefined],
      );
    });

    it("says whether a failed request was refused or may have been accepted", async function () {
      const outcome = (p) =>
        p.then(
          () => "ok",
          (err) => [err.outcome, err.status ?? null, err.attempts],
        );
      const post = (o = quick) => sendRequest({ method: "POST", url: `${server.base}/orders`, body: {} }, o);
      handler = () => ({ status: 422, body: { errors: "bad" } });
      assert.deepEqual(await outcome(post()), ["refused", 422, 1]);
      handler = () => ({ status: 429, headers: { "retry-after": "0" } });
      assert.deepEqual(await outcome(post()), ["refused", 429, 3], "429: refused before any work");
      handler = () => ({ status: 500 });
      assert.deepEqual(await outcome(post()), ["unknown", 500, 1], "500 after it was sent");
      handler = () => ({ drop: true });
      assert.deepEqual(await outcome(post()), ["unknown", null, 1], "connection dropped after it was sent");
      // With a key it is retried; a later 429 does not prove the first try was not acted on.
      server.log.length = 0;
      handler = (req, log) =>
        log.length === 1 ? { drop: true } : { status: 429, headers: { "retry-after": "0" } };
      assert.deepEqual(await outcome(post({ ...quick, idempotencyHeader: "Idempotency-Key" })), [
        "unknown",
        429,
        3,
      ]);
      const closed = await startServer(() => ({}));
      await closed.close();
      assert.deepEqual(
        await outcome(sendRequest({ method: "POST", url: `${closed.base}/x`, body: {} }, quick)),
        ["refused", null, 3],
        "it never left: safe to resend",
      );
    });

    it("honours Retry-After in seconds and refuses a wait over the cap", async function () {
      handler = (req, log) =>
        log.length === 1 ? { status: 429, headers: { "retry-after": "1" } } : { body: [] };
      const start = Date.now();
      await sendRequest({ method: "GET", url: `${server.base}/slow` }, quick);
      assert.ok(Date.now() - start >= 950, "waited the second it was asked to");
      server.log.length = 0;
      handler = () => ({ status: 429, headers: { "retry-after": "3600" } });
      await assert.rejects(
        sendRequest({ method: "GET", url: `${server.base}/slow` }, { ...quick, retryAfterCapMs: 5000 }),
        /answered 429 \(it asked to wait longer than 5 s, the cap\)/,
      );
      assert.equal(
        parseRetryAfter("Wed, 21 Oct 2026 07:28:00 GMT", Date.parse("Wed, 21 Oct 2026 07:27:00 GMT")),
        60000,
      );
    });

    it("reads a vendor reset header the connector declares", async function () {
      handler = (req, log) =>
        log.length === 1 ? { status: 429, headers: { "x-ratelimit-reset-after": "0.2" } } : { body: {} };
      const start = Date.now();
      await sendRequest(
        { method: "GET", url: `${server.base}/x` },
        { ...quick, backoffMs: 1, resetHeader: { name: "X-RateLimit-Reset-After", unit: "seconds" } },
      );
      assert.ok(Date.now() - start >= 190);
    });

    it("does not retry other 4xx and tells status, method, URL without secrets and a body excerpt", async function () {
      handler = () => ({ status: 422, body: { errors: { variant_id: ["is invalid"] } } });
      await assert.rejects(
        sendRequest(
          { method: "PUT", url: `${server.base}/orders/1?access_token=tok-secret-1`, body: {} },
          { ...quick, secrets: ["tok-secret-1"] },
        ),
        (err) =>
          err.status === 422 &&
          !err.message.includes("tok-secret-1") &&
          /PUT http:\/\/127\.0\.0\.1:\d+\/orders\/1\?access_token=\*\*\* answered 422: \{"errors":\{"variant_id":\["is invalid"\]\}\}/.test(
            err.message,
          ),
      );
      assert.equal(server.log.length, 1);
    });

    it("retries connection errors for any method when nothing was sent, and gives up after the attempts", async function () {
      const closed = await startServer(() => ({}));
      await closed.close();
      await assert.rejects(
        sendRequest({ method: "POST", url: `${closed.base}/x`, body: {} }, quick),
        (err) =>
          err.attempts === 3 &&
          /failed: .*ECONNREFUSED|connect/.test(err.message) &&
          /after 3 attempts/.test(err.message),
      );
    });

    it("renews auth once after a 401 and tries again", async function () {
      let token = "old";
      handler = (req) =>
        req.headers.authorization === "Bearer new" ? { body: { ok: 1 } } : { status: 401, body: "expired" };
      const res = await sendRequest(
        { method: "GET", url: `${server.base}/me` },
        {
          ...quick,
          prepare: (r) => ({ ...r, headers: { ...r.headers, authorization: `Bearer ${token}` } }),
          onUnauthorized: async () => {
            token = "new";
            return true;
          },
        },
      );
      assert.deepEqual(res.data, { ok: 1 });
      assert.equal(server.log.length, 2);
    });

    it("stops at once when the run's signal aborts during a backoff", async function () {
      handler = () => ({ status: 503 });
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      const start = Date.now();
      await assert.rejects(
        sendRequest(
          { method: "GET", url: `${server.base}/x` },
          { attempts: 5, backoffMs: 10000, signal: controller.signal },
        ),
        /was stopped/,
      );
      assert.ok(Date.now() - start < 1000);
    });

    it("sends JSON, form and XML bodies and parses JSON, XML and text answers", async function () {
      handler = (req) => {
        if (req.path === "/xml")
          return { type: "application/xml", body: `<orders><order id="1"><sku>A</sku></order></orders>` };
        if (req.path === "/text") return { type: "text/plain", body: "OK" };
        return { body: { got: req.body, type: req.headers["content-type"] } };
      };
      assert.deepEqual(
        (await sendRequest({ method: "POST", url: `${server.base}/j`, body: { a: 1 } })).data,
        { got: '{"a":1}', type: "application/json" },
      );
      assert.deepEqual(
        (
          await sendRequest({
            method: "POST",
            url: `${server.base}/f`,
            body: { a: 1, b: "x y" },
            bodyFormat: "form",
          })
        ).data,
        { got: "a=1&b=x+y", type: "application/x-www-form-urlencoded" },
      );
      assert.match(
        (
          await sendRequest({
            method: "POST",
            url: `${server.base}/x`,
            body: { order: { sku: "A" } },
            bodyFormat: "xml",
          })
        ).data.got,
        /<order><sku>A<\/sku><\/order>/,
      );
      assert.deepEqual((await sendRequest({ method: "GET", url: `${server.base}/xml` })).data, {
        orders: { order: { "@id": "1", sku: "A" } },
      });
      assert.equal((await sendRequest({ method: "GET", url: `${server.base}/text` })).data, "OK");
    });

    it("goes through the proxy named in the usual environment variables", async function () {
      const http = require("node:http");
      const seen = [];
      const proxy = http.createServer((req, res) => {
        seen.push([req.method, req.url, req.headers.host]);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ via: "proxy" }));
      });
      await new Promise((r) => proxy.listen(0, "127.0.0.1", r));
      const saved = { HTTP_PROXY: process.env.HTTP_PROXY, NO_PROXY: process.env.NO_PROXY };
      process.env.HTTP_PROXY = `http://127.0.0.1:${proxy.address().port}`;
      delete process.env.NO_PROXY;
      try {
        const res = await sendRequest({
          method: "GET",
          url: "http://erp.example.test/api/items",
          query: { page: 2 },
        });
        assert.deepEqual(res.data, { via: "proxy" });
        assert.deepEqual(seen, [["GET", "http://erp.example.test/api/items?page=2", "erp.example.test"]]);
      } finally {
        for (const [k, v] of Object.entries(saved))
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        await new Promise((r) => proxy.close(r));
      }
    });

    it("holds every request to its timeout from the first byte sent, through a proxy that trickles too", async function () {
      const net = require("node:net");
      const http = require("node:http");
      const timers = [];
      // An answer that never ends: a byte every 100 ms keeps a socket's idle timer from firing.
      const trickle = http.createServer((req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.write("[");
        timers.push(setInterval(() => res.write(" "), 100));
      });
      // A proxy that accepts the connection, then answers a header line at a time, for ever;
      // and answers CONNECT, then says nothing.
      const proxy = net.createServer((sock) => {
        sock.on("error", () => {});
        sock.once("data", (d) => {
          if (d.toString().startsWith("CONNECT"))
            return sock.write("HTTP/1.1 200 Connection established\r\n\r\n");
          sock.write("HTTP/1.1 200 OK\r\n");
          let i = 0;
          timers.push(setInterval(() => sock.write(`x-slow-${i++}: 1\r\n`), 100));
        });
      });
      await new Promise((r) => trickle.listen(0, "127.0.0.1", r));
      await new Promise((r) => proxy.listen(0, "127.0.0.1", r));
      const saved = {
        HTTP_PROXY: process.env.HTTP_PROXY,
        HTTPS_PROXY: process.env.HTTPS_PROXY,
        NO_PROXY: process.env.NO_PROXY,
      };
      try {
        const timed = async (url) => {
          const started = Date.now();
          await assert.rejects(
            sendRequest({ method: "GET", url }, { timeoutMs: 400, attempts: 1 }),
            (err) => err instanceof HttpError && /failed: no answer within 400 ms/.test(err.message),
          );
          return Date.now() - started;
        };
        assert.ok((await timed(`http://127.0.0.1:${trickle.address().port}/slow`)) < 1500);
        process.env.HTTP_PROXY = process.env.HTTPS_PROXY = `http://127.0.0.1:${proxy.address().port}`;
        delete process.env.NO_PROXY;
        assert.ok((await timed("http://erp.example.test/items")) < 1500);
        assert.ok((await timed("https://erp.example.test/items")) < 1500);
      } finally {
        timers.forEach(clearInterval);
        for (const [k, v] of Object.entries(saved))
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        trickle.closeAllConnections();
        await new Promise((r) => trickle.close(r));
        await new Promise((r) => proxy.close(r));
      }
    });

    it("takes secrets out of URLs", function () {
      assert.equal(
        redactUrl("https://user:pw@shop.example.com/a?key=abc&page=2&signature=xyz"),
        "https://***:***@shop.example.com/a?key=***&page=2&signature=***",
      );
      assert.equal(
        redactUrl("https://x.example.com/t/SECRETVALUE/orders", ["SECRETVALUE"]),
        "https://x.example.com/t/***/orders",
      );
    });
  });

  describe("rate limits", function () {
    it("lets a burst through, then paces to the rate, with several limits at once", async function () {
      const clock = fakeClock(0);
      const limiter = new RateLimiter(
        [
          { requests: 2, period: "second", burst: 3 },
          { requests: 5, period: "minute" },
        ],
        clock,
      );
      const granted = [];
      for (let i = 0; i < 6; i++) void limiter.acquire().then(() => granted.push(clock.now()));
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(granted, [0, 0, 0], "the burst");
      clock.advance(500);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(granted, [0, 0, 0, 500]);
      clock.advance(500);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(granted, [0, 0, 0, 500, 1000], "then 2 a second");
      clock.advance(10_000);
      await new Promise((r) => setImmediate(r));
      assert.equal(granted.length, 5, "and no more than 5 a minute");
      clock.advance(60_000);
      await new Promise((r) => setImmediate(r));
      assert.equal(granted.length, 6);
    });

    it("keeps several shapes on one instance within its limit together (measured)", async function () {
      handler = () => ({ body: {} });
      const limits = [{ requests: 10, period: "second", burst: 2 }];
      const shapes = [1, 2, 3].map(() => limiterFor("instance-a", limits));
      assert.equal(shapes[0], shapes[2], "one limiter per instance");
      const start = Date.now();
      await Promise.all(
        shapes.map((limiter) =>
          Promise.all(
            Array.from({ length: 6 }, () =>
              sendRequest({ method: "GET", url: `${server.base}/r` }, { limiter }),
            ),
          ),
        ),
      );
      const times = server.log.map((e) => e.at - start);
      // In any window of a second: at most the rate plus the burst.
      for (const t of times)
        assert.ok(times.filter((u) => u >= t && u < t + 1000).length <= 12, JSON.stringify(times));
      assert.ok(Date.now() - start >= 1500, "18 requests at 10/s after a burst of 2 take over 1.5 s");
    });

    it("ends a wait for the limit when the run stops", async function () {
      const limiter = new RateLimiter([{ requests: 1, period: "hour" }]);
      await limiter.acquire();
      const controller = new AbortController();
      const waiting = limiter.acquire(controller.signal);
      controller.abort();
      await assert.rejects(waiting, /stopped while waiting for the rate limit/);
    });
  });

  describe("pagination", function () {
    const items = Array.from({ length: 25 }, (_, i) => ({ id: i + 1 }));
    const pull = async (first, pagination, opts) => {
      const pages = [];
      for await (const page of paginate(first, pagination, (r) => sendRequest(r, quick), opts))
        pages.push([page.number, page.records.map((r) => r.id), page.last]);
      return pages;
    };

    it("page numbers: stops on a short last page", async function () {
      handler = (req) => {
        const p = Number(req.query.page);
        const n = Number(req.query.limit);
        return { body: { orders: items.slice((p - 1) * n, p * n) } };
      };
      const pages = await pull(
        { method: "GET", url: `${server.base}/orders` },
        { type: "page", pageParam: "page", sizeParam: "limit", pageSize: 10 },
        { recordsPath: "orders" },
      );
      assert.deepEqual(
        pages.map((p) => [p[0], p[1].length, p[2]]),
        [
          [1, 10, false],
          [2, 10, false],
          [3, 5, true],
        ],
      );
      assert.equal(server.log.length, 3);
    });

    it("page numbers: an empty page after a full one marks the full one last", async function () {
      handler = (req) => {
        const p = Number(req.query.page);
        return { body: items.slice((p - 1) * 5, p * 5).slice(0, p <= 5 ? 5 : 0) };
      };
      const pages = await pull(
        { method: "GET", url: `${server.base}/orders` },
        { type: "page", pageParam: "page", pageSize: 5 },
      );
      assert.deepEqual(
        pages.map((p) => [p[0], p[2]]),
        [
          [1, false],
          [2, false],
          [3, false],
          [4, false],
          [5, true],
        ],
      );
      assert.equal(server.log.length, 6, "the sixth, empty page was asked for");
    });

    it("limit/offset", async function () {
      handler = (req) => ({
        body: {
          data: items.slice(Number(req.query.offset), Number(req.query.offset) + Number(req.query.limit)),
        },
      });
      const pages = await pull(
        { method: "GET", url: `${server.base}/o` },
        { type: "offset", offsetParam: "offset", limitParam: "limit", limit: 10 },
        { recordsPath: "data" },
      );
      assert.deepEqual(
        pages.map((p) => p[1].length),
        [10, 10, 5],
      );
    });

    it("Link header rel=next, as Shopify sends it", async function () {
      handler = (req) => {
        const info = req.query.page_info ?? "p1";
        const n = Number(info.slice(1));
        const next =
          n < 3 ? `<${server.base}/products.json?limit=2&page_info=p${n + 1}>; rel="next"` : undefined;
        return {
          body: { products: [{ id: n }] },
          headers: next
            ? { link: `<${server.base}/products.json?page_info=p${n - 1}>; rel="previous", ${next}` }
            : {},
        };
      };
      const pages = await pull(
        { method: "GET", url: `${server.base}/products.json`, query: { limit: 2 } },
        { type: "link" },
        { recordsPath: "products" },
      );
      assert.deepEqual(pages, [
        [1, [1], false],
        [2, [2], false],
        [3, [3], true],
      ]);
      assert.equal(linkNext('<https://a/x?p=2>; rel="next"'), "https://a/x?p=2");
    });

    it("next URL in the body, never to another origin", async function () {
      handler = (req) =>
        req.path === "/a"
          ? { body: { results: [{ id: 1 }], next: `${server.base}/b` } }
          : { body: { results: [{ id: 2 }], next: null } };
      assert.deepEqual(
        await pull(
          { method: "GET", url: `${server.base}/a` },
          { type: "next_url", path: "next" },
          { recordsPath: "results" },
        ),
        [
          [1, [1], false],
          [2, [2], true],
        ],
      );
      handler = () => ({ body: { results: [{ id: 1 }], next: "https://evil.example.com/steal" } });
      await assert.rejects(
        pull(
          { method: "GET", url: `${server.base}/a` },
          { type: "next_url", path: "next" },
          { recordsPath: "results" },
        ),
        (err) =>
          err instanceof PaginationError &&
          /on another site \(https:\/\/evil\.example\.com/.test(err.message),
      );
    });

    it("cursor in the body, stopping with an error on a repeated cursor", async function () {
      handler = (req) => {
        const at = Number(req.query.cursor ?? 0);
        return { body: { data: [{ id: at }], meta: { next_cursor: at < 2 ? String(at + 1) : "" } } };
      };
      assert.deepEqual(
        await pull(
          { method: "GET", url: `${server.base}/c` },
          { type: "cursor", path: "meta.next_cursor", param: "cursor" },
          { recordsPath: "data" },
        ),
        [
          [1, [0], false],
          [2, [1], false],
          [3, [2], true],
        ],
      );
      handler = () => ({ body: { data: [{ id: 1 }], meta: { next_cursor: "same" } } });
      await assert.rejects(
        pull(
          { method: "GET", url: `${server.base}/c` },
          { type: "cursor", path: "meta.next_cursor", param: "cursor" },
          { recordsPath: "data" },
        ),
        /same next-page marker twice \(same\)/,
      );
    });

    it("masks an API key in a repeated next URL in its error (the run log shows errors)", async function () {
      const key = "live_key_5f2b9c";
      handler = () => ({ body: { data: [{ id: 1 }], next: `${server.base}/c?page=2&api_key=${key}` } });
      await assert.rejects(
        pull(
          { method: "GET", url: `${server.base}/c` },
          { type: "next_url", path: "next" },
          { recordsPath: "data" },
        ),
        (err) => /same next-page marker twice/.test(err.message) && !err.message.includes(key),
      );
    });

    it("GraphQL cursor (pageInfo.endCursor / hasNextPage)", async function () {
      handler = (req) => {
        const after = JSON.parse(req.body).variables.after ?? null;
        const n = after ? Number(after) : 0;
        return {
          body: {
            data: {
              orders: { nodes: [{ id: n }], pageInfo: { hasNextPage: n < 2, endCursor: String(n + 1) } },
            },
          },
        };
      };
      const first = {
        method: "POST",
        url: `${server.base}/graphql.json`,
        body: {
          query:
            "query($after: String) { orders(first: 1, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }",
          variables: {},
        },
      };
      assert.deepEqual(
        await pull(
          first,
          {
            type: "graphql",
            endCursorPath: "data.orders.pageInfo.endCursor",
            hasNextPath: "data.orders.pageInfo.hasNextPage",
            variable: "after",
          },
          { recordsPath: "data.orders.nodes" },
        ),
        [
          [1, [0], false],
          [2, [1], false],
          [3, [2], true],
        ],
      );
    });

    it("Stripe's starting_after: the last record's id, until has_more is false", async function () {
      const customers = Array.from({ length: 7 }, (_, i) => ({ id: `cus_${7 - i}`, object: "customer" }));
      handler = (req) => stripeList(customers, req, "/v1/customers");
      const first = { method: "GET", url: `${server.base}/v1/customers`, query: { limit: 3 } };
      const pages = [];
      for await (const page of paginate(first, { type: "starting_after" }, (r) => sendRequest(r, quick), {
        recordsPath: "data",
      }))
        pages.push([page.number, page.records.map((r) => r.id), page.last]);
      assert.deepEqual(pages, [
        [1, ["cus_7", "cus_6", "cus_5"], false],
        [2, ["cus_4", "cus_3", "cus_2"], false],
        [3, ["cus_1"], true],
      ]);
      assert.deepEqual(
        server.log.map((e) => e.query),
        [{ limit: "3" }, { limit: "3", starting_after: "cus_5" }, { limit: "3", starting_after: "cus_2" }],
      );
      // A page that ends the list exactly: has_more is false, no empty page is asked for.
      server.log.length = 0;
      handler = (req) => stripeList(customers.slice(0, 6), req, "/v1/customers");
      assert.equal((await pull(first, { type: "starting_after" }, { recordsPath: "data" })).length, 2);
      assert.equal(server.log.length, 2);
      // Other names: the parameter, the id and the flag.
      handler = (req) => {
        const at = Number(req.query.after ?? 0);
        return { body: { rows: [{ id: at + 1, key: { n: at + 1 } }], meta: { more: at < 1 } } };
      };
      assert.deepEqual(
        await pull(
          { method: "GET", url: `${server.base}/rows` },
          { type: "starting_after", param: "after", idPath: "key.n", hasMorePath: "meta.more" },
          { recordsPath: "rows" },
        ),
        [
          [1, [1], false],
          [2, [2], true],
        ],
      );
      // has_more with nothing to go on from, or a record without an id: an error, never the end.
      handler = () => ({ body: { object: "list", has_more: true, data: [] } });
      await assert.rejects(
        pull(
          { method: "GET", url: `${server.base}/v1/customers` },
          { type: "starting_after" },
          { recordsPath: "data" },
        ),
        /says it has more \("has_more": true\) but sent no records/,
      );
      handler = () => ({ body: { object: "list", has_more: true, data: [{ name: "x" }] } });
      await assert.rejects(
        pull(
          { method: "GET", url: `${server.base}/v1/customers` },
          { type: "starting_after" },
          { recordsPath: "data" },
        ),
        /the last record of the page has no "id"/,
      );
      await assert.rejects(
        pull({ method: "GET", url: `${server.base}/p` }, { type: "starting_after", idPath: "" }),
        /pagination "starting_after" needs a non-empty idPath/,
      );
    });

    it("custom relative URI in the body", async function () {
      handler = (req) =>
        req.path === "/api/v1/items"
          ? { body: { items: [{ id: 1 }], links: { next: "/api/v1/items/page/2" } } }
          : { body: { items: [{ id: 2 }], links: {} } };
      assert.deepEqual(
        await pull(
          { method: "GET", url: `${server.base}/api/v1/items` },
          { type: "next_path", path: "links.next" },
          { recordsPath: "items" },
        ),
        [
          [1, [1], false],
          [2, [2], true],
        ],
      );
    });

    it("retries a page that fails, and fails the pull if it keeps failing, never taking it for the end", async function () {
      let failures = 0;
      handler = (req) => {
        if (req.query.page === "2" && failures++ < 1) return { status: 500 };
        return { body: req.query.page === "3" ? [] : [{ id: Number(req.query.page) }] };
      };
      assert.deepEqual(
        (await pull({ method: "GET", url: `${server.base}/p` }, { type: "page", pageParam: "page" })).map(
          (p) => p[1],
        ),
        [[1], [2]],
      );
      handler = (req) => (req.query.page === "2" ? { status: 500, body: "down" } : { body: [{ id: 1 }] });
      await assert.rejects(
        pull({ method: "GET", url: `${server.base}/p` }, { type: "page", pageParam: "page" }),
        /answered 500: down \(after 3 attempts\)/,
      );
    });

    it("resumes a pull from the point a page left, for every paging style, without the pages before it", async function () {
      const data = Array.from({ length: 7 }, (_, i) => ({ id: i + 1 }));
      const styles = [
        [
          "page",
          (req) => ({ body: data.slice((Number(req.query.page) - 1) * 2, Number(req.query.page) * 2) }),
          { type: "page", pageParam: "page", sizeParam: "size", pageSize: 2 },
        ],
        [
          "offset",
          (req) => ({ body: data.slice(Number(req.query.offset), Number(req.query.offset) + 2) }),
          { type: "offset", offsetParam: "offset", limitParam: "limit", limit: 2 },
        ],
        [
          "cursor",
          (req) => {
            const at = Number((req.query.after ?? "c0").slice(1));
            return {
              body: { items: data.slice(at, at + 2), next: at + 2 < data.length ? `c${at + 2}` : null },
            };
          },
          { type: "cursor", path: "next", param: "after" },
        ],
        [
          "link",
          (req) => {
            const at = Number(req.query.at ?? 0);
            const link = at + 2 < data.length ? { link: `<${server.base}/p?at=${at + 2}>; rel="next"` } : {};
            return { headers: link, body: data.slice(at, at + 2) };
          },
          { type: "link" },
        ],
        ["starting_after", (req) => stripeList(data, req, "/p"), { type: "starting_after" }],
        [
          "graphql",
          (req) => {
            const at = Number(JSON.parse(req.body).variables.after ?? 0);
            const more = at + 2 < data.length;
            return {
              body: {
                data: {
                  items: {
                    nodes: data.slice(at, at + 2),
                    pageInfo: { endCursor: String(at + 2), hasNextPage: more },
                  },
                },
              },
            };
          },
          {
            type: "graphql",
            endCursorPath: "data.items.pageInfo.endCursor",
            hasNextPath: "data.items.pageInfo.hasNextPage",
            variable: "after",
          },
        ],
      ];
      for (const [name, route, pagination] of styles) {
        handler = route;
        const first =
          name === "graphql"
            ? { method: "POST", url: `${server.base}/p`, body: { query: "q", variables: {} } }
            : name === "starting_after"
              ? { method: "GET", url: `${server.base}/p`, query: { limit: 2 } }
              : { method: "GET", url: `${server.base}/p` };
        const recordsPath =
          name === "cursor"
            ? "items"
            : name === "graphql"
              ? "data.items.nodes"
              : name === "starting_after"
                ? "data"
                : undefined;
        const whole = [];
        for await (const page of paginate(first, pagination, (r) => sendRequest(r, quick), { recordsPath }))
          whole.push(page);
        assert.equal(whole.length, 4, name);
        assert.equal(whole[3].resume, undefined, `${name}: the last page leaves nothing to resume`);
        const point = JSON.parse(JSON.stringify(whole[1].resume)); // as kept with a run
        assert.equal(point.pages, 2, name);
        server.log.length = 0;
        const rest = [];
        for await (const page of paginate(first, pagination, (r) => sendRequest(r, quick), {
          recordsPath,
          resume: point,
        }))
          rest.push([page.number, page.records.map((r) => r.id), page.last]);
        assert.deepEqual(
          rest,
          [
            [3, [5, 6], false],
            [4, [7], true],
          ],
          name,
        );
        assert.equal(server.log.length, 2, `${name}: pages 1 and 2 were not asked for again`);
      }
      await assert.rejects(
        pull(
          { method: "GET", url: `${server.base}/p` },
          { type: "link" },
          { resume: { pages: 2, url: "https://elsewhere.example/p" } },
        ),
        /the next page is on another site/,
      );
      await assert.rejects(
        pull(
          { method: "GET", url: `${server.base}/p` },
          { type: "cursor", path: "n", param: "c" },
          { resume: { pages: 1 } },
        ),
        /the checkpoint to resume from has no cursor/,
      );
    });

    it("stops with an error past the max-pages guard and when the records path is missing", async function () {
      handler = () => ({ body: [{ id: 1 }] });
      await assert.rejects(
        pull(
          { method: "GET", url: `${server.base}/p` },
          { type: "page", pageParam: "page" },
          { maxPages: 3 },
        ),
        /stopped after 3 pages, the most allowed/,
      );
      handler = () => ({ body: { data: [] } });
      await assert.rejects(
        pull({ method: "GET", url: `${server.base}/p` }, { type: "none" }, { recordsPath: "orders" }),
        /page 1: the response has no "orders"/,
      );
    });

    it("refuses pagination settings that cannot work", async function () {
      await assert.rejects(
        pull({ method: "GET", url: `${server.base}/p` }, { type: "cursor", path: "next" }),
        /pagination "cursor" needs the path to the cursor in the response and the parameter that sends it/,
      );
      await assert.rejects(
        pull({ method: "GET", url: `${server.base}/p` }, { type: "scroll" }),
        /unknown pagination "scroll"/,
      );
    });
  });
});
