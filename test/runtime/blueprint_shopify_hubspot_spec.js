// The blueprint "Shopify customers into HubSpot contacts" end to end in a real Node-RED runtime:
// imported from the examples as a user imports it, its instances pointed at the Shopify and
// HubSpot fakes with credentials supplied through the admin API (the deploy), run on its
// button and through its signed webhook. It proves: every customer arrives mapped; a second
// run pulls only what changed since the watermark and creates nothing new (upsert by email);
// a contact HubSpot refuses is reported by the notify shape in the run's log, and that run
// leaves the watermark where it was.
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const { startRuntime } = require("../support/runtime");
const { waitUntil } = require("../support/wait");
const { importBlueprint, pressTrigger } = require("../support/blueprint");
const { startShopify } = require("../../demo/fakes/shopify");
const { startHubSpot } = require("../../demo/fakes/hubspot");

const NAME = "Shopify customers into HubSpot contacts";
const TOKEN = "shpat_blueprint_secret";
const HUB = "pat-na1-blueprint-secret";
const HOOK_SECRET = "shopify-app-client-secret";

describe(`the blueprint "${NAME}" (runtime, against the fakes)`, function () {
  this.timeout(30000);
  let rt;
  let shop;
  let hub;
  let flow;
  const seen = [];
  const ago = (minutes) => new Date(Date.now() - minutes * 60000).toISOString();
  // Shopify's REST customers: one already in HubSpot (by email, in other case), one without a
  // phone, one with empty names, one without an email (dropped by the filter).
  const customers = [
    {
      id: 1,
      email: "Ada@Example.com ",
      first_name: "Ada",
      last_name: "Lovelace",
      phone: "+441234567890",
      updated_at: ago(300),
    },
    {
      id: 2,
      email: "bob@example.com",
      first_name: "Bob",
      last_name: "Norman",
      phone: null,
      updated_at: ago(200),
    },
    {
      id: 3,
      email: "cy@example.com",
      first_name: null,
      last_name: null,
      phone: "+16136120707",
      updated_at: ago(100),
    },
    { id: 4, email: null, first_name: "No", last_name: "Email", phone: null, updated_at: ago(50) },
  ];
  const contact = (email) => hub.objects.contacts.find((c) => c.properties.email === email);

  before(async () => {
    shop = await startShopify({ token: TOKEN, customers });
    hub = await startHubSpot({
      token: HUB,
      contacts: [
        {
          id: "101",
          properties: { email: "ada@example.com", firstname: "Ada (old)", lifecyclestage: "customer" },
        },
      ],
    });
    rt = await startRuntime({ functionGlobalContext: { seen }, patchworks: { runs: { settleMs: 40 } } });
    flow = await importBlueprint(rt, NAME);
    // What a user types into the two instance dialogs and the webhook trigger's secret.
    Object.assign(
      flow.find((n) => n.type === "pw-instance" && n.connector === "shopify"),
      { vars: { shop: new URL(shop.base).host, scheme: "http" }, credentials: { secret_0: TOKEN } },
    );
    Object.assign(
      flow.find((n) => n.type === "pw-instance" && n.connector === "hubspot"),
      { vars: { baseUrl: hub.base }, credentials: { secret_0: HUB } },
    );
    Object.assign(
      flow.find((n) => n.type === "pw-trigger" && n.webhook),
      { credentials: { secret: HOOK_SECRET } },
    );
    await rt.deploy(flow);
  });
  after(async () => {
    await rt?.stop();
    await shop?.close();
    await hub?.close();
  });

  const hourly = () => flow.find((n) => n.type === "pw-trigger" && n.name === "Hourly");
  const press = () => pressTrigger(rt, hourly().id, { timeout: 10000 });

  let first;
  it("pulls every customer on the first run and upserts each as a contact, mapped", async function () {
    first = await press();
    assert.equal(first.status, "succeeded", JSON.stringify(first.errors));
    assert.equal(shop.customerQueries.length, 1);
    assert.equal(shop.customerQueries[0].query.updated_at_min, undefined, "the first run pulls everything");
    assert.deepEqual(shop.customerQueries[0].ids, [1, 2, 3, 4]);
    // Ada existed: updated in place, not created again; her other properties are kept.
    assert.deepEqual(hub.created.map((c) => c.properties.email).sort(), [
      "bob@example.com",
      "cy@example.com",
    ]);
    assert.equal(hub.objects.contacts.length, 3, "no contact for the customer without an email");
    const pick = (c) => {
      const { email, firstname, lastname, phone } = c.properties;
      return Object.fromEntries(
        Object.entries({ email, firstname, lastname, phone }).filter(([, v]) => v !== undefined),
      );
    };
    assert.deepEqual(pick(contact("ada@example.com")), {
      email: "ada@example.com",
      firstname: "Ada",
      lastname: "Lovelace",
      phone: "+441234567890",
    });
    assert.equal(contact("ada@example.com").id, "101");
    assert.equal(contact("ada@example.com").properties.lifecyclestage, "customer");
    assert.deepEqual(pick(contact("bob@example.com")), {
      email: "bob@example.com",
      firstname: "Bob",
      lastname: "Norman",
    });
    assert.deepEqual(pick(contact("cy@example.com")), { email: "cy@example.com", phone: "+16136120707" });
  });

  it("pulls only customers updated since the last run on the second, and creates nothing new", async function () {
    const created = hub.created.length;
    const contacts = hub.objects.contacts.length;
    Object.assign(customers[1], { last_name: "Norman-Smith", updated_at: new Date().toISOString() });
    const second = await press();
    assert.equal(second.status, "succeeded", JSON.stringify(second.errors));
    const since = shop.customerQueries.at(-1).query.updated_at_min;
    assert.ok(since, "the second run asks for customers updated since the watermark");
    assert.ok(
      Math.abs(Date.parse(since) - first.startedAt) < 50,
      `the watermark is the first run's start (${since})`,
    );
    assert.deepEqual(shop.customerQueries.at(-1).ids, [2], "only the customer updated since");
    assert.equal(hub.created.length, created, "nothing created a second time");
    assert.equal(hub.objects.contacts.length, contacts);
    assert.equal(contact("bob@example.com").properties.lastname, "Norman-Smith", "the change arrived");

    const quiet = await press();
    assert.equal(quiet.status, "succeeded");
    assert.ok(
      Date.parse(shop.customerQueries.at(-1).query.updated_at_min) > Date.parse(since),
      "the watermark moved on",
    );
    assert.deepEqual(shop.customerQueries.at(-1).ids, [], "nothing changed since");
    assert.equal(hub.created.length, created);
  });

  it("reports a contact HubSpot refuses through notify in the run's log, and keeps the watermark", async function () {
    customers.push(
      {
        id: 5,
        email: "not an email",
        first_name: "Broken",
        last_name: "Address",
        phone: null,
        updated_at: new Date().toISOString(),
      },
      {
        id: 6,
        email: "dee@example.com",
        first_name: "Dee",
        last_name: "Good",
        phone: null,
        updated_at: new Date().toISOString(),
      },
    );
    const run = await press();
    assert.equal(run.status, "completed with failures", JSON.stringify(run));
    assert.deepEqual(shop.customerQueries.at(-1).ids, [5, 6]);
    const before = shop.customerQueries.at(-1).query.updated_at_min;
    assert.ok(contact("dee@example.com"), "the good contact of the same batch arrived");
    const notes = run.notifications ?? [];
    assert.equal(notes.length, 1, JSON.stringify(notes));
    assert.equal(notes[0].level, "warning");
    assert.match(
      notes[0].text,
      /^1 contact\(s\) refused by HubSpot; first not an email: .*email "not an email" is invalid/,
    );
    assert.ok(notes[0].channels.log.ok, JSON.stringify(notes[0].channels));
    assert.ok(
      rt.logs.some((l) =>
        /\[notify "contacts HubSpot refused"\] warning: .*: 1 contact\(s\) refused by HubSpot; first not an email/.test(
          String(l.msg),
        ),
      ),
    );
    // Not succeeded: the watermark stays, so the next run asks from the same time and the
    // refused customer (and the one that arrived) come again; the good one is upserted, not created twice.
    const created = hub.created.length;
    const again = await press();
    assert.equal(again.status, "completed with failures");
    assert.equal(shop.customerQueries.at(-1).query.updated_at_min, before);
    assert.deepEqual(shop.customerQueries.at(-1).ids, [5, 6]);
    assert.equal(hub.created.length, created);
    // The merchant fixes the address in Shopify: the next run succeeds and moves the watermark on.
    Object.assign(customers[4], { email: "broken@example.com", updated_at: new Date().toISOString() });
    assert.equal((await press()).status, "succeeded");
    assert.ok(contact("broken@example.com"));
    assert.ok(
      Date.parse((await press(), shop.customerQueries.at(-1).query.updated_at_min)) > Date.parse(before),
    );
    assert.deepEqual(shop.customerQueries.at(-1).ids, []);
  });

  it("upserts a customer from a signed customers/create webhook and refuses an unsigned one", async function () {
    const hooks = flow.find((n) => n.type === "pw-trigger" && n.webhook);
    const body = JSON.stringify({
      id: 7,
      email: "eve@example.com",
      first_name: "Eve",
      last_name: "Hook",
      phone: null,
    });
    const sign = (b) => crypto.createHmac("sha256", HOOK_SECRET).update(b).digest("base64");
    const post = (b, headers) =>
      fetch(rt.hooks + hooks.path, {
        method: "POST",
        headers: { "content-type": "application/json", "x-shopify-topic": "customers/create", ...headers },
        body: b,
      });
    assert.equal((await post(body, { "x-shopify-hmac-sha256": sign("{}") })).status, 401);
    assert.equal((await post(body, { "x-shopify-hmac-sha256": sign(body) })).status, 200);
    await waitUntil(async () => contact("eve@example.com"), "the webhook's contact", 10000, 20);
    assert.deepEqual(
      { ...contact("eve@example.com").properties, hs_object_id: undefined, hs_lastmodifieddate: undefined },
      {
        email: "eve@example.com",
        firstname: "Eve",
        lastname: "Hook",
        hs_object_id: undefined,
        hs_lastmodifieddate: undefined,
      },
    );
    // customers/update for the same customer: the contact is updated, not created again.
    const created = hub.created.length;
    const update = JSON.stringify({
      id: 7,
      email: "EVE@example.com",
      first_name: "Eve",
      last_name: "Hooked",
    });
    assert.equal(
      (await post(update, { "x-shopify-hmac-sha256": sign(update), "x-shopify-topic": "customers/update" }))
        .status,
      200,
    );
    await waitUntil(
      async () => contact("eve@example.com").properties.lastname === "Hooked",
      "the update",
      10000,
      20,
    );
    assert.equal(hub.created.length, created);
  });
});
