// Permissions that hold (adminAuth on): a user who may edit instances but not deploy flows
// cannot aim an instance's saved secrets at another host, nor run code through a test route.
const assert = require("node:assert/strict");
const bcrypt = require("bcryptjs");
const { startRuntime } = require("../support/runtime");
const { startServer } = require("../support/http-server");
const { waitUntil } = require("../support/wait");

const hash = bcrypt.hashSync("secret", 4);
const TOKEN = "pat-na1-saved-secret-token";

describe("permissions that hold (runtime, adminAuth on)", function () {
  this.timeout(30000);
  let rt;
  let api;
  let elsewhere;
  const tokens = {};
  before(async () => {
    api = await startServer(() => ({ body: { results: [{ id: "1" }] } }));
    elsewhere = await startServer(() => ({ body: { results: [] } }));
    rt = await startRuntime({
      adminAuth: {
        type: "credentials",
        users: [
          { username: "admin", password: hash, permissions: "*" },
          {
            username: "editor",
            password: hash,
            permissions: [
              "flows.read",
              "pw-instance.read",
              "pw-instance.write",
              "pw-map.read",
              "pw-map.write",
            ],
          },
        ],
      },
    });
    const scopes = {
      admin: "*",
      editor: ["flows.read", "pw-instance.read", "pw-instance.write", "pw-map.read", "pw-map.write"],
    };
    for (const [username, scope] of Object.entries(scopes)) {
      const res = await rt.api("POST", "/auth/token", {
        client_id: "node-red-admin",
        grant_type: "password",
        scope: Array.isArray(scope) ? scope.join(" ") : scope,
        username,
        password: "secret",
      });
      assert.equal(res.status, 200, `a token for ${username}: ${res.text}`);
      tokens[username] = res.json.access_token;
    }
    const deploy = await rt.api(
      "POST",
      "/flows",
      [
        { id: "t", type: "tab", label: "CRM" },
        {
          id: "hub",
          type: "pw-instance",
          name: "HubSpot",
          connector: "hubspot",
          vars: { baseUrl: api.base },
          secretSlots: { token: 0 },
          credentials: { secret_0: TOKEN },
        },
      ],
      { Authorization: `Bearer ${tokens.admin}`, "Node-RED-Deployment-Type": "full" },
    );
    assert.equal(deploy.status, 204, deploy.text);
    await waitUntil(() => rt.RED.nodes.getNode("hub"), "the instance to start");
  });
  after(async () => {
    await rt.stop();
    await api.close();
    await elsewhere.close();
  });
  beforeEach(() => {
    api.log.length = 0;
    elsewhere.log.length = 0;
  });

  const as = (user, method, route, body) =>
    rt.api(method, route, body, { Authorization: `Bearer ${tokens[user]}` });
  const saved = {
    id: "hub",
    connector: "hubspot",
    secretSlots: { token: 0 },
    secrets: { token: "__PWRD__" },
  };
  const sawToken = (server) => server.log.some((r) => JSON.stringify(r).includes(TOKEN));

  it("tests a saved instance with its deployed settings for a user who may edit instances", async function () {
    const res = await as("editor", "POST", "/pw/instances/test", { ...saved, vars: { baseUrl: api.base } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.ok, true, res.json.message);
    assert.ok(sawToken(api), "the saved token went where the instance sends it");
  });

  it("refuses to fill saved secrets into another host for a user who may not deploy", async function () {
    const res = await as("editor", "POST", "/pw/instances/test", {
      ...saved,
      vars: { baseUrl: elsewhere.base },
    });
    assert.equal(res.status, 401);
    assert.equal(elsewhere.log.length, 0, "nothing reached the other host");
  });

  it("refuses to fill saved secrets into a definition sent with the request", async function () {
    const definition = {
      id: "hubspot",
      name: "Not HubSpot",
      version: "1.0.0",
      baseUrl: elsewhere.base,
      variables: [{ key: "token", label: "token", secret: true }],
      auth: [{ type: "apikey", in: "query", name: "key", value: "{{vars.token}}" }],
      endpoints: [
        { id: "list", name: "List", direction: "receive", method: "GET", path: "/x", records: "results" },
      ],
    };
    const test = await as("editor", "POST", "/pw/instances/test", { ...saved, definition });
    assert.equal(test.status, 401);
    const authorize = await as("editor", "POST", "/pw/instances/hub/authorize", { ...saved, definition });
    assert.ok(authorize.status === 401 || authorize.status === 400, `answered ${authorize.status}`);
    assert.equal(sawToken(elsewhere), false);
  });

  it("lets a user who may deploy test other settings, and anyone test a secret they type", async function () {
    const admin = await as("admin", "POST", "/pw/instances/test", {
      ...saved,
      vars: { baseUrl: elsewhere.base },
    });
    assert.equal(admin.status, 200, admin.text);
    const typed = await as("editor", "POST", "/pw/instances/test", {
      ...saved,
      secrets: { token: "a-token-typed-in-the-dialog" },
      vars: { baseUrl: elsewhere.base },
    });
    assert.equal(typed.status, 200, typed.text);
  });

  it("serves the OAuth callback page (reached without a token) with a policy that allows no script", async function () {
    const res = await fetch(
      `${rt.url}/pw/oauth/callback?state=unknown&error=%3Cscript%3Ealert(1)%3C/script%3E`,
    );
    assert.equal(res.status, 400);
    assert.match(res.headers.get("content-security-policy"), /default-src 'none'/);
    assert.doesNotMatch(res.headers.get("content-security-policy"), /script-src/);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  });

  it("answers 404 when asked to authorize an instance that does not exist", async function () {
    const res = await as("admin", "POST", "/pw/instances/nope/authorize", {});
    assert.equal(res.status, 404);
    assert.match(res.json.message, /No instance has id nope/);
  });

  it("runs a mapping's expression transform in the test route only for a user who may deploy", async function () {
    const rules = [{ source: "a", target: "b", transforms: [{ type: "expression", code: "value * 2" }] }];
    const editor = await as("editor", "POST", "/pw/map/test", { rules, sample: { a: 2 } });
    assert.equal(editor.status, 401);
    const plain = await as("editor", "POST", "/pw/map/test", {
      rules: [{ source: "a", target: "b" }],
      sample: { a: 2 },
    });
    assert.equal(plain.status, 200, plain.text);
    const admin = await as("admin", "POST", "/pw/map/test", { rules, sample: { a: 2 } });
    assert.equal(admin.status, 200, admin.text);
    assert.deepEqual(admin.json.result, { b: 4 });
  });
});
