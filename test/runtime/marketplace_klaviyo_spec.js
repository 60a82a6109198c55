// Klaviyo's prebuilt connector end to end: every endpoint through a pw-connection shape in a
// real runtime, on an instance whose private key goes through the admin API as the editor sends
// it, against demo/fakes/klaviyo.js (JSON:API, revision header, links.next paging). Each
// endpoint first meets Klaviyo's 429 "throttled" with Retry-After, which the shape waits out.
const assert = require("node:assert/strict");
const { endToEnd } = require("../support/marketplace");
const { startKlaviyo } = require("../../demo/fakes/klaviyo");

const KEY = "pk_e2e_klaviyo_private_key";
const withFailures = "completed with failures";
const event = (email, name = "Placed Order") => ({
  metric: { data: { type: "metric", attributes: { name } } },
  profile: { data: { type: "profile", attributes: email ? { email } : {} } },
  properties: { value: 9.99 },
});

const CASES = {
  "list-profiles": {
    check: ({ records, pages }) => {
      assert.deepEqual(
        pages.map((p) => p.payload.length),
        [100, 50],
      );
      assert.equal(new Set(records.map((r) => r.attributes.email)).size, 150);
    },
  },
  "get-profile": {
    opts: (fake) => ({ params: { id: fake.state.profiles[7].id } }),
    check: ({ records }) => assert.deepEqual([records.length, records[0].attributes.email], [1, "p7@x.com"]),
  },
  "create-profile": {
    payload: [{ email: "new@k.test", first_name: "New" }, { email: "p0@x.com" }],
    status: withFailures,
    check: ({ fake, failed }) => {
      assert.equal(
        fake.state.profiles.find((p) => p.attributes.email === "new@k.test").attributes.first_name,
        "New",
      );
      assert.equal(failed.length, 1);
      assert.equal(failed[0].status, 409);
      assert.match(failed[0].error, /answered 409: .*duplicate_profile/);
      assert.equal(failed[0].outcome, "refused");
    },
  },
  "update-profile": {
    opts: (fake) => ({
      payload: [
        { id: fake.state.profiles[1].id, attributes: { last_name: "Patched" } },
        { id: "01KNOPE", attributes: { last_name: "Nobody" } },
      ],
    }),
    status: withFailures,
    check: ({ fake, failed }) => {
      assert.equal(fake.state.profiles[1].attributes.last_name, "Patched");
      assert.equal(failed[0].status, 404);
      assert.match(failed[0].error, /A profile with id 01KNOPE does not exist/);
    },
  },
  "subscribe-profiles": {
    params: { list_id: "Y6nRLr", custom_source: "E2E" },
    payload: [
      { type: "profile", attributes: { email: "p2@x.com" } },
      { type: "profile", attributes: { email: "fresh@k.test" } },
    ],
    check: ({ fake }) => {
      for (const email of ["p2@x.com", "fresh@k.test"]) {
        const p = fake.state.profiles.find((x) => x.attributes.email === email);
        assert.deepEqual(p.lists, ["Y6nRLr"], `${email} on the list`);
      }
      // Consent given just now: historical_import left unset is not a historical import.
      assert.deepEqual(fake.state.jobs.at(-1), {
        kind: "subscribe",
        list: "Y6nRLr",
        count: 2,
        source: "E2E",
        historical: false,
      });
    },
  },
  "unsubscribe-profiles": {
    params: { list_id: "Y6nRLr" },
    payload: [
      { type: "profile", attributes: { email: "p2@x.com" } },
      { type: "profile", attributes: { email: "unknown@k.test" } },
    ],
    check: ({ fake }) => {
      // Account-wide: consent UNSUBSCRIBED with an UNSUBSCRIBE suppression, off the list; a
      // profile Klaviyo does not know is made, then unsubscribed.
      for (const email of ["p2@x.com", "unknown@k.test"]) {
        const p = fake.state.profiles.find((x) => x.attributes.email === email);
        assert.equal(p.attributes.subscriptions.email.marketing.consent, "UNSUBSCRIBED", email);
        assert.deepEqual(
          p.suppression.map((s) => s.reason),
          ["UNSUBSCRIBE"],
          email,
        );
        assert.ok(!(p.lists ?? []).includes("Y6nRLr"), `${email} off the list`);
      }
      assert.deepEqual(fake.state.jobs.at(-1), { kind: "unsubscribe", list: "Y6nRLr", count: 2 });
    },
  },
  "upsert-profile": {
    payload: [
      { email: "p8@x.com", last_name: "Upserted", properties: { tier: "gold" } },
      { email: "upserted@k.test", first_name: "Up" },
      { email: "not-an-email", first_name: "Bad" },
    ],
    status: withFailures,
    check: ({ fake, failed }) => {
      const byEmail = (email) => fake.state.profiles.filter((p) => p.attributes.email === email);
      // The known profile is updated in place (200), the new one created (201): never a second.
      assert.equal(byEmail("p8@x.com").length, 1);
      assert.deepEqual(
        [byEmail("p8@x.com")[0].attributes.last_name, byEmail("p8@x.com")[0].attributes.properties],
        ["Upserted", { tier: "gold" }],
      );
      assert.equal(byEmail("upserted@k.test")[0].attributes.first_name, "Up");
      assert.deepEqual(
        fake.state.imports
          .slice(-2)
          .map((i) => i.created)
          .sort(),
        [false, true],
      );
      assert.equal(failed.length, 1);
      assert.equal(failed[0].status, 400);
      assert.match(failed[0].error, /answered 400: .*Invalid email address: not-an-email/);
      assert.equal(failed[0].outcome, "refused");
      assert.equal(byEmail("not-an-email").length, 0);
    },
  },
  "create-event": {
    payload: [event("p3@x.com"), event(undefined)],
    status: withFailures,
    check: ({ fake, failed }) => {
      assert.equal(fake.state.events.at(-1).profile.data.attributes.email, "p3@x.com");
      assert.equal(failed.length, 1);
      assert.match(failed[0].error, /answered 400: .*A profile identifier is required/);
    },
  },
};

