// Request signing: OAuth 1.0a against RFC 5849's own example, NetSuite-style realms and
// HMAC-SHA256, and TikTok Shop's signature checked by a fake that recomputes it.
const assert = require("node:assert/strict");
const { lib } = require("../support/dist");
const { startTikTokShop } = require("../../demo/fakes/tiktok-shop");
const { oauth1Header, rfc3986 } = lib("connectors/signing");
const { validateDefinition } = lib("connectors/definition");
const { ConnectorClient } = lib("connectors/client");
const { startServer } = require("../support/http-server");

describe("request signing", function () {
  it("signs RFC 5849's example request exactly as the RFC does", function () {
    // RFC 5849 section 3.4.1 (with its errata): the signature is r6/TJjbCOr97/+UU0NsvSne7s5g=.
    const header = oauth1Header(
      {
        method: "POST",
        url: "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b",
        body: { c2: "", a3: "2 q" },
        bodyFormat: "form",
      },
      {
        consumerKey: "9djdj82h48djs9d2",
        consumerSecret: "j49sk3j29djd",
        token: "kkk9d7dh3k39sjv7",
        tokenSecret: "dh893hdasih9",
        realm: "Example",
        method: "HMAC-SHA1",
        version: false,
      },
      137131201 * 1000,
      "7d8f3e4a",
    );
    assert.match(header, /^OAuth realm="Example", /);
    assert.match(header, /oauth_signature="r6%2FTJjbCOr97%2F%2BUU0NsvSne7s5g%3D"/);
    assert.equal(rfc3986("a!b*c'(d)"), "a%21b%2Ac%27%28d%29");
  });

  it("sends a NetSuite-style OAuth 1.0a header with HMAC-SHA256 and a fresh nonce per request", async function () {
    const seen = [];
    const server = await startServer((req) => {
      seen.push(req.headers.authorization);
      return { body: { items: [] } };
    });
    const def = validateDefinition({
      id: "netsuite",
      name: "NetSuite",
      version: "1.0.0",
      baseUrl: "{{vars.url}}",
      variables: [
        { key: "url", label: "URL" },
        { key: "account", label: "Account" },
        { key: "consumerKey", label: "Consumer key" },
        { key: "consumerSecret", label: "Consumer secret", secret: true },
        { key: "token", label: "Token id" },
        { key: "tokenSecret", label: "Token secret", secret: true },
      ],
      auth: [
        {
          type: "oauth1",
          consumerKey: "{{vars.consumerKey}}",
          consumerSecret: "{{vars.consumerSecret}}",
          token: "{{vars.token}}",
          tokenSecret: "{{vars.tokenSecret}}",
          realm: "{{vars.account}}",
          signatureMethod: "HMAC-SHA256",
        },
      ],
      endpoints: [
        {
          id: "items",
          name: "Items",
          direction: "receive",
          method: "GET",
          path: "/record/v1/inventoryItem",
          records: "items",
        },
      ],
    });
    const client = new ConnectorClient(def, {
      id: "ns1",
      vars: {
        url: server.base,
        account: "1234567_SB1",
        consumerKey: "ck",
        consumerSecret: "cs-secret",
        token: "tk",
        tokenSecret: "ts-secret",
      },
    });
    for (let i = 0; i < 2; i++) for await (const page of client.receive("items")) void page;
    assert.match(
      seen[0],
      /^OAuth realm="1234567_SB1", oauth_consumer_key="ck", oauth_nonce="[0-9a-f]{32}", oauth_signature_method="HMAC-SHA256", oauth_timestamp="\d+", oauth_token="tk", oauth_version="1.0", oauth_signature="[^"]+"$/,
    );
    assert.notEqual(/oauth_nonce="([^"]+)"/.exec(seen[0])[1], /oauth_nonce="([^"]+)"/.exec(seen[1])[1]);
    assert.ok(client.secrets().includes("ts-secret") && client.secrets().includes("cs-secret"));
    await server.close();
  });

  it("signs TikTok Shop requests as its API checks them", async function () {
    const keys = { appKey: "6a6app", appSecret: "4eb-app-secret", accessToken: "ROW_access_token" };
    const tts = await startTikTokShop({ ...keys, orders: [{ id: "5779" }] });
    const def = validateDefinition({
      id: "tiktok-shop",
      name: "TikTok Shop",
      version: "1.0.0",
      baseUrl: "{{vars.url}}",
      variables: [
        { key: "url", label: "URL" },
        { key: "appKey", label: "App key" },
        { key: "appSecret", label: "App secret", secret: true },
        { key: "accessToken", label: "Access token", secret: true },
        { key: "shopCipher", label: "Shop cipher" },
      ],
      auth: [{ type: "signed", hook: "tiktok-shop" }],
      endpoints: [
        {
          id: "orders",
          name: "Search orders",
          direction: "receive",
          method: "POST",
          path: "/order/202309/orders/search",
          query: { shop_cipher: "{{vars.shopCipher}}", page_size: "50" },
          body: { order_status: "AWAITING_SHIPMENT" },
          records: "data.orders",
        },
      ],
    });
    const client = new ConnectorClient(def, {
      id: "tts1",
      vars: { url: tts.base, shopCipher: "ROW_Y-vW", ...keys },
    });
    const pages = [];
    for await (const page of client.receive("orders")) pages.push(page.records);
    assert.deepEqual(pages, [[{ id: "5779" }]]);
    const wrong = new ConnectorClient(def, {
      id: "tts2",
      vars: { url: tts.base, shopCipher: "x", ...keys, appSecret: "not-the-secret" },
    });
    await assert.rejects(
      async () => {
        for await (const p of wrong.receive("orders")) void p;
      },
      (err) =>
        /answered 401: .*signature is invalid/.test(err.message) && !err.message.includes("not-the-secret"),
    );
    await tts.close();
  });
});
