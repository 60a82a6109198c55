const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const { lib } = require("../support/dist");
const { verifyWebhook, hubspotUri, safeEqual, secretCarriers } = lib("webhook/signature");

const body = Buffer.from(
  JSON.stringify({ id: 820982911946154500, email: "jon@example.com", total_price: "199.00" }),
);
const hmac = (alg, key, ...parts) => {
  const mac = crypto.createHmac(alg, key);
  parts.forEach((p) => mac.update(p));
  return mac.digest();
};
const request = (headers, extra = {}) => ({
  method: "POST",
  url: "https://hooks.example.com/shop?x=1",
  headers,
  query: {},
  rawBody: body,
  ...extra,
});

describe("webhook signatures", function () {
  describe("Shopify", function () {
    const auth = { type: "shopify", secret: "shpss_client_secret" };
    const good = hmac("sha256", "shpss_client_secret", body).toString("base64");

    it("accepts the base64 HMAC-SHA256 of the raw body", function () {
      assert.deepEqual(verifyWebhook(auth, request({ "x-shopify-hmac-sha256": good })), { ok: true });
    });
    it("refuses a signature made with another secret", function () {
      const bad = hmac("sha256", "other", body).toString("base64");
      assert.match(verifyWebhook(auth, request({ "x-shopify-hmac-sha256": bad })).reason, /does not match/);
    });
    it("refuses a tampered body", function () {
      const tampered = Buffer.from(body.toString().replace("199.00", "1.00"));
      assert.equal(
        verifyWebhook(auth, request({ "x-shopify-hmac-sha256": good }, { rawBody: tampered })).ok,
        false,
      );
    });
    it("refuses a request without the header", function () {
      assert.match(verifyWebhook(auth, request({})).reason, /X-Shopify-Hmac-Sha256 header is missing/);
    });
  });

  describe("HubSpot v3", function () {
    const secret = "hubspot-client-secret";
    const auth = { type: "hubspot", secret };
    const now = Date.parse("2026-11-27T10:00:00Z");
    const sign = (method, uri, ts) =>
      hmac("sha256", secret, method + uri + body.toString() + ts).toString("base64");

    it("accepts method + URI + body + timestamp signed with the client secret", function () {
      const ts = String(now - 60_000);
      const headers = {
        "x-hubspot-signature-v3": sign("POST", "https://hooks.example.com/shop?x=1", ts),
        "x-hubspot-request-timestamp": ts,
      };
      assert.deepEqual(verifyWebhook(auth, request(headers), now), { ok: true });
    });
    it("refuses a timestamp older than five minutes even with a valid signature", function () {
      const ts = String(now - 5 * 60_000 - 1000);
      const headers = {
        "x-hubspot-signature-v3": sign("POST", "https://hooks.example.com/shop?x=1", ts),
        "x-hubspot-request-timestamp": ts,
      };
      assert.match(verifyWebhook(auth, request(headers), now).reason, /outside the 300 s window/);
    });
    it("refuses a wrong secret and a tampered body", function () {
      const ts = String(now);
      const wrong = hmac(
        "sha256",
        "nope",
        "POST" + "https://hooks.example.com/shop?x=1" + body + ts,
      ).toString("base64");
      assert.equal(
        verifyWebhook(
          auth,
          request({ "x-hubspot-signature-v3": wrong, "x-hubspot-request-timestamp": ts }),
          now,
        ).ok,
        false,
      );
      const good = sign("POST", "https://hooks.example.com/shop?x=1", ts);
      const tampered = request(
        { "x-hubspot-signature-v3": good, "x-hubspot-request-timestamp": ts },
        { rawBody: Buffer.from("[]") },
      );
      assert.equal(verifyWebhook(auth, tampered, now).ok, false);
    });
    it("signs the URI with HubSpot's listed characters decoded", function () {
      assert.equal(
        hubspotUri("https://h.example.com/a%3Ab?q=%40me%2C%20you"),
        "https://h.example.com/a:b?q=@me,%20you",
      );
      const ts = String(now);
      const headers = {
        "x-hubspot-signature-v3": sign("POST", "https://h.example.com/a:b", ts),
        "x-hubspot-request-timestamp": ts,
      };
      assert.equal(
        verifyWebhook(auth, request(headers, { url: "https://h.example.com/a%3Ab" }), now).ok,
        true,
      );
    });
    it("accepts a signature whose plus signs a proxy turned into spaces", function () {
      let ts = now;
      let sig;
      do sig = sign("POST", "https://hooks.example.com/shop?x=1", String(++ts));
      while (!sig.includes("+"));
      const headers = {
        "x-hubspot-signature-v3": sig.replace(/\+/g, " "),
        "x-hubspot-request-timestamp": String(ts),
      };
      assert.equal(verifyWebhook(auth, request(headers), now).ok, true);
    });
  });

  describe("TikTok Shop", function () {
    const auth = { type: "tiktok", appKey: "6abc123", secret: "tts-app-secret" };
    it("accepts the hex HMAC-SHA256 of app key + body in Authorization", function () {
      const sig = hmac("sha256", "tts-app-secret", "6abc123", body).toString("hex");
      assert.equal(verifyWebhook(auth, request({ authorization: sig })).ok, true);
    });
    it("refuses a wrong secret or app key", function () {
      assert.equal(
        verifyWebhook(auth, request({ authorization: hmac("sha256", "x", "6abc123", body).toString("hex") }))
          .ok,
        false,
      );
      assert.equal(
        verifyWebhook(
          auth,
          request({ authorization: hmac("sha256", "tts-app-secret", "other", body).toString("hex") }),
        ).ok,
        false,
      );
    });
    it("names the Authorization header as one that carries a secret", function () {
      assert.deepEqual(secretCarriers(auth), { headers: ["authorization"], query: [] });
    });
  });

  describe("generic HMAC", function () {
    it("checks a prefixed hex digest of the body", function () {
      const auth = {
        type: "hmac",
        header: "X-Hub-Signature-256",
        algorithm: "sha256",
        encoding: "hex",
        prefix: "sha256=",
        secret: "s",
        signs: "body",
      };
      const sig = "sha256=" + hmac("sha256", "s", body).toString("hex");
      assert.equal(verifyWebhook(auth, request({ "x-hub-signature-256": sig })).ok, true);
      assert.match(
        verifyWebhook(auth, request({ "x-hub-signature-256": sig.slice(7) })).reason,
        /does not start with "sha256="/,
      );
    });
    it("checks timestamp.body signatures and their age", function () {
      const now = Date.parse("2026-11-27T10:00:00Z");
      const auth = {
        type: "hmac",
        header: "X-Sig",
        algorithm: "sha512",
        encoding: "base64",
        secret: "k",
        signs: "timestamp.body",
        timestampHeader: "X-Ts",
        maxAgeMs: 60_000,
      };
      const ts = String(Math.floor(now / 1000));
      const sig = hmac("sha512", "k", `${ts}.`, body).toString("base64");
      assert.equal(verifyWebhook(auth, request({ "x-sig": sig, "x-ts": ts }), now).ok, true);
      assert.match(
        verifyWebhook(auth, request({ "x-sig": sig, "x-ts": ts }), now + 120_000).reason,
        /window/,
      );
      assert.match(verifyWebhook(auth, request({ "x-sig": sig }), now).reason, /timestamp header is missing/);
    });
  });

  describe("secret tokens", function () {
    it("accepts the token in a query parameter or header, with or without Bearer", function () {
      const q = { type: "token", in: "query", name: "token", token: "t0k3n" };
      assert.equal(verifyWebhook(q, request({}, { query: { token: "t0k3n" } })).ok, true);
      assert.match(verifyWebhook(q, request({}, { query: { token: "nope" } })).reason, /does not match/);
      assert.match(verifyWebhook(q, request({})).reason, /missing/);
      const h = { type: "token", in: "header", name: "X-Token", token: "t0k3n" };
      assert.equal(verifyWebhook(h, request({ "x-token": "Bearer t0k3n" })).ok, true);
    });
    it("compares in constant time only when lengths match", function () {
      assert.equal(safeEqual("abc", "abc"), true);
      assert.equal(safeEqual("abc", "abcd"), false);
    });
  });
});
