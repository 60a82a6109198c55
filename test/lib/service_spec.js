const assert = require("node:assert/strict");
const { lib } = require("../support/dist");
const { compileService, serviceLabel } = lib("service");
const { withPageSize } = lib("connectors/client");

describe("service settings (legacy services)", function () {
  const now = Date.parse("2026-12-01T12:00:00Z");

  it("works out a run's since: everything, a time before the run's start, or the last success", function () {
    assert.equal(compileService({}).since(now, now - 1000), undefined, "every record by default");
    const ago = compileService({
      since: "ago",
      sinceAmount: 90,
      sinceUnit: "minutes",
      sinceParam: "updated_at_min",
    });
    assert.equal(new Date(ago.since(now, undefined)).toISOString(), "2026-12-01T10:30:00.000Z");
    const week = compileService({ since: "ago", sinceAmount: "2", sinceUnit: "weeks", sinceParam: "x" });
    assert.equal(new Date(week.since(now)).toISOString(), "2026-11-17T12:00:00.000Z");
    const last = compileService({ since: "last-success", sinceParam: "updated_at_min" });
    assert.equal(last.since(now, undefined), undefined, "the first run pulls everything");
    assert.equal(last.since(now, now - 5000), now - 5000);
  });

  it("compiles filters and schedules with the engines of filter and trigger", function () {
    const s = compileService({
      schedules: [{ type: "minutes", every: 15 }],
      filters: {
        logic: "and",
        rules: [{ field: "updated_at", op: "within_last", value: "1", unit: "hours" }],
      },
    });
    assert.equal(s.schedules[0].cron, "*/15 * * * *");
    const keep = s.filter.bind(() => ({}), now);
    assert.equal(keep({ updated_at: "2026-12-01T11:30:00Z" }, 0), true);
    assert.equal(keep({ updated_at: "2026-12-01T10:30:00Z" }, 1), false);
    assert.equal(compileService({ filters: { logic: "and", rules: [] } }).filter, undefined);
  });

  it("refuses what a deploy refuses, naming the setting", function () {
    const refuses = (settings, pattern) => assert.throws(() => compileService(settings), pattern);
    refuses({ pageSize: 0 }, /the page size must be a whole number from 1 to 10000, not "0"/);
    refuses({ attempts: 11 }, /attempts must be a whole number from 1 to 10/);
    refuses({ since: "yesterday" }, /"since" must be all, ago or last-success/);
    refuses({ since: "last-success" }, /needs the source endpoint's parameter that takes the time/);
    refuses({ since: "ago", sinceParam: "x" }, /needs an amount, e\.g\. 1 hour/);
    refuses(
      { since: "ago", sinceParam: "x", sinceAmount: 1, sinceUnit: "fortnights" },
      /unknown unit "fortnights"/,
    );
    refuses({ schedules: [{ type: "cron", cron: "not a cron" }] }, /schedule 1:/);
    refuses({ filters: { logic: "and", rules: [{ field: "a", op: "nope" }] } }, /^Error: filters:/);
  });

  it("labels a service by its endpoints", function () {
    assert.equal(
      serviceLabel({ sourceEndpoint: "list-customers", targetEndpoint: "upsert-contacts" }),
      "list customers → upsert contacts",
    );
    assert.equal(serviceLabel({}), "service");
  });
});

describe("page size of a pull (connector client)", function () {
  const request = { method: "GET", url: "https://x.example/items", query: { limit: "250" } };
  it("sets the pagination's own size, else the endpoint's usual query parameter", function () {
    const page = { pagination: { type: "page", pageParam: "page", sizeParam: "per_page", pageSize: 100 } };
    assert.equal(withPageSize(page, request, 20).pagination.pageSize, 20);
    const offset = { pagination: { type: "offset", offsetParam: "offset", limitParam: "limit", limit: 100 } };
    assert.equal(withPageSize(offset, request, 20).pagination.limit, 20);
    const link = { query: { limit: "250" }, pagination: { type: "link" } };
    assert.deepEqual(withPageSize(link, request, 20).request.query, { limit: 20 });
    assert.equal(withPageSize(link, request, undefined).request, request, "unchanged without a size");
  });

  it("refuses a size an endpoint cannot take, and a size that is not a whole number", function () {
    const graphql = { name: "Orders (GraphQL)", pagination: { type: "graphql" } };
    assert.throws(
      () => withPageSize(graphql, request, 20),
      /"Orders \(GraphQL\)" has no page size that can be set/,
    );
    assert.throws(() => withPageSize({ query: { limit: "1" } }, request, 2.5), /whole number of 1 or more/);
  });
});
