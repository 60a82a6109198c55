// The map dialog in Chromium: a sample's fields in the pickers, rules with transforms, a
// lookup table made from the rule (CSV import), auto-map, the test button; then deployed.
const assert = require("node:assert/strict");
const { openEditor, screenshotOnFailure } = require("../support/editor");

describe("map shape in the editor (Chromium)", function () {
  this.timeout(120000);
  let ed;
  let page;
  before(async () => {
    ed = await openEditor();
    page = ed.page;
    // Failed admin calls say why in the test output.
    page.on("response", async (r) => {
      if (r.url().includes("/pw/") && r.status() >= 400)
        console.log(
          `    ${r.status()} ${r.request().method()} ${r.url()}: ${await r.text().catch(() => "")}`,
        );
    });
  });
  after(() => ed.close());
  afterEach(screenshotOnFailure(() => page));

  const sample = {
    id: 1042,
    email_address: "ADA@EXAMPLE.COM",
    first_name: "Ada",
    country: "gb",
    line_items: [{ sku: "A" }, { sku: "B" }],
  };
  let mapId;

  it("offers the sample's fields, builds rules with transforms and a lookup table, auto-maps and tests", async function () {
    mapId = await ed.addNode("pw-map", 300, 120);
    await ed.openDialog(mapId);
    await page.fill("#node-input-name", "Shopify to HubSpot");
    await page.fill("#pw-map-sample", JSON.stringify(sample, null, 2));
    await page.waitForFunction(() => document.querySelectorAll("#pw-map-source-fields option").length > 0);
    const offered = await page.$$eval("#pw-map-source-fields option", (os) => os.map((o) => o.value));
    assert.deepEqual(offered, [
      "id",
      "email_address",
      "first_name",
      "country",
      "line_items",
      "line_items[*]",
      "line_items[*].sku",
    ]);

    // A rule by hand: email_address → email, lower case.
    await page.locator(".red-ui-editableList-addButton:has-text('rule')").click();
    const rule1 = page.locator("#pw-map-rules > li").nth(0);
    await rule1.locator("input.red-ui-typedInput-input").first().fill("email_address");
    assert.equal(
      await rule1.locator("input.red-ui-typedInput-input").first().getAttribute("list"),
      "pw-map-source-fields",
      "the source picker lists the sample's fields",
    );
    await rule1.locator(".pw-map-target").fill("email");
    await rule1.locator(".pw-map-add-transform").click();
    await rule1.locator(".pw-map-transform-type").selectOption("lower");

    // A rule with a lookup table made on the spot.
    await page.locator(".red-ui-editableList-addButton:has-text('rule')").click();
    const rule2 = page.locator("#pw-map-rules > li").nth(1);
    await rule2.locator("input.red-ui-typedInput-input").first().fill("country");
    await rule2.locator(".pw-map-target").fill("country");
    await rule2.locator(".pw-map-add-transform").click();
    await rule2.locator(".pw-map-transform-type").selectOption("lookup");
    await rule2.locator("select[data-param='table']").selectOption("_ADD_");
    await page.waitForSelector("#node-config-input-name", { state: "visible" });
    await page.fill("#node-config-input-name", "countries");
    await page.fill("#pw-lookup-csv", "code,name\nGB,United Kingdom\nUS,United States\n");
    await page.click("#pw-lookup-import");
    await page.waitForFunction(
      () => document.querySelectorAll("#pw-lookup-rows .pw-lookup-cell").length === 4,
    );
    assert.equal(await page.inputValue("#pw-lookup-columns"), "code, name");
    await page.click("#node-config-dialog-ok");
    await page.waitForSelector("#node-config-input-name", { state: "detached" });
    const tableId = await page.evaluate(() => {
      let id;
      RED.nodes.eachConfig((c) => {
        if (c.type === "pw-lookup-table") id = c.id;
      });
      return id;
    });
    assert.ok(tableId, "the lookup table exists");
    assert.equal(
      await rule2.locator("select[data-param='table']").inputValue(),
      tableId,
      "and the rule uses it",
    );

    // Auto-map from a target sample adds first_name → firstname and keeps the two rules.
    await page.fill("#pw-map-target-sample", JSON.stringify({ email: "", firstname: "", country: "" }));
    await page.click("#pw-map-automap");
    await page.waitForFunction(() => document.querySelectorAll("#pw-map-rules > li").length === 3);
    assert.match(await page.textContent("#pw-map-result"), /1 rule\(s\) proposed/);

    await page.click("#pw-map-test");
    await page.waitForFunction(() =>
      document.querySelector("#pw-map-result").textContent.includes("United Kingdom"),
    );
    assert.deepEqual(JSON.parse(await page.textContent("#pw-map-result")), {
      email: "ada@example.com",
      country: "United Kingdom",
      firstname: "Ada",
    });

    await ed.pressDone();
    const saved = await page.evaluate((id) => RED.nodes.node(id).rules, mapId);
    assert.deepEqual(saved, [
      { target: "email", source: "email_address", transforms: [{ type: "lower" }] },
      {
        target: "country",
        source: "country",
        transforms: [{ type: "lookup", table: tableId, miss: "table" }],
      },
      { target: "firstname", source: "first_name", transforms: [] },
    ]);
    assert.equal(await page.evaluate((id) => RED.nodes.node(id).valid, mapId), true);
  });

  it("shows a test that fails with the rule, the record and the value", async function () {
    await ed.openDialog(mapId);
    await page.fill("#pw-map-sample", JSON.stringify({ ...sample, email_address: { not: "text" } }));
    await page.click("#pw-map-test");
    await page.waitForFunction(() =>
      document.querySelector("#pw-map-result").classList.contains("pw-map-bad"),
    );
    assert.match(
      await page.textContent("#pw-map-result"),
      /record 0: lower: cannot use \{"not":"text"\} as text/,
    );
    await page.click("#node-dialog-cancel");
    await page.waitForSelector("#node-dialog-cancel", { state: "detached" });
  });

  it("takes its sample from a manual payload wired into it", async function () {
    await page.evaluate(() => {
      const z = RED.workspaces.active();
      RED.nodes.import(
        [
          {
            id: "upmp1",
            type: "pw-manual-payload",
            z,
            name: "orders",
            format: "json",
            payload: '[{"order_id":7,"buyer":{"mail":"x@y.z"}}]',
            x: 100,
            y: 400,
            wires: [["upmap1"]],
          },
          { id: "upmap1", type: "pw-map", z, rules: [], x: 300, y: 400, wires: [[]] },
        ],
        { generateIds: false },
      );
      RED.nodes.dirty(true);
      RED.view.redraw(true);
    });
    await ed.openDialog("upmap1");
    assert.ok(await page.isVisible("#pw-map-upstream"));
    assert.deepEqual(JSON.parse(await page.inputValue("#pw-map-sample")), {
      order_id: 7,
      buyer: { mail: "x@y.z" },
    });
    await page.waitForFunction(() =>
      [...document.querySelectorAll("#pw-map-source-fields option")].some((o) => o.value === "buyer.mail"),
    );
    await page.click("#node-dialog-cancel");
    await page.waitForSelector("#node-dialog-cancel", { state: "detached" });
  });

  it("keeps the type of a default: the rule's error default and default-when-empty", async function () {
    const id = await ed.addNode("pw-map", 300, 260);
    await ed.openDialog(id);
    await page.locator(".red-ui-editableList-addButton:has-text('rule')").click();
    const rule = page.locator("#pw-map-rules > li").nth(0);
    await rule.locator("input.red-ui-typedInput-input").first().fill("total");
    await rule.locator(".pw-map-target").fill("amount");
    await rule.locator(".pw-map-add-transform").click();
    await rule.locator(".pw-map-transform-type").selectOption("default");
    await rule.locator(".pw-map-on-error").selectOption("default");
    // Choose the types as a user does in the typedInput menus.
    await page.evaluate(() => {
      $("#pw-map-rules .pw-map-default").typedInput("type", "num").typedInput("value", "0");
      $("#pw-map-rules .pw-map-param[data-param=value]").typedInput("type", "null");
    });
    await ed.pressDone();
    const expected = [
      {
        target: "amount",
        source: "total",
        transforms: [{ type: "default", valueType: "null", value: "" }],
        onError: "default",
        defaultType: "num",
        default: "0",
      },
    ];
    assert.deepEqual(await page.evaluate((n) => RED.nodes.node(n).rules, id), expected);
    // Reopened, the dialog shows the types it saved.
    await ed.openDialog(id);
    assert.deepEqual(
      await page.evaluate(() => [
        $("#pw-map-rules .pw-map-default").typedInput("type"),
        $("#pw-map-rules .pw-map-default").typedInput("value"),
        $("#pw-map-rules .pw-map-param[data-param=value]").typedInput("type"),
      ]),
      ["num", "0", "null"],
    );
    await ed.pressDone();
    assert.deepEqual(await page.evaluate((n) => RED.nodes.node(n).rules, id), expected);
  });

  it("deploys the map and its lookup table", async function () {
    await ed.deploy();
    assert.ok(ed.rt.RED.nodes.getNode(mapId), "the map runs");
    const flows = (await ed.rt.api("GET", "/flows")).json;
    assert.ok(
      flows.some((n) => n.type === "pw-lookup-table" && n.name === "countries" && n.rows.length === 2),
    );
  });

  it("logged no console errors", function () {
    assert.deepEqual(ed.consoleErrors, []);
  });
});
