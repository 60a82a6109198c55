// Instances and connection shapes in a real runtime against the Shopify and HubSpot fakes:
// pages as messages, requests in the run log, failures per record, test connection, and
// secrets kept out of flows, logs and errors.
const assert = require("node:assert/strict");
const { startRuntime } = require("../support/runtime");
const { waitUntil } = require("../support/wait");
const { startShopify } = require("../../demo/fakes/shopify");
const { startHubSpot } = require("../../demo/fakes/hubspot");

describe("instances and connection shapes (runtime)", function () {
  let rt;
  let shop;
  let hub;
  const seen = [];
  const TOKEN = "shpat_runtime_secret";
  const HUB = "pat-na1-runtime-secret";
  const orders = Array.from({ length: 5 }, (_, i) => ({
    id: i + 1,
    created_at: "2026-11-27T10:00:00Z",
    email: `o${i}@x.com`,
  }));
  before(async () => {
    shop = await startShopify({ token: TOKEN, orders });
    hub = await startHubSpot({ token: HUB });
    rt = await startRuntime({ functionGlobalContext: { seen }, patchworks: { runs: { settleMs: 40 } } });
  });
  after(async () => {
    await rt.stop();
    await shop.close();
    await hub.close();
  });
  beforeEach(() => (seen.length = 0));
  const sink = (id) => ({
    id,
    type: "function",
    z: "t",
    func: `global.get('seen').push({ at: '${id}', payload: msg.payload, page: msg.pw && msg.pw.page }); return null;`,
    outputs: 0,
    wires: [],
  });
  const ended = (id) =>
    waitUntil(
      async () => {
        const r = (await rt.api("GET", `/pw/runs/${id}`)).json?.run;
        return r && r.status !== "running" ? r : undefined;
      },
      `run ${id}`,
      8000,
      20,
    );
  const shopInstance = {
    id: "inst1",
    type: "pw-instance",
    name: "Acme store",
    connector: "shopify",
    vars: { shop: "", scheme: "http" },
    secretSlots: { token: 0 },
  };

  async function deploy(nodes, credentials = { secret_0: TOKEN }) {
    await rt.deploy([
      { id: "t", type: "tab", label: "Sync" },
      { ...shopInstance, vars: { shop: new URL(shop.base).host, scheme: "http" }, credentials },
      {
        id: "hubinst",
        type: "pw-instance",
        name: "HubSpot",
        connector: "hubspot",
        vars: { baseUrl: hub.base },
        secretSlots: { token: 0 },
        credentials: { secret_0: HUB },
      },
      { id: "trig", type: "pw-trigger", z: "t", name: "start", schedules: [], wires: [[nodes[0].id]] },
      ...nodes.map((n) => ({ z: "t", wires: [], ...n })),
    ]);
  }

  it("pulls orders page by page, one message each, and lists the requests in the run log", async function () {
    await deploy([
      {
        id: "pull",
        type: "pw-connection",
        name: "Orders",
        instance: "inst1",
        endpoint: "list-orders",
        params: [{ key: "created_at_min", valueType: "str", value: "2026-01-01T00:00:00Z" }],
        wires: [["out"]],
      },
      sink("out"),
    ]);
    // Shopify pages at 250; five orders come in one page.
    const id = (await rt.api("POST", "/pw/trigger/trig", {})).json.run.id;
    const run = await ended(id);
    assert.equal(run.status, "succeeded");
    assert.deepEqual(
      seen.map((s) => [s.payload.length, s.page]),
      [[5, { number: 1, last: true }]],
    );
    const requests = run.steps.pull.requests;
    assert.equal(requests.length, 1);
    assert.match(
      requests[0].url,
      /\/admin\/api\/2026-10\/orders\.json\?status=any&limit=250&created_at_min=2026-01-01T00%3A00%3A00Z/,
    );
    assert.equal(requests[0].status, 200);
    assert.equal(shop.log.at(-1).headers["x-shopify-access-token"], TOKEN);
  });

  it("sends records in batches, splits HubSpot's 207 answer per record, and the run completes with failures", async function () {
    await deploy([
      {
        id: "mp",
        type: "pw-manual-payload",
        format: "json",
        payload: JSON.stringify([
          { properties: { email: "a@x.com" } },
          { properties: { firstname: "no email" } },
          { properties: { email: "c@x.com" } },
        ]),
        wires: [["push"]],
      },
      {
        id: "push",
        type: "pw-connection",
        name: "Contacts",
        instance: "hubinst",
        endpoint: "create-contacts",
        failureOutput: true,
        outputs: 2,
        wires: [["ok"], ["bad"]],
      },
      sink("ok"),
      sink("bad"),
    ]);
    const before = hub.created.length;
    const id = (await rt.api("POST", "/pw/trigger/trig", {})).json.run.id;
    const run = await ended(id);
    // One batch of three: HubSpot answers 207, two created and one refused, named by its trace id.
    assert.deepEqual(
      hub.created.slice(before).map((c) => c.properties.email),
      ["a@x.com", "c@x.com"],
    );
    const ok = seen.find((s) => s.at === "ok");
    assert.equal(ok.payload[0].numErrors, 1);
    const bad = seen.find((s) => s.at === "bad");
    assert.equal(bad.payload.length, 1);
    assert.deepEqual(bad.payload[0].record, { properties: { firstname: "no email" } });
    assert.match(bad.payload[0].error, /answered 207 with an error for record 2 of 3: .*email is required/);
    assert.equal(bad.payload[0].status, 207);
    assert.equal(bad.payload[0].outcome, "refused");
    assert.equal(run.status, "completed with failures");
    assert.equal(run.failedRecords, 1);
  });

  it("fails the message, naming how many failed, without a failure output", async function () {
    await deploy([
      {
        id: "mp",
        type: "pw-manual-payload",
        format: "json",
        payload: JSON.stringify({ email: "x@y.z", line_items: [] }),
        wires: [["push"]],
      },
      { id: "push", type: "pw-connection", instance: "inst1", endpoint: "create-order", wires: [["ok"]] },
      sink("ok"),
    ]);
    const id = (await rt.api("POST", "/pw/trigger/trig", {})).json.run.id;
    const run = await ended(id);
    assert.equal(run.status, "failed");
    assert.match(run.errors[0].message, /1 of 1 record\(s\) failed; first: POST .*orders\.json answered 422/);
  });

  it("tests a connection with the dialog's values, using the saved secret when it is unchanged", async function () {
    await deploy([sink("out")]);
    const base = {
      id: "inst1",
      connector: "shopify",
      vars: { shop: new URL(shop.base).host, scheme: "http" },
      secretSlots: { token: 0 },
      endpoint: "list-orders",
    };
    const kept = await rt.api("POST", "/pw/instances/test", { ...base, secrets: { token: "__PWRD__" } });
    assert.equal(kept.json.ok, true, kept.json.message);
    assert.match(kept.json.message, /Shopify answered "List orders" with 5 record\(s\)/);
    const wrong = await rt.api("POST", "/pw/instances/test", {
      ...base,
      secrets: { token: "shpat_typed_but_wrong" },
    });
    assert.equal(wrong.json.ok, false);
    assert.match(wrong.json.message, /answered 401/);
    assert.ok(!wrong.json.message.includes("shpat_typed_but_wrong"));
    const missing = await rt.api("POST", "/pw/instances/test", {
      connector: "shopify",
      vars: {},
      secrets: {},
    });
    assert.match(
      missing.json.message,
      /needs "Store address, e.g. acme.myshopify.com", "Admin API access token"/,
    );
    assert.equal((await rt.api("POST", "/pw/instances/test", {})).status, 400);
  });

  it("trusts a private CA given to the instance, and refuses the server without it", async function () {
    const https = require("node:https");
    const fs = require("node:fs");
    const path = require("node:path");
    const dir = path.join(__dirname, "..", "fixtures");
    const cert = fs.readFileSync(path.join(dir, "tls-test-cert.pem"), "utf8");
    const server = https.createServer(
      { cert, key: fs.readFileSync(path.join(dir, "tls-test-key.pem")) },
      (req, res) => {
        res.writeHead(req.headers["x-shopify-access-token"] === TOKEN ? 200 : 401, {
          "content-type": "application/json",
        });
        res.end(JSON.stringify({ orders: [{ id: 1 }] }));
      },
    );
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    const base = {
      id: "inst1",
      connector: "shopify",
      vars: { shop: `127.0.0.1:${server.address().port}` },
      secretSlots: { token: 0 },
      secrets: { token: TOKEN },
      endpoint: "list-orders",
    };
    const refused = await rt.api("POST", "/pw/instances/test", base);
    assert.equal(refused.json.ok, false);
    assert.match(refused.json.message, /self.signed|certificate/i);
    const trusted = await rt.api("POST", "/pw/instances/test", { ...base, tlsCa: cert });
    assert.equal(trusted.json.ok, true, trusted.json.message);
    const bad = await rt.api("POST", "/pw/instances/test", { ...base, tlsCa: "not a certificate" });
    assert.match(bad.json.message, /must be PEM text/);
    await new Promise((r) => server.close(r));
  });

  it("keeps several shapes on one instance within its rate limit together (measured)", async function () {
    await rt.deploy([
      { id: "t", type: "tab", label: "Sync" },
      {
        ...shopInstance,
        vars: { shop: new URL(shop.base).host, scheme: "http" },
        rateLimit: [{ requests: 5, period: "second", burst: 1 }],
        credentials: { secret_0: TOKEN },
      },
      { id: "trig", type: "pw-trigger", z: "t", name: "start", schedules: [], wires: [["p1", "p2", "p3"]] },
      ...["p1", "p2", "p3"].map((id) => ({
        id,
        type: "pw-connection",
        z: "t",
        instance: "inst1",
        endpoint: "list-orders",
        wires: [["out"]],
      })),
      sink("out"),
    ]);
    shop.log.length = 0;
    const start = Date.now();
    await Promise.all(
      [1, 2, 3].map(async () => ended((await rt.api("POST", "/pw/trigger/trig", {})).json.run.id)),
    );
    const times = shop.log.map((e) => e.at - start);
    assert.equal(times.length, 9, "three runs, three shapes each");
    // 5 a second with a burst of 1: never more than 6 in any second, however the shapes interleave.
    for (const t of times)
      assert.ok(times.filter((u) => u >= t && u < t + 1000).length <= 6, JSON.stringify(times));
    assert.ok(Date.now() - start >= 1400, "nine requests at 5 a second take over 1.4 s");
  });

  it("applies the shape's own timeout and tries over the instance's", async function () {
    const { startServer } = require("../support/http-server");
    const slow = await startServer(
      () => new Promise((r) => setTimeout(() => r({ body: { orders: [] } }), 3000)),
    );
    await rt.deploy([
      { id: "t", type: "tab", label: "Sync" },
      {
        ...shopInstance,
        vars: { shop: new URL(slow.base).host, scheme: "http" },
        credentials: { secret_0: TOKEN },
      },
      { id: "trig", type: "pw-trigger", z: "t", name: "start", schedules: [], wires: [["pull"]] },
      {
        id: "pull",
        type: "pw-connection",
        z: "t",
        instance: "inst1",
        endpoint: "list-orders",
        timeoutSec: 1,
        attempts: 1,
        wires: [["out"]],
      },
      sink("out"),
    ]);
    const start = Date.now();
    const run = await ended((await rt.api("POST", "/pw/trigger/trig", {})).json.run.id);
    assert.equal(run.status, "failed");
    assert.match(run.errors[0].message, /no answer within 1000 ms/);
    assert.ok(Date.now() - start < 2800, "gave up after its own second, once");
    assert.equal(slow.log.length, 1);
    await slow.close();
  });

  it("keeps one secret when another is edited (a credential slot each)", async function () {
    const twoSecrets = {
      id: "ns",
      type: "pw-instance",
      name: "two",
      connector: "shopify",
      vars: { shop: new URL(shop.base).host, scheme: "http" },
      secretSlots: { token: 0, other: 1 },
    };
    await rt.deploy([
      { id: "t", type: "tab", label: "Sync" },
      { ...twoSecrets, credentials: { secret_0: TOKEN, secret_1: "first-other-secret" } },
    ]);
    // The editor sends __PWRD__ for a password it did not change.
    await rt.deploy([
      { id: "t", type: "tab", label: "Sync" },
      { ...twoSecrets, credentials: { secret_0: "__PWRD__", secret_1: "second-other-secret" } },
    ]);
    const creds = rt.RED.nodes.getCredentials("ns");
    assert.equal(creds.secret_0, TOKEN, "the token survived the other secret's edit");
    assert.equal(creds.secret_1, "second-other-secret");
    const test = await rt.api("POST", "/pw/instances/test", {
      id: "ns",
      connector: "shopify",
      vars: twoSecrets.vars,
      secretSlots: twoSecrets.secretSlots,
      secrets: { token: "__PWRD__" },
      endpoint: "list-orders",
    });
    assert.equal(test.json.ok, true, test.json.message);
  });

  it("lists connectors and their endpoints for the editor", async function () {
    const list = (await rt.api("GET", "/pw/connectors")).json.connectors;
    const shopify = list.find((c) => c.id === "shopify");
    assert.ok(
      shopify.endpoints.some(
        (e) => e.id === "list-orders" && e.parameters.some((p) => p.key === "created_at_min"),
      ),
    );
    assert.ok(shopify.variables.find((v) => v.key === "token").secret);
  });

  it("keeps secrets out of the flow file, the logs and the run log", async function () {
    await deploy([
      { id: "pull", type: "pw-connection", instance: "inst1", endpoint: "list-orders", wires: [["out"]] },
      sink("out"),
    ]);
    const id = (await rt.api("POST", "/pw/trigger/trig", {})).json.run.id;
    await ended(id);
    const flows = (await rt.api("GET", "/flows")).text;
    const runs = (await rt.api("GET", `/pw/runs/${id}`)).text;
    const logs = JSON.stringify(rt.logs);
    for (const [where, text] of [
      ["flows", flows],
      ["run log", runs],
      ["logs", logs],
    ]) {
      assert.ok(!text.includes(TOKEN) && !text.includes(HUB), `no secret in the ${where}`);
    }
  });

  it("refuses a connection without a usable instance", async function () {
    await deploy([
      {
        id: "pull",
        type: "pw-connection",
        name: "Orphan",
        instance: "nope",
        endpoint: "list-orders",
        wires: [["out"]],
      },
      sink("out"),
    ]);
    const id = (await rt.api("POST", "/pw/trigger/trig", {})).json.run.id;
    const run = await ended(id);
    assert.match(
      run.errors[0].message,
      /connection "Orphan" is not configured correctly: choose an instance/,
    );
  });
});
