// The service dialog in Chromium, as a non-programmer fills it in: a schedule (the trigger's
// rows), source instance and endpoint, "since the last successful run", page size, a filter
// (the filter's builder), field mappings (the map's rule editor, fields offered from the
// endpoints' samples), target, attempts, failure output; the runtime's checks flag bad values
// while typing. Then deployed, started on its button against the fakes, and its run listed.
const assert = require("node:assert/strict");
const { openEditor, screenshotOnFailure } = require("../support/editor");
const { waitUntil } = require("../support/wait");
const { startShopify } = require("../../demo/fakes/shopify");
const { startHubSpot } = require("../../demo/fakes/hubspot");

const TOKEN = "shpat_editor_service";
const HUB = "pat-na1-editor-service";

describe("service shape in the editor (Chromium)", function () {
  this.timeout(120000);
  let ed;
  let page;
  let shop;
  let hub;
  before(async () => {
    shop = await startShopify({
      token: TOKEN,
      customers: [
        { id: 1, email: "ada@example.com", first_name: "Ada", updated_at: "2026-11-01T00:00:00Z" },
        { id: 2, email: "bob@example.com", first_name: "Bob", updated_at: "2026-11-02T00:00:00Z" },
        { id: 3, email: null, first_name: "None", updated_at: "2026-11-03T00:00:00Z" },
      ],
    });
    hub = await startHubSpot({ token: HUB });
    const instances = [
      {
        id: "5e41ceed00000001",
        type: "pw-instance",
        name: "Shopify store",
        connector: "shopify",
        vars: { shop: new URL(shop.base).host, scheme: "http" },
        secretSlots: { token: 0 },
        auth: 0,
        rateLimit: [],
        timeoutSec: 30,
        attempts: 3,
        tlsCa: "",
        credentials: { secret_0: TOKEN },
      },
      {
        id: "5e41ceed00000002",
        type: "pw-instance",
        name: "HubSpot portal",
        connector: "hubspot",
        vars: { baseUrl: hub.base },
        secretSlots: { token: 0 },
        auth: 0,
        rateLimit: [],
        timeoutSec: 30,
        attempts: 3,
        tlsCa: "",
        credentials: { secret_0: HUB },
      },
      { id: "5e41ceed00000000", type: "tab", label: "Flow 1" },
    ];
    ed = await openEditor({ patchworks: { runs: { settleMs: 40 } } }, instances);
    page = ed.page;
  });
  after(async () => {
    await ed?.close();
    await shop?.close();
    await hub?.close();
  });
  afterEach(screenshotOnFailure(() => page));

  let id;
  it("is configured through its dialog, the runtime flagging bad values as they are typed", async function () {
    id = await ed.addNode("pw-service", 300, 120);
    await ed.openDialog(id);
    await page.fill("#node-input-name", "Customers to contacts");

    // The schedule row is the trigger's: 90 minutes is refused by the runtime, 30 is fine.
    const schedule = page.locator("#pw-service-schedules > li").first();
    await schedule.locator(".pw-every-minutes").fill("90");
    await page.waitForFunction(() =>
      /from 1 to 59/.test(document.querySelector("#pw-service-schedules").textContent),
    );
    await schedule.locator(".pw-every-minutes").fill("30");
    await page.waitForFunction(
      () => !/from 1 to 59/.test(document.querySelector("#pw-service-schedules").textContent),
    );

    await page.selectOption("#node-input-source", "5e41ceed00000001");
    await page.waitForFunction(() =>
      [...document.querySelectorAll("#node-input-sourceEndpoint option")].some(
        (o) => o.value === "list-customers",
      ),
    );
    const sourceEndpoints = await page.$$eval("#node-input-sourceEndpoint option", (os) =>
      os.map((o) => o.value),
    );
    assert.ok(!sourceEndpoints.includes("create-order"), "only endpoints that list records");
    // The endpoint's own parameters, with the connection shape's editor: list orders has a status.
    await page.selectOption("#node-input-sourceEndpoint", "list-orders");
    await page.waitForFunction(() =>
      /Financial status/.test(document.querySelector("#pw-service-params").textContent),
    );
    await page.selectOption("#node-input-sourceEndpoint", "list-customers");
    await page.waitForFunction(() =>
      /Updated at or after/.test(document.querySelector("#pw-service-params").textContent),
    );
    await page.selectOption("#node-input-since", "last-success");
    assert.equal(await page.inputValue("#node-input-sinceParam"), "updated_at_min");

    // A page size of 0 is flagged by the runtime's check; 2 is fine.
    await page.fill("#node-input-pageSize", "0");
    await page.waitForFunction(() =>
      /page size must be a whole number/.test(
        document.querySelector("#pw-service-settings-problems").textContent,
      ),
    );
    await page.fill("#node-input-pageSize", "2");
    await page.waitForFunction(
      () => !/page size/.test(document.querySelector("#pw-service-settings-problems").textContent),
    );

    // A filter, with the filter shape's builder.
    const filters = page.locator("#pw-service-filters");
    await filters.locator(".pw-cond-add").first().click();
    await filters.locator(".pw-cond-field").first().fill("email");
    await filters.locator(".pw-cond-op").first().selectOption("not_empty");

    await page.selectOption("#node-input-target", "5e41ceed00000002");
    await page.waitForFunction(() =>
      [...document.querySelectorAll("#node-input-targetEndpoint option")].some(
        (o) => o.value === "upsert-contacts",
      ),
    );
    await page.selectOption("#node-input-targetEndpoint", "upsert-contacts");

    // Field mappings: the map shape's rule editor, the endpoints' sample fields offered.
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll("#pw-map-source-fields option")].some((o) => o.value === "email") &&
        [...document.querySelectorAll("#pw-map-target-fields option")].some(
          (o) => o.value === "properties.email",
        ),
    );
    const addRule = page.locator(".red-ui-editableList-addButton:has-text('rule')");
    const rule = (i) => page.locator("#pw-service-rules > li").nth(i);
    await addRule.click();
    await rule(0).locator("input.red-ui-typedInput-input").first().fill("email");
    await rule(0).locator(".pw-map-target").fill("id");
    await rule(0).locator(".pw-map-add-transform").click();
    await rule(0).locator(".pw-map-transform-type").selectOption("lower");
    await addRule.click();
    await rule(1).locator(".red-ui-typedInput-type-select").first().click();
    await page
      .locator(".red-ui-typedInput-options:visible a")
      .filter({ hasText: /^\s*string\s*$/ })
      .click();
    await rule(1).locator("input.red-ui-typedInput-input").first().fill("email");
    await rule(1).locator(".pw-map-target").fill("idProperty");
    await addRule.click();
    await rule(2).locator("input.red-ui-typedInput-input").first().fill("email");
    await rule(2).locator(".pw-map-target").fill("properties.email");
    await addRule.click();
    await rule(3).locator("input.red-ui-typedInput-input").first().fill("first_name");
    // A target path the engine refuses is flagged under its rule.
    await rule(3).locator(".pw-map-target").fill("properties..firstname");
    await page.waitForFunction(() =>
      [...document.querySelectorAll("#pw-service-rules > li")][3]
        .querySelector(".pw-map-target")
        .classList.contains("input-error"),
    );
    await rule(3).locator(".pw-map-target").fill("properties.firstname");
    await page.waitForFunction(
      () =>
        ![...document.querySelectorAll("#pw-service-rules > li")][3]
          .querySelector(".pw-map-target")
          .classList.contains("input-error"),
    );

    await page.fill("#node-input-attempts", "4");
    assert.ok(await page.isChecked("#node-input-failureOutput"), "the failure output is on by default");
    await ed.pressDone();

    const saved = await page.evaluate((nid) => {
      const n = RED.nodes.node(nid);
      return {
        valid: n.valid,
        schedules: n.schedules,
        source: n.source,
        sourceEndpoint: n.sourceEndpoint,
        since: n.since,
        sinceParam: n.sinceParam,
        pageSize: n.pageSize,
        filters: n.filters,
        rules: n.rules,
        target: n.target,
        targetEndpoint: n.targetEndpoint,
        attempts: n.attempts,
        outputs: n.outputs,
        params: n.params,
      };
    }, id);
    assert.deepEqual(saved, {
      valid: true,
      schedules: [{ type: "minutes", every: 30, tz: "UTC" }],
      source: "5e41ceed00000001",
      sourceEndpoint: "list-customers",
      since: "last-success",
      sinceParam: "updated_at_min",
      pageSize: "2",
      filters: { logic: "and", rules: [{ field: "email", op: "not_empty", type: "string" }] },
      rules: [
        { target: "id", source: "email", transforms: [{ type: "lower" }] },
        { target: "idProperty", valueType: "str", value: "email", transforms: [] },
        { target: "properties.email", source: "email", transforms: [] },
        { target: "properties.firstname", source: "first_name", transforms: [] },
      ],
      target: "5e41ceed00000002",
      targetEndpoint: "upsert-contacts",
      attempts: "4",
      outputs: 2,
      params: [],
    });
  });

  it("deploys, runs on its button and shows the run with its pull, map and send steps", async function () {
    await ed.deploy();
    await page.locator(`g.red-ui-flow-node-group[id='${id}'] .red-ui-flow-node-button`).click();
    const run = await waitUntil(
      async () => {
        const r = (await ed.rt.api("GET", "/pw/runs")).json.runs.find((x) => x.trigger === id);
        return r && r.status !== "running" && r.status !== "queued" ? r : undefined;
      },
      "the service's run",
      15000,
      50,
    );
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.deepEqual(hub.objects.contacts.map((c) => c.properties.email).sort(), [
      "ada@example.com",
      "bob@example.com",
    ]);
    assert.deepEqual(
      shop.customerQueries.map((q) => q.query.limit),
      ["2", "2"],
    );
    const full = (await ed.rt.api("GET", `/pw/runs/${run.id}`)).json.run;
    for (const part of ["pull", "map", "send"]) assert.ok(full.steps[`${id}:${part}`], `a ${part} step`);
  });
});
