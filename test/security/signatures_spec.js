// Signatures bind what they sign: under a signature of the body alone (Shopify, TikTok Shop,
// generic HMAC), an empty body proves nothing and the unsigned query never becomes the payload.
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const { startRuntime } = require("../support/runtime");
const { waitUntil } = require("../support/wait");

const secret = "shpss_0123456789abcdef";
const sign = (body) => crypto.createHmac("sha256", secret).update(body).digest("base64");
const hook = (id, path, extra = {}) => ({
  id,
  type: "pw-trigger",
  z: "tab",
  name: id,
  schedules: [],
  webhook: true,
  path,
  methods: "GET,POST",
  auth: "shopify",
  credentials: { secret },
  wires: [["sink"]],
  ...extra,
});

describe("webhook signatures bind what they sign (runtime)", function () {
  this.timeout(30000);
  let rt;
  const seen = [];
  before(async () => {
    rt = await startRuntime({ functionGlobalContext: { seen } });
    await rt.deploy([
      { id: "tab", type: "tab", label: "Signed" },
      hook("strict", "/signed"),
      hook("lenient", "/signed-empty-ok", { allowEmptySigned: true }),
      {
        id: "sink",
        type: "function",
        z: "tab",
        func: "global.get('seen').push(msg); return null;",
        outputs: 0,
        wires: [],
      },
    ]);
  });
  after(() => rt.stop());
  beforeEach(() => (seen.length = 0));

  const call = (method, route, body, headers = {}) =>
    fetch(rt.hooks + route, { method, headers: { "content-type": "application/json", ...headers }, body });

  it("refuses a GET or an empty POST that carries the (never-changing) signature of an empty body", async function () {
    const empty = sign("");
    const get = await call("GET", "/signed?order=1&total=0", undefined, { "X-Shopify-Hmac-Sha256": empty });
    assert.equal(get.status, 401);
    assert.match((await get.json()).message, /covers only the body/);
    const post = await call("POST", "/signed?order=1", "", { "X-Shopify-Hmac-Sha256": empty });
    assert.equal(post.status, 401);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(seen.length, 0, "no run started");
  });

  it("takes the payload from the signed body, never from the unsigned query", async function () {
    const body = JSON.stringify({ id: 1001 });
    const res = await call("POST", "/signed?id=666&admin=true", body, {
      "X-Shopify-Hmac-Sha256": sign(body),
    });
    assert.equal(res.status, 200);
    await waitUntil(() => seen.length === 1, "the run");
    assert.deepEqual(seen[0].payload, { id: 1001 });
  });

  it("accepts an empty body only when the trigger opts in, and then the query is still not the payload", async function () {
    const res = await call("GET", "/signed-empty-ok?id=666", undefined, {
      "X-Shopify-Hmac-Sha256": sign(""),
    });
    assert.equal(res.status, 200);
    await waitUntil(() => seen.length === 1, "the run");
    assert.deepEqual(seen[0].payload, {});
    assert.deepEqual(
      seen[0].webhook.query,
      { id: "666" },
      "the query is there to read, marked as what it is",
    );
  });
});
