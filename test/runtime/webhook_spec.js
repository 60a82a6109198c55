// Webhook triggers in a real Node-RED runtime: real HTTP, real HMACs, credentials stored
// the way the editor stores them.
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { startRuntime } = require("../support/runtime");
const { waitUntil } = require("../support/wait");

const tab = { id: "tab1", type: "tab", label: "Webhooks" };
const hookTrigger = (id, settings, secret) => ({
  id,
  type: "pw-trigger",
  z: "tab1",
  name: `${id} hook`,
  schedules: [],
  webhook: true,
  methods: "GET,POST",
  auth: "none",
  ...settings,
  ...(secret ? { credentials: { secret } } : {}),
  wires: [["sink"]],
});
// A function node records what reaches it, so the test can read it from the runtime.
const sink = {
  id: "sink",
  type: "function",
  z: "tab1",
  func: "global.get('seen').push(msg); return null;",
  outputs: 0,
  wires: [],
};

describe("pw-trigger webhooks (runtime)", function () {
  let rt;
  let seen;
  before(async function () {
    seen = [];
    rt = await startRuntime({ functionGlobalContext: { seen } });
  });
  after(() => rt.stop());
  beforeEach(() => (seen.length = 0));

  const post = (route, body, headers = {}) =>
    fetch(rt.hooks + route, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });

  describe("Shopify signatures", function () {
    const secret = "shpss_0123456789abcdef";
    before(() =>
      rt.deploy([
        tab,
        hookTrigger("shop", { path: "/shopify/orders", auth: "shopify", methods: "POST" }, secret),
        sink,
      ]),
    );
    const body = JSON.stringify({ id: 450789469, name: "#1001", total_price: "598.94" });
    const sign = (b, key) => crypto.createHmac("sha256", key).update(b).digest("base64");

    it("starts a run for a correctly signed request and answers the default reply", async function () {
      const res = await post("/shopify/orders", body, { "X-Shopify-Hmac-Sha256": sign(body, secret) });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { message: "Flow initialised." });
      await waitUntil(() => seen.length === 1, "the run's message");
      assert.deepEqual(seen[0].payload, JSON.parse(body));
      assert.equal(seen[0].webhook.rawBody.toString(), body);
      assert.equal(seen[0].pw.run.via, "webhook");
    });

    it("answers 401 and starts no run for a wrong secret or a tampered body", async function () {
      let res = await post("/shopify/orders", body, { "X-Shopify-Hmac-Sha256": sign(body, "wrong-secret") });
      assert.equal(res.status, 401);
      assert.match((await res.json()).message, /signature does not match/);
      res = await post("/shopify/orders", body.replace("598.94", "0.01"), {
        "X-Shopify-Hmac-Sha256": sign(body, secret),
      });
      assert.equal(res.status, 401);
      res = await post("/shopify/orders", body);
      assert.equal(res.status, 401);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(seen.length, 0);
    });

    it("keeps the secret out of the flow export and encrypts it at rest", async function () {
      const flows = await rt.api("GET", "/flows");
      assert.ok(!flows.text.includes(secret));
      const creds = await rt.api("GET", "/credentials/pw-trigger/shop");
      assert.deepEqual(creds.json, { has_secret: true });
      const stored = fs.readFileSync(path.join(rt.userDir, "flows_cred.json"), "utf8");
      assert.ok(!stored.includes(secret));
      assert.ok(JSON.parse(stored).$, "encrypted credential blob");
    });
  });

  describe("HubSpot v3 signatures", function () {
    const secret = "hs-client-secret-123";
    before(() =>
      rt.deploy([
        tab,
        hookTrigger("hub", { path: "/hubspot/contacts", auth: "hubspot", methods: "POST" }, secret),
        sink,
      ]),
    );
    const body = JSON.stringify([{ eventId: 1, subscriptionType: "contact.creation", objectId: 123 }]);
    const sign = (uri, ts, key = secret) =>
      crypto
        .createHmac("sha256", key)
        .update("POST" + uri + body + ts)
        .digest("base64");

    it("accepts a fresh request signed over method, URL, body and timestamp", async function () {
      const ts = String(Date.now());
      const uri = `${rt.hooks}/hubspot/contacts?portal=62515`;
      const res = await fetch(uri, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "X-HubSpot-Signature-v3": sign(uri, ts),
          "X-HubSpot-Request-Timestamp": ts,
        },
        body,
      });
      assert.equal(res.status, 200);
      await waitUntil(() => seen.length === 1, "the run");
      assert.deepEqual(seen[0].payload, JSON.parse(body), "the body wins over the query");
      assert.deepEqual(seen[0].webhook.query, { portal: "62515" });
    });

    it("refuses a stale timestamp, a wrong secret and a tampered body", async function () {
      const uri = `${rt.hooks}/hubspot/contacts`;
      const stale = String(Date.now() - 6 * 60 * 1000);
      let res = await fetch(uri, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "X-HubSpot-Signature-v3": sign(uri, stale),
          "X-HubSpot-Request-Timestamp": stale,
        },
        body,
      });
      assert.equal(res.status, 401);
      assert.match((await res.json()).message, /outside the 300 s window/);
      const ts = String(Date.now());
      res = await fetch(uri, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "X-HubSpot-Signature-v3": sign(uri, ts, "wrong"),
          "X-HubSpot-Request-Timestamp": ts,
        },
        body,
      });
      assert.equal(res.status, 401);
      res = await fetch(uri, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "X-HubSpot-Signature-v3": sign(uri, ts),
          "X-HubSpot-Request-Timestamp": ts,
        },
        body: body.replace("123", "999"),
      });
      assert.equal(res.status, 401);
      assert.equal(seen.length, 0);
    });
  });

  describe("TikTok Shop signatures", function () {
    before(() =>
      rt.deploy([
        tab,
        hookTrigger(
          "tts",
          { path: "/tiktok", auth: "tiktok", tiktokAppKey: "6d3rk2", methods: "POST" },
          "tts-secret",
        ),
        sink,
      ]),
    );
    const body = JSON.stringify({
      type: 1,
      shop_id: "7494",
      data: { order_id: "576", order_status: "AWAITING_SHIPMENT" },
    });

    it("accepts the right signature and keeps the Authorization header out of the message", async function () {
      const sig = crypto
        .createHmac("sha256", "tts-secret")
        .update("6d3rk2" + body)
        .digest("hex");
      const res = await post("/tiktok", body, { Authorization: sig });
      assert.equal(res.status, 200);
      await waitUntil(() => seen.length === 1, "the run");
      assert.equal(seen[0].payload.data.order_id, "576");
      assert.equal(seen[0].webhook.headers.authorization, undefined);
    });

    it("refuses a signature made with the wrong secret", async function () {
      const sig = crypto
        .createHmac("sha256", "nope")
        .update("6d3rk2" + body)
        .digest("hex");
      assert.equal((await post("/tiktok", body, { Authorization: sig })).status, 401);
    });

    it("refuses an order status change without a signature, or signed over another body, and starts no run", async function () {
      // TikTok Shop's order status change (type 1), as its webhook delivers it.
      const change = JSON.stringify({
        type: 1,
        tts_notification_id: "7327112393057371910",
        shop_id: "7494",
        timestamp: 1798000400,
        data: { order_id: "577", order_status: "AWAITING_COLLECTION", update_time: 1798000399 },
      });
      const before = seen.length;
      assert.equal((await post("/tiktok", change, {})).status, 401);
      const other = crypto
        .createHmac("sha256", "tts-secret")
        .update("6d3rk2" + body)
        .digest("hex");
      assert.equal((await post("/tiktok", change, { Authorization: other })).status, 401);
      const right = crypto
        .createHmac("sha256", "tts-secret")
        .update("6d3rk2" + change)
        .digest("hex");
      assert.equal((await post("/tiktok", change, { Authorization: right })).status, 200);
      await waitUntil(() => seen.length === before + 1, "the one signed run");
      assert.deepEqual(seen.at(-1).payload.data, {
        order_id: "577",
        order_status: "AWAITING_COLLECTION",
        update_time: 1798000399,
      });
    });
  });

  describe("bodies, methods, tokens and replies", function () {
    before(() =>
      rt.deploy([
        tab,
        hookTrigger("open", {
          path: "/open",
          bodyLimit: "6mb",
          replyStatus: 202,
          replyType: "json",
          replyBody: '{"accepted":"{{run.id}}"}',
        }),
        hookTrigger("tok", { path: "/tok", auth: "token-query", tokenName: "key" }, "url-token-1"),
        hookTrigger("small", { path: "/small", bodyLimit: "1kb" }),
        hookTrigger("getonly", { path: "/getonly", methods: "GET", replyType: "text", replyBody: "ok" }),
        sink,
      ]),
    );

    it("takes a 5 MB JSON body and replies with the configured status and template", async function () {
      const records = Array.from({ length: 60000 }, (_, i) => ({
        id: i,
        sku: `SKU-${i}`,
        title: "A product with a long enough title here",
        qty: i % 7,
      }));
      const big = JSON.stringify(records);
      assert.ok(big.length >= 5 * 1024 * 1024, `body is ${big.length} bytes`);
      const res = await post("/open", big);
      assert.equal(res.status, 202);
      const reply = await res.json();
      await waitUntil(() => seen.length === 1, "the run");
      assert.equal(reply.accepted, seen[0].pw.run.id);
      assert.equal(seen[0].payload.length, 60000);
      assert.equal(seen[0].webhook.rawBody.length, big.length);
    });

    it("answers 413 for a body over the limit and 400 for bad JSON, starting no run", async function () {
      const res = await post("/small", JSON.stringify({ pad: "x".repeat(2000) }));
      assert.equal(res.status, 413);
      assert.match((await res.json()).message, /over this webhook's 1024-byte limit/);
      const bad = await post("/open", "{not json");
      assert.equal(bad.status, 400);
      assert.match((await bad.json()).message, /not valid JSON/);
      assert.equal(seen.length, 0);
    });

    it("parses form, XML and text bodies, and uses the query when there is no body", async function () {
      await fetch(`${rt.hooks}/open`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "sku=A1&qty=2",
      });
      await fetch(`${rt.hooks}/open`, {
        method: "POST",
        headers: { "content-type": "application/xml" },
        body: '<stock sku="A1"><qty>5</qty></stock>',
      });
      await fetch(`${rt.hooks}/open`, {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: "hello",
      });
      await fetch(`${rt.hooks}/open?order=1001&status=paid`);
      await waitUntil(() => seen.length === 4, "four runs");
      assert.deepEqual(
        seen.map((m) => m.payload),
        [
          { sku: "A1", qty: "2" },
          { stock: { qty: "5", "@_sku": "A1" } },
          "hello",
          { order: "1001", status: "paid" },
        ],
      );
      assert.deepEqual(
        seen.map((m) => m.webhook.bodyKind),
        ["form", "xml", "text", "empty"],
      );
    });

    it("checks a token in the URL and removes it from the message", async function () {
      assert.equal((await fetch(`${rt.hooks}/tok?key=wrong&a=1`)).status, 401);
      assert.equal((await fetch(`${rt.hooks}/tok?a=1`)).status, 401);
      const res = await fetch(`${rt.hooks}/tok?key=url-token-1&a=1`);
      assert.equal(res.status, 200);
      await waitUntil(() => seen.length === 1, "the run");
      assert.deepEqual(seen[0].payload, { a: "1" });
      assert.ok(!JSON.stringify({ ...seen[0].webhook, rawBody: undefined }).includes("url-token-1"));
    });

    it("answers 405 for a method the webhook does not accept", async function () {
      const res = await post("/getonly", "{}");
      assert.equal(res.status, 405);
      const ok = await fetch(`${rt.hooks}/getonly`);
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), "ok");
      assert.match(ok.headers.get("content-type"), /^text\/plain/);
    });
  });

  describe("routes", function () {
    it("refuses a path another trigger owns, with a clear error, and keeps the first working", async function () {
      await rt.deploy([
        tab,
        hookTrigger("first", { path: "/same" }),
        hookTrigger("second", { path: "/Same/" }),
        sink,
      ]);
      await waitUntil(
        () => rt.logs.some((l) => l.id === "second" && /already used by trigger first/.test(l.msg)),
        "the clash error",
      );
      const res = await fetch(`${rt.hooks}/same?x=1`);
      assert.equal(res.status, 200);
      await waitUntil(() => seen.length === 1, "one run");
      assert.equal(seen[0].pw.run.trigger, "first");
    });

    it("removes the route when the trigger is removed", async function () {
      await rt.deploy([tab, hookTrigger("gone", { path: "/gone" }), sink]);
      assert.equal((await fetch(`${rt.hooks}/gone`)).status, 200);
      await rt.deploy([tab, sink]);
      assert.equal((await fetch(`${rt.hooks}/gone`)).status, 404);
    });
  });

  describe("wait for the flow's answer", function () {
    before(() =>
      rt.deploy([
        tab,
        {
          ...hookTrigger("sync", { path: "/sync", replyMode: "wait", replyTimeoutSec: 1 }, undefined),
          wires: [["fn"]],
        },
        {
          id: "fn",
          type: "function",
          z: "tab1",
          func: "if (msg.payload.slow) return null; msg.payload = { echoed: msg.payload.n, run: msg.pw.run.id }; return msg;",
          outputs: 1,
          wires: [["resp"]],
        },
        { id: "resp", type: "http response", z: "tab1", statusCode: "201", headers: {}, wires: [] },
      ]),
    );

    it("holds the request until the flow answers it", async function () {
      const res = await post("/sync", JSON.stringify({ n: 7 }));
      assert.equal(res.status, 201);
      const body = await res.json();
      assert.equal(body.echoed, 7);
      assert.match(body.run, /^[0-9A-Z]{26}$/);
    });

    it("answers 504 when the flow does not answer in time", async function () {
      const started = Date.now();
      const res = await post("/sync", JSON.stringify({ slow: true }));
      assert.equal(res.status, 504);
      assert.match((await res.json()).message, /did not answer within 1 s/);
      assert.ok(Date.now() - started >= 900);
    });
  });
});
