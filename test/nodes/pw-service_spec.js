// pw-service under node-red-node-test-helper (no runs plugin: runs start at once, untracked),
// against the Shopify and HubSpot fakes.
const assert = require("node:assert/strict");
const { helper, load, collect } = require("../support/node-helper");
const { waitUntil } = require("../support/wait");
const { startShopify } = require("../../demo/fakes/shopify");
const { startHubSpot } = require("../../demo/fakes/hubspot");

const TOKEN = "shpat_node_secret";
const HUB = "pat-na1-node-secret";

describe("pw-service (node)", function () {
  this.timeout(15000);
  let shop;
  let hub;
  const customers = [];
  const minutesAgo = (m) => new Date(Date.now() - m * 60000).toISOString();

  beforeEach(async () => {
    customers.length = 0;
    customers.push(
      { id: 1, email: "a@example.com", first_name: "A", updated_at: minutesAgo(120) },
      { id: 2, email: "b@example.com", first_name: "B", updated_at: minutesAgo(30) },
      { id: 3, email: "bad address", first_name: "C", updated_at: minutesAgo(20) },
    );
    shop = await startShopify({ token: TOKEN, customers });
    hub = await startHubSpot({ token: HUB });
  });
  afterEach(async () => {
    await helper.unload();
    await shop.close();
    await hub.close();
  });

  const flow = (extra = {}) => [
    { id: "tab1", type: "tab", label: "Sync" },
    {
      id: "shop",
      type: "pw-instance",
      connector: "shopify",
      vars: { shop: new URL(shop.base).host, scheme: "http" },
      secretSlots: { token: 0 },
      auth: 0,
    },
    {
      id: "hub",
      type: "pw-instance",
      connector: "hubspot",
      vars: { baseUrl: hub.base },
      secretSlots: { token: 0 },
      auth: 0,
    },
    {
      id: "svc",
      type: "pw-service",
      z: "tab1",
      name: "customers",
      schedules: [],
      source: "shop",
      sourceEndpoint: "list-customers",
      since: "all",
      pageSize: 2,
      rules: [
        { source: "email", target: "id" },
        { source: "", target: "idProperty", valueType: "str", value: "email" },
        { source: "email", target: "properties.email" },
        { source: "first_name", target: "properties.firstname" },
      ],
      target: "hub",
      targetEndpoint: "upsert-contacts",
      failureOutput: true,
      wires: [["sent"], ["failed"]],
      ...extra,
    },
    { id: "sent", type: "helper", z: "tab1" },
    { id: "failed", type: "helper", z: "tab1" },
  ];
  const creds = { shop: { secret_0: TOKEN }, hub: { secret_0: HUB } };

  it("sends what it delivered on output 1, a message a page, and what failed on output 2", async function () {
    await load(flow(), creds);
    const sent = collect("sent");
    const failed = collect("failed");
    const run = await helper.getNode("svc").fireManually();
    assert.equal(run.trigger, "svc");
    assert.equal(run.via, "manual");
    await waitUntil(() => failed.length === 1, "the failure");
    assert.deepEqual(
      sent.map((m) => m.payload.map((r) => r.properties.email)),
      [["a@example.com", "b@example.com"]],
      "page 2 held only the refused record",
    );
    assert.equal(sent[0].pw.page.number, 1);
    assert.equal(failed[0].payload.length, 1);
    assert.equal(failed[0].payload[0].stage, "send");
    assert.equal(failed[0].payload[0].record.id, "bad address");
    assert.equal(failed[0].pw.run.id, run.id);
    assert.deepEqual(
      shop.customerQueries.map((q) => q.ids),
      [[1, 2], [3]],
    );
  });

  it("pulls only what changed in the last hour, and keeps records that match its filters", async function () {
    await load(
      flow({
        since: "ago",
        sinceAmount: 1,
        sinceUnit: "hours",
        sinceParam: "updated_at_min",
        filters: { logic: "and", rules: [{ field: "email", op: "contains", value: "@" }] },
      }),
      creds,
    );
    const sent = collect("sent");
    const failed = collect("failed");
    const before = Date.now();
    await helper.getNode("svc").fireManually();
    await waitUntil(() => sent.length === 1, "the page sent");
    const since = Date.parse(shop.customerQueries[0].query.updated_at_min);
    assert.ok(Math.abs(since - (before - 3600000)) < 1000, "an hour before the run's start");
    assert.deepEqual(shop.customerQueries[0].ids, [2, 3]);
    assert.deepEqual(
      sent[0].payload.map((r) => r.properties.email),
      ["b@example.com"],
      "the record without an @ was filtered out",
    );
    assert.equal(sent[0].pw.meta.since, new Date(since).toISOString());
    assert.equal(failed.length, 0);
  });

  it("fires on its schedule as runs of its own", async function () {
    await load(flow({ schedules: [{ type: "cron", cron: "* * * * * *", tz: "UTC" }] }), creds);
    const sent = collect("sent");
    await waitUntil(() => sent.length >= 1, "a scheduled run", 4000);
    assert.equal(sent[0].pw.run.via, "schedule");
    assert.equal(sent[0].pw.run.trigger, "svc");
  });

  it("maps a page record by record when one fails to map, sending the rest", async function () {
    await load(
      flow({
        rules: [
          { source: "email", target: "id" },
          { source: "", target: "idProperty", valueType: "str", value: "email" },
          { source: "email", target: "properties.email" },
          { source: "first_name", target: "properties.firstname", transforms: [{ type: "to_number" }] },
        ],
        pageSize: 250,
      }),
      creds,
    );
    customers[1].first_name = "42";
    const sent = collect("sent");
    const failed = collect("failed");
    await helper.getNode("svc").fireManually();
    await waitUntil(() => failed.length === 1 && sent.length === 1, "the page sent and the failures");
    assert.deepEqual(
      sent[0].payload.map((r) => r.properties),
      [{ email: "b@example.com", firstname: 42 }],
    );
    assert.deepEqual(
      failed[0].payload.map((f) => [f.stage, f.record.id]),
      [
        ["map", 1],
        ["map", 3],
      ],
    );
    assert.match(failed[0].payload[0].error, /firstname|first_name/);
  });

  it("refuses a source endpoint that sends records, naming the fix", async function () {
    await load(flow({ sourceEndpoint: "upsert-contacts", source: "hub" }), creds);
    const svc = helper.getNode("svc");
    assert.match(svc.problem, /the source endpoint ".*" sends records: choose one that lists them/);
    await assert.rejects(svc.fireManually(), /service "customers" is not configured correctly/);
  });

  it("refuses a page size the endpoint cannot take, bad attempts and a bad schedule", async function () {
    await load(flow({ sourceEndpoint: "graphql-list-orders" }), creds);
    assert.match(helper.getNode("svc").problem, /has no page size that can be set/);
    await helper.unload();
    await load(flow({ sourceEndpoint: "list-orders" }), creds);
    assert.equal(helper.getNode("svc").problem, undefined, "orders take a limit too");
    await helper.unload();
    await load(flow({ attempts: 0 }), creds);
    assert.match(helper.getNode("svc").problem, /attempts must be a whole number from 1 to 10/);
    await helper.unload();
    await load(flow({ schedules: [{ type: "minutes", every: 90 }] }), creds);
    assert.match(helper.getNode("svc").problem, /every N minutes must be a whole number from 1 to 59/);
  });

  it("parses a JSON parameter once at deploy, refusing one that is not JSON", async function () {
    await load(flow({ params: [{ key: "ids", valueType: "json", value: "[1, 2" }] }), creds);
    assert.match(helper.getNode("svc").problem, /the parameter "ids" is not JSON/);
  });
});
