// OAuth 2 authorization code with PKCE against a real OAuth 2 server (oauth2-mock-server):
// Authorize gives a one-time state, the browser's redirect reaches the callback without an
// admin token, tokens go to the encrypted store, an expired token is refreshed, and the
// tokens survive a new store on the same file.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { OAuth2Server } = require("oauth2-mock-server");
const { startRuntime } = require("../support/runtime");
const { startServer } = require("../support/http-server");
const { waitUntil } = require("../support/wait");
const { lib } = require("../support/dist");
const { TokenStore } = lib("connectors/token-store");

describe("OAuth 2 authorization code (runtime)", function () {
  let rt;
  let oauth;
  let api;
  let dir;
  const seen = [];
  const grants = [];
  let expireNext = false;
  before(async () => {
    oauth = new OAuth2Server();
    await oauth.issuer.keys.generate("RS256");
    await oauth.start(0, "127.0.0.1");
    oauth.service.on("beforeTokenSigning", (token, req) => grants.push(req.body));
    api = await startServer((req) => {
      const auth = req.headers.authorization ?? "";
      if (expireNext) {
        expireNext = false;
        return { status: 401, body: { message: "token expired" } };
      }
      return auth.startsWith("Bearer ey")
        ? { body: { results: [{ id: 1 }] } }
        : { status: 401, body: { message: "token expired" } };
    });
    const issuer = `http://127.0.0.1:${oauth.address().port}`;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-connectors-"));
    fs.writeFileSync(
      path.join(dir, "crm.json"),
      JSON.stringify({
        id: "oauth-crm",
        name: "OAuth CRM",
        version: "1.0.0",
        baseUrl: "{{vars.url}}",
        variables: [
          { key: "url", label: "API" },
          { key: "clientId", label: "Client id", required: true },
          { key: "clientSecret", label: "Client secret", required: true, secret: true },
        ],
        auth: [
          {
            type: "oauth2_code",
            authorizeUrl: `${issuer}/authorize`,
            tokenUrl: `${issuer}/token`,
            clientId: "{{vars.clientId}}",
            clientSecret: "{{vars.clientSecret}}",
            scope: "crm.read",
          },
        ],
        endpoints: [
          {
            id: "contacts",
            name: "Contacts",
            direction: "receive",
            method: "GET",
            path: "/contacts",
            records: "results",
          },
        ],
      }),
    );
    rt = await startRuntime({
      functionGlobalContext: { seen },
      patchworks: { connectorsDir: dir, runs: { settleMs: 40 } },
    });
    await rt.deploy(flows());
  });
  const flows = () => [
    { id: "t", type: "tab", label: "OAuth" },
    {
      id: "crm",
      type: "pw-instance",
      name: "CRM",
      connector: "oauth-crm",
      vars: { url: api.base, clientId: "flow-app" },
      secretSlots: { clientSecret: 0 },
      credentials: { secret_0: "app-client-secret" },
    },
    { id: "trig", type: "pw-trigger", z: "t", name: "go", schedules: [], wires: [["pull"]] },
    { id: "pull", type: "pw-connection", z: "t", instance: "crm", endpoint: "contacts", wires: [["out"]] },
    {
      id: "out",
      type: "function",
      z: "t",
      func: "global.get('seen').push(msg.payload); return null;",
      outputs: 0,
      wires: [],
    },
  ];
  after(async () => {
    await rt.stop();
    await oauth.stop();
    await api.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const run = async () => {
    const id = (await rt.api("POST", "/pw/trigger/trig", {})).json.run.id;
    return waitUntil(async () => {
      const r = (await rt.api("GET", `/pw/runs/${id}`)).json?.run;
      return r && r.status !== "running" ? r : undefined;
    }, "the run");
  };

  it("fails a run before the instance is authorized, saying what to do", async function () {
    const r = await run();
    assert.equal(r.status, "failed");
    assert.match(r.errors[0].message, /not authorized yet: press Authorize in the instance's settings/);
  });

  it("authorizes with a one-time state and PKCE, then the shape pulls with the token", async function () {
    const started = await rt.api("POST", "/pw/instances/crm/authorize", {
      connector: "oauth-crm",
      vars: { url: api.base, clientId: "flow-app" },
      secrets: { clientSecret: "__PWRD__" },
      secretSlots: { clientSecret: 0 },
    });
    const url = new URL(started.json.url);
    assert.equal(url.searchParams.get("code_challenge_method"), "S256");
    assert.equal(url.searchParams.get("client_id"), "flow-app");
    assert.equal(url.searchParams.get("scope"), "crm.read");
    assert.equal(url.searchParams.get("redirect_uri"), `${rt.url}/pw/oauth/callback`);
    // The provider redirects the browser back with a code and the state.
    const redirect = await fetch(url, { redirect: "manual" });
    const back = new URL(redirect.headers.get("location"));
    assert.equal(back.searchParams.get("state"), url.searchParams.get("state"));
    const callback = await fetch(back);
    assert.equal(callback.status, 200, await callback.clone().text());
    assert.match(await callback.text(), /Authorized/);
    const exchange = grants.find((g) => g.grant_type === "authorization_code");
    assert.ok(exchange.code_verifier, "the PKCE verifier is sent");
    assert.equal(exchange.client_secret, "app-client-secret", "the saved secret, untouched in the dialog");
    // The same state cannot be used twice.
    assert.equal((await fetch(back)).status, 400);
    const r = await run();
    assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
    assert.deepEqual(seen.at(-1), [{ id: 1 }]);
  });

  it("keeps the tokens encrypted, and refreshes them when the API says the token expired", async function () {
    const file = path.join(rt.userDir, "patchworks", "tokens.json");
    const text = fs.readFileSync(file, "utf8");
    const secret = rt.RED.settings.credentialSecret || rt.RED.settings.get("_credentialSecret");
    const before = new TokenStore(file, secret).get("crm");
    assert.ok(
      !text.includes(before.accessToken) && !text.includes(before.refreshToken),
      "tokens are encrypted at rest",
    );
    assert.ok(
      before.accessToken.startsWith("ey") && before.refreshToken,
      "a new store on the same file reads them: they survive a restart",
    );
    const copy = `${file}.copy`;
    fs.copyFileSync(file, copy);
    assert.equal(
      new TokenStore(copy, "another-secret").get("crm"),
      undefined,
      "another credential secret cannot read them",
    );
    expireNext = true;
    const refreshes = grants.filter((g) => g.grant_type === "refresh_token").length;
    const r = await run();
    assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
    // (The mock server signs two tokens per grant, so it tells of each grant twice.)
    assert.ok(
      grants.filter((g) => g.grant_type === "refresh_token").length > refreshes,
      "a refresh after the 401",
    );
    await waitUntil(
      () => new TokenStore(file, secret).get("crm").expiresAt > before.expiresAt,
      "the refreshed token saved",
    );
    assert.ok(
      r.steps.pull.requests.every((q) => !JSON.stringify(q).includes(before.accessToken)),
      "no token in the run log",
    );
  });

  it("keeps the authorization through a redeploy: no need to authorize again", async function () {
    const codes = grants.filter((g) => g.grant_type === "authorization_code").length;
    await rt.deploy(flows());
    const r = await run();
    assert.equal(r.status, "succeeded", JSON.stringify(r.errors));
    assert.equal(grants.filter((g) => g.grant_type === "authorization_code").length, codes);
  });

  it("keeps at most 100 authorizations under way, dropping the oldest", async function () {
    const authorize = async () => {
      const started = await rt.api("POST", "/pw/instances/crm/authorize", {
        connector: "oauth-crm",
        vars: { url: api.base, clientId: "flow-app" },
        secrets: { clientSecret: "__PWRD__" },
        secretSlots: { clientSecret: 0 },
      });
      return new URL(started.json.url).searchParams.get("state");
    };
    const oldest = await authorize();
    let newest;
    for (let i = 0; i < 100; i++) newest = await authorize();
    // The provider's "access denied" is only reported for a state the runtime still knows.
    const back = (state) => fetch(`${rt.url}/pw/oauth/callback?state=${state}&error=access_denied`);
    assert.match(await (await back(oldest)).text(), /unknown or has expired/);
    assert.match(await (await back(newest)).text(), /The provider said: access_denied/);
  });

  it("refuses an unknown state and an error from the provider", async function () {
    assert.equal((await fetch(`${rt.url}/pw/oauth/callback?state=forged&code=x`)).status, 400);
    assert.equal(
      (await rt.api("POST", "/pw/instances/crm/authorize", { connector: "oauth-crm", auth: 5 })).status,
      400,
    );
  });
});
