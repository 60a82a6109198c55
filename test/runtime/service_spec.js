// The legacy service shape tested like a blueprint: one pw-service from the Shopify fake's
// customers to the HubSpot fake's contacts in a real Node-RED runtime, instances' secrets
// given through the admin API (the deploy), runs started on its button. It proves: every
// customer is pulled over all pages, mapped and sent, and the run shows pull, map and send
// steps in GET /pw/runs; "since the last successful run" sends nothing new the second time;
// a 503 on a page and a 429 on a batch midway still deliver everything once; a record the
// target refuses goes to the failure output and raises the alert; bad settings are refused
// at deploy with a message that says what to fix.
const assert = require("node:assert/strict");
const { startRuntime } = require("../support/runtime");
const { waitUntil } = require("../support/wait");
const { startShopify } = require("../../demo/fakes/shopify");
const { startHubSpot } = require("../../demo/fakes/hubspot");

const TOKEN = "shpat_service_secret";
const HUB = "pat-na1-service-secret";
const SERVICE = "5e41ce0000000004";

describe("pw-service (runtime, Shopify customers to HubSpot contacts)", function () {
  this.timeout(60000);
  let rt;
  let shop;
  let hub;
  const seen = [];
  const ago = (minutes) => new Date(Date.now() - minutes * 60000).toISOString();
  const customer = (id, email, first, minutes) => ({
    id,
    email,
    first_name: first,
    last_name: "Test",
    phone: null,
    updated_at: ago(minutes),
  });
  // Seven with an email (three pages of three), one without (the filter drops it).
  const customers = [
    customer(1, "Ada@Example.com", "Ada", 90),
    customer(2, "bob@example.com", "Bob", 80),
    customer(3, "cy@example.com", "Cy", 70),
    customer(4, null, "NoEmail", 65),
    customer(5, "dee@example.com", "Dee", 60),
    customer(6, "eve@example.com", "Eve", 50),
    customer(7, "fay@example.com", "Fay", 40),
    customer(8, "gus@example.com", "Gus", 30),
  ];

  const flow = () => [
    { id: "5e41ce0000000000", type: "tab", label: "service" },
    {
      id: "5e41ce0000000001",
      type: "pw-instance",
      name: "Shopify store",
      connector: "shopify",
      vars: { shop: new URL(shop.base).host, scheme: "http" },
      secretSlots: { token: 0 },
      auth: 0,
      credentials: { secret_0: TOKEN },
    },
    {
      id: "5e41ce0000000002",
      type: "pw-instance",
      name: "HubSpot portal",
      connector: "hubspot",
      vars: { baseUrl: hub.base },
      secretSlots: { token: 0 },
      auth: 0,
      credentials: { secret_0: HUB },
    },
    {
      id: SERVICE,
      type: "pw-service",
      z: "5e41ce0000000000",
      name: "customers to contacts",
      schedules: [],
      source: "5e41ce0000000001",
      sourceEndpoint: "list-customers",
      since: "last-success",
      sinceParam: "updated_at_min",
      filters: { logic: "and", rules: [{ field: "email", op: "not_empty" }] },
      pageSize: 3,
      rules: [
        { source: "email", target: "id", transforms: [{ type: "trim" }, { type: "lower" }] },
        { source: "", target: "idProperty", valueType: "str", value: "email", transforms: [] },
        { source: "email", target: "properties.email", transforms: [{ type: "trim" }, { type: "lower" }] },
        { source: "first_name", target: "properties.firstname", transforms: [] },
      ],
      target: "5e41ce0000000002",
      targetEndpoint: "upsert-contacts",
      attempts: 3,
      failureOutput: true,
      notifyOnFail: "5e41ce0000000006",
      outputs: 2,
      wires: [["5e41ce0000000005"], ["5e41ce0000000005"]],
    },
    {
      id: "5e41ce0000000005",
      type: "function",
      z: "5e41ce0000000000",
      func: "global.get('seen').push(msg.payload); return null;",
      outputs: 1,
      wires: [[]],
    },
    {
      id: "5e41ce0000000006",
      type: "pw-notify",
      z: "5e41ce0000000000",
      name: "service alert",
      level: "error",
      template: "service run {{run.status}}: {{run.reason}}",
      subject: "customers to contacts",
      valueChars: 200,
      log: true,
      email: false,
      webhook: false,
      wires: [[]],
    },
  ];

  before(async () => {
    shop = await startShopify({ token: TOKEN, customers });
    hub = await startHubSpot({ token: HUB });
    rt = await startRuntime({ functionGlobalContext: { seen }, patchworks: { runs: { settleMs: 40 } } });
    await rt.deploy(flow());
  });
  after(async () => {
    await rt?.stop();
    await shop?.close();
    await hub?.close();
  });

  const ended = (id) =>
    waitUntil(
      async () => {
        const r = (await rt.api("GET", `/pw/runs/${id}`)).json?.run;
        return r && r.status !== "running" && r.status !== "queued" ? r : undefined;
      },
      `run ${id}`,
      20000,
      20,
    );
  const press = async () => {
    const res = await rt.api("POST", `/pw/service/${SERVICE}`, {});
    assert.equal(res.status, 200, res.text);
    return ended(res.json.run.id);
  };
  const emails = () => hub.objects.contacts.map((c) => c.properties.email).sort();

  let first;
  it("pulls every customer over all pages, maps and sends each, and the run shows its steps", async function () {
    first = await press();
    assert.equal(first.status, "succeeded", JSON.stringify(first.errors));
    assert.equal(shop.customerQueries.length, 3, "three pages of three");
    assert.ok(
      shop.customerQueries.every((q) => q.query.limit === "3"),
      "the page size is asked for",
    );
    assert.equal(shop.customerQueries[0].query.updated_at_min, undefined, "the first run pulls everything");
    assert.deepEqual(
      shop.customerQueries.flatMap((q) => q.ids),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    assert.deepEqual(emails(), [
      "ada@example.com",
      "bob@example.com",
      "cy@example.com",
      "dee@example.com",
      "eve@example.com",
      "fay@example.com",
      "gus@example.com",
    ]);
    assert.equal(
      hub.objects.contacts.find((c) => c.properties.email === "ada@example.com").properties.firstname,
      "Ada",
    );
    // The sent records came out of output 1, one message per page.
    assert.equal(seen.flat().length, 7);

    const listed = (await rt.api("GET", "/pw/runs")).json.runs;
    assert.ok(
      listed.some((r) => r.id === first.id && r.trigger === SERVICE),
      "the run is listed",
    );
    const step = (part) => first.steps[`${SERVICE}:${part}`];
    assert.ok(step("pull") && step("map") && step("send"), JSON.stringify(Object.keys(first.steps)));
    assert.equal(step("pull").recordsOut, 7, "pulled and kept by the filter");
    assert.equal(step("pull").requests.length, 3, "one request a page");
    assert.equal(step("map").recordsIn, 7);
    assert.equal(step("map").recordsOut, 7);
    assert.equal(step("send").recordsOut, 7);
    assert.equal(step("send").errors, 0);
    assert.equal(first.steps[SERVICE].messagesIn, 1, "the service's own step");
  });

  it("sends nothing new on a second run since the last successful run", async function () {
    const created = hub.created.length;
    const second = await press();
    assert.equal(second.status, "succeeded", JSON.stringify(second.errors));
    const since = shop.customerQueries.at(-1).query.updated_at_min;
    assert.ok(since, "the second run asks for what changed since");
    // The run's own start (msg.pw.run.startedAt), a moment before the run log's, which is taken once it is on disk.
    const lag = first.startedAt - Date.parse(since);
    assert.ok(lag >= 0 && lag < 2000, `since the first run's start (${since})`);
    assert.deepEqual(shop.customerQueries.at(-1).ids, []);
    assert.equal(hub.created.length, created, "nothing sent again");
    assert.equal(second.steps[`${SERVICE}:pull`].recordsOut, 0);
    assert.equal(second.steps[`${SERVICE}:send`], undefined, "nothing to send");
  });

  it("delivers everything once through a 503 on a page and a 429 on a batch midway", async function () {
    const fresh = [
      customer(11, "h1@example.com", "H1", 0),
      customer(12, "h2@example.com", "H2", 0),
      customer(13, "h3@example.com", "H3", 0),
      customer(14, "h4@example.com", "H4", 0),
      customer(15, "h5@example.com", "H5", 0),
    ];
    customers.push(...fresh);
    const created = hub.created.length;
    const queries = shop.customerQueries.length;
    shop.failNext(1, 503, 1); // the second page's first try
    hub.failNext(1, 429, 1); // the second batch's first try
    const run = await press();
    assert.equal(run.status, "succeeded", JSON.stringify(run.errors));
    assert.deepEqual(
      shop.customerQueries.slice(queries).flatMap((q) => q.ids),
      [11, 12, 13, 14, 15],
      "each page answered once (the failed try is not counted by the fake)",
    );
    const made = hub.created.slice(created).map((c) => c.properties.email);
    assert.deepEqual(made.sort(), fresh.map((c) => c.email).sort(), "each created once");
    // Each retried once, as the step's requests show (final status, attempts).
    const tries = (part) => run.steps[`${SERVICE}:${part}`].requests.map((r) => r.attempts);
    assert.deepEqual(tries("pull"), [1, 2], "the second page took two tries");
    assert.deepEqual(tries("send"), [1, 2], "the second batch took two tries");
  });

  it("sends a record the target refuses to the failure output and raises the alert", async function () {
    customers.push(customer(21, "not an email", "Broken", 0), customer(22, "ivy@example.com", "Ivy", 0));
    seen.length = 0;
    const run = await press();
    assert.equal(run.status, "completed with failures", JSON.stringify(run));
    assert.ok(emails().includes("ivy@example.com"), "the good record of the batch arrived");
    const failure = seen.flat().find((p) => p && p.stage);
    assert.equal(failure.stage, "send");
    assert.equal(failure.outcome, "refused");
    assert.match(failure.error, /email "not an email" is invalid/);
    assert.equal(run.steps[`${SERVICE}:send`].errors, 1);
    const note = await waitUntil(
      async () => (await rt.api("GET", `/pw/runs/${run.id}`)).json.run.notifications?.[0],
      "the alert in the run's log",
    );
    assert.equal(note.alert, true);
    assert.equal(note.level, "error");
    assert.match(note.text, /service run completed with failures: 1 record\(s\) went to a failure output/);
    assert.ok(
      rt.logs.some((l) => /\[notify "service alert"\] error: .*completed with failures/.test(String(l.msg))),
    );
    // Not a success: the next run asks from the same time again.
    const before = shop.customerQueries.at(-1).query.updated_at_min;
    await press();
    assert.equal(shop.customerQueries.at(-1).query.updated_at_min, before);
  });

  it("retries a run from the Runs sidebar's Retry as a new run of the service", async function () {
    const failed = (await rt.api("GET", "/pw/runs")).json.runs.find(
      (r) => r.trigger === SERVICE && r.status === "completed with failures",
    );
    const res = await rt.api("POST", `/pw/runs/${failed.id}/retry`, {});
    assert.equal(res.status, 202, res.text);
    assert.equal(res.json.run.retryOf, failed.id);
    assert.equal(res.json.run.via, "retry");
    const retried = await ended(res.json.run.id);
    assert.equal(retried.trigger, SERVICE);
    assert.ok(retried.steps[`${SERVICE}:pull`], "it pulled again");
    assert.equal(retried.steps[`${SERVICE}:pull`].name, "customers to contacts: pull");
  });

  it("refuses bad settings at deploy with an error that says what to fix", async function () {
    const bad = flow();
    Object.assign(
      bad.find((n) => n.id === SERVICE),
      { sinceParam: "updated_since" },
    );
    await rt.deploy(bad);
    const logged = await waitUntil(
      () => rt.logs.find((l) => /has no parameter "updated_since"/.test(String(l.msg))),
      "the deploy error",
    );
    assert.match(
      String(logged.msg),
      /service "customers to contacts": "List customers" has no parameter "updated_since" to pull only what changed: choose one of updated_at_min/,
    );
    const res = await rt.api("POST", `/pw/service/${SERVICE}`, {});
    assert.equal(res.status, 409);
    assert.match(res.json.message, /not configured correctly: .*updated_since/);

    const check = async (value) =>
      (await rt.api("POST", "/pw/editor/check", { checks: [{ kind: "service", value }] })).json.results[0]
        .problems;
    assert.deepEqual(await check({ since: "all", pageSize: 50, attempts: 3 }), []);
    assert.match((await check({ pageSize: 0 }))[0].message, /page size must be a whole number from 1/);
    assert.match(
      (await check({ since: "ago", sinceParam: "updated_at_min" }))[0].message,
      /needs an amount, e\.g\. 1 hour/,
    );
    assert.match(
      (await check({ since: "last-success" }))[0].message,
      /needs the source endpoint's parameter/,
    );
  });
});
