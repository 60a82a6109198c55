// Redirects never carry credentials (or a body) to another origin, and each hop is in the run log.
const assert = require("node:assert/strict");
const { lib } = require("../support/dist");
const { startServer } = require("../support/http-server");

const { sendRequest } = lib("http/request");
const { ConnectorClient } = lib("connectors/client");
const { validateDefinition } = lib("connectors/definition");

const KEY = "key_live_9b1f2e7c";

describe("redirects keep credentials on the API's origin", function () {
  let api;
  let other;
  before(async () => {
    other = await startServer((req) => ({ body: { where: "other", path: req.path } }));
    api = await startServer((req) => {
      if (req.path === "/moved") return { status: 302, headers: { location: `${other.base}/landing` } };
      if (req.path === "/post-moved") return { status: 307, headers: { location: `${other.base}/orders` } };
      if (req.path === "/same") return { status: 301, headers: { location: "/here?x=1" } };
      if (req.path === "/here") return { body: { where: "api", key: req.headers["x-api-key"] } };
      return { status: 404 };
    });
  });
  after(async () => {
    await api.close();
    await other.close();
  });
  beforeEach(() => {
    api.log.length = 0;
    other.log.length = 0;
  });

  const client = (extra = {}) =>
    new ConnectorClient(
      validateDefinition({
        id: "keyed",
        name: "Keyed API",
        version: "1.0.0",
        baseUrl: api.base,
        variables: [{ key: "key", label: "API key", secret: true }],
        auth: [{ type: "apikey", in: "header", name: "X-Api-Key", value: "{{vars.key}}" }],
        endpoints: [
          { id: "moved", name: "Moved", direction: "receive", method: "GET", path: "/moved", records: "" },
          { id: "same", name: "Same", direction: "receive", method: "GET", path: "/same", records: "" },
          { id: "send", name: "Send", direction: "send", method: "POST", path: "/post-moved" },
        ],
        ...extra,
      }),
      { id: "i1", vars: { key: KEY }, auth: 0 },
    );
  const pull = async (c, endpoint, record) => {
    const out = [];
    for await (const page of c.receive(endpoint, { record: (r) => record.push(r) })) out.push(page);
    return out;
  };

  it("does not follow a redirect to another origin by default, and says why", async function () {
    const requests = [];
    await assert.rejects(pull(client(), "moved", requests), /another origin .*credentials never leave/);
    assert.equal(other.log.length, 0, "nothing went to the other host");
    assert.equal(requests.at(-1).status, 302);
  });

  it("follows one elsewhere when the connector allows it, without the API key and without a body", async function () {
    const requests = [];
    const pages = await pull(client({ redirects: "follow" }), "moved", requests);
    assert.equal(pages[0].records[0].where, "other");
    assert.equal(other.log.length, 1);
    assert.equal(other.log[0].headers["x-api-key"], undefined, "the auth header stayed behind");
    assert.ok(!JSON.stringify(other.log[0]).includes(KEY));
    assert.deepEqual(
      requests.map((r) => [r.status, new URL(r.url).pathname]),
      [
        [302, "/moved"],
        [200, "/landing"],
      ],
      "each hop is in the run log",
    );
  });

  it("never re-sends a POST body (307) to another origin, even when following is allowed", async function () {
    const result = await client({ redirects: "follow" }).send("send", [{ email: "a@example.com" }], {});
    assert.equal(result.ok.length, 0);
    assert.match(result.failed[0].error, /keeping the method; not followed/);
    assert.equal(other.log.length, 0);
  });

  it("follows a redirect on the same origin with the credentials applied again", async function () {
    const pages = await pull(client(), "same", []);
    assert.deepEqual(pages[0].records, [{ where: "api", key: KEY }]);
  });

  it("follows none when the connector says so", async function () {
    await assert.rejects(
      sendRequest({ method: "GET", url: `${api.base}/same` }, { redirects: "none" }),
      /follows no redirects/,
    );
  });
});
