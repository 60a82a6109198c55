// The instance and connection dialogs in Chromium: make an instance from the connection
// shape, test the connection against a fake Shopify, pick an endpoint and a filter, deploy, run.
const assert = require("node:assert/strict");
const { openEditor, screenshotOnFailure } = require("../support/editor");
const { waitUntil } = require("../support/wait");
const { startShopify } = require("../../demo/fakes/shopify");

describe("instance and connection dialogs (Chromium)", function () {
  this.timeout(120000);
  let ed;
  let page;
  let shop;
  const seen = [];
  const TOKEN = "shpat_from_the_dialog";
  before(async () => {
    shop = await startShopify({
      token: TOKEN,
      orders: [
        { id: 1, created_at: "2026-11-27T10:00:00Z" },
        { id: 2, created_at: "2026-11-28T10:00:00Z" },
      ],
    });
    ed = await openEditor({ functionGlobalContext: { seen }, patchworks: { runs: { settleMs: 40 } } });
    page = ed.page;
  });
  after(async () => {
    await ed.close();
    await shop.close();
  });
  afterEach(screenshotOnFailure(() => page));

  let connId;
  it("makes an instance from the connection shape and tests the connection", async function () {
    connId = await ed.addNode("pw-connection", 300, 120);
    await ed.openDialog(connId);
    await page.click("#node-input-btn-instance-add");
    await page.waitForSelector("#node-config-input-connector", { state: "visible" });
    await page.fill("#node-config-input-name", "Acme store");
    await page.selectOption("#node-config-input-connector", "shopify");
    await page.fill(".pw-instance-var[data-key='shop']", new URL(shop.base).host);
    await page.fill(".pw-instance-var[data-key='scheme']", "http");
    const secret = page.locator(".pw-instance-secret-row:visible input[type='password']");
    assert.equal(await secret.count(), 1, "one secret: the access token");
    await secret.fill("shpat_wrong");
    await page.click("#pw-instance-test");
    await page.waitForFunction(() =>
      /401/.test(document.querySelector("#pw-instance-test-result").textContent),
    );
    assert.ok(!(await page.textContent("#pw-instance-test-result")).includes("shpat_wrong"));
    await secret.fill(TOKEN);
    await page.click("#pw-instance-test");
    await page.waitForFunction(() =>
      document.querySelector("#pw-instance-test-result").classList.contains("pw-instance-ok"),
    );
    assert.match(
      await page.textContent("#pw-instance-test-result"),
      /Shopify answered "List orders" with 2 record\(s\)/,
    );
    await page.locator(".red-ui-editableList-addButton:has-text('limit')").click();
    await page.fill("#pw-instance-limits .pw-limit-requests", "4");
    await page.fill("#pw-instance-limits .pw-limit-burst", "10");
    await page.click("#node-config-dialog-ok");
    await page.waitForSelector("#node-config-input-connector", { state: "detached" });
    const instance = await page.evaluate(() => {
      let i;
      RED.nodes.eachConfig((c) => {
        if (c.type === "pw-instance") i = { rateLimit: c.rateLimit, vars: c.vars, slots: c.secretSlots };
      });
      return i;
    });
    assert.deepEqual(instance.rateLimit, [{ requests: 4, period: "second", burst: 10 }]);
    assert.deepEqual(instance.slots, { token: 0 });
    assert.equal(instance.vars.token, undefined, "the token is not a plain variable");
  });

  it("picks an endpoint and sets its typed filters: a date picker for a date and time, a list for an enum", async function () {
    await page.waitForFunction(() => document.querySelectorAll("#node-input-endpoint option").length > 0);
    await page.selectOption("#node-input-endpoint", "list-orders");
    const row = page.locator("#pw-connection-params li").filter({ hasText: "Created at or after" });
    const typed = row.locator("input.red-ui-typedInput-input").first();
    // A date without its time and offset is not what Shopify takes: the input says so.
    await typed.fill("2026-11-28");
    await typed.blur();
    assert.ok(
      await row
        .locator(".red-ui-typedInput-container")
        .evaluate((el) => el.classList.contains("input-error")),
      "a bare date is marked as wrong",
    );
    await row.locator("input.pw-connection-param-picker").fill("2026-11-28T00:00");
    assert.equal(await typed.inputValue(), "2026-11-28T00:00:00Z");
    assert.ok(
      !(await row
        .locator(".red-ui-typedInput-container")
        .evaluate((el) => el.classList.contains("input-error"))),
    );
    assert.match(await row.locator(".pw-connection-param-tip").textContent(), /2026-01-01T00:00:00Z/);
    // The enum's values, as Shopify spells them, to pick from.
    const status = page.locator("#pw-connection-params li").filter({ hasText: "Financial status" });
    await status.locator(".red-ui-typedInput-option-trigger").click();
    const options = page.locator(".red-ui-typedInput-options:visible a");
    assert.ok((await options.allTextContents()).map((t) => t.trim()).includes("partially_paid"));
    await options.filter({ hasText: /^\s*any\s*$/ }).click();
    await page.fill("#node-input-name", "New orders");
    await ed.pressDone();
    const saved = await page.evaluate((id) => {
      const n = RED.nodes.node(id);
      return { endpoint: n.endpoint, params: n.params, instance: n.instance, valid: n.valid };
    }, connId);
    assert.equal(saved.endpoint, "list-orders");
    assert.deepEqual(saved.params, [
      { key: "created_at_min", valueType: "str", value: "2026-11-28T00:00:00Z" },
      { key: "financial_status", valueType: "str", value: "any" },
    ]);
    assert.ok(saved.instance);
    assert.equal(saved.valid, true);
  });

  it("deploys with the token in credentials only, and the shape pulls the filtered orders", async function () {
    await page.evaluate((id) => {
      const z = RED.workspaces.active();
      RED.nodes.import(
        [
          { id: "ctrig", type: "pw-trigger", z, name: "go", schedules: [], x: 100, y: 220, wires: [[]] },
          {
            id: "csink",
            type: "function",
            z,
            func: "global.get('seen').push(msg.payload.map((o) => o.id)); return null;",
            outputs: 0,
            x: 500,
            y: 220,
            wires: [],
          },
        ],
        { generateIds: false },
      );
      // Wires to nodes outside an import are drawn as a user draws them.
      RED.nodes.addLink({ source: RED.nodes.node("ctrig"), sourcePort: 0, target: RED.nodes.node(id) });
      RED.nodes.addLink({ source: RED.nodes.node(id), sourcePort: 0, target: RED.nodes.node("csink") });
      RED.nodes.dirty(true);
      RED.view.redraw(true);
    }, connId);
    await ed.deploy();
    const flows = (await ed.rt.api("GET", "/flows")).text;
    assert.ok(!flows.includes(TOKEN), "not in the flow");
    const id = (await ed.rt.api("POST", "/pw/trigger/ctrig", {})).json.run.id;
    const run = await waitUntil(async () => {
      const r = (await ed.rt.api("GET", `/pw/runs/${id}`)).json?.run;
      return r && r.status !== "running" ? r : undefined;
    }, "the run");
    assert.equal(run.status, "succeeded", JSON.stringify(run.errors));
    await waitUntil(
      () => seen.length > 0,
      `the orders (steps: ${JSON.stringify(Object.values(run.steps).map((s) => [s.node, s.messagesIn, s.messagesOut]))})`,
    );
    assert.deepEqual(seen[0], [2]);
  });

  it("offers the endpoint's sample record to a map wired after the connection", async function () {
    await page.evaluate((id) => {
      const z = RED.workspaces.active();
      RED.nodes.import([{ id: "cmap", type: "pw-map", z, rules: [], x: 500, y: 320, wires: [[]] }], {
        generateIds: false,
      });
      RED.nodes.addLink({ source: RED.nodes.node(id), sourcePort: 0, target: RED.nodes.node("cmap") });
      RED.view.redraw(true);
    }, connId);
    await ed.openDialog("cmap");
    const sample = JSON.parse(await page.inputValue("#pw-map-sample"));
    assert.equal(sample.id, 450789469, "Shopify's sample order, from the connector's endpoint");
    await page.waitForFunction(() =>
      [...document.querySelectorAll("#pw-map-source-fields option")].some(
        (o) => o.value === "line_items[*].sku",
      ),
    );
    await page.click("#node-dialog-cancel");
    await page.waitForSelector("#node-dialog-cancel", { state: "detached" });
  });

  it("offers every prebuilt connector in the instance dialog's picker, with help for each of its credentials", async function () {
    const prebuilt = require("fs")
      .readdirSync(require("path").join(__dirname, "../../nodes/connectors"))
      .filter((f) => f.endsWith(".json") && !["schema.json", "taxonomy.json"].includes(f))
      .map((f) => require(`../../nodes/connectors/${f}`));
    await ed.openDialog(connId);
    await page.click("#node-input-btn-instance-add");
    await page.waitForSelector("#node-config-input-connector", { state: "visible" });
    const offered = await page.$$eval("#node-config-input-connector option", (os) => os.map((o) => o.value));
    for (const d of prebuilt) {
      assert.ok(offered.includes(d.id), `${d.id} in the picker (${offered.join(", ")})`);
      await page.selectOption("#node-config-input-connector", d.id);
      const help = await page.$$eval("#pw-instance-about li", (lis) => lis.map((li) => li.textContent));
      for (const v of d.variables)
        assert.ok(
          help.some((h) => h.startsWith(`${v.label}: `) && h.includes(v.help)),
          `${d.id}: help for "${v.label}"`,
        );
      assert.equal(
        await page.locator(".pw-instance-secret-row:visible").count(),
        d.variables.filter((v) => v.secret).length,
        `${d.id}: one secret field per secret`,
      );
    }
    await page.click("#node-config-dialog-cancel");
    await page.waitForSelector("#node-config-input-connector", { state: "detached" });
    await page.click("#node-dialog-cancel");
    await page.waitForSelector("#node-dialog-cancel", { state: "detached" });
  });

  it("logged no console errors", function () {
    assert.deepEqual(ed.consoleErrors, []);
  });
});
