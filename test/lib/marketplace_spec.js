// The marketplace's prebuilt Klaviyo, WooCommerce and TikTok Shop connectors, each against a
// fake of its vendor's documented contract (test/fakes/): every endpoint pulled to its last
// page or sent, read back from the fake's state, a per-record failure, a 429 with the vendor's
// headers and a 5xx; no secret in errors or request records.
const assert = require("node:assert/strict");
const { lib } = require("../support/dist");
const { startKlaviyo } = require("../fakes/klaviyo");
const { loadPrebuilt } = lib("connectors/definition");
const { ConnectorClient } = lib("connectors/client");

const prebuilt = Object.fromEntries(loadPrebuilt().map((d) => [d.id, d]));
const collect = async (gen) => {
  const pages = [];
  for await (const p of gen) pages.push(p);
  return pages;
};
let count = 0;
const instance = (vars, extra = {}) => ({ id: `mkt-${++count}`, vars, ...extra });
const withQuery = (def, id, query) => ({
  ...def,
  endpoints: def.endpoints.map((e) => (e.id === id ? { ...e, query: { ...e.query, ...query } } : e)),
});

describe("marketplace connectors", function () {
  this.timeout(20000);

  describe("Klaviyo (fake of the JSON:API contract)", function () {
    const KEY = "pk_klaviyo_secret_key";
    let k;
    const seed = Array.from({ length: 5 }, (_, i) => ({
      attributes: { email: `p${i}@x.com`, first_name: `P${i}` },
    }));
    beforeEach(async () => (k = await startKlaviyo({ apiKey: KEY, profiles: seed })));
    afterEach(() => k.close());
    const client = (key = KEY, def = prebuilt.klaviyo) =>
      new ConnectorClient(def, instance({ apiKey: key, baseUrl: k.base }));

    it("lists profiles to the last page by links.next, with the key, the revision and JSON:API accept headers", async function () {
      const records = [];
      const pages = await collect(
        client(KEY, withQuery(prebuilt.klaviyo, "list-profiles", { "page[size]": "2" })).receive(
          "list-profiles",
          { record: (r) => records.push(r) },
        ),
      );
      assert.deepEqual(
        pages.map((p) => [p.records.map((r) => r.attributes.email), p.last]),
        [
          [["p0@x.com", "p1@x.com"], false],
          [["p2@x.com", "p3@x.com"], false],
          [["p4@x.com"], true],
        ],
      );
      const h = k.log[0].headers;
      assert.equal(h.authorization, `Klaviyo-API-Key ${KEY}`);
      assert.equal(h.revision, "2025-10-15");
      assert.equal(h.accept, "application/vnd.api+json");
      assert.match(k.log[1].query["page[cursor]"], /./);
      assert.equal(k.log.length, 3, "no request after links.next is null");
      assert.ok(records.every((r) => !JSON.stringify(r).includes(KEY)));
    });

    it("filters profiles and gets one by id", async function () {
      const pages = await collect(
        client().receive("list-profiles", { params: { filter: 'equals(email,"p3@x.com")' } }),
      );
      assert.deepEqual(
        pages.flatMap((p) => p.records.map((r) => r.attributes.first_name)),
        ["P3"],
      );
      const id = pages[0].records[0].id;
      const one = await collect(client().receive("get-profile", { params: { id } }));
      assert.equal(one[0].records[0].attributes.email, "p3@x.com");
      await assert.rejects(
        collect(client().receive("get-profile", { params: { id: "nope" } })),
        /answered 404: .*A profile with id nope does not exist/,
      );
    });

    it("creates profiles, refuses a duplicate per record with Klaviyo's 409, and updates one that reads back", async function () {
      const result = await client().send("create-profile", [
        { email: "new@x.com", first_name: "New" },
        { email: "p1@x.com", first_name: "Again" },
        { email: "other@x.com" },
      ]);
      assert.equal(result.ok.length, 2);
      assert.equal(result.ok[0].status, 201);
      assert.equal(result.failed.length, 1);
      assert.equal(result.failed[0].outcome, "refused");
      assert.equal(result.failed[0].status, 409);
      assert.deepEqual(result.failed[0].records, [{ email: "p1@x.com", first_name: "Again" }]);
      assert.match(result.failed[0].error, /answered 409: .*duplicate_profile/);
      const sent = JSON.parse(k.log.find((e) => e.method === "POST").body);
      assert.deepEqual(sent, {
        data: { type: "profile", attributes: { email: "new@x.com", first_name: "New" } },
      });
      assert.equal(
        k.log.find((e) => e.method === "POST").headers["content-type"],
        "application/vnd.api+json",
      );

      const id = result.ok[0].response.data.id;
      const updated = await client().send("update-profile", [{ id, attributes: { last_name: "Person" } }]);
      assert.equal(updated.failed.length, 0);
      const patch = k.log.find((e) => e.method === "PATCH");
      assert.equal(patch.path, `/api/profiles/${id}`);
      assert.deepEqual(JSON.parse(patch.body), {
        data: { type: "profile", id, attributes: { last_name: "Person" } },
      });
      const back = await collect(client().receive("get-profile", { params: { id } }));
      assert.deepEqual(
        [back[0].records[0].attributes.first_name, back[0].records[0].attributes.last_name],
        ["New", "Person"],
      );
    });

    it("subscribes profiles to a list with consent in jobs of at most 1,000, which read back as subscribed", async function () {
      const profiles = Array.from({ length: 1200 }, (_, i) => ({
        type: "profile",
        attributes: {
          email: `s${i}@x.com`,
          subscriptions: { email: { marketing: { consent: "SUBSCRIBED" } } },
        },
      }));
      const result = await client().send("subscribe-profiles", profiles, { params: { list_id: "Y6nRLr" } });
      assert.equal(result.failed.length, 0);
      assert.deepEqual(
        result.ok.map((o) => [o.status, o.records.length]),
        [
          [202, 1000],
          [202, 200],
        ],
      );
      const job = JSON.parse(k.log.find((e) => e.method === "POST").body);
      assert.equal(job.data.type, "profile-subscription-bulk-create-job");
      assert.equal(job.data.attributes.custom_source, "Patchworks", "the required source's default");
      assert.deepEqual(job.data.relationships.list.data, { type: "list", id: "Y6nRLr" });
      const pages = await collect(
        client().receive("list-profiles", { params: { filter: 'equals(email,"s1199@x.com")' } }),
      );
      assert.equal(pages[0].records[0].attributes.subscriptions.email.marketing.consent, "SUBSCRIBED");
      // Without a list the request is not sent.
      const none = await client().send("subscribe-profiles", profiles.slice(0, 1));
      assert.match(none.failed[0].error, /needs the parameter "List id"/);
    });

    it("creates Placed Order events, and refuses one without a metric", async function () {
      const event = prebuilt.klaviyo.endpoints.find((e) => e.id === "create-event").sample;
      const result = await client().send("create-event", [event, { ...event, metric: undefined }]);
      assert.equal(result.ok.length, 1);
      assert.equal(result.ok[0].status, 202);
      assert.equal(k.state.events.length, 1);
      assert.equal(k.state.events[0].metric.data.attributes.name, "Placed Order");
      assert.equal(result.failed[0].outcome, "refused");
      assert.match(result.failed[0].error, /answered 400: .*A metric name is required/);
    });

    it("waits out a 429 by Retry-After, retries a page after a 5xx, and a send after a 5xx is unknown", async function () {
      k.setBurst(1);
      const t0 = Date.now();
      const pages = await collect(
        client(KEY, withQuery(prebuilt.klaviyo, "list-profiles", { "page[size]": "3" })).receive(
          "list-profiles",
        ),
      );
      assert.equal(pages.length, 2);
      assert.ok(k.log.some((e) => e.at >= t0) && Date.now() - t0 >= 900, "waited for Retry-After");
      k.setBurst(1000);
      k.failNext(1, 503);
      const again = await collect(client().receive("list-profiles"));
      assert.equal(again[0].records.length, 5);
      k.failNext(1, 500);
      const sent = await client().send("create-profile", [{ email: "five@x.com" }]);
      assert.equal(sent.failed[0].outcome, "unknown");
      assert.equal(sent.failed[0].status, 500);
    });

    it("refuses a missing or wrong key with Klaviyo's error, never showing the key", async function () {
      await assert.rejects(
        collect(client("pk_wrong_key_123").receive("list-profiles")),
        (err) =>
          /answered 401: .*authentication_failed/.test(err.message) &&
          !err.message.includes("pk_wrong_key_123"),
      );
      assert.throws(() => client(""), /needs "Private API key \(pk_…\)"/);
    });
  });
});