endToEnd({
  title: "Klaviyo",
  connector: "klaviyo",
  start: () =>
    startKlaviyo({
      apiKey: KEY,
      profiles: Array.from({ length: 150 }, (_, i) => ({ attributes: { email: `p${i}@x.com` } })),
    }),
  instance: (fake) => ({
    connector: "klaviyo",
    vars: { baseUrl: fake.base },
    secretSlots: { apiKey: 0 },
    credentials: { secret_0: KEY },
  }),
  cases: CASES,
  tooMany: (fake) => fake.failNext(1, 429),
  retryAfterMs: 1000,
  secrets: [KEY],
  more(ctx) {
    it("refuses a whole subscription job that holds a profile without an identifier, naming it", async function () {
      const out = await ctx.call("subscribe-profiles", {
        params: { list_id: "Y6nRLr", custom_source: "E2E" },
        payload: [
          { type: "profile", attributes: { email: "ok@k.test" } },
          { type: "profile", attributes: {} },
        ],
      });
      assert.equal(out.run.status, withFailures);
      assert.equal(out.failed.length, 2, "Klaviyo refuses the job, not one profile");
      assert.match(out.failed[0].error, /Each profile needs an email or a phone_number/);
      assert.ok(!ctx.fake.state.profiles.some((p) => p.attributes.email === "ok@k.test"));
    });

    it("refuses a whole unsubscribe job that holds a profile without an identifier, unsubscribing none", async function () {
      const out = await ctx.call("unsubscribe-profiles", {
        params: { list_id: "Y6nRLr" },
        payload: [
          { type: "profile", attributes: { email: "p9@x.com" } },
          { type: "profile", attributes: {} },
        ],
      });
      assert.equal(out.run.status, withFailures);
      assert.equal(out.failed.length, 2, "Klaviyo refuses the job, not one profile");
      assert.match(out.failed[0].error, /answered 400: .*Each profile needs an email or a phone_number/);
      const p9 = ctx.fake.state.profiles.find((p) => p.attributes.email === "p9@x.com");
      assert.equal(p9.attributes.subscriptions, undefined, "p9 untouched");
    });

    it("retries a GET that met a 5xx, and reports a PATCH or POST that met one as of unknown outcome", async function () {
      ctx.fake.failNext(1, 503);
      const list = await ctx.call("list-profiles");
      assert.equal(list.run.status, "succeeded");
      assert.equal(list.requests[0].attempts, 2);
      assert.equal(list.records.length, 154, "every profile, the four made by the cases included");
      // PATCH and POST are not idempotent: repeated only on a 429 or before they were sent.
      ctx.fake.failNext(1, 500);
      const id = ctx.fake.state.profiles[4].id;
      const patch = await ctx.call("update-profile", {
        payload: [{ id, attributes: { title: "After 500" } }],
      });
      assert.deepEqual([patch.failed[0].outcome, patch.failed[0].status], ["unknown", 500]);
      ctx.fake.failNext(1, 500);
      const post = await ctx.call("create-event", { payload: [event("p5@x.com")] });
      assert.deepEqual([post.failed[0].outcome, post.run.status], ["unknown", withFailures]);
    });
  },
});
