// The editor as a user sees it: palette, dialogs, Done, deploy, the trigger's button and
// importing an example, with zero console errors.
const assert = require("node:assert/strict");
const { openEditor, screenshotOnFailure } = require("../support/editor");
const { waitUntil } = require("../support/wait");

const { SHAPES: TYPES } = require("../support/package-types");

describe("editor (Chromium)", function () {
  this.timeout(120000);
  let ed;
  let page;
  before(async () => {
    ed = await openEditor();
    page = ed.page;
  });
  after(async function () {
    if (this.currentTest?.state === "failed" || process.env.PW_SCREENSHOT) {
      await page.screenshot({ path: "test-results/editor-failure.png" }).catch(() => {});
    }
    await ed.close();
  });
  afterEach(screenshotOnFailure(() => page));

  it("lists every node of the package in the palette category patchworks", async function () {
    const listed = await page.$$eval("#red-ui-palette-container-patchworks .red-ui-palette-node", (els) =>
      els.map((e) => e.getAttribute("data-palette-type")),
    );
    assert.deepEqual(listed.sort(), [...TYPES].sort());
    const header = await page.textContent("#red-ui-palette-container-patchworks .red-ui-palette-header");
    assert.match(header, /patchworks/i);
  });

  it("configures a trigger in its dialog: a daily schedule, a Shopify webhook and its secret", async function () {
    const id = await ed.addNode("pw-trigger", 200, 120);
    assert.ok(id, "the node was dropped on the canvas");
    await ed.openDialog(id);
    await page.fill("#node-input-name", "Orders");
    await page.locator(".red-ui-editableList-addButton:has-text('schedule')").click();
    const row = page.locator("#node-input-schedule-list li").last();
    await row.locator(".pw-schedule-type").selectOption("daily");
    await row.locator(".pw-schedule-daily .pw-time").fill("07:45");
    await row.locator(".pw-schedule-daily .pw-days input[value='0']").uncheck();
    await row.locator(".pw-schedule-daily .pw-days input[value='6']").uncheck();
    await row.locator(".pw-schedule-tz").fill("Europe/London");
    await page.check("#node-input-webhook");
    await page.fill("#node-input-path", "/shopify/orders");
    assert.match(await page.textContent("#pw-webhook-url"), /\/shopify\/orders$/);
    await page.uncheck("#pw-method-get");
    await page.selectOption("#node-input-auth", "shopify");
    assert.ok(await page.isVisible("#node-input-secret"));
    assert.ok(!(await page.isVisible("#node-input-tiktokAppKey")));
    await page.fill("#node-input-secret", "shpss_from_the_editor");
    await ed.pressDone();
    const saved = await page.evaluate((nid) => RED.nodes.node(nid), id);
    assert.deepEqual(saved.schedules, [
      { type: "daily", time: "07:45", days: [1, 2, 3, 4, 5], tz: "Europe/London" },
    ]);
    assert.equal(saved.methods, "POST");
    assert.equal(saved.auth, "shopify");
    assert.equal(saved.valid, true);
  });

  it("configures a manual payload in the JSON editor", async function () {
    const id = await ed.addNode("pw-manual-payload", 420, 120);
    await ed.openDialog(id);
    await page.fill("#node-input-name", "Sample orders");
    await page.click("#node-input-payload-editor");
    await page.keyboard.press("Control+A");
    await page.keyboard.press("Delete");
    await page.keyboard.insertText('[{"id": 1001, "email": "ada@example.com"}]');
    await page.click("#pw-manual-payload-format");
    await ed.pressDone();
    const saved = await page.evaluate((nid) => RED.nodes.node(nid), id);
    assert.deepEqual(JSON.parse(saved.payload), [{ id: 1001, email: "ada@example.com" }]);
    assert.equal(saved.valid, true);
  });

  it("configures set variables with a meta template and a flow variable from a payload path", async function () {
    const id = await ed.addNode("pw-set-variables", 640, 120);
    await ed.openDialog(id);
    const first = page.locator("#node-input-rule-container li").first();
    await first.locator(".pw-rule-key").fill("orderRef");
    await first
      .locator(".red-ui-typedInput-container")
      .first()
      .locator(".red-ui-typedInput-type-select")
      .click();
    await page.locator(".red-ui-typedInput-options:visible a[value='template']").click();
    await first.locator("input.red-ui-typedInput-input").fill("order-{{payload.0.id}}");
    await page.locator(".red-ui-editableList-addButton:has-text('variable')").click();
    const second = page.locator("#node-input-rule-container li").last();
    await second.locator(".pw-rule-target").selectOption("flow");
    await second.locator(".pw-rule-key").fill("emails");
    await second.locator(".red-ui-typedInput-type-select").click();
    await page.locator(".red-ui-typedInput-options:visible a[value='path']").click();
    await second.locator("input.red-ui-typedInput-input").fill("[*].email");
    await ed.pressDone();
    const saved = await page.evaluate((nid) => RED.nodes.node(nid), id);
    assert.deepEqual(saved.rules, [
      { target: "meta", key: "orderRef", valueType: "template", value: "order-{{payload.0.id}}" },
      { target: "flow", key: "emails", valueType: "path", value: "[*].email" },
    ]);
    assert.equal(saved.valid, true);
  });

  it("configures run process flow: picks a trigger from the workspace and waits for its answer", async function () {
    const triggerId = await page.evaluate(() => {
      let t;
      RED.nodes.eachNode((n) => {
        if (n.type === "pw-trigger") t = n.id;
      });
      return t;
    });
    const id = await ed.addNode("pw-run-flow", 200, 240);
    await ed.openDialog(id);
    const options = await page.$$eval("#node-input-trigger option", (os) => os.map((o) => o.textContent));
    assert.ok(
      options.some((o) => /Orders/.test(o)),
      `the trigger is offered: ${options}`,
    );
    await page.selectOption("#node-input-trigger", triggerId);
    await page.selectOption("#node-input-mode", "wait");
    assert.ok(await page.isVisible("#node-input-timeoutSec"));
    await page.fill("#node-input-timeoutSec", "60");
    await ed.pressDone();
    const saved = await page.evaluate((nid) => RED.nodes.node(nid), id);
    assert.equal(saved.trigger, triggerId);
    assert.equal(saved.mode, "wait");
    assert.equal(Number(saved.timeoutSec), 60);
    assert.equal(saved.valid, true);
  });

  it("configures a callback's status, format and headers", async function () {
    const id = await ed.addNode("pw-callback", 420, 240);
    await ed.openDialog(id);
    await page.fill("#node-input-statusCode", "201");
    await page.selectOption("#node-input-format", "xml");
    await page.locator(".red-ui-editableList-addButton:has-text('header')").click();
    await page.locator(".pw-header-name").last().fill("X-Source");
    await page.locator(".pw-header-value").last().fill("patchworks");
    await ed.pressDone();
    const saved = await page.evaluate((nid) => RED.nodes.node(nid), id);
    assert.equal(Number(saved.statusCode), 201);
    assert.equal(saved.format, "xml");
    assert.deepEqual(saved.headers, [{ name: "X-Source", value: "patchworks" }]);
    assert.equal(saved.valid, true);
  });

  it("deploys, keeping the secret in encrypted credentials only, and the nodes run", async function () {
    await ed.deploy();
    const flows = await ed.rt.api("GET", "/flows");
    assert.ok(!flows.text.includes("shpss_from_the_editor"));
    const trigger = flows.json.find((n) => n.type === "pw-trigger");
    assert.deepEqual((await ed.rt.api("GET", `/credentials/pw-trigger/${trigger.id}`)).json, {
      has_secret: true,
    });
    for (const n of flows.json.filter((f) => TYPES.includes(f.type))) {
      assert.ok(ed.rt.RED.nodes.getNode(n.id), `${n.type} is running`);
    }
    const errors = ed.rt.logs.filter((l) => l.level <= 20);
    assert.deepEqual(
      errors.map((l) => l.msg),
      [],
    );
  });

  it("starts a run from the button on the trigger", async function () {
    const id = await page.evaluate(() => {
      let t;
      RED.nodes.eachNode((n) => {
        if (n.type === "pw-trigger") t = n.id;
      });
      return t;
    });
    await page.locator(`g.red-ui-flow-node-group[id='${id}'] .red-ui-flow-node-button`).click();
    const note = await page.waitForSelector(".red-ui-notification:has-text('started')", { timeout: 10000 });
    assert.match(await note.textContent(), /Run [0-9A-Z]{26} started/);
  });

  it("imports an example from the Import menu and deploys it", async function () {
    await page.click("#red-ui-header-button-sidemenu");
    await page.click("#menu-item-import");
    await page.click("#red-ui-clipboard-dialog-import-tab-examples, .red-ui-tab:has-text('Examples')");
    await page.locator(".ui-dialog .red-ui-treeList-label:has-text('node-red-contrib-patchworks')").click();
    await page.locator(".ui-dialog .red-ui-treeList-label:has-text('Getting started')").click();
    await page
      .locator(".ui-dialog .red-ui-treeList-label:has-text('Schedule, payload and variables')")
      .click();
    await page.click("#red-ui-clipboard-dialog-ok");
    // The imported nodes arrive attached to the mouse; a click on the canvas places them.
    const chart = await page.locator("#red-ui-workspace-chart").boundingBox();
    await page.mouse.click(chart.x + 300, chart.y + 400);
    const imported = await page.evaluate(() => {
      const t = [];
      RED.nodes.eachNode((n) => t.push(n.type + ":" + n.name));
      return t;
    });
    assert.ok(imported.includes("pw-manual-payload:Sample orders"));
    assert.ok(imported.includes("pw-trigger:Hourly orders"));
    await ed.deploy();
    await waitUntil(
      async () => (await ed.rt.api("GET", "/flows")).json.some((n) => n.name === "Hourly orders"),
      "the example deployed",
    );
  });

  it("logged no console errors", function () {
    assert.deepEqual(ed.consoleErrors, []);
  });
});
