// Nothing grows with redeploys: an instance redeployed a hundred times keeps one rate limiter
// (with what it has counted) and lets its old clients, and the tokens they fetched, go; a
// removed instance, a removed built connector and a finished connection test leave nothing
// behind. Module state is read in this process: Node-RED loads the same dist/ modules.
const assert = require("node:assert/strict");
const v8 = require("node:v8");
const vm = require("node:vm");
const { startRuntime } = require("../support/runtime");
const { startServer } = require("../support/http-server");
const { waitUntil } = require("../support/wait");
const { lib } = require("../support/dist");
const { limiterCount } = lib("http/rate-limit");
const { builtConnectors } = lib("connectors/registry");

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc");

const definition = {
  id: "growth-api",
  name: "Growth API",
  version: "1.0.0",
  baseUrl: "{{vars.url}}",
  variables: [
    { key: "url", label: "API", required: true },
    { key: "clientSecret", label: "Client secret", required: true, secret: true },
  ],
  auth: [
    {
      type: "oauth2_client_credentials",
      tokenUrl: "{{vars.url}}/token",
      clientId: "growth-app",
      clientSecret: "{{vars.clientSecret}}",
    },
  ],
  endpoints: [
    { id: "items", name: "Items", direction: "receive", method: "GET", path: "/items", records: "items" },
  ],
};

describe("instances across redeploys (runtime)", function () {
  this.timeout(120000);
  let rt;
  let api;
  let issued = 0;
  before(async () => {
    api = await startServer((req) => {
      if (req.path === "/token")
        return new URLSearchParams(req.body).get("client_secret") === "growth-client-secret"
          ? { body: { access_token: `growth-token-${++issued}`, expires_in: 3600 } }
          : { status: 401, body: { error: "invalid_client" } };
      if (req.path === "/items" && /^Bearer growth-token-\d+$/.test(req.headers.authorization ?? ""))
        return { body: { items: [{ id: 1 }] } };
      return { status: 401, body: { message: "no token" } };
    });
    rt = await startRuntime({ patchworks: { runs: { settleMs: 40 } } });
  });
  after(async () => {
    await rt.stop();
    await api.close();
  });

  const flows = ({ rateLimit = [{ requests: 100, period: "second" }], name = "Growth" } = {}) => [
    { id: "t", type: "tab", label: "Growth" },
    { id: "builder", type: "pw-connector", name: "Growth API", definition: JSON.stringify(definition) },
    {
      id: "inst1",
      type: "pw-instance",
      name,
      connector: "growth-api",
      vars: { url: api.base },
      secretSlots: { clientSecret: 0 },
      rateLimit,
      credentials: { secret_0: "growth-client-secret" },
    },
    { id: "trig", type: "pw-trigger", z: "t", name: "go", schedules: [], wires: [["pull"]] },
    { id: "pull", type: "pw-connection", z: "t", instance: "inst1", endpoint: "items", wires: [] },
  ];
  const start = async () => (await rt.api("POST", "/pw/trigger/trig", {})).json.run.id;
  const runOf = async (id) => (await rt.api("GET", `/pw/runs/${id}`)).json?.run;
  const ended = (id) =>
    waitUntil(
      async () => {
        const r = await runOf(id);
        return r && r.status !== "running" ? r : undefined;
      },
      `run ${id}`,
      8000,
      20,
    );

  it("keeps one limiter and one built connector however often an instance is redeployed, and lets old clients go", async function () {
    const limitersBefore = limiterCount();
    const clients = [];
    for (let i = 0; i < 100; i++) {
      // Now and then with other limits (fresh buckets) or another name (the same limits).
      const limits = [{ requests: 100 + Math.floor(i / 10), period: "second" }];
      await rt.deploy(flows({ rateLimit: limits, name: `Growth ${i}` }));
      clients.push(new WeakRef(rt.RED.nodes.getNode("inst1").client));
      if (i % 10 === 0) {
        const run = await ended(await start());
        assert.equal(run.status, "succeeded", JSON.stringify(run.errors));
      }
    }
    assert.equal(limiterCount() - limitersBefore, 1, "one limiter for the one instance");
    assert.deepEqual(
      builtConnectors().map((c) => c.id),
      ["growth-api"],
    );
    assert.ok(issued >= 10, "each run's client fetched a token");
    // Old clients, with the tokens they fetched, are garbage once their nodes are closed.
    await new Promise((r) => setImmediate(r));
    gc();
    await new Promise((r) => setTimeout(r, 50));
    gc();
    const alive = clients.filter((c) => c.deref() !== undefined).length;
    assert.ok(alive <= 2, `${alive} of 100 clients still reachable`);
    assert.ok(clients.at(-1).deref(), "the deployed one is in use");
  });

  it("does not give a redeployed instance a fresh allowance; new limits do", async function () {
    // Two requests an hour: the token and one page.
    const hourly = [{ requests: 2, period: "hour" }];
    await rt.deploy(flows({ rateLimit: hourly }));
    assert.equal((await ended(await start())).status, "succeeded");
    await rt.deploy(flows({ rateLimit: hourly, name: "Growth renamed" }));
    const requests = api.log.length;
    const waiting = await start();
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await runOf(waiting)).status, "running", "waits for the instance's limit");
    assert.equal(api.log.length, requests, "and sends nothing meanwhile");
    await rt.api("POST", `/pw/runs/${waiting}/stop`, {});
    await ended(waiting);
    await rt.deploy(flows({ rateLimit: [{ requests: 3, period: "hour" }] }));
    assert.equal((await ended(await start())).status, "succeeded");
  });

  it("forgets a removed instance's limiter and a removed connector, and a connection test leaves none", async function () {
    await rt.deploy(flows());
    const deployed = limiterCount();
    await rt.deploy([{ id: "t", type: "tab", label: "Growth" }]);
    assert.equal(limiterCount(), deployed - 1, "the removed instance's limiter is gone");
    assert.deepEqual(builtConnectors(), [], "the removed connector is gone");
    const test = (secret) =>
      rt.api("POST", "/pw/instances/test", {
        id: "inst1",
        definition,
        vars: { url: api.base },
        secrets: { clientSecret: secret },
        secretSlots: { clientSecret: 0 },
        endpoint: "items",
      });
    const good = await test("growth-client-secret");
    assert.equal(good.json.ok, true, good.json.message);
    const bad = await test("a-wrong-secret");
    assert.equal(bad.json.ok, false);
    assert.match(bad.json.message, /could not get a token/);
    assert.equal(limiterCount(), deployed - 1, "no limiter left by the connection tests");
  });
});
