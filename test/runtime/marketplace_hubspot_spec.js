// HubSpot's prebuilt connector end to end: every endpoint through a pw-connection shape in a
// real runtime, on an instance whose private-app token goes through the admin API as the
// editor sends it, against demo/fakes/hubspot.js (CRM v3 objects, search, batches answered 207
// per input, v4 associations). Each endpoint first meets HubSpot's secondly-limit 429 (with its
// X-HubSpot-RateLimit-* headers and Retry-After), which the shape waits out.
const assert = require("node:assert/strict");
const { endToEnd } = require("../support/marketplace");
const { startHubSpot } = require("../../demo/fakes/hubspot");

const TOKEN = "pat-na1-e2e-private-app-token";
const withFailures = "completed with failures";
const seed = (n, props) => Array.from({ length: n }, (_, i) => ({ id: String(i + 1), properties: props(i) }));
const REQUIRED = { contacts: "email", companies: "name", deals: "dealname" };
const valueOf = {
  contacts: (i) => `${i}@h.test`,
  companies: (i) => `Company ${i}`,
  deals: (i) => `Deal ${i}`,
};
const refusedOne = (failed, pattern) => {
  assert.equal(failed.length, 1, JSON.stringify(failed));
  assert.match(failed[0].error, pattern);
  assert.equal(failed[0].outcome, "refused");
};

const CASES = {};
for (const type of ["contacts", "companies", "deals"]) {
  const key = REQUIRED[type];
  const byKey = (fake, v) => fake.objects[type].find((r) => r.properties[key] === v);
  CASES[`list-${type}`] = {
    check: ({ records, pages, fake }) => {
      assert.deepEqual(
        records.map((r) => r.id),
        fake.objects[type].map((r) => r.id),
      );
      assert.ok(pages.length >= 2 && pages.slice(0, -1).every((p) => p.payload.length === 100));
    },
  };
  CASES[`search-${type}`] = {
    check: ({ records, pages, fake }) => {
      assert.equal(records.length, fake.objects[type].length, "every object, searched page by page");
      assert.equal(pages[0].payload.length, 200);
    },
  };
  CASES[`create-${type}`] = {
    payload: [{ properties: { [key]: valueOf[type]("new") } }, { properties: { description: "no key" } }],
    status: withFailures,
    check: ({ fake, failed }) => {
      assert.ok(byKey(fake, valueOf[type]("new")), "the created object reads back");
      refusedOne(failed, new RegExp(`answered 207 with an error for record 2 of 2: .*${key} is required`));
      assert.deepEqual(failed[0].record, { properties: { description: "no key" } });
    },
  };
  CASES[`update-${type}`] = {
    payload: [
      { id: "2", properties: { hs_note: "updated e2e" } },
      { id: "99999", properties: { hs_note: "nobody" } },
    ],
    status: withFailures,
    check: ({ fake, failed }) => {
      assert.equal(fake.objects[type].find((r) => r.id === "2").properties.hs_note, "updated e2e");
      refusedOne(failed, /Object not found\. .*id: 99999/);
    },
  };
  CASES[`upsert-${type}`] = {
    payload: [
      { id: valueOf[type]("upserted"), idProperty: key, properties: { hs_note: "upserted e2e" } },
      { id: valueOf[type](3), idProperty: key, properties: { hs_note: "matched e2e" } },
      { properties: { hs_note: "no id" } },
    ],
    status: withFailures,
    check: ({ fake, failed }) => {
      assert.equal(byKey(fake, valueOf[type]("upserted")).properties.hs_note, "upserted e2e");
      assert.equal(byKey(fake, valueOf[type](3)).properties.hs_note, "matched e2e");
      refusedOne(failed, /Upsert inputs need id and idProperty/);
    },
  };
}
for (const [from, to] of [
  ["contacts", "companies"],
  ["deals", "contacts"],
  ["deals", "companies"],
])
  CASES[`associate-${from}-${to}`] = {
    payload: [
      { from: { id: "5" }, to: { id: "6" } },
      { from: { id: "99999" }, to: { id: "6" } },
    ],
    status: withFailures,
    check: ({ fake, failed }) => {
      assert.ok(
        fake.associations.some((a) => a.from === from && a.fromId === "5" && a.to === to && a.toId === "6"),
      );
      refusedOne(failed, new RegExp(`No ${from} 99999 exists`));
      assert.deepEqual(failed[0].record, { from: { id: "99999" }, to: { id: "6" } });
    },
  };
CASES["list-associations"] = {
  params: { fromType: "contacts", id: "7", toType: "companies" },
  before: (fake) => {
    for (let i = 1; i <= 600; i++)
      fake.associations.push({
        from: "contacts",
        fromId: "7",
        to: "companies",
        toId: String(i),
        typeId: 279,
      });
  },
  check: ({ records, pages }) => {
    assert.deepEqual(
      pages.map((p) => p.payload.length),
      [500, 100],
    );
    assert.equal(records[0].toObjectId, 1);
  },
};

endToEnd({
  title: "HubSpot",
  connector: "hubspot",
  start: () =>
    startHubSpot({
      token: TOKEN,
      contacts: seed(250, (i) => ({ email: valueOf.contacts(i) })),
      companies: seed(230, (i) => ({ name: valueOf.companies(i) })),
      deals: seed(210, (i) => ({ dealname: valueOf.deals(i) })),
    }),
  instance: (fake) => ({
    connector: "hubspot",
    vars: { baseUrl: fake.base },
    secretSlots: { token: 0 },
    credentials: { secret_0: TOKEN },
  }),
  cases: CASES,
  tooMany: (fake) => fake.failNext(1, 429),
  retryAfterMs: 1000,
  secrets: [TOKEN],
  more(ctx) {
    it("retries a list that met a 5xx, and reports a batch create that met one as of unknown outcome", async function () {
      ctx.fake.failNext(1, 502);
      const list = await ctx.call("list-deals");
      assert.equal(list.run.status, "succeeded");
      assert.equal(list.requests[0].attempts, 2);
      ctx.fake.failNext(1, 500);
      const create = await ctx.call("create-deals", { payload: [{ properties: { dealname: "maybe" } }] });
      assert.deepEqual([create.failed[0].outcome, create.failed[0].status], ["unknown", 500]);
      assert.equal(create.run.status, withFailures);
    });
  },
});
