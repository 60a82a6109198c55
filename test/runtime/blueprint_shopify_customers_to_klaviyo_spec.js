// The blueprint "Shopify customers into Klaviyo profiles" end to end in a real Node-RED runtime:
// imported from the examples as a user imports it, its instances pointed at the Shopify and
// Klaviyo fakes with credentials supplied through the admin API (the deploy), run on its button.
// It proves: every customer becomes one profile, and Shopify's email marketing consent arrives
// exactly (subscribed → subscribed to the list with the consent date, unsubscribed →
// unsubscribed and suppressed, the other states → no consent); a second run creates nothing
// twice; a pull that meets 429s and 5xxs midway still delivers every customer once; a profile
// Klaviyo refuses is reported by notify and that run leaves the watermark where it was.
const assert = require("node:assert/strict");
const { startRuntime } = require("../support/runtime");
const { importBlueprint, pressTrigger } = require("../support/blueprint");
const { startShopify } = require("../../demo/fakes/shopify");
const { startKlaviyo } = require("../../demo/fakes/klaviyo");

const NAME = "Shopify customers into Klaviyo profiles";
const TOKEN = "shpat_blueprint_secret";
const KEY = "pk_blueprint_klaviyo_secret";
const LIST = "Y6nRLr";

describe(`the blueprint "${NAME}" (runtime, against the fakes)`, function () {
  this.timeout(60000);
  let rt;
  let shop;
  let kl;
  let flow;
  const ago = (minutes) => new Date(Date.now() - minutes * 60000).toISOString();
  const consent = (state, opt_in_level, consent_updated_at) => ({ state, opt_in_level, consent_updated_at });
  const SUBSCRIBED_AT = "2026-03-01T09:30:00Z";
  const CONFIRMED_AT = "2026-04-02T10:00:00Z";
  // Shopify's REST customers with email_marketing_consent as Shopify documents it (state,
  // opt_in_level, consent_updated_at). Dan already has a Klaviyo profile, subscribed there.
  const customers = [
    {
      id: 1,
      email: "Ada@Example.com ",
      first_name: "Ada",
      last_name: "Lovelace",
      phone: "+441234567890",
      email_marketing_consent: consent("subscribed", "single_opt_in", SUBSCRIBED_AT),
      updated_at: ago(300),
    },
    {
      id: 2,
      email: "bob@example.com",
      first_name: "Bob",
      last_name: "Norman",
      phone: null,
      email_marketing_consent: consent("subscribed", "confirmed_opt_in", CONFIRMED_AT),
      updated_at: ago(250),
    },
    {
      id: 3,
      email: "cy@example.com",
      first_name: "Cy",
      last_name: null,
      phone: null,
      email_marketing_consent: consent("not_subscribed", "single_opt_in", null),
      updated_at: ago(200),
    },
    {
      id: 4,
      email: "dan@example.com",
      first_name: "Dan",
      last_name: "Gone",
      phone: null,
      email_marketing_consent: consent("unsubscribed", "single_opt_in", "2026-05-05T05:05:05Z"),
      updated_at: ago(150),
    },
    {
      id: 5,
      email: "eve@example.com",
      first_name: "Eve",
      last_name: "Waiting",
      phone: null,
      email_marketing_consent: consent("pending", "confirmed_opt_in", "2026-06-01T00:00:00Z"),
      updated_at: ago(100),
    },
    {
      id: 6,
      email: null,
      first_name: "No",
      last_name: "Email",
      phone: null,
      email_marketing_consent: null,
      updated_at: ago(50),
    },
  ];
  const profile = (email) => kl.state.profiles.filter((p) => p.attributes.email === email);
  const one = (email) => {
    const found = profile(email);
    assert.equal(found.length, 1, `one profile for ${email}, not ${found.length}`);
    return found[0];
  };

  before(async () => {
    shop = await startShopify({ token: TOKEN, customers });
    kl = await startKlaviyo({
      apiKey: KEY,
      profiles: [
        {
          id: "01KDAN",
          attributes: {
            email: "dan@example.com",
            first_name: "Dan (old)",
            subscriptions: { email: { marketing: { consent: "SUBSCRIBED" } } },
          },
        },
      ],
    });
    kl.state.profiles[0].lists = [LIST];
    rt = await startRuntime({ patchworks: { runs: { settleMs: 40 } } });
    flow = await importBlueprint(rt, NAME);
    // What a user types into the two instance dialogs and the list id of the consent shapes.
    Object.assign(
      flow.find((n) => n.type === "pw-instance" && n.connector === "shopify"),
      { vars: { shop: new URL(shop.base).host, scheme: "http" }, credentials: { secret_0: TOKEN } },
    );
    Object.assign(
      flow.find((n) => n.type === "pw-instance" && n.connector === "klaviyo"),
      { vars: { baseUrl: kl.base }, credentials: { secret_0: KEY } },
    );
    for (const n of flow.filter((n) => n.type === "pw-connection"))
      for (const p of n.params) if (p.key === "list_id") p.value = LIST;
    await rt.deploy(flow);
  });
  after(async () => {
    await rt?.stop();
    await shop?.close();
    await kl?.close();
  });

  const hourly = () => flow.find((n) => n.type === "pw-trigger" && n.name === "Hourly");
  const TIMEOUT = 30000;
  // A succeeded run writes the watermark as it ends: the next press waits until it is there.
  const press = () =>
    pressTrigger(rt, hourly().id, {
      timeout: TIMEOUT,
      watermark: { tab: flow.find((n) => n.type === "tab").id, key: "lastSyncedAt" },
    });
  const marketing = (email) => one(email).attributes.subscriptions?.email?.marketing;

  let first;
  it("upserts every customer with an email as one profile and carries each consent state over exactly", async function () {
    first = await press();
    assert.equal(first.status, "succeeded", JSON.stringify(first.errors));
    assert.equal(shop.customerQueries[0].query.updated_at_min, undefined, "the first run pulls everything");
    assert.equal(kl.state.profiles.length, 5, "five customers with an email, Dan's profile reused");
    assert.equal(one("dan@example.com").id, "01KDAN");
    // Profiles: mapped, empty fields left out, Shopify's consent kept as properties.
    const ada = one("ada@example.com").attributes;
    assert.deepEqual(
      {
        first_name: ada.first_name,
        last_name: ada.last_name,
        phone_number: ada.phone_number,
        external_id: ada.external_id,
        properties: ada.properties,
      },
      {
        first_name: "Ada",
        last_name: "Lovelace",
        phone_number: "+441234567890",
        external_id: "shopify-1",
        properties: {
          shopify_email_marketing_state: "subscribed",
          shopify_email_opt_in_level: "single_opt_in",
          shopify_email_consent_updated_at: SUBSCRIBED_AT,
        },
      },
    );
    assert.equal("last_name" in one("cy@example.com").attributes, false);
    assert.equal(one("dan@example.com").attributes.first_name, "Dan");
    // Consent, exactly: subscribed with Shopify's consent date into the list, without a second opt-in.
    assert.deepEqual(marketing("ada@example.com"), { consent: "SUBSCRIBED", consented_at: SUBSCRIBED_AT });
    assert.deepEqual(marketing("bob@example.com"), { consent: "SUBSCRIBED", consented_at: CONFIRMED_AT });
    assert.deepEqual(one("ada@example.com").lists, [LIST]);
    assert.deepEqual(one("bob@example.com").lists, [LIST]);
    const subscribe = kl.state.jobs.filter((j) => j.kind === "subscribe");
    assert.deepEqual(subscribe, [
      { kind: "subscribe", list: LIST, count: 2, source: "Shopify", historical: true },
    ]);
    // Unsubscribed in Shopify: unsubscribed and suppressed in Klaviyo, off the list.
    assert.equal(marketing("dan@example.com").consent, "UNSUBSCRIBED");
    assert.deepEqual(
      one("dan@example.com").suppression.map((s) => s.reason),
      ["UNSUBSCRIBE"],
    );
    assert.deepEqual(one("dan@example.com").lists, []);
    // Never subscribed, and pending (double opt-in not confirmed): a profile without consent.
    for (const email of ["cy@example.com", "eve@example.com"]) {
      assert.equal(one(email).attributes.subscriptions, undefined, email);
      assert.equal(one(email).lists, undefined, email);
    }
    assert.equal(one("eve@example.com").attributes.properties.shopify_email_marketing_state, "pending");
  });

  it("pulls only what changed since the watermark on the second run and creates nothing twice", async function () {
    const profiles = kl.state.profiles.length;
    const created = kl.state.imports.filter((i) => i.created).length;
    // Cy subscribes in the shop.
    Object.assign(customers[2], {
      email_marketing_consent: consent("subscribed", "single_opt_in", ago(1)),
      updated_at: new Date().toISOString(),
    });
    const second = await press();
    assert.equal(second.status, "succeeded", JSON.stringify(second.errors));
    const since = shop.customerQueries.at(-1).query.updated_at_min;
    assert.ok(Math.abs(Date.parse(since) - first.startedAt) < 50, `the watermark is the first run's start`);
    assert.deepEqual(shop.customerQueries.at(-1).ids, [3]);
    assert.equal(kl.state.profiles.length, profiles, "no new profile");
    assert.equal(kl.state.imports.filter((i) => i.created).length, created);
    assert.equal(marketing("cy@example.com").consent, "SUBSCRIBED");
    assert.deepEqual(one("cy@example.com").lists, [LIST]);
    // Pressed again with nothing changed: nothing is sent to Klaviyo.
    const calls = kl.log.length;
    assert.equal((await press()).status, "succeeded");
    assert.deepEqual(shop.customerQueries.at(-1).ids, []);
    assert.equal(kl.log.length, calls);
  });

  it("fails a run whose pull runs out of tries without moving the watermark, and the next run delivers every customer once through 429s and 5xxs", async function () {
    const before = kl.state.profiles.length;
    const asked = shop.customerQueries.length;
    const now = new Date().toISOString();
    const states = ["subscribed", "unsubscribed", "not_subscribed", "pending"];
    for (let i = 0; i < 260; i++)
      customers.push({
        id: 100 + i,
        email: `bulk${i}@example.com`,
        first_name: `Bulk${i}`,
        last_name: "Customer",
        phone: null,
        email_marketing_consent: consent(states[i % 4], "single_opt_in", ago(10)),
        updated_at: now,
      });
    // Page 1 answers; page 2 answers 429 more often than the pull tries (5 times): the run fails.
    shop.failNext(5, 429, { after: 1, retryAfter: "0.1" });
    const failed = await press();
    assert.equal(failed.status, "failed");
    assert.match(failed.errors[0].message, /page 2: .* answered 429/);
    assert.equal(kl.state.profiles.length, before + 250, "page 1 went on");
    const from = shop.customerQueries[asked].query.updated_at_min;
    assert.ok(from, "asked from the watermark");
    // The watermark did not move: the next run asks from the same time. Its page 2 meets a 429,
    // a 503 and a 500 before it answers, and every customer arrives once.
    shop.failures.length = 0;
    shop.failNext(3, [429, 503, 500], { after: 1, retryAfter: "0.1" });
    const run = await press();
    assert.equal(run.status, "succeeded", JSON.stringify(run.errors));
    assert.deepEqual(
      shop.failures.map((f) => f.status),
      [429, 503, 500],
    );
    const pages = shop.customerQueries.slice(-2);
    assert.equal(pages[0].query.updated_at_min, from, "asked from the watermark of the last successful run");
    assert.equal(pages[0].ids.length + pages[1].ids.length, 260, "two pages, every customer once");
    assert.equal(kl.state.profiles.length, before + 260, "no profile twice");
    for (let i = 0; i < 260; i++) {
      one(`bulk${i}@example.com`);
      const want = { subscribed: "SUBSCRIBED", unsubscribed: "UNSUBSCRIBED" }[states[i % 4]];
      assert.equal(marketing(`bulk${i}@example.com`)?.consent, want, `bulk${i}`);
    }
    // That run succeeded: the next asks from its start.
    assert.equal((await press()).status, "succeeded");
    assert.ok(Math.abs(Date.parse(shop.customerQueries.at(-1).query.updated_at_min) - run.startedAt) < 50);
  });

  it("reports a profile Klaviyo refuses through notify and keeps the watermark until it is fixed", async function () {
    customers.push(
      {
        id: 900,
        email: "not an email",
        first_name: "Broken",
        last_name: "Address",
        phone: null,
        email_marketing_consent: consent("not_subscribed", null, null),
        updated_at: new Date().toISOString(),
      },
      {
        id: 901,
        email: "fay@example.com",
        first_name: "Fay",
        last_name: "Good",
        phone: null,
        email_marketing_consent: consent("subscribed", "single_opt_in", ago(5)),
        updated_at: new Date().toISOString(),
      },
    );
    const run = await press();
    assert.equal(run.status, "completed with failures", JSON.stringify(run));
    const from = shop.customerQueries.at(-1).query.updated_at_min;
    assert.deepEqual(shop.customerQueries.at(-1).ids, [900, 901]);
    assert.equal(marketing("fay@example.com").consent, "SUBSCRIBED", "the good customer arrived");
    const notes = run.notifications ?? [];
    assert.equal(notes.length, 1, JSON.stringify(notes));
    assert.equal(notes[0].level, "warning");
    assert.match(
      notes[0].text,
      /^1 profile\(s\) refused by Klaviyo; first not an email: POST \S+\/api\/profile-import answered 400: .*Invalid email/,
    );
    // The next run asks from the same watermark and brings both again; Fay is not duplicated.
    const again = await press();
    assert.equal(again.status, "completed with failures");
    assert.equal(shop.customerQueries.at(-1).query.updated_at_min, from);
    assert.deepEqual(shop.customerQueries.at(-1).ids, [900, 901]);
    one("fay@example.com");
    // Fixed in Shopify: the run succeeds and the watermark moves on.
    Object.assign(customers.at(-2), { email: "broken@example.com", updated_at: new Date().toISOString() });
    assert.equal((await press()).status, "succeeded");
    one("broken@example.com");
    await press();
    assert.ok(Date.parse(shop.customerQueries.at(-1).query.updated_at_min) > Date.parse(from));
    assert.deepEqual(shop.customerQueries.at(-1).ids, []);
  });
});
